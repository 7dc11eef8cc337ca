"""Fixtures: every database test runs on SQLite and, when it answers, on PostgreSQL.

Set REQUIRE_POSTGRES=1 / REQUIRE_REDIS=1 (as .ci/run does) to turn "not answering" from a skip
into a failure, so that CI cannot pass without the real services.
"""

import contextlib
import os
import re
import shutil
import socket
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlparse

import jinja2
import pytest
import werkzeug.routing
import werkzeug.security
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from resident_portal import access, create_app, operations
from resident_portal.common import format_area
from resident_portal.extensions import db
from resident_portal.models import Role
from resident_portal.registry import parse_registry

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PUBLIC_BASE_URL = "https://portal.example.cn"


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or default_port), timeout=1).close()
        return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int, env: str) -> None:
    if _answers(url, default_port):
        return
    message = f"{name} is not answering at {urlparse(url).netloc}"
    if os.environ.get(env):
        pytest.fail(f"{message}, and {env} is set")
    pytest.skip(f"{message} (start it, or set TEST_{name.upper()}_URL)")


@contextlib.contextmanager
def private_postgres_database(server_url: str):
    """A database of this test session's own on the server, dropped afterwards, so that two
    runs (a developer's and CI's, say) never clean each other's tables."""
    from sqlalchemy.engine import make_url

    name = f"resident_portal_test_{uuid.uuid4().hex[:12]}"
    # pre-ping: a test restarts the server (tests/test_load.py); the drop must still work.
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A database with the schema built by the Alembic migrations, as in production."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            # In memory (tmpfs) where the machine has one: the same SQLite, without a disk sync
            # at each of the suite's thousands of commits. mkdtemp: a new folder, its owner's only.
            shm = "/dev/shm"  # noqa: S108
            if os.path.isdir(shm):
                folder = tempfile.mkdtemp(prefix="rp-test-db-", dir=shm)
                stack.callback(shutil.rmtree, folder, ignore_errors=True)
            else:
                folder = tmp_path_factory.mktemp("db")
            url = "sqlite:///" + os.path.join(folder, "test.sqlite3")
        else:
            require_service("PostgreSQL", POSTGRES_URL, 5432, "REQUIRE_POSTGRES")
            url = stack.enter_context(private_postgres_database(POSTGRES_URL))
        from flask_migrate import upgrade

        app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url


# Staff passwords: scrypt as in production, with a smaller work factor (production's costs
# about 0.15 s of CPU a hash, and most tests sign staff in).
def _cheaper_scrypt(password, method="scrypt:1024:8:1", salt_length=16):
    return werkzeug.security.generate_password_hash(password, method, salt_length)


access.generate_password_hash = _cheaper_scrypt


# Every test builds its own app; they share the templates' compiled code.
class _SharedBytecode(jinja2.BytecodeCache):
    def __init__(self):
        self.code = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_BYTECODE = _SharedBytecode()


# Every test builds its own app, and Werkzeug compiles the URL builder of every rule anew for each
# (an AST through compile(), twice per rule): a fifth of the fast loop's time. The builder is a
# function of the rule's parsed parts and the names of its defaults, so the apps share it — except
# where a default fills a part of the path, whose converted value is compiled into the builder.
_compile_url_builder = werkzeug.routing.Rule._compile_builder
_URL_BUILDERS: dict = {}


def _shared_url_builder(self, append_unknown=True):
    defaults = self.defaults or {}
    if any(dynamic and part in defaults for dynamic, part in self._trace):
        return _compile_url_builder(self, append_unknown)
    key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
    if key not in _URL_BUILDERS:
        _URL_BUILDERS[key] = _compile_url_builder(self, append_unknown)
    return _URL_BUILDERS[key]


werkzeug.routing.Rule._compile_builder = _shared_url_builder


def make_app(database_url, **overrides):
    config = {
        "PHOTO_DIR": tempfile.mkdtemp(prefix="rp-photos-"),
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": None,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "RATE_LIMIT_PREFIX": f"test-{uuid.uuid4().hex}",
        # Cheaper hashing keeps the suite quick; the algorithm is the production one.
        "ACCESS_CODE_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    config.update(overrides)
    app = create_app(config)
    app.jinja_env.bytecode_cache = TEMPLATE_BYTECODE
    app.test_client_class = Client
    return app


def empty_tables() -> None:
    """Delete every row, children first (the schema itself stays, built once per session)."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


# One engine per database for the tests' apps (the `app` fixture's): SQLAlchemy caches the
# compiled form of each statement in its engine, and a new engine per test would compile every
# statement anew (a tenth of the suite's time). The engine is disposed after each test, so no
# connection outlives it.
_ENGINES: dict = {}


def _share_engine(app) -> None:
    engines = db._app_engines[app]
    key = engines[None].url.render_as_string(hide_password=False)
    shared = _ENGINES.setdefault(key, engines[None])
    if shared is not engines[None]:
        engines[None].dispose()
        engines[None] = shared


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    _share_engine(app)
    with app.app_context():
        yield app
        db.session.rollback()
        empty_tables()
        db.session.remove()
        db.engine.dispose()


CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Client(FlaskClient):
    """A test client that takes the CSRF token from a page, as a browser would, and speaks
    HTTPS like production (session cookies are Secure there)."""

    def open(self, *args, **kwargs):
        # A fresh app context per request, as in production: otherwise the test's own context
        # (and its g, and its database session) would be shared by every request.
        kwargs.setdefault("base_url", "https://localhost")
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        page = self.get("/", follow_redirects=True).get_data(as_text=True)
        return CSRF_INPUT.search(page).group(1)

    def post(self, *args, csrf=True, **kwargs):
        data = kwargs.get("data")
        # Browsers send a same-origin Referer with forms; CSRF checks it over HTTPS.
        kwargs.setdefault("headers", {}).setdefault("Referer", "https://localhost/")
        if csrf and (data is None or isinstance(data, dict)) and "csrf_token" not in (data or {}):
            kwargs["data"] = {**(data or {}), "csrf_token": self.csrf_token()}
        return super().post(*args, **kwargs)


@pytest.fixture
def client(app):
    return app.test_client()


def decode_qr(image_bytes: bytes) -> str:
    """Read a QR code from a PNG as a phone would. OpenCV's ArUco-based detector: its classic
    QRCodeDetector misses about 1 in 11 of these clean synthetic codes (zbar reads them all)."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(image_bytes, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, points, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    assert points is not None, "no QR code found"
    return text


# --- factories ----------------------------------------------------------------------------

HEADER = "楼栋,单元,房号,楼层,建筑面积,业主编号,业主姓名,联系电话"


def register_csv(rows) -> bytes:
    """rows: (building, unit, room, floor, area, owner_ref, owner_name, phone)."""
    lines = [HEADER] + [",".join(str(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


SMALL_REGISTER = [
    ("1", "1", "101", 1, "80.50", "A1", "王小明", "13800001590"),
    ("1", "1", "201", 2, "60.00", "A2", "李娟", "13900002222"),
    ("1", "1", "301", 3, "70.25", "A3", "张伟", ""),
    ("1", "2", "101", 1, "55.00", "A3", "张伟", ""),  # A3 holds two households
    ("2", "1", "101", 1, "90.00", "A4", "赵敏", "13700003333"),
]


SAMPLE_REGISTER = (
    Path(__file__).resolve().parent.parent / "resident_portal" / "demo" / "meiyuan_registry.csv"
)
SAMPLE_ROWS = [
    (
        r.building,
        r.unit,
        r.room,
        r.floor,
        format_area(r.area_centi_m2),
        r.owner_ref,
        r.owner_name,
        r.phone or "",
    )
    for r in parse_registry(SAMPLE_REGISTER.read_bytes(), SAMPLE_REGISTER.name).rows
]


def make_estate(code="meiyuan", name="美苑小区", rows=SMALL_REGISTER):
    estate = operations.create_estate(code, name, "示范街道")
    parsed = parse_registry(register_csv(rows), "register.csv")
    assert parsed.ok, parsed.problems
    operations.import_registry(estate, parsed)
    return estate


def household(estate, building, unit, room):
    for b in estate.buildings:
        for u in b.units:
            for h in u.households:
                if (b.number, u.number, h.room) == (building, unit, room):
                    return h
    raise LookupError((building, unit, room))


def issue_code(estate, h) -> str:
    [(_, code)] = operations.issue_codes(estate, reissue=True, household_ids=[h.id])
    return code


def reissue_all_codes(client, estate_code: str) -> str:
    """Reissue every code of the estate in the console, as a secretary does (the estate code
    typed on the confirmation page); the URL of the page of the codes held for the letters."""
    response = client.post(
        f"/console/{estate_code}/codes/reissue-all", data={"typed_estate_code": estate_code}
    )
    assert response.status_code == 303, response.status_code
    return response.headers["Location"]


# The TOTP secrets of the accounts make_staff enrolled, by username: the helpers below answer
# the second step of the sign-in with them, as the staff member's phone would.
TOTP_SECRETS: dict[str, str] = {}


def make_staff(role: Role, estate=None, username=None, *, second_factor=None) -> tuple[str, str]:
    """A staff account with that role; administrators and secretaries, who must use a second
    factor, get one (enrolled as in the console), others only with `second_factor=True`."""
    username = username or f"{role.value}-{uuid.uuid4().hex[:6]}"
    password = "correct horse battery"
    user, _password = operations.grant_staff_role(username, role, estate, password)
    if second_factor is None:
        second_factor = role in (Role.ADMIN, Role.SECRETARY)
    if second_factor and not user.has_second_factor:
        enrol_second_factor(user)
    return username, password


def enrol_second_factor(user) -> list[str]:
    """Turn on the user's second factor with a fresh secret; the recovery codes."""
    import pyotp

    secret = pyotp.random_base32()
    codes = operations.enable_second_factor(
        user, secret, pyotp.TOTP(secret).now(), "127.0.0.1", sign_in=False
    )
    assert isinstance(codes, list), codes
    TOTP_SECRETS[user.username] = secret
    return codes


def totp_now(username: str) -> str:
    """The code the account's authenticator app shows now. The account's last accepted step is
    forgotten first: tests sign one account in many times within one 30-second step, which a
    person cannot do, and the replay rule would refuse the second sign-in
    (test_two_factor.py tests that rule itself)."""
    import pyotp
    from sqlalchemy import update

    from resident_portal.models import StaffUser

    db.session.execute(
        update(StaffUser).where(StaffUser.username == username).values(totp_last_step=None)
    )
    db.session.commit()
    return pyotp.TOTP(TOTP_SECRETS[username]).now()


def sign_in_household(client, estate, h, code, **kwargs):
    return client.post(f"/e/{estate.code}/h/{h.id}", data={"code": code}, **kwargs)


def sign_in_staff(client, username, password, **data):
    """Sign in with the password and, for an account with a second factor, its current code:
    the last response (a 302 once signed in)."""
    response = client.post(
        "/console/sign-in", data={"username": username, "password": password, **data}
    )
    if (
        response.status_code == 302
        and response.headers["Location"] == "/console/sign-in/second-factor"
        and username in TOTP_SECRETS
    ):
        response = client.post("/console/sign-in/second-factor", data={"code": totp_now(username)})
    return response


def make_survey(
    estate,
    *,
    kind="decision",
    matter="renovate",
    building=None,
    unit=None,
    items=("roof", "elevators", "lighting"),
    max_priorities=0,
    opened=True,
):
    """A survey open now (or opening tomorrow), made as the CLI and the console make them."""
    from datetime import timedelta

    from resident_portal.models import utcnow
    from survey import operations as survey_operations
    from survey.catalogue import BY_KEY
    from survey.definition import parse_definition

    start = utcnow() + (timedelta(hours=-1) if opened else timedelta(days=1))
    definition, problems = parse_definition(
        {
            "title": "屋面和电梯改造",
            "title_en": "Roofs and elevators",
            "kind": kind,
            "matter": matter if kind == "decision" else None,
            "scope": {"building": building, "unit": unit},
            "opens_at": start.isoformat() + "+00:00",
            "closes_at": (start + timedelta(days=14)).isoformat() + "+00:00",
            "max_priorities": max_priorities,
            "items": [
                {
                    "category": BY_KEY[k].category.value,
                    "title": BY_KEY[k].title,
                    "title_en": BY_KEY[k].title_en,
                    "estimated_cost_fen": 100_000_00,
                }
                for k in items
            ],
        }
    )
    assert not problems, problems
    return survey_operations.create_survey(estate, definition)


def close_survey(survey):
    from datetime import timedelta

    from resident_portal.models import utcnow

    survey.closes_at = utcnow() - timedelta(seconds=1)
    survey.opens_at = survey.closes_at - timedelta(days=1)
    db.session.commit()


def make_campaign(estate, **changes):
    """A stairwell campaign open for a month: ¥50,000 target, ¥100 per household plus ¥5 per m²,
    paid directly or from the maintenance fund. `changes` replace any of its fields."""
    from datetime import timedelta

    from contributions import operations as contribution_operations
    from contributions.models import Channel, SuggestionKind
    from resident_portal.models import utcnow

    fields = dict(
        title="楼道改造居民出资",
        title_en="Stairwell renovation",
        purpose="粉刷、照明、扶手",
        target_fen=5_000_000,
        deadline=utcnow() + timedelta(days=30),
        suggestion_kind=SuggestionKind.FLAT_PLUS_PER_M2,
        flat_fen=10_000,
        per_m2_fen=500,
        channels=[Channel.DIRECT, Channel.MAINTENANCE_FUND],
    )
    fields.update(changes)
    return contribution_operations.create_campaign(
        estate, contribution_operations.CampaignFields(**fields)
    )


def make_staff_user(estate):
    """A secretary of the estate, as the StaffUser row (for operations that take one)."""
    from sqlalchemy import select

    from resident_portal.models import StaffUser

    username, _password = make_staff(Role.SECRETARY, estate)
    return db.session.scalar(select(StaffUser).where(StaffUser.username == username))


def make_elevator_project(estate, building="1", unit="1", **costs):
    """An elevator project (vote open for a week, pledges for a month) with round figures:
    ¥600,000 cost, ¥150,000 subsidy, nothing from the maintenance fund: ¥450,000 to share."""
    from datetime import timedelta

    from contributions import operations as contribution_operations
    from resident_portal.models import utcnow

    target = next(
        u for b in estate.buildings if b.number == building for u in b.units if u.number == unit
    )
    fields = contribution_operations.ElevatorFields(
        equipment_fen=costs.get("equipment_fen", 45_000_000),
        installation_fen=costs.get("installation_fen", 15_000_000),
        design_fen=0,
        pipes_fen=0,
        other_fen=0,
        subsidy_fixed_fen=costs.get("subsidy_fixed_fen", 15_000_000),
        subsidy_basis_points=0,
        subsidy_cap_fen=None,
        maintenance_fund_fen=0,
    )
    return contribution_operations.create_elevator_project(
        target, fields, utcnow() + timedelta(days=7), utcnow() + timedelta(days=30)
    )


def make_report(estate, reporter, category="leak", description="楼顶防水做完后卧室漏水"):
    from resident_portal.reports import operations as report_operations
    from resident_portal.reports.models import Category

    return report_operations.submit_report(
        estate,
        Category(category),
        report_operations.Location(household=reporter),
        description,
        [],
        reporter=reporter,
    )


@pytest.fixture
def live_server(app):
    """The app on a loopback port, in a thread, for real clients (Chromium, Open311 clients)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Plain HTTP on loopback: residents' QR codes must point here, cookies cannot be Secure.
    app.config.update(PUBLIC_BASE_URL=url, SESSION_COOKIE_SECURE=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    thread.join()
    server.server_close()


def count(model) -> int:
    """Rows in a table (through the test's own session)."""
    from sqlalchemy import func, select

    return db.session.scalar(select(func.count()).select_from(model))


def resident(app, estate, building, unit, room):
    """A phone signed in as that household (a fresh code is issued for it)."""
    h = household(estate, building, unit, room)
    client = app.test_client()
    assert sign_in_household(client, estate, h, issue_code(estate, h)).status_code == 302
    return client, h


# --- markers: the fast loop is `pytest -m "not slow"` --------------------------------------

# Marked here rather than test by test, so that a new test is marked without anyone
# remembering to: browser tests by the fixtures that start Chromium (and their modules),
# fuzzing by test_fuzz*.py and any Hypothesis test, load tests by test_load*.py. All of
# those are also slow.
BROWSER_MODULES = {"test_browser", "test_accessibility"}
BROWSER_FIXTURES = {"browser", "chromium"}
SLOW_KINDS = ("browser", "fuzz", "load")
# Other tests that take seconds (--durations=50), by test name or parameter id.
SLOW = {
    "test_the_row_limit_is_checked_in_reasonable_time_and_memory",  # 100,000 rows, ~50 s
    "100,000 rows",  # the register corpus's largest file, on every path
    "test_every_route_for_every_principal",  # every route × every principal
    "test_every_post_without_csrf_token_is_refused",  # every POST route (~5 s)
    "test_every_household_link_decodes",  # 144 QR codes through OpenCV
    "decompression bomb",
    "test_bandit_finds_nothing",
    "test_backup_while_voting_then_restore_loses_nothing",
    "test_demo_builds_a_usable_estate_and_can_run_again",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = getattr(item.module, "__name__", "").rsplit(".", 1)[-1]
        if module in BROWSER_MODULES or BROWSER_FIXTURES & set(item.fixturenames):
            item.add_marker("browser")
        if module.startswith("test_fuzz"):
            item.add_marker("fuzz")
        if module.startswith("test_load"):
            item.add_marker("load")
        if getattr(item.obj, "is_hypothesis_test", False):
            item.add_marker("fuzz")  # property tests too: Hypothesis runs 100 examples
        # Each test's PostgreSQL run repeats its SQLite run: the fast loop keeps SQLite only.
        if getattr(item, "callspec", None) and item.callspec.params.get("database_url") == (
            "postgresql"
        ):
            item.add_marker("slow")
        name, _, parameters = item.name.partition("[")
        if name in SLOW or any(case in parameters for case in SLOW):
            item.add_marker("slow")
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker("slow")


# --- an S3-compatible bucket, in-process (moto) ---------------------------------------------


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on a free local port, for the photo store's S3 backend; skipped when
    moto is not installed."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server, monkeypatch):
    """A fresh bucket on the moto server, and the app settings that store photos in it."""
    import boto3

    # moto accepts any credentials; boto3 insists on having some.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = f"photos-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    return {
        "PHOTO_STORE": "s3",
        "PHOTO_S3_BUCKET": bucket,
        "PHOTO_S3_ENDPOINT_URL": s3_server,
        "PHOTO_S3_REGION": "us-east-1",
    }
