"""Issue 12, points 2, 4 and 8: the staff second factor, household sessions and API tokens.

Each test first plays the attack or the failure the issue describes (a stolen password alone,
a replayed code, a forgotten phone that stays signed in, a token that lives for ever or reads
every estate), then checks what happens now.
"""

from datetime import timedelta
from email.utils import parsedate_to_datetime

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from resident_portal import operations, two_factor
from resident_portal.devices import LABEL_LENGTH, device_label
from resident_portal.extensions import db
from resident_portal.models import (
    ApiToken,
    AuthSession,
    CodeBatch,
    RecoveryCode,
    Role,
    StaffUser,
    utcnow,
)

from .conftest import (
    TOTP_SECRETS,
    household,
    issue_code,
    make_estate,
    make_staff,
    make_survey,
    resident,
    sign_in_household,
    sign_in_staff,
    totp_now,
)

IPHONE_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2a) NetType/WIFI Language/zh_CN"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 13; SM-G981B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0.0.0 Mobile Safari/537.36"
)
ANDROID_WECHAT = (
    "Mozilla/5.0 (Linux; Android 12; V2163A Build/SP1A.210812.003; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/86.0.4240.99 XWEB/4317 MMWEBSDK/20220903 Mobile "
    "Safari/537.36 MMWEBID/6294 MicroMessenger/8.0.28.2240(0x28001C57) WeChat/arm64 Weixin"
)


def staff_user(username) -> StaffUser:
    db.session.expire_all()
    return db.session.scalar(select(StaffUser).where(StaffUser.username == username))


def no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


# --- 2: the second factor -------------------------------------------------------------------


def test_a_secretarys_password_alone_does_not_sign_in(app, client):
    """Attack: a secretary's password, seen or reused elsewhere, opened the register with its
    names and phone numbers. Now a code from the secretary's phone is needed too."""
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    first = client.post("/console/sign-in", data={"username": username, "password": password})
    assert first.status_code == 302
    assert first.headers["Location"] == "/console/sign-in/second-factor"
    # Half-way in is not signed in.
    assert client.get("/console/meiyuan/households").status_code == 302
    assert "/console/sign-in?next=" in client.get("/console/").headers["Location"]
    page = client.get("/console/sign-in/second-factor")
    assert page.status_code == 200 and no_store(page)
    wrong = client.post("/console/sign-in/second-factor", data={"code": "000000"})
    assert wrong.status_code == 422
    assert "验证码不对" in wrong.get_data(as_text=True)
    assert client.get("/console/meiyuan/households").status_code == 302
    right = client.post("/console/sign-in/second-factor", data={"code": totp_now(username)})
    assert right.status_code == 302 and right.headers["Location"] == "/console/"
    assert client.get("/console/meiyuan/households").status_code == 200


def test_the_second_step_without_a_password_first_is_refused(app, client):
    estate = make_estate()
    username, _password = make_staff(Role.SECRETARY, estate)
    response = client.post("/console/sign-in/second-factor", data={"code": totp_now(username)})
    assert response.status_code == 302 and response.headers["Location"] == "/console/sign-in"
    assert client.get("/console/").status_code == 302


def test_the_password_step_expires(app, client):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    app.config["SECOND_FACTOR_WINDOW"] = timedelta(seconds=-1)
    client.post("/console/sign-in", data={"username": username, "password": password})
    late = client.post("/console/sign-in/second-factor", data={"code": totp_now(username)})
    assert late.headers["Location"] == "/console/sign-in"
    assert client.get("/console/").status_code == 302


def test_a_totp_code_is_accepted_once(app):
    """Attack: a code seen over the shoulder (or taken from a proxy's log) used again within
    its 30 seconds. Now the step of the last accepted code is kept, and refused after."""
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    code = totp_now(username)
    first, second = app.test_client(), app.test_client()
    first.post("/console/sign-in", data={"username": username, "password": password})
    assert first.post("/console/sign-in/second-factor", data={"code": code}).status_code == 302
    second.post("/console/sign-in", data={"username": username, "password": password})
    replay = second.post("/console/sign-in/second-factor", data={"code": code})
    assert replay.status_code == 422
    assert second.get("/console/").status_code == 302


def test_wrong_codes_count_in_the_sign_in_limits(app):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    guesser = app.test_client()
    where = {"REMOTE_ADDR": "203.0.113.9"}
    guesser.post(
        "/console/sign-in", data={"username": username, "password": password}, environ_base=where
    )
    statuses = [
        guesser.post(
            "/console/sign-in/second-factor", data={"code": "123456"}, environ_base=where
        ).status_code
        for _ in range(4)
    ]
    # SIGN_IN_DELAYS: 3 per minute per account and address, the password's success included
    # nowhere (only failures count).
    assert statuses[:2] == [422, 422] and statuses[-1] == 429
    # The secretary, from the office, is not locked out by it.
    office = app.test_client()
    assert sign_in_staff(office, username, password).status_code == 302
    assert office.get("/console/").status_code == 200


def test_recovery_codes_work_once_each(app):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate, second_factor=False)
    user = staff_user(username)
    from .conftest import enrol_second_factor

    codes = enrol_second_factor(user)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not any(code in h for code in codes for h in stored)
    phone_lost = app.test_client()
    phone_lost.post("/console/sign-in", data={"username": username, "password": password})
    typed = two_factor.format_recovery_code(codes[3]).lower()  # typed as it is printed
    assert (
        phone_lost.post("/console/sign-in/second-factor", data={"code": typed}).status_code == 302
    )
    again = app.test_client()
    again.post("/console/sign-in", data={"username": username, "password": password})
    assert again.post("/console/sign-in/second-factor", data={"code": typed}).status_code == 422


def test_secretary_without_second_factor_is_sent_to_enrolment(app, client):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate, second_factor=False)
    first = client.post(
        "/console/sign-in",
        data={"username": username, "password": password, "next": "/console/meiyuan"},
    )
    assert first.headers["Location"] == "/console/two-step-sign-in"
    assert client.get("/console/meiyuan").status_code == 302  # not signed in yet
    page = client.get("/console/two-step-sign-in")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and no_store(page)
    assert "<svg" in text  # the QR code, drawn in the page (no request elsewhere)
    shown = " ".join(text.split('translate="no">', 1)[1].split("<", 1)[0].split())
    secret = shown.replace(" ", "")
    assert two_factor.grouped(secret) == shown and len(secret) == 32
    # The same secret on a reload: it is derived, not stored before it is confirmed.
    assert shown in client.get("/console/two-step-sign-in").get_data(as_text=True)
    assert staff_user(username).totp_secret is None
    wrong = client.post("/console/two-step-sign-in", data={"code": "000000"})
    assert wrong.status_code == 422
    done = client.post("/console/two-step-sign-in", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and no_store(done)
    page = done.get_data(as_text=True)
    assert page.count("<li>") >= 10 and "/console/meiyuan" in page
    user = staff_user(username)
    assert user.has_second_factor and user.totp_secret == secret
    assert client.get("/console/meiyuan").status_code == 200
    # From now on the password alone is not enough.
    other = app.test_client()
    other.post("/console/sign-in", data={"username": username, "password": password})
    assert other.get("/console/meiyuan").status_code == 302


def test_a_session_from_before_a_required_second_factor_ends(app):
    """A planner signed in with a password only becomes an estate's secretary: the planner's
    session must not carry on without the second factor the new role requires."""
    estate = make_estate()
    username, password = make_staff(Role.PLANNER, estate)
    planner = app.test_client()
    assert sign_in_staff(planner, username, password).status_code == 302
    assert planner.get("/console/").status_code == 200
    operations.grant_staff_role(username, Role.SECRETARY, estate)
    assert planner.get("/console/").status_code == 302


def test_planner_may_enrol_from_the_account_page(app, client):
    estate = make_estate()
    username, password = make_staff(Role.PLANNER, estate)
    assert sign_in_staff(client, username, password).headers["Location"] == "/console/"
    account = client.get("/console/account")
    assert account.status_code == 200 and "/console/two-step-sign-in" in account.get_data(
        as_text=True
    )
    page = client.get("/console/two-step-sign-in").get_data(as_text=True)
    secret = page.split('translate="no">', 1)[1].split("<", 1)[0].replace(" ", "").strip()
    done = client.post("/console/two-step-sign-in", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    assert client.get("/console/").status_code == 200  # still signed in
    TOTP_SECRETS[username] = secret
    fresh = app.test_client()
    first = fresh.post("/console/sign-in", data={"username": username, "password": password})
    assert first.headers["Location"] == "/console/sign-in/second-factor"
    assert sign_in_staff(fresh, username, password).status_code == 302
    # New recovery codes replace the old ones.
    assert client.post("/console/account/recovery-codes").status_code == 200
    assert db.session.scalar(select(db.func.count(RecoveryCode.id))) == 10


def _token_for(username, **kwargs) -> str:
    token, _record = operations.create_api_token(staff_user(username), "city", **kwargs)
    return token


def _api(app, token, path="/api/v1/surveys"):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_sign_out_everywhere_ends_sessions_and_api_tokens(app):
    """Attack: a laptop left signed in, or a token copied from it: 'sign out everywhere' used to
    leave every API token working."""
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    token = _token_for(username)
    assert _api(app, token).status_code == 200
    laptop, phone = app.test_client(), app.test_client()
    sign_in_staff(laptop, username, password)
    sign_in_staff(phone, username, password)
    account = phone.get("/console/account")
    assert "sign-out-everywhere" in account.get_data(as_text=True)
    assert phone.post("/console/sign-out-everywhere").status_code == 302
    assert laptop.get("/console/").status_code == 302
    assert phone.get("/console/").status_code == 302
    assert _api(app, token).status_code == 401


def test_password_reset_ends_sessions_and_api_tokens(app):
    estate = make_estate()
    username, password = make_staff(Role.PLANNER, estate)
    token = _token_for(username)
    planner = app.test_client()
    sign_in_staff(planner, username, password)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["staff", "create", username, "--role", "planner", "--estate", "meiyuan",
              "--password", "a new long password"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert planner.get("/console/").status_code == 302
    assert _api(app, token).status_code == 401


def test_cli_reset_2fa_ends_everything_and_asks_for_a_new_enrolment(app):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    token = _token_for(username)
    secretary = app.test_client()
    sign_in_staff(secretary, username, password)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["staff", "reset-2fa", username])
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    assert secretary.get("/console/").status_code == 302
    assert _api(app, token).status_code == 401
    user = staff_user(username)
    assert not user.has_second_factor and user.totp_secret is None
    assert db.session.scalar(select(db.func.count(RecoveryCode.id))) == 0
    again = app.test_client()
    first = again.post("/console/sign-in", data={"username": username, "password": password})
    assert first.headers["Location"] == "/console/two-step-sign-in"
    unknown = runner.invoke(args=["staff", "reset-2fa", "nobody"])
    assert unknown.exit_code != 0


def test_matching_step_accepts_drift_and_refuses_replays():
    from datetime import UTC, datetime

    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = datetime(2026, 11, 30, 12, 0, 10, tzinfo=UTC)
    step = totp.timecode(now)
    assert two_factor.matching_step(secret, totp.at(now), now, None) == step
    assert two_factor.matching_step(secret, totp.generate_otp(step - 1), now, None) == step - 1
    assert two_factor.matching_step(secret, totp.generate_otp(step + 1), now, None) == step + 1
    assert two_factor.matching_step(secret, totp.generate_otp(step - 2), now, None) is None
    code = totp.at(now)
    assert two_factor.matching_step(secret, code[:3] + " " + code[3:], now, None) == step
    assert two_factor.matching_step(secret, code, now, step) is None
    assert two_factor.matching_step(secret, code + "0", now, None) is None
    assert two_factor.matching_step(secret, "abc" + code, now, None) is None


@given(offset=st.integers(min_value=-3, max_value=3), last=st.integers(min_value=-3, max_value=3))
def test_no_code_is_accepted_for_a_step_already_used(offset, last):
    from datetime import UTC, datetime

    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    now = datetime(2026, 11, 30, 12, 0, 10, tzinfo=UTC)
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    accepted = two_factor.matching_step(
        secret, totp.generate_otp(current + offset), now, current + last
    )
    if accepted is not None:
        assert accepted > current + last and abs(accepted - current) <= two_factor.DRIFT_STEPS
    else:
        assert abs(offset) > two_factor.DRIFT_STEPS or offset <= last


# --- 4: household sessions ----------------------------------------------------------------


def test_device_labels():
    assert device_label(IPHONE_WECHAT) == "iPhone · WeChat"
    assert device_label(ANDROID_CHROME) == "Android · Chrome"
    assert device_label(ANDROID_WECHAT) == "Android · WeChat"
    assert device_label("") == "" and device_label(None) == ""


@settings(deadline=None, max_examples=60)  # the first parse loads ua-parser's rules
@given(st.text(max_size=2000))
def test_any_user_agent_gives_a_short_label(user_agent):
    label = device_label(user_agent)
    assert isinstance(label, str) and len(label) <= LABEL_LENGTH


def test_household_sees_its_devices_and_signs_out_the_others(app):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    code = issue_code(estate, h)
    iphone, android = app.test_client(), app.test_client()
    assert sign_in_household(
        iphone, estate, h, code, headers={"User-Agent": IPHONE_WECHAT}
    ).status_code == 302  # fmt: skip
    assert sign_in_household(
        android, estate, h, code, headers={"User-Agent": ANDROID_CHROME}
    ).status_code == 302  # fmt: skip
    page = iphone.get("/devices")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and no_store(page)
    assert "iPhone · WeChat" in text and "Android · Chrome" in text
    assert "本设备" in text  # which one is this phone
    assert "/devices" in iphone.get("/home").get_data(as_text=True)  # linked from every page
    # Another household's devices are not listed.
    other = household(estate, "1", "1", "201")
    neighbour = app.test_client()
    sign_in_household(
        neighbour, estate, other, issue_code(estate, other), headers={"User-Agent": "x"}
    )
    assert "iPhone" not in neighbour.get("/devices").get_data(as_text=True)
    answer = iphone.post("/devices/sign-out-others")
    assert answer.status_code == 302
    assert android.get("/home").status_code == 302
    assert iphone.get("/home").status_code == 200
    assert neighbour.get("/home").status_code == 200


def test_signing_in_as_another_household_ends_the_previous_session(app):
    """Attack: on a shared phone, the previous household's session record lived on after
    someone else signed in (anyone holding the old cookie, a copy of it, was still in)."""
    estate = make_estate()
    first = household(estate, "1", "1", "101")
    second = household(estate, "1", "1", "201")
    phone = app.test_client()
    sign_in_household(phone, estate, first, issue_code(estate, first))
    old_cookie = phone.get_cookie("rp_session").value
    sign_in_household(phone, estate, second, issue_code(estate, second))
    records = {
        r.household_id: r for r in db.session.scalars(select(AuthSession)).all()
    }  # fmt: skip
    assert records[first.id].revoked_at is not None
    assert records[second.id].revoked_at is None
    copy = app.test_client()
    copy.set_cookie("rp_session", old_cookie, domain="localhost")
    assert copy.get("/home").status_code == 302


def _shift_sessions(delta: timedelta) -> None:
    """Move every session's times by `delta`: as if it was signed in that much earlier."""
    db.session.expire_all()
    for record in db.session.scalars(select(AuthSession)):
        record.created_at += delta
        record.last_used_at += delta
        record.expires_at += delta
    db.session.commit()


def test_a_household_session_unused_for_30_days_ends(app):
    """Before: a session lasted 90 days from signing in, used or not: a phone sold or lost
    stayed signed in for three months."""
    estate = make_estate()
    phone, _h = resident(app, estate, "1", "1", "101")
    _shift_sessions(-timedelta(days=31))
    assert phone.get("/home").status_code == 302


def test_a_used_household_session_stays(app):
    estate = make_estate()
    phone, _h = resident(app, estate, "1", "1", "101")
    _shift_sessions(-timedelta(days=29))
    assert phone.get("/home").status_code == 200  # used: another 30 days from now
    record = db.session.scalars(select(AuthSession)).one()
    db.session.refresh(record)
    assert record.expires_at > utcnow() + timedelta(days=29)
    assert record.last_used_at > utcnow() - timedelta(minutes=1)
    _shift_sessions(-timedelta(days=29))
    assert phone.get("/home").status_code == 200


def test_last_use_is_written_at_most_once_a_minute(app):
    estate = make_estate()
    phone, _h = resident(app, estate, "1", "1", "101")
    record = db.session.scalars(select(AuthSession)).one()
    earlier = utcnow() - timedelta(seconds=20)
    db.session.execute(update(AuthSession).values(last_used_at=earlier))
    db.session.commit()
    phone.get("/home")
    db.session.refresh(record)
    assert record.last_used_at == earlier  # within the minute: not written again
    db.session.execute(update(AuthSession).values(last_used_at=earlier - timedelta(minutes=1)))
    db.session.commit()
    phone.get("/home")
    db.session.refresh(record)
    assert record.last_used_at > earlier


def _session_cookie_sent(response) -> str | None:
    return next(
        (c for c in response.headers.getlist("Set-Cookie") if c.startswith("rp_session=")), None
    )


def test_the_session_cookie_is_sent_again_only_when_the_last_use_is_written(app):
    """Flask re-signed and re-sent the cookie on every request; now it goes out again when the
    session's last use (and so its expiry) is written, with the expiry moved as far."""
    estate = make_estate()
    phone, _h = resident(app, estate, "1", "1", "101")
    phone.get("/home")  # the CSRF secret is stored in the session on the first page
    assert _session_cookie_sent(phone.get("/home")) is None  # nothing changed
    earlier = utcnow() - timedelta(days=2)
    db.session.execute(update(AuthSession).values(last_used_at=earlier))
    db.session.commit()
    cookie = _session_cookie_sent(phone.get("/home"))
    assert cookie is not None
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0]).replace(tzinfo=None)
    assert expires > utcnow() + timedelta(days=29, hours=23)
    assert _session_cookie_sent(phone.get("/home")) is None
    assert phone.get("/home").status_code == 200  # still signed in


def test_purge_expired_sessions(app):
    estate = make_estate()
    live, _h = resident(app, estate, "1", "1", "101")
    resident(app, estate, "1", "1", "201")
    username, password = make_staff(Role.SECRETARY, estate)
    staff = app.test_client()
    sign_in_staff(staff, username, password)
    # The secretary issues a code (held for this sign-in), then signs out: ended, not expired.
    target = household(estate, "1", "1", "301")
    staff.post(f"/console/{estate.code}/households/{target.id}/code")
    assert db.session.scalar(select(db.func.count(CodeBatch.id))) == 1
    staff.post("/sign-out")
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.household_id == household(estate, "1", "1", "201").id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    now = utcnow()
    # Every session signing in as "1-1-101" before the last one was ended when it signed in.
    assert operations.purge_expired_sessions(now) >= 2
    left = db.session.scalars(select(AuthSession)).all()
    assert [r.household_id for r in left] == [household(estate, "1", "1", "101").id]
    assert db.session.scalar(select(db.func.count(CodeBatch.id))) == 0
    assert live.get("/home").status_code == 200
    assert operations.purge_expired_sessions(now) == 0


def test_report_photos_are_not_cached_for_households(app):
    """A photo of someone's home must not stay in a shared phone's cache (issue 12, point 4)."""
    from resident_portal.reports import operations as report_operations
    from resident_portal.reports.models import Category
    from resident_portal.reports.photos import reencode

    from .test_reports import phone_photo

    estate = make_estate()
    phone, h = resident(app, estate, "1", "1", "101")
    photo = reencode(phone_photo(200, 150, 1))
    report_operations.submit_report(
        estate, Category.LEAK, report_operations.Location(household=h), "漏水", [photo], reporter=h
    )
    for size in ("", "?size=thumb"):
        answer = phone.get(f"/e/{estate.code}/photos/{photo.key}.jpg{size}")
        assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
        assert "no-store" in answer.headers["Cache-Control"]


# --- 8: API tokens ----------------------------------------------------------------------


def test_tokens_expire(app):
    """Before: a token worked until someone remembered to revoke it."""
    estate = make_estate()
    username, _password = make_staff(Role.PLANNER, estate)
    token = _token_for(username, lifetime_days=30)
    record = db.session.scalars(select(ApiToken)).one()
    assert record.expires_at - record.created_at == timedelta(days=30)
    assert _api(app, token).status_code == 200
    record.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _api(app, token).status_code == 401
    with pytest.raises(operations.OperationError):
        _token_for(username, lifetime_days=5000)


def test_token_page_chooses_lifetime_and_estates_and_shows_expiry_and_last_use(app, client):
    here = make_estate()
    other = make_estate("lanting", "兰亭小区")
    username, password = make_staff(Role.PLANNER, here)
    operations.grant_staff_role(username, Role.PLANNER, other)
    sign_in_staff(client, username, password)
    page = client.get("/console/tokens").get_data(as_text=True)
    assert "90天" in page and "兰亭小区" in page
    created = client.post(
        "/console/tokens", data={"name": "区看板", "lifetime_days": "30", "estates": [here.id]}
    )
    text = created.get_data(as_text=True)
    assert created.status_code == 200 and no_store(created)
    record = db.session.scalars(select(ApiToken)).one()
    assert [e.code for e in record.estates] == ["meiyuan"]
    assert record.expires_at - record.created_at == timedelta(days=30)
    assert "失效" in text and "从未使用" in text and "仅限" in text
    token = next(w for w in text.replace("<", " ").replace(">", " ").split() if w.startswith("rp_"))
    assert _api(app, token).status_code == 200
    listed = client.get("/console/tokens").get_data(as_text=True)
    assert "最近使用" in listed
    # An estate not one's own, or a lifetime not offered: refused, nothing written.
    stranger = make_estate("zhuyuan", "竹苑小区")
    for data in (
        {"name": "x", "lifetime_days": "90", "estates": [stranger.id]},
        {"name": "x", "lifetime_days": "9999"},
        {"name": "x", "lifetime_days": "many"},
    ):
        refused = client.post("/console/tokens", data=data)
        assert refused.status_code == 422, data
        assert 'class="errors"' in refused.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(ApiToken.id))) == 1


def test_last_use_of_a_token_is_recorded_at_most_once_a_minute(app):
    estate = make_estate()
    username, _password = make_staff(Role.PLANNER, estate)
    token = _token_for(username)
    record = db.session.scalars(select(ApiToken)).one()
    assert record.last_used_at is None
    _api(app, token)
    db.session.refresh(record)
    first = record.last_used_at
    assert first is not None
    _api(app, token)
    db.session.refresh(record)
    assert record.last_used_at == first
    record.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    _api(app, token)
    db.session.refresh(record)
    assert record.last_used_at > first - timedelta(minutes=2)


def test_a_token_limited_to_one_estate_reads_no_other(app):
    """Before: a token read every estate its owner could; one given to a dashboard of estate A
    also read estate B."""
    here = make_estate()
    other = make_estate("lanting", "兰亭小区")
    username, _password = make_staff(Role.ADMIN)
    mine = make_survey(here)
    theirs = make_survey(other)
    limited = _token_for(username, estates=[here])
    everywhere = _token_for(username)
    assert _api(app, limited, f"/api/v1/surveys/{mine.id}/results").status_code == 200
    assert _api(app, limited, f"/api/v1/surveys/{theirs.id}/results").status_code in (403, 404)
    assert _api(app, limited, "/api/v1/surveys?estate=lanting").status_code in (403, 404)
    listed = _api(app, limited).get_json()["surveys"]
    assert [s["id"] for s in listed] == [mine.id]
    assert _api(app, everywhere, f"/api/v1/surveys/{theirs.id}/results").status_code == 200
    assert len(_api(app, everywhere).get_json()["surveys"]) == 2


def test_a_limited_token_does_not_limit_a_signed_in_session(app):
    here = make_estate()
    other = make_estate("lanting", "兰亭小区")
    username, password = make_staff(Role.ADMIN)
    theirs = make_survey(other)
    limited = _token_for(username, estates=[here])
    admin = app.test_client()
    sign_in_staff(admin, username, password)
    both = admin.get(
        f"/api/v1/surveys/{theirs.id}/results", headers={"Authorization": f"Bearer {limited}"}
    )
    assert both.status_code == 200
