"""Household and staff sign-in: codes, sessions, revocation, rate limits (docs/domain.md)."""

import csv
import io
import math
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from resident_portal import access, ratelimit
from resident_portal.extensions import db
from resident_portal.models import AuthSession, Role, StaffUser

from .conftest import (
    REDIS_URL,
    SAMPLE_ROWS,
    empty_tables,
    household,
    issue_code,
    make_app,
    make_estate,
    make_staff,
    require_service,
    sign_in_household,
    sign_in_staff,
)


def session_count():
    return db.session.scalar(select(func.count()).select_from(AuthSession))


def test_access_codes_are_long_unambiguous_and_stored_only_hashed(app):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    code = issue_code(estate, h)
    assert len(code) == access.CODE_LENGTH
    assert set(code) <= set(access.CODE_ALPHABET)
    assert not set("01OILUV") & set(access.CODE_ALPHABET)
    assert access.CODE_LENGTH * math.log2(len(access.CODE_ALPHABET)) >= 40
    db.session.refresh(h)
    assert code not in h.access_code_hash and h.access_code_hash.startswith("pbkdf2:")
    assert access.check_access_code(h, code.lower())
    assert access.check_access_code(h, access.format_access_code(code))
    assert not access.check_access_code(h, code[:-1] + ("2" if code[-1] != "2" else "3"))


def test_resident_walks_from_estate_qr_to_home(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "201")
    code = issue_code(estate, h)
    page = client.get("/e/meiyuan").get_data(as_text=True)
    assert "美苑小区" in page and "/e/meiyuan/b/1" in page
    assert "/e/meiyuan/b/1/u/1" in client.get("/e/meiyuan/b/1").get_data(as_text=True)
    assert f"/e/meiyuan/h/{h.id}" in client.get("/e/meiyuan/b/1/u/1").get_data(as_text=True)
    assert client.get(f"/e/meiyuan/h/{h.id}").status_code == 200
    wrong = sign_in_household(client, estate, h, "AAAAA-AAAAA")
    assert wrong.status_code == 400 and "访问码与该户不符" in wrong.get_data(as_text=True)
    response = sign_in_household(client, estate, h, code)
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    home = client.get("/home").get_data(as_text=True)
    assert "1栋1单元201室" in home
    assert "李娟" not in home  # names are never shown to residents


def test_personal_link_keeps_the_code_for_one_tap_and_changes_nothing_on_get(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    code = issue_code(estate, h)
    before = session_count()
    link = client.get(f"/e/meiyuan/h/{h.id}?code={code}")
    assert link.status_code == 303 and link.headers["Location"] == f"/e/meiyuan/h/{h.id}"
    page = client.get(link.headers["Location"])
    assert page.status_code == 200 and code not in page.get_data(as_text=True)
    assert session_count() == before
    assert client.get("/home").status_code == 302  # not signed in by a GET
    assert client.post(f"/e/meiyuan/h/{h.id}", data={}).status_code == 302
    assert client.get("/home").status_code == 200


def test_household_of_another_estate_cannot_sign_in_here(app, client):
    estate = make_estate()
    other = make_estate("lanting", "兰亭小区")
    h = household(other, "1", "1", "101")
    issue_code(other, h)
    assert client.get(f"/e/meiyuan/h/{h.id}").status_code == 404
    assert estate.code != other.code


def test_owner_with_two_households_sees_both_with_either_code(app):
    estate = make_estate()
    first, second = household(estate, "1", "1", "301"), household(estate, "1", "2", "101")
    for h in (first, second):
        client = app.test_client()
        sign_in_household(client, estate, h, issue_code(estate, h))
        home = client.get("/home").get_data(as_text=True)
        assert "1栋1单元301室" in home and "1栋2单元101室" in home
        assert "2栋1单元101室" not in home


def test_reissuing_a_code_kills_the_old_code_and_its_sessions(app):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    old = issue_code(estate, h)
    phones = [app.test_client(), app.test_client()]
    for phone in phones:
        assert sign_in_household(phone, estate, h, old).status_code == 302
        assert phone.get("/home").status_code == 200
    new = issue_code(estate, h)
    for phone in phones:
        assert phone.get("/home").status_code == 302
    fresh = app.test_client()
    assert sign_in_household(fresh, estate, h, old).status_code == 400
    assert sign_in_household(fresh, estate, h, new).status_code == 302


def test_session_cookie_is_rotated_at_sign_in_and_dead_after_sign_out(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    code = issue_code(estate, h)
    client.get("/")
    before = client.get_cookie("rp_session", domain="localhost").value
    sign_in_household(client, estate, h, code)
    signed_in = client.get_cookie("rp_session", domain="localhost").value
    assert signed_in != before
    client.post("/sign-out")
    replay = app.test_client()
    replay.set_cookie("rp_session", signed_in, domain="localhost")
    assert replay.get("/home").status_code == 302
    record = db.session.scalar(select(AuthSession).where(AuthSession.household_id == h.id))
    assert record.revoked_at is not None


def test_session_cookie_flags(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    response = sign_in_household(client, estate, h, issue_code(estate, h))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_expired_session_is_refused(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    sign_in_household(client, estate, h, issue_code(estate, h))
    record = db.session.scalar(select(AuthSession).where(AuthSession.household_id == h.id))
    record.expires_at = record.created_at - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/home").status_code == 302


@pytest.fixture(params=["memory", "redis"])
def limiter_storage(request, app):
    """Run a rate-limit test on in-process memory and on Redis, as production may."""
    if request.param == "redis":
        require_service("Redis", REDIS_URL, 6379, "REQUIRE_REDIS")
        app.config["REDIS_URL"] = REDIS_URL
        ratelimit.init_app(app)
    return request.param


ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
RESIDENT = {"REMOTE_ADDR": "198.51.100.7"}


def test_wrong_codes_typed_by_anyone_never_lock_the_household_out(app, limiter_storage):
    # Issue 12: five wrong codes used to block the household's right code for 15 minutes,
    # from everywhere: a way to keep a household from voting.
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    code = issue_code(estate, h)
    attacker = app.test_client()
    answers = [
        sign_in_household(attacker, estate, h, "AAAAAAAAAA", environ_base=ATTACKER).status_code
        for _ in range(12)
    ]
    # The guesser is slowed down, with a time to retry ...
    assert answers[:2] == [400, 400] and set(answers[2:]) == {429}
    paused = sign_in_household(attacker, estate, h, code, environ_base=ATTACKER)
    assert paused.status_code == 429
    text = paused.get_data(as_text=True)
    assert "次数过多" in text and "分钟" in text
    # ... and the household's own phone, from its own address, signs in at once.
    phone = app.test_client()
    assert sign_in_household(phone, estate, h, code, environ_base=RESIDENT).status_code == 302
    assert phone.get("/home").status_code == 200
    # another household is not affected even from the guesser's address
    neighbour = household(estate, "1", "1", "201")
    right = issue_code(estate, neighbour)
    assert (
        sign_in_household(attacker, estate, neighbour, right, environ_base=ATTACKER).status_code
        == 302
    )


def test_a_phone_that_signed_in_before_is_not_kept_out_by_a_guesser_on_its_address(
    app, limiter_storage
):
    # Carrier-grade NAT: the guesser and the household share one public address.
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    code = issue_code(estate, h)
    phone = app.test_client()
    assert sign_in_household(phone, estate, h, code, environ_base=ATTACKER).status_code == 302
    phone.post("/sign-out")
    guesser = app.test_client()
    for _ in range(40):
        sign_in_household(guesser, estate, h, "AAAAAAAAAA", environ_base=ATTACKER)
    assert sign_in_household(guesser, estate, h, code, environ_base=ATTACKER).status_code == 429
    assert sign_in_household(phone, estate, h, code, environ_base=ATTACKER).status_code == 302
    # a forged or foreign device cookie is worth nothing
    forger = app.test_client()
    forger.set_cookie(ratelimit.DEVICE_COOKIE, "eyJkIjoieCIsImEiOlsiaG91c2Vob2xkOjEiXX0.x.y")
    assert sign_in_household(forger, estate, h, code, environ_base=ATTACKER).status_code == 429


def test_failures_from_one_address_make_it_wait_longer_and_longer(app):
    app.config["SIGN_IN_DELAYS"] = "2 per 2 seconds; 4 per 1 hour"
    ratelimit.init_app(app)
    limiter = ratelimit.sign_in_limiter()

    def wrong():
        with app.test_request_context():
            return limiter.attempt("household:1", "estate:1", "203.0.113.5", lambda: False)

    assert wrong() is False
    first_pause = wrong()
    assert isinstance(first_pause, ratelimit.Blocked)
    assert (first_pause.until - datetime.now(UTC)).total_seconds() <= 2
    time.sleep(2.1)
    assert wrong() is False
    second_pause = wrong()
    assert (second_pause.until - datetime.now(UTC)).total_seconds() > 3000
    # others at the same household are not made to wait
    with app.test_request_context():
        assert limiter.attempt("household:1", "estate:1", "198.51.100.1", lambda: True) is True


def test_the_estate_ceiling_stops_guessing_from_many_addresses(app, limiter_storage):
    app.config["SIGN_IN_LIMIT_PER_ESTATE"] = "10 per 15 minutes"
    ratelimit.init_app(app)
    estate = make_estate(rows=SAMPLE_ROWS)
    targets = [
        h for b in estate.sorted_buildings for u in b.sorted_units for h in u.sorted_households
    ]
    answers = [
        sign_in_household(
            app.test_client(), estate, h, "AAAAAAAAAA", environ_base={"REMOTE_ADDR": f"10.9.0.{i}"}
        ).status_code
        for i, h in enumerate(targets[:12])
    ]
    assert answers == [400] * 9 + [429] * 3
    # A phone that signed in before still signs in; so does everyone already signed in.
    h = targets[20]
    code = issue_code(estate, h)
    phone = app.test_client()
    assert ratelimit.sign_in_limiter().scope_load(f"estate:{estate.id}") == (10, 10)
    assert sign_in_household(phone, estate, h, code).status_code == 429
    other = make_estate("lanting", "兰亭小区")
    elsewhere = household(other, "1", "1", "101")
    assert (
        sign_in_household(phone, other, elsewhere, issue_code(other, elsewhere)).status_code == 302
    )


def test_ipv6_addresses_count_per_64():
    assert ratelimit.address_key("2001:db8:1:2:aaaa::1") == ratelimit.address_key(
        "2001:db8:1:2:ffff::9"
    )
    assert ratelimit.address_key("2001:db8:1:3::1") != ratelimit.address_key("2001:db8:1:2::1")
    assert ratelimit.address_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert ratelimit.address_key("203.0.113.9") == "203.0.113.9"


def test_failed_codes_are_limited_per_client_address(app, limiter_storage):
    # One wrong guess at each of 30 households (never 5 at one) still stops the guesser.
    estate = make_estate(rows=SAMPLE_ROWS)
    targets = [
        h for b in estate.sorted_buildings for u in b.sorted_units for h in u.sorted_households
    ][:31]
    attacker = app.test_client()
    statuses = [
        sign_in_household(attacker, estate, h, "AAAAAAAAAA").status_code for h in targets[:30]
    ]
    assert statuses == [400] * 29 + [429]
    right_code = issue_code(estate, targets[30])
    assert sign_in_household(attacker, estate, targets[30], right_code).status_code == 429
    elsewhere = app.test_client()
    response = elsewhere.post(
        f"/e/meiyuan/h/{targets[30].id}",
        data={"code": right_code},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert response.status_code == 302


def test_rate_limits_are_shared_across_processes_through_redis(database_url):
    require_service("Redis", REDIS_URL, 6379, "REQUIRE_REDIS")
    first = make_app(database_url, REDIS_URL=REDIS_URL)
    second = make_app(
        database_url, REDIS_URL=REDIS_URL, RATE_LIMIT_PREFIX=first.config["RATE_LIMIT_PREFIX"]
    )
    try:
        with first.app_context():
            estate = make_estate()
            h = household(estate, "1", "1", "101")
            code = issue_code(estate, h)
            hid = h.id
        one, two = first.test_client(), second.test_client()
        wrong = {"code": "AAAAAAAAAA"}
        url = f"/e/meiyuan/h/{hid}"
        assert one.post(url, data=wrong, environ_base=ATTACKER).status_code == 400
        assert two.post(url, data=wrong, environ_base=ATTACKER).status_code == 400
        # the third failure from that address, counted across both processes, makes it wait
        assert one.post(url, data=wrong, environ_base=ATTACKER).status_code == 429
        assert two.post(url, data=wrong, environ_base=ATTACKER).status_code == 429
        # and the right code from another address signs in on either
        assert two.post(url, data={"code": code}, environ_base=RESIDENT).status_code == 302
    finally:
        with first.app_context():
            empty_tables()
            db.engine.dispose()
        with second.app_context():
            db.engine.dispose()


def test_staff_sign_in_wrong_password_rate_limit_and_sign_out_everywhere(app):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    laptop, phone = app.test_client(), app.test_client()
    assert sign_in_staff(laptop, username, "wrong password").status_code == 400
    assert sign_in_staff(laptop, username, password).status_code == 302
    assert sign_in_staff(phone, username, password).status_code == 302
    assert phone.get("/console/meiyuan").status_code == 200
    assert laptop.post("/console/sign-out-everywhere").status_code == 302
    assert phone.get("/console/meiyuan").status_code == 302
    assert laptop.get("/console/meiyuan").status_code == 302
    # Issue 12: failures count per account and address; nobody locks the account out.
    guesser = app.test_client()
    for _ in range(12):
        guesser.post(
            "/console/sign-in",
            data={"username": username, "password": "wrong password"},
            environ_base=ATTACKER,
        )
    retry = guesser.post(
        "/console/sign-in", data={"username": username, "password": password}, environ_base=ATTACKER
    )
    assert retry.status_code == 429
    new_laptop = app.test_client()
    assert sign_in_staff(new_laptop, username, password).status_code == 302
    assert phone.post("/console/sign-out-everywhere").status_code == 302


def test_staff_ceiling_keeps_crowds_out_but_not_a_known_browser(app):
    app.config["SIGN_IN_LIMIT_PER_STAFF_ACCOUNT"] = "5 per 15 minutes"
    ratelimit.init_app(app)
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    office = app.test_client()
    assert sign_in_staff(office, username, password).status_code == 302
    office.post("/console/sign-out-everywhere")
    for i in range(6):
        app.test_client().post(
            "/console/sign-in",
            data={"username": username, "password": "wrong password"},
            environ_base={"REMOTE_ADDR": f"10.8.0.{i}"},
        )
    assert sign_in_staff(app.test_client(), username, password).status_code == 429
    assert sign_in_staff(office, username, password).status_code == 302


def test_unknown_staff_user_and_deactivated_user_cannot_sign_in(app, client):
    estate = make_estate()
    username, password = make_staff(Role.PLANNER, estate)
    assert sign_in_staff(client, "nobody", password).status_code == 400
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    assert sign_in_staff(client, username, password).status_code == 302
    user.is_active = False
    db.session.commit()
    assert client.get("/console/meiyuan").status_code == 302
    assert sign_in_staff(app.test_client(), username, password).status_code == 400


def test_cli_issues_codes_for_mail_merge(app, tmp_path):
    estate = make_estate()
    out = tmp_path / "codes.csv"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["codes", "issue", "meiyuan", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 5
    assert list(rows[0]) == ["building", "unit", "room", "code", "url"]
    first = rows[0]
    assert first["url"].startswith("https://portal.example.cn/e/meiyuan/h/")
    h = household(estate, first["building"], first["unit"], first["room"])
    assert sign_in_household(app.test_client(), estate, h, first["code"]).status_code == 302
    # a second run issues only to households without a code: none
    result = runner.invoke(args=["codes", "issue", "meiyuan", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "已生成0个访问码" in result.output
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 1
    result = runner.invoke(args=["codes", "issue", "meiyuan", "--out", str(out), "--all"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 6
    assert sign_in_household(app.test_client(), estate, h, first["code"]).status_code == 400


@pytest.mark.parametrize(
    "args, ok",
    [
        (["staff", "create", "li", "--role", "secretary", "--estate", "meiyuan"], True),
        (["staff", "create", "boss", "--role", "admin"], True),
        (["staff", "create", "li2", "--role", "secretary"], False),  # not scoped
        (["staff", "create", "li3", "--role", "planner", "--estate", "nowhere"], False),
        (["staff", "create", "li4", "--role", "cook", "--estate", "meiyuan"], False),
    ],
)
def test_cli_staff_create(app, args, ok):
    make_estate()
    result = app.test_cli_runner().invoke(args=args)
    assert (result.exit_code == 0) == ok, result.output
    created = db.session.scalar(select(StaffUser).where(StaffUser.username == args[2]))
    assert (created is not None) == ok
    if ok:
        [printed] = re.findall(r"密码：(\S+)", result.output)  # the random one, printed once
        assert access.check_password(created, printed)


def test_secretary_sees_households_and_accounts_with_unusual_failure_counts(app, limiter_storage):
    estate = make_estate()
    target = household(estate, "1", "1", "201")
    issue_code(estate, target)
    quiet = household(estate, "2", "1", "101")
    username, password = make_staff(Role.PLANNER, estate)
    for i in range(6):
        guesser = {"REMOTE_ADDR": f"10.7.0.{i}"}
        sign_in_household(app.test_client(), estate, target, "AAAAAAAAAA", environ_base=guesser)
        app.test_client().post(
            "/console/sign-in",
            data={"username": username, "password": "wrong password"},
            environ_base=guesser,
        )
    sign_in_household(app.test_client(), estate, quiet, "AAAAAAAAAA")  # one slip: usual
    secretary = app.test_client()
    sign_in_staff(secretary, *make_staff(Role.SECRETARY, estate))
    page = secretary.get("/console/meiyuan/sign-in-failures")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "1栋1单元201室" in text and "2栋1单元101室" not in text
    assert username in text
    assert "李娟" not in text  # no names: the register page is where those are
    planner = app.test_client()
    sign_in_staff(planner, username, password)
    assert planner.get("/console/meiyuan/sign-in-failures").status_code == 403
