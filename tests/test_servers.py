"""Several servers, one service (issue 14, point 4): two app instances with their own instance
folders, one PostgreSQL database and one Redis, as two machines behind one address would run.

A photo uploaded through A is served by B (from the database, or from an S3 bucket); a
session started on A works on B, and signing out on B ends it on A; a sign-in pause earned on
A holds on B; a cache on B follows what A wrote.
"""

import io
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from resident_portal import overview
from resident_portal.extensions import db
from resident_portal.models import Estate, Role
from resident_portal.reports.models import ReportPhoto

from .conftest import (
    CSRF_INPUT,
    POSTGRES_URL,
    REDIS_URL,
    empty_tables,
    household,
    issue_code,
    make_app,
    make_estate,
    make_staff,
    private_postgres_database,
    require_service,
    sign_in_staff,
)
from .test_reports import phone_photo

pytestmark = pytest.mark.slow  # two apps on PostgreSQL and Redis: seconds each

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
RESIDENT = {"REMOTE_ADDR": "198.51.100.7"}
SHARED_COOKIES = ("rp_session", "rp_device")


@pytest.fixture(scope="module")
def shared_database():
    require_service("PostgreSQL", POSTGRES_URL, 5432, "REQUIRE_POSTGRES")
    with private_postgres_database(POSTGRES_URL) as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url


@pytest.fixture(params=["database", "s3"])
def two_servers(request, shared_database, tmp_path):
    require_service("Redis", REDIS_URL, 6379, "REQUIRE_REDIS")
    photos = request.getfixturevalue("s3_bucket") if request.param == "s3" else {}
    shared = {
        "REDIS_URL": REDIS_URL,
        # what the deployment shares: the secret key (cookies) and the Redis namespace
        "SECRET_KEY": "one-secret-for-every-server",
        "RATE_LIMIT_PREFIX": f"two-servers-{tmp_path.name}",
        **photos,
    }
    a = make_app(shared_database, INSTANCE_PATH=str(tmp_path / "a"), **shared)
    b = make_app(shared_database, INSTANCE_PATH=str(tmp_path / "b"), **shared)
    assert a.instance_path != b.instance_path
    yield a, b
    with a.app_context():
        empty_tables()
        db.engine.dispose()
    with b.app_context():
        db.engine.dispose()
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"*{shared['RATE_LIMIT_PREFIX']}*"):
        connection.delete(key)
    connection.close()


def carry_cookies(source, target) -> None:
    """What a browser does when the proxy sends its next request to the other server."""
    for name in SHARED_COOKIES:
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value, domain=cookie.domain, path=cookie.path)


def test_a_photo_and_a_session_from_server_a_work_on_server_b(two_servers):
    a, b = two_servers
    with a.app_context():
        estate = make_estate()
        h = household(estate, "1", "1", "101")
        code = issue_code(estate, h)
        hid = h.id
    on_a = a.test_client()
    assert on_a.post(f"/e/meiyuan/h/{hid}", data={"code": code}).status_code == 302
    filed = on_a.post(
        "/reports/new",
        data={
            "category": "leak",
            "where": f"h:{hid}",
            "description": "卧室顶棚漏水",
            "photos": [(io.BytesIO(phone_photo(800, 600, 1)), "IMG_0001.JPG")],
        },
        content_type="multipart/form-data",
    )
    assert filed.status_code == 302, filed.get_data(as_text=True)
    with a.app_context():
        key = db.session.scalar(select(ReportPhoto.photo_key))
        jpeg = a.extensions["photo_store"].read(key)
    assert jpeg

    # The same browser, sent to B by the proxy: still signed in, and sees the photo.
    on_b = b.test_client()
    carry_cookies(on_a, on_b)
    home = on_b.get("/home")
    assert home.status_code == 200
    served = on_b.get(f"/e/meiyuan/photos/{key}.jpg")
    assert served.status_code == 200 and served.data == jpeg
    assert on_b.get(f"/e/meiyuan/photos/{key}.jpg?size=thumb").status_code == 200
    # neither server kept it on its own disk: it came from the shared store
    assert _files(a) == [] and _files(b) == []
    # nobody else gets it from B
    assert b.test_client().get(f"/e/meiyuan/photos/{key}.jpg").status_code == 403

    # A form from A is accepted by B (the CSRF token lives in the signed session cookie), and
    # signing out through B ends the session on A too (sessions are rows of the database).
    token = CSRF_INPUT.search(on_a.get("/home").get_data(as_text=True)).group(1)
    signed_out = on_b.post(
        "/sign-out", data={"csrf_token": token}, csrf=False, follow_redirects=False
    )
    assert signed_out.status_code in (302, 303)
    assert on_a.get("/home").status_code == 302


def _files(app):
    return [p for p in Path(app.config["PHOTO_DIR"]).rglob("*") if p.is_file()]


def test_a_sign_in_pause_earned_on_a_holds_on_b(two_servers):
    a, b = two_servers
    with a.app_context():
        estate = make_estate()
        h = household(estate, "1", "1", "101")
        code = issue_code(estate, h)
        url = f"/e/meiyuan/h/{h.id}"
    on_a, on_b = a.test_client(), b.test_client()
    wrong = {"code": "AAAAAAAAAA"}
    assert on_a.post(url, data=wrong, environ_base=ATTACKER).status_code == 400
    assert on_a.post(url, data=wrong, environ_base=ATTACKER).status_code == 400
    assert on_a.post(url, data=wrong, environ_base=ATTACKER).status_code == 429
    # B makes the same address wait, even with the right code ...
    assert on_b.post(url, data={"code": code}, environ_base=ATTACKER).status_code == 429
    # ... and lets the household in from its own address
    assert on_b.post(url, data={"code": code}, environ_base=RESIDENT).status_code == 302


def test_a_cache_on_b_follows_what_a_wrote(two_servers):
    a, b = two_servers
    with a.app_context():
        estate = make_estate()
        h = household(estate, "1", "1", "101")
        code = issue_code(estate, h)
        planner = make_staff(Role.PLANNER, estate)
        hid = h.id
    with b.app_context():
        before = overview.trends(list(db.session.scalars(select(Estate))))
    assert before[-1].reports_open == 0
    on_a = a.test_client()
    assert on_a.post(f"/e/meiyuan/h/{hid}", data={"code": code}).status_code == 302
    filed = on_a.post(
        "/reports/new",
        data={"category": "leak", "where": f"h:{hid}", "description": "楼道灯不亮"},
        content_type="multipart/form-data",
    )
    assert filed.status_code == 302
    # B computed the trend before and kept it; its key is the data version, read afresh
    with b.app_context():
        after = overview.trends(list(db.session.scalars(select(Estate))))
    assert after[-1].reports_open == 1
    # and B's overview page, for a planner signed in on B, says so
    on_b = b.test_client()
    assert sign_in_staff(on_b, *planner).status_code == 302
    assert on_b.get("/console/overview").status_code == 200
