"""The renovation figures of an earlier month's bulletin (月通报) are those at the end of that
month (China time): stages by their actual dates, money and investment as recorded by then,
satisfaction from surveys closed by then, behind schedule judged on that day, the targets of
that month's year; page, workbook, CLI and API alike. Every test runs on SQLite and PostgreSQL.
"""

import io
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from resident_portal.common import to_utc
from resident_portal.extensions import db
from resident_portal.models import Role
from resident_portal.overview import monthly_report
from resident_portal.renovation import operations
from resident_portal.renovation.models import (
    FundingSource,
    InvestmentRecord,
    ReceivedRecord,
    Stage,
)

from .conftest import close_survey, household, make_campaign, make_staff, sign_in_staff
from .test_browser import browser, live_server  # noqa: F401 (fixtures)
from .test_renovation import TODAY

# The renovation tests' fixtures, by name (pytest finds fixtures imported into the module).
from .test_renovation import estate as estate  # noqa: E402, I001
from .test_renovation import planner as planner  # noqa: E402
from .test_satisfaction import answer

# Last year: every day of it has passed, so its stages can be completed on those days.
YEAR = TODAY.year - 1
MARCH, APRIL, MAY = f"{YEAR}-03", f"{YEAR}-04", f"{YEAR}-05"


def on(month: int, day: int) -> date:
    return date(YEAR, month, day)


def at_noon(month: int, day: int) -> datetime:
    """Noon of that China day, as stored (naive UTC)."""
    return to_utc(datetime.combine(on(month, day), time(12)))


def recorded(model, moment: datetime) -> None:
    """The latest record of `model` as if it had been written at `moment` (no clock to set)."""
    latest = db.session.scalar(select(func.max(model.id)))
    db.session.execute(update(model).where(model.id == latest).values(recorded_at=moment))
    db.session.commit()


def march_to_may(estate, planner):
    """Started on 10 March, finished on 20 May (planned for 15 April); the centre's money:
    ¥300,000 recorded in April, ¥800,000 in all by May; investment ¥200,000 reported in March,
    ¥500,000 in May; ¥600 pledged by a household in March and paid in April."""
    from contributions import operations as contribution_operations
    from contributions.models import Channel, Payment, PledgeEvent

    project = operations.create_project(estate, "综合改造", YEAR, staff_user=planner)
    operations.add_scope_item(project, "屋面防水", staff_user=planner)
    operations.add_scope_item(project, "楼道照明", staff_user=planner)
    for step, stage in enumerate(list(Stage)[: Stage.STARTED.index]):
        operations.complete_stage(project, stage, on(2, 1 + step), staff_user=planner)
    operations.plan_stages(project, {Stage.COMPLETED: on(4, 15)}, staff_user=planner)
    operations.complete_stage(project, Stage.STARTED, on(3, 10), staff_user=planner)
    operations.complete_stage(project, Stage.COMPLETED, on(5, 20), staff_user=planner)
    operations.set_funding(project, FundingSource.CENTRAL, 1_000_000_00, 0, staff_user=planner)
    operations.set_funding(project, FundingSource.RESIDENTS, 100_000_00, 0, staff_user=planner)
    operations.set_funding(
        project, FundingSource.CENTRAL, 1_000_000_00, 300_000_00, staff_user=planner
    )
    recorded(ReceivedRecord, at_noon(4, 10))
    operations.set_funding(
        project, FundingSource.CENTRAL, 1_000_000_00, 800_000_00, staff_user=planner
    )
    recorded(ReceivedRecord, at_noon(5, 12))
    operations.update_details(project, project.name, YEAR, "", 200_000_00, staff_user=planner)
    recorded(InvestmentRecord, at_noon(3, 28))
    operations.update_details(project, project.name, YEAR, "", 500_000_00, staff_user=planner)
    recorded(InvestmentRecord, at_noon(5, 28))

    campaign = make_campaign(estate)
    h = household(estate, "1", "1", "101")
    contribution_operations.pledge(campaign, h, 600_00, Channel.DIRECT)
    contribution_operations.record_payment(
        campaign, h, 600_00, on(4, 2), "R-1", "", staff_user=planner
    )
    db.session.execute(update(PledgeEvent).values(at=at_noon(3, 5)))
    db.session.execute(update(Payment).values(created_at=at_noon(4, 2)))
    operations.set_target(estate.district, YEAR, 2, 1, 0, 1_000_000_00, staff_user=planner)
    db.session.commit()
    return project


def figures_of(month: str, estate):
    _rows, total, _activity = monthly_report(month, [estate])
    renovation = total.figures["renovation"]
    [district] = renovation.districts
    return renovation, district


def test_march_shows_started_not_finished_and_no_money_received_in_april(app, estate, planner):
    march_to_may(estate, planner)
    renovation, march = figures_of(MARCH, estate)
    assert renovation.as_of == on(3, 31) and renovation.year == YEAR
    assert (march.started, march.completed) == (1, 0)
    assert march.by_stage == {Stage.COMPLETED.value: 1}
    assert march.late == 0  # 完工 was planned for 15 April: not late on 31 March
    assert march.received_fen == {FundingSource.RESIDENTS.value: 0}  # April's money left out
    assert march.residents_pledged_fen == 600_00  # pledged on 5 March
    assert march.invested_fen == 200_000_00
    assert march.targets.to_start == 2  # the targets of that month's year

    _, april = figures_of(APRIL, estate)
    assert (april.started, april.completed) == (1, 0)
    assert april.late == 1  # 完工 planned for 15 April, not met by 30 April
    assert april.received_fen == {"central": 300_000_00, "residents": 600_00}
    assert april.invested_fen == 200_000_00

    renovation, may = figures_of(MAY, estate)
    assert renovation.as_of == on(5, 31)
    assert (may.started, may.completed) == (1, 1)
    assert may.by_stage == {Stage.ACCEPTED.value: 1}
    assert may.late == 0 and renovation.behind == []
    assert may.received_fen == {"central": 800_000_00, "residents": 600_00}
    assert may.invested_fen == 500_000_00


def test_satisfaction_counts_from_the_month_its_survey_closed(app, estate, planner):
    from survey.models import Survey

    project = march_to_may(estate, planner)
    survey_id = operations.open_satisfaction(project, TODAY + timedelta(days=7), staff_user=planner)
    survey = db.session.get(Survey, survey_id)
    answer(survey, household(estate, "1", "1", "101"), "support", "oppose")
    close_survey(survey)
    survey.opens_at, survey.closes_at = at_noon(5, 21), at_noon(5, 25)
    db.session.commit()
    _, april = figures_of(APRIL, estate)
    assert (april.surveyed, april.satisfaction_answers) == (0, 0)
    _, may = figures_of(MAY, estate)
    assert (may.surveyed, may.satisfied, may.satisfaction_answers) == (1, 1, 2)


def test_page_workbook_cli_and_api_show_the_month_end(app, estate, planner, tmp_path):
    march_to_may(estate, planner)
    client = app.test_client()
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    page = client.get(f"/console/overview/monthly?month={MARCH}").get_data(as_text=True)
    assert f"统计到{YEAR}-03-31为止" in page
    assert "1 / 2 (50.00%)" in page and "0 / 1 (0.00%)" in page  # started, finished

    out = tmp_path / "march.xlsx"
    result = app.test_cli_runner().invoke(
        args=["report", "monthly", "--month", MARCH, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    web = load_workbook(
        io.BytesIO(client.get(f"/console/overview/monthly.xlsx?month={MARCH}").data)
    )
    for workbook in (web, load_workbook(out)):
        header = [c.value for c in workbook["分区县改造进展"][1]]
        line = [c.value for c in workbook["分区县改造进展"][2]]
        assert line[header.index("开工项目数")] == 1
        assert line[header.index("完工项目数")] == 0
        assert line[header.index("到位资金（元）")] == 0
        summary = {r[0].value: r[1].value for r in workbook.worksheets[0].iter_rows()}
        assert summary["改造数据统计至"] == f"{YEAR}-03-31"

    body = client.get(f"/api/v1/renovation/districts?month={MARCH}").json
    assert body["as_of"] == f"{YEAR}-03-31" and body["year"] == YEAR
    [march] = body["districts"]
    assert (march["started"], march["completed"], march["received_fen"]) == (
        1,
        0,
        {"residents": 0},
    )
    body = client.get(f"/api/v1/renovation/districts?month={MAY}").json
    assert body["districts"][0]["received_fen"] == {"central": 800_000_00, "residents": 600_00}
    assert client.get("/api/v1/renovation/districts?month=2026-13").status_code == 404


def test_the_march_bulletin_in_a_browser(
    app,
    estate,
    planner,
    live_server,  # noqa: F811
    browser,  # noqa: F811
    database_url,
):
    """The March bulletin says what its renovation figures mean (screenshot in
    /tmp/shots-reno/ for people to look at)."""
    import tempfile
    from pathlib import Path

    from .conftest import totp_now
    from .test_browser import shot

    march_to_may(estate, planner)
    username, password = make_staff(Role.ADMIN, None)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/console/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_url(f"{live_server}/console/sign-in/second-factor")
    page.fill("#code", totp_now(username))
    page.press("#code", "Enter")
    page.wait_for_url(f"{live_server}/console/")
    page.goto(f"{live_server}/console/overview/monthly?month={MARCH}")
    assert page.get_by_text(f"统计到{YEAR}-03-31为止").is_visible()
    assert page.get_by_role("cell", name="1 / 2 (50.00%)").first.is_visible()
    path = shot(page, "renovation-bulletin-march", database_url)
    shots = Path(tempfile.gettempdir()) / "shots-reno"
    shots.mkdir(exist_ok=True)
    (shots / path.name).write_bytes(path.read_bytes())


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_migration_dates_amounts_typed_before_it_by_the_projects_last_change(engine, tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from .conftest import make_app, make_estate
    from .test_payment_channel import private_database

    with private_database(engine, tmp_path) as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            estate = make_estate()
            project = operations.create_project(estate, "综合改造", YEAR, staff_user=None)
            operations.set_funding(project, FundingSource.CENTRAL, 100_00, 40_00, staff_user=None)
            operations.set_funding(project, FundingSource.LOCAL, 50_00, 0, staff_user=None)
            operations.update_details(project, project.name, YEAR, "", 70_00, staff_user=None)
            db.session.execute(
                text("UPDATE renovation_project SET updated_at = :at"), {"at": at_noon(4, 2)}
            )
            db.session.commit()
            db.session.remove()
            downgrade(revision="0017_vote")
            upgrade()
            received = db.session.execute(
                select(
                    ReceivedRecord.source, ReceivedRecord.recorded_at, ReceivedRecord.received_fen
                )
            ).all()
            assert received == [(FundingSource.CENTRAL, at_noon(4, 2), 40_00)]  # not the empty one
            invested = db.session.execute(
                select(InvestmentRecord.recorded_at, InvestmentRecord.invested_fen)
            ).all()
            assert invested == [(at_noon(4, 2), 70_00)]
            db.session.remove()
            db.engine.dispose()
