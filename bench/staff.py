"""Signing a benchmark's staff account in, second factor included (administrators and
secretaries must have one): the account is given one with a fresh secret, and the client
answers the second step with the code of the moment, as the staff member's phone would."""

import pyotp
from sqlalchemy import select

from resident_portal import operations
from resident_portal.extensions import db
from resident_portal.models import StaffUser


def sign_in_staff(app, client, username: str, password: str) -> None:
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user.has_second_factor:
            operations.reset_second_factor(username)
            user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
        secret = pyotp.random_base32()
        codes = operations.enable_second_factor(
            user, secret, pyotp.TOTP(secret).now(), "127.0.0.1", sign_in=False
        )
        assert isinstance(codes, list), codes
        db.session.remove()
    client.post("/console/sign-in", data={"username": username, "password": password})
    # The code used to enrol may not be used again: a recovery code answers the second step.
    answer = client.post("/console/sign-in/second-factor", data={"code": codes[0]})
    assert answer.status_code == 302, answer.status_code
