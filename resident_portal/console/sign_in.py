"""Staff sign-in: the password, then the second factor or enrolment in one."""

import secrets
import time

from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import access, operations, two_factor
from ..access import public
from ..blueprint import no_store, safe_next
from ..extensions import db
from ..forms import EnrolSecondFactorForm, SecondFactorForm, StaffSignInForm, form_status
from ..messages import describe_error
from ..models import StaffUser
from ..qr import qr_svg
from ..ratelimit import Blocked
from . import bp


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    form = StaffSignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    blocked = None
    if form.validate_on_submit():
        result = operations.sign_in_staff(
            form.username.data, form.password.data, request.remote_addr or ""
        )
        if result is True:
            return redirect(safe_next(form.next.data, url_for("console.index")))
        if isinstance(result, operations.SecondStep):
            # The password was right: the session starts only after the second factor (or
            # enrolment in one). Until then this browser holds just who is half-way in.
            session[PENDING_STAFF] = {
                "user": result.staff_user.id,
                "until": int(time.time() + _second_factor_window()),
                "next": safe_next(form.next.data, url_for("console.index")),
            }
            if result.enrol:
                return redirect(url_for("console.enrol_second_factor"))
            return redirect(url_for("console.second_factor"))
        if isinstance(result, Blocked):
            blocked = result
        else:
            form.password.errors.append(_("The username or password is wrong."))
    status = 429 if blocked else (400 if form.errors else 200)
    page = render_template("console/sign_in.html", form=form, blocked=blocked)
    return no_store(Response(page, status=status))


# --- the second factor ------------------------------------------------------------------------

# Set in the (signed, HttpOnly) session cookie after a right password: {"user": id, "until":
# unix time, "next": path}. It signs nobody in: it only lets this browser type the second factor
# (or enrol in one) for that account, for SECOND_FACTOR_WINDOW.
PENDING_STAFF = "staff_pending"

# The nonce from which the secret offered while enrolling is derived (two_factor.py):
# {"user": id, "nonce": hex}. The secret itself is stored nowhere until it is confirmed.
ENROLMENT = "totp_enrolment"


def _second_factor_window() -> float:
    return current_app.config["SECOND_FACTOR_WINDOW"].total_seconds()


def _pending_staff() -> tuple[StaffUser | None, str]:
    """The account whose password this browser has just given, and where to go afterwards."""
    pending = session.get(PENDING_STAFF)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None, ""
    if not isinstance(pending.get("until"), int) or pending["until"] < time.time():
        session.pop(PENDING_STAFF, None)
        return None, ""
    user = db.session.get(StaffUser, pending["user"])
    if user is None or not user.is_active:
        return None, ""
    return user, safe_next(pending.get("next"), url_for("console.index"))


def _enrolment_secret(user: StaffUser) -> str:
    enrolment = session.get(ENROLMENT)
    if not isinstance(enrolment, dict) or enrolment.get("user") != user.id:
        enrolment = session[ENROLMENT] = {"user": user.id, "nonce": secrets.token_hex(16)}
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return two_factor.enrolment_secret(key, user.id, str(enrolment.get("nonce")))


@bp.route("/sign-in/second-factor", methods=["GET", "POST"])
@public
def second_factor():
    user, next_url = _pending_staff()
    if user is None:
        return redirect(url_for("console.sign_in"))
    if not user.has_second_factor:
        return redirect(url_for("console.enrol_second_factor"))
    form = SecondFactorForm()
    blocked = None
    if form.validate_on_submit():
        result = operations.sign_in_second_factor(user, form.code.data, request.remote_addr or "")
        if result is True:
            return redirect(next_url)
        if isinstance(result, Blocked):
            blocked = result
        else:
            form.code.errors.append(
                _("That code is wrong, or it was used already. Wait for the next code.")
            )
        form.code.data = ""
    status = 429 if blocked else form_status(form)
    page = render_template("console/second_factor.html", form=form, blocked=blocked)
    return no_store(Response(page, status=status))


@bp.route("/two-step-sign-in", methods=["GET", "POST"])
@public
def enrol_second_factor():
    """Enrolment in the second factor: required right after the password for administrators and
    secretaries without one, optional from the account page for everyone else."""
    signed_in = access.current_session()
    user = signed_in.staff_user if signed_in is not None else None
    next_url = url_for("console.account")
    if user is None:
        user, next_url = _pending_staff()
    if user is None:
        return redirect(url_for("console.sign_in"))
    if user.has_second_factor:
        return redirect(url_for("console.account" if signed_in else "console.second_factor"))
    secret = _enrolment_secret(user)
    form = EnrolSecondFactorForm()
    blocked = None
    if form.validate_on_submit():
        try:
            result = operations.enable_second_factor(
                user,
                secret,
                form.code.data,
                request.remote_addr or "",
                sign_in=signed_in is None,
            )
        except operations.OperationError as error:
            flash(describe_error(error), "error")
            return redirect(url_for("console.enrol_second_factor"))
        if isinstance(result, list):
            session.pop(ENROLMENT, None)
            page = render_template(
                "console/recovery_codes.html",
                codes=[two_factor.format_recovery_code(c) for c in result],
                next_url=next_url,
            )
            return no_store(Response(page))
        if isinstance(result, Blocked):
            blocked = result
        else:
            form.code.errors.append(
                _("That code does not match. Check the app shows this account and try again.")
            )
        form.code.data = ""
    uri = two_factor.provisioning_uri(secret, user.username)
    page = render_template(
        "console/enrol_second_factor.html",
        form=form,
        blocked=blocked,
        user=user,
        qr=qr_svg(uri),
        secret=two_factor.grouped(secret),
        required=user.needs_second_factor,
    )
    return no_store(Response(page, status=429 if blocked else form_status(form)))
