"""Personal data under PIPL (issue 12, point 7): the privacy notice and its acknowledgement, the
household's "my data" page and downloads, correction requests and the secretary's queue, the
purge command, audited views and exports, and files only their owner can read (0600)."""

import csv
import io
import os
import stat
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from contributions import operations as contribution_operations
from contributions.models import Channel
from resident_portal import operations
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, CorrectionRequest, PendingImport, Role, utcnow
from resident_portal.privacy import create_private, write_private
from survey import operations as survey_operations
from survey.tally import Choice

from .conftest import (
    REDIS_URL,
    SMALL_REGISTER,
    count,
    household,
    make_app,
    make_campaign,
    make_estate,
    make_report,
    make_staff,
    make_staff_user,
    make_survey,
    register_csv,
    require_service,
    resident,
    sign_in_staff,
)

ROOT = Path(__file__).resolve().parent.parent


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- the privacy notice ------------------------------------------------------------------


def test_notice_is_shown_at_first_sign_in_and_acknowledged_once(app):
    estate = make_estate()
    operations.set_estate_organiser(estate, "示范街道美苑社区居委会", "010-6666 8888")
    phone, h = resident(app, estate, "1", "1", "101")
    home = phone.get("/home").get_data(as_text=True)
    assert 'id="privacy-notice"' in home and "示范街道美苑社区居委会" in home
    assert "010-6666 8888" in home
    response = phone.post("/privacy/acknowledge")
    assert response.status_code == 303
    db.session.refresh(h)
    first = h.privacy_acknowledged_at
    assert first is not None
    assert audit_actions().count("privacy.acknowledge") == 1
    secretary = app.test_client()
    sign_in_staff(secretary, *make_staff(Role.SECRETARY, estate))
    log = secretary.get("/console/meiyuan/audit").get_data(as_text=True)
    assert "privacy.acknowledge" in log and "住户本人" in log
    assert 'id="privacy-notice"' not in phone.get("/home").get_data(as_text=True)
    # Signed in again on another phone: not asked again, and a second click changes nothing.
    other_phone, _h = resident(app, estate, "1", "1", "101")
    assert 'id="privacy-notice"' not in other_phone.get("/home").get_data(as_text=True)
    other_phone.post("/privacy/acknowledge")
    db.session.refresh(h)
    assert h.privacy_acknowledged_at == first
    assert audit_actions().count("privacy.acknowledge") == 1


def test_notice_says_what_why_who_how_long_and_whom_to_contact(app, client):
    estate = make_estate()
    operations.set_estate_organiser(estate, "美苑社区居委会", "6688 1234")
    page = client.get("/e/meiyuan/privacy").get_data(as_text=True)
    for heading in ("由谁负责", "保存哪些信息", "为什么", "谁能看到", "保存多久", "您的权利"):
        assert heading in page, heading
    assert "美苑社区居委会" in page and "6688 1234" in page
    assert "登录30天不用就会失效" in page  # the sign-in lifetime, from the configuration
    assert client.get("/privacy").status_code == 200


def test_every_page_links_the_notice_and_so_do_the_letter_and_the_poster(app, client):
    estate = make_estate()
    for url in ("/", "/e/meiyuan", "/e/meiyuan/reports", "/console/sign-in", "/no-such-page"):
        page = client.get(url).get_data(as_text=True)
        assert 'href="/e/meiyuan/privacy"' in page or 'href="/privacy"' in page, url
    assert 'href="/e/meiyuan/privacy"' in client.get("/e/meiyuan").get_data(as_text=True)
    secretary = app.test_client()
    sign_in_staff(secretary, *make_staff(Role.SECRETARY, estate))
    poster = secretary.get("/console/meiyuan/posters/print").get_data(as_text=True)
    assert "https://portal.example.cn/e/meiyuan/privacy" in poster
    issued = secretary.post(
        f"/console/meiyuan/households/{household(estate, '1', '1', '101').id}/code"
    )
    letters = secretary.get(issued.headers["Location"] + "/letters").get_data(as_text=True)
    assert "https://portal.example.cn/e/meiyuan/privacy" in letters


def test_estate_organiser_is_set_on_the_command_line_and_shown_on_survey_notices(app):
    make_estate()
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "estate",
            "organiser",
            "meiyuan",
            "--name",
            "美苑社区居委会",
            "--contact",
            "6688 1234",
        ]
    )
    assert result.exit_code == 0, result.output
    created = runner.invoke(
        args=["estate", "create", "lanting", "--name", "兰亭小区", "--organiser", "兰亭居委会"]
    )
    assert created.exit_code == 0, created.output
    from resident_portal.estates import estate_by_code

    assert estate_by_code("meiyuan").contact == "6688 1234"
    assert estate_by_code("lanting").organiser == "兰亭居委会"
    refused = runner.invoke(
        args=["estate", "organiser", "meiyuan", "--name", "x" * 201, "--contact", "1"]
    )
    assert refused.exit_code != 0 and estate_by_code("meiyuan").organiser == "美苑社区居委会"


def test_secretary_sets_the_organiser_in_the_console(app):
    estate = make_estate()
    secretary = app.test_client()
    sign_in_staff(secretary, *make_staff(Role.SECRETARY, estate))
    assert "/console/meiyuan/organiser" in secretary.get("/console/meiyuan").get_data(as_text=True)
    refused = secretary.post("/console/meiyuan/organiser", data={"organiser": "", "contact": "1"})
    assert refused.status_code == 422 and "请写明组织单位" in refused.get_data(as_text=True)
    db.session.refresh(estate)
    assert estate.organiser == "" and estate.contact == ""
    saved = secretary.post(
        "/console/meiyuan/organiser", data={"organiser": "美苑社区居委会", "contact": "6688 1234"}
    )
    assert saved.status_code == 303
    db.session.refresh(estate)
    assert (estate.organiser, estate.contact) == ("美苑社区居委会", "6688 1234")
    assert "estate.organiser" in audit_actions()
    assert "美苑社区居委会" in app.test_client().get("/e/meiyuan/privacy").get_data(as_text=True)


def test_surveys_default_to_the_estates_organiser_and_contact(app):
    estate = make_estate()
    operations.set_estate_organiser(estate, "美苑社区居委会", "6688 1234")
    planner = app.test_client()
    sign_in_staff(planner, *make_staff(Role.PLANNER, estate))
    form = planner.get("/console/meiyuan/surveys/new").get_data(as_text=True)
    assert 'value="美苑社区居委会"' in form and 'value="6688 1234"' in form
    survey = make_survey(estate)  # made without an organiser of its own
    from .conftest import close_survey

    close_survey(survey)
    notice = app.test_client().get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True)
    assert "美苑社区居委会" in notice and "6688 1234" in notice


# --- my data ------------------------------------------------------------------------------


def _a_household_with_everything(app):
    estate = make_estate()
    phone, h = resident(app, estate, "1", "1", "101")
    neighbour = household(estate, "1", "1", "201")
    survey = make_survey(estate)
    first = survey_operations.submit_ballot(survey, h, {i.id: Choice.SUPPORT for i in survey.items})
    second = survey_operations.submit_ballot(survey, h, {i.id: Choice.OPPOSE for i in survey.items})
    theirs = survey_operations.submit_ballot(
        survey, neighbour, {i.id: Choice.ABSTAIN for i in survey.items}
    )
    campaign = make_campaign(estate)
    contribution_operations.pledge(campaign, h, 50_000, Channel.DIRECT)
    contribution_operations.pledge(campaign, neighbour, 77_700, Channel.DIRECT)
    contribution_operations.record_payment(
        campaign, h, 30_000, date(2026, 11, 20), "SJ-0042", "", staff_user=make_staff_user(estate)
    )
    make_report(estate, h, description="阳台渗水")
    make_report(estate, neighbour, description="邻居家的事")
    return phone, h, (first, second, theirs)


def test_my_data_shows_the_households_own_data_and_nobody_elses(app):
    phone, h, (first, second, theirs) = _a_household_with_everything(app)
    page = phone.get("/my-data").get_data(as_text=True)
    assert "王小明" in page and "13800001590" in page and "80.50" in page
    assert first in page and second in page and theirs not in page
    assert "已替换" in page and "已计入" in page  # the first replaced, the second counted
    assert "500.00" in page and "300.00" in page and "SJ-0042" in page
    assert "777.00" not in page
    assert "阳台渗水" in page and "邻居家的事" not in page
    assert "李娟" not in page and "13900002222" not in page


def test_my_data_downloads_as_json_and_csv(app):
    phone, h, (first, second, theirs) = _a_household_with_everything(app)
    response = phone.get("/my-data.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    data = response.get_json()
    assert data["register"][0]["owner_name"] == "王小明"
    assert [b["receipt"] for b in data["ballots"]] == [first, second]
    assert data["pledges"][0]["amount_yuan"] == "500.00"
    assert data["payments"][0]["receipt_number"] == "SJ-0042"
    assert [r["description"] for r in data["reports"]] == ["阳台渗水"]
    assert data["correction_requests"] == []
    text = phone.get("/my-data.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert ["登记信息"] in rows and first in text and theirs not in text
    assert phone.get("/my-data.pdf").status_code == 404


def test_my_data_csv_neutralises_formulas(app):
    estate = make_estate()
    phone, h = resident(app, estate, "1", "1", "101")
    operations.request_correction(h, '=HYPERLINK("http://evil","x")')
    make_report(estate, h, description="+1+cmd|' /C calc'!A0")
    text = phone.get("/my-data.csv").get_data().decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert '\'=HYPERLINK("http://evil","x")' in cells
    assert "'+1+cmd|' /C calc'!A0" in cells
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells)


# --- correction requests ------------------------------------------------------------------


def test_a_correction_request_reaches_the_secretary_who_marks_it_handled(app):
    estate = make_estate()
    phone, h = resident(app, estate, "1", "1", "101")
    refused = phone.post("/my-data/correction", data={"text": "   "})
    assert refused.status_code == 422 and count(CorrectionRequest) == 0
    assert "请写明哪里不对" in refused.get_data(as_text=True)
    sent = phone.post("/my-data/correction", data={"text": "面积应为81.50平方米，见房产证"})
    assert sent.status_code == 303 and count(CorrectionRequest) == 1
    assert "面积应为81.50平方米" in phone.get("/my-data").get_data(as_text=True)

    secretary = app.test_client()
    sign_in_staff(secretary, *make_staff(Role.SECRETARY, estate))
    queue = secretary.get("/console/meiyuan/corrections").get_data(as_text=True)
    assert "面积应为81.50平方米" in queue and "1栋1单元101室" in queue
    request = db.session.scalar(select(CorrectionRequest))
    url = f"/console/meiyuan/corrections/{request.id}/handled"
    no_note = secretary.post(url, data={"note": ""})
    assert no_note.status_code == 422
    db.session.refresh(request)
    assert request.handled_at is None
    done = secretary.post(url, data={"note": "已按房产证更正登记面积"})
    assert done.status_code == 303
    db.session.refresh(request)
    assert request.handled_at is not None and request.handled_note == "已按房产证更正登记面积"
    assert "privacy.correction_handled" in audit_actions()
    assert 'id="request-' not in secretary.get("/console/meiyuan/corrections").get_data(
        as_text=True
    )
    # Another estate's secretary cannot see or handle it.
    make_estate("lanting", "兰亭小区")
    stranger = app.test_client()
    from resident_portal.estates import estate_by_code

    sign_in_staff(stranger, *make_staff(Role.SECRETARY, estate_by_code("lanting")))
    assert stranger.get("/console/meiyuan/corrections").status_code == 403
    assert (
        stranger.post(
            f"/console/lanting/corrections/{request.id}/handled", data={"note": "x"}
        ).status_code
        == 404
    )


# --- audit of views and exports -----------------------------------------------------------


def test_staff_views_of_a_household_and_exports_of_personal_data_are_audited(app):
    estate = make_estate()
    make_campaign(estate)
    secretary = app.test_client()
    sign_in_staff(secretary, *make_staff(Role.SECRETARY, estate))
    h = household(estate, "1", "1", "101")
    before = len(audit_actions())
    assert secretary.get(f"/console/meiyuan/households/{h.id}").status_code == 200
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "household.view" and entry.detail["household"] == h.id
    assert entry.staff_user_id is not None
    campaign_id = db.session.scalar(select(contribution_operations.Campaign.id))
    assert secretary.get(f"/console/meiyuan/campaigns/{campaign_id}/export.csv").status_code == 200
    assert secretary.get("/console/meiyuan/reports/export.xlsx").status_code == 200
    issued = secretary.post(f"/console/meiyuan/households/{h.id}/code")
    assert secretary.get(issued.headers["Location"] + "/letters").status_code == 200
    assert secretary.get(issued.headers["Location"] + "/codes.zip").status_code == 200
    actions = audit_actions()[before:]
    for action in (
        "household.view",
        "export.pledges",
        "export.reports",
        "export.letters",
        "export.codes_zip",
    ):
        assert action in actions, action


# --- purge --------------------------------------------------------------------------------


def test_purge_removes_old_unconfirmed_uploads_and_is_safe_to_repeat(app):
    estate = make_estate()
    user = make_staff_user(estate)
    old = operations.hold_upload(estate, user, "old.csv", register_csv(SMALL_REGISTER))
    old.created_at = utcnow() - timedelta(hours=25)
    other_user = make_staff_user(estate)
    operations.hold_upload(estate, other_user, "new.csv", register_csv(SMALL_REGISTER))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "超过24小时未确认的名册上传：删除 1 条" in result.output
    assert [p.filename for p in db.session.scalars(select(PendingImport))] == ["new.csv"]
    again = runner.invoke(args=["purge"])
    assert again.exit_code == 0 and "删除 1 条" not in again.output
    assert "过期的登录：删除 0 条" in again.output


def test_purge_removes_failure_counters_that_would_never_expire(database_url):
    require_service("Redis", REDIS_URL, 6379, "REQUIRE_REDIS")
    app = make_app(database_url, REDIS_URL=REDIS_URL)
    with app.app_context():
        limiter = app.extensions["sign_in_limiter"]
        client = limiter.storage.storage
        forever = f"LIMITS:{limiter.prefix}/failures/household:{uuid.uuid4().hex}"
        expiring = f"LIMITS:{limiter.prefix}/failures/household:{uuid.uuid4().hex}"
        client.set(forever, 3)
        client.set(expiring, 2, ex=3600)
        result = app.test_cli_runner().invoke(args=["purge"])
        assert result.exit_code == 0, result.output
        assert client.exists(forever) == 0 and client.exists(expiring) == 1
        client.delete(expiring)
        db.session.remove()
        db.engine.dispose()


# --- files only their owner reads ---------------------------------------------------------


@pytest.fixture
def loose_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_private_files_are_0600_whatever_the_umask(tmp_path, loose_umask):
    path = tmp_path / "codes.csv"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_private(path, b"secret")
    assert mode(path) == 0o600 and path.read_bytes() == b"secret"
    assert create_private(tmp_path / "db.sqlite3") and mode(tmp_path / "db.sqlite3") == 0o600


def test_the_sqlite_database_and_its_backup_are_0600(tmp_path, loose_umask):
    path = tmp_path / "instance" / "live.sqlite3"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        make_estate()
        assert mode(path) == 0o600
        backup = tmp_path / "backup.sqlite3"
        result = app.test_cli_runner().invoke(args=["backup", str(backup)])
        assert result.exit_code == 0, result.output
        assert mode(backup) == 0o600
        db.engine.dispose()


def test_code_csvs_and_cli_exports_are_0600(app, tmp_path, loose_umask):
    make_estate()
    runner = app.test_cli_runner()
    codes = tmp_path / "letters.csv"
    result = runner.invoke(args=["codes", "issue", "meiyuan", "--out", str(codes)])
    assert result.exit_code == 0, result.output
    assert mode(codes) == 0o600
    assert "export.codes_csv" in audit_actions()
    monthly = tmp_path / "monthly.xlsx"
    result = runner.invoke(args=["report", "monthly", "--month", "2026-11", "--out", str(monthly)])
    assert result.exit_code == 0, result.output
    assert mode(monthly) == 0o600


def test_the_dev_script_writes_the_secret_key_0600(tmp_path):
    """Runs the very line of ./dev that makes instance/secret_key, under a loose umask."""
    line = next(
        line.strip()
        for line in (ROOT / "dev").read_text().splitlines()
        if "instance/secret_key" in line and "write_private" in line
    )
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip("no .venv/bin/python to run ./dev's line with")
    subprocess.run(
        ["bash", "-c", f"umask 022; VENV={ROOT / '.venv'}; mkdir -p instance; {line}"],
        cwd=tmp_path,
        # ./dev runs from the repository, whose package `python -c` then imports.
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        timeout=60,
    )
    key = tmp_path / "instance" / "secret_key"
    assert mode(key) == 0o600 and len(key.read_text().strip()) == 64
