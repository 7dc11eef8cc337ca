"""The planner's overview across estates and the monthly report (月通报)."""

import io
import re
from datetime import timedelta

from openpyxl import load_workbook

from contributions import operations as contribution_operations
from contributions import tracker
from contributions.models import Channel
from resident_portal import operations, overview
from resident_portal.common import in_china, percent_points
from resident_portal.extensions import db
from resident_portal.models import Estate, Role, utcnow
from resident_portal.registry import parse_registry
from survey import counting
from survey import operations as survey_operations
from survey.results import compute, scope_results
from survey.tally import Choice

from .conftest import (
    SMALL_REGISTER,
    close_survey,
    household,
    make_campaign,
    make_elevator_project,
    make_estate,
    make_report,
    make_staff,
    make_survey,
    register_csv,
    sign_in_staff,
)


def estate_in(code, name, district):
    estate = operations.create_estate(code, name, district, "示范街道")
    operations.import_registry(estate, parse_registry(register_csv(SMALL_REGISTER), "r.csv"))
    return estate


def busy_estate():
    """An estate with a closed decision, a campaign with pledges and payments, an elevator
    project and reports, one of them overdue."""
    estate = estate_in("meiyuan", "美苑小区", "东城区")
    survey = make_survey(estate)
    for key, choice in [
        (("1", "1", "101"), Choice.SUPPORT),
        (("1", "1", "201"), Choice.SUPPORT),
        (("1", "1", "301"), Choice.SUPPORT),
        (("2", "1", "101"), Choice.OPPOSE),
    ]:
        survey_operations.submit_ballot(
            survey, household(estate, *key), {i.id: choice for i in survey.items}
        )
    close_survey(survey)
    campaign = make_campaign(
        estate,
        title="楼道",
        title_en="",
        purpose="",
        target_fen=1_000_000,
        deadline=utcnow() + timedelta(days=20),
        suggestion_kind=contribution_operations.SuggestionKind.FLAT,
        flat_fen=20_000,
        per_m2_fen=0,
        channels=[Channel.DIRECT],
    )
    h = household(estate, "1", "1", "101")
    contribution_operations.pledge(campaign, h, 20_000, Channel.DIRECT)
    contribution_operations.pledge(
        campaign, household(estate, "2", "1", "101"), 30_000, Channel.DIRECT
    )
    staff = make_staff_user(estate)
    contribution_operations.record_payment(
        campaign, h, 20_000, utcnow().date(), "R1", "", staff_user=staff
    )
    make_elevator_project(estate)
    old = make_report(estate, h, category="fire_safety")
    old.created_at -= timedelta(days=3)
    make_report(estate, h, category="noise")
    db.session.commit()
    return estate, survey, campaign


def test_an_earlier_months_report_counts_the_money_recorded_by_its_end(app):
    """The residents' money in an earlier month's report is what had been pledged and paid by
    the month's end, as the renovation's residents' share of that month counts it."""
    from sqlalchemy import update

    from contributions.models import Payment, PledgeEvent

    estate, _survey, _campaign = busy_estate()  # ¥200 + ¥300 pledged, ¥200 paid, all now
    this_month = overview.this_month()
    _rows, total, _activity = overview.monthly_report(this_month, [estate])
    assert (total.pledged_fen, total.paid_fen) == (50_000, 20_000)
    first, _end = overview.parse_month(this_month)
    last_month = f"{in_china(first - timedelta(days=1)):%Y-%m}"
    _rows, total, _activity = overview.monthly_report(last_month, [estate])
    assert (total.pledged_fen, total.paid_fen) == (0, 0)  # none of it had happened yet
    # 1-1-101's pledge and payment, recorded two days before this month began, count there
    h = household(estate, "1", "1", "101")
    earlier = first - timedelta(days=2)
    db.session.execute(
        update(PledgeEvent).where(PledgeEvent.household_id == h.id).values(at=earlier)
    )
    db.session.execute(
        update(Payment).where(Payment.household_id == h.id).values(created_at=earlier)
    )
    db.session.commit()
    _rows, total, _activity = overview.monthly_report(last_month, [estate])
    assert (total.pledged_fen, total.paid_fen) == (20_000, 20_000)


def make_staff_user(estate):
    from sqlalchemy import select

    from resident_portal.models import StaffUser

    username, _ = make_staff(Role.SECRETARY, estate)
    return db.session.scalar(select(StaffUser).where(StaffUser.username == username))


def test_rows_agree_with_the_estate_pages(app):
    estate, survey, campaign = busy_estate()
    [row] = overview.estate_rows([estate])
    assert row.households == 5
    assert row.decision.survey.id == survey.id
    assert row.decision.result == compute(survey).overall
    assert row.decision.outcome in ("approved", "partly", "rejected", "no_quorum")
    progress = tracker.progress(campaign)
    elevator_target = sum(
        c.target_fen
        for c in db.session.scalars(
            db.select(contribution_operations.Campaign).where(
                contribution_operations.Campaign.estate_id == estate.id
            )
        )
    )
    assert row.target_fen == elevator_target
    assert row.pledged_fen == progress.totals.pledged_fen == 50_000
    assert row.paid_fen == 20_000
    assert sum(row.elevators.values()) == 1
    assert (row.reports_open, row.reports_overdue) == (2, 1)
    assert row.last_activity is not None


def test_district_planner_sees_their_district_and_nothing_else(app, client):
    busy_estate()
    estate_in("lanting", "兰亭小区", "东城区")
    west = estate_in("xiyuan", "西苑小区", "西城区")
    result = app.test_cli_runner().invoke(
        args=[
            "staff",
            "create",
            "dongcheng",
            "--role",
            "planner",
            "--district",
            "东城区",
            "--password",
            "correct horse battery",
        ]
    )
    assert result.exit_code == 0, result.output
    sign_in_staff(client, "dongcheng", "correct horse battery")
    page = client.get("/console/overview").get_data(as_text=True)
    assert "美苑小区" in page and "兰亭小区" in page and "西苑小区" not in page
    assert client.get("/console/meiyuan").status_code == 200
    assert client.get(f"/console/{west.code}").status_code == 403
    assert client.get(f"/console/{west.code}/surveys").status_code == 403
    workbook = load_workbook(
        io.BytesIO(client.get("/console/overview/monthly.xlsx?district=西城区").data)
    )
    assert workbook.worksheets[0]["B3"].value == 0  # no estate of 西城区 in their scope
    estates = [e.code for e in db.session.scalars(db.select(Estate))]
    assert len(estates) == 3


def test_monthly_report_has_the_dashboards_numbers_both_ways(app, client, tmp_path):
    estate, _survey, _campaign = busy_estate()
    estate_in("lanting", "兰亭小区", "东城区")
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    rows = overview.estate_rows(
        list(
            db.session.scalars(
                db.select(Estate).where(Estate.district == "东城区").order_by(Estate.code)
            )
        )
    )
    total = overview.totals(rows)
    month = f"{in_china(utcnow()):%Y-%m}"
    filed_this_month = 1 + (f"{in_china(utcnow() - timedelta(days=3)):%Y-%m}" == month)
    web = load_workbook(
        io.BytesIO(client.get(f"/console/overview/monthly.xlsx?district=东城区&month={month}").data)
    )
    out = tmp_path / "monthly.xlsx"
    result = app.test_cli_runner().invoke(
        args=["report", "monthly", "--district", "东城区", "--month", month, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    cli = load_workbook(out)
    for workbook in (web, cli):
        summary = {row[0].value: row[1].value for row in workbook.worksheets[0].iter_rows()}
        values = list(summary.values())
        assert values[2] == total.estates == 2 and values[3] == total.households == 10
        assert values[5] * 100 == total.pledged_fen and values[6] * 100 == total.paid_fen
        assert values[8] == total.reports_open and values[9] == total.reports_overdue
        # this month: 4 ballots, 2 reports filed (by label: other providers add rows
        # before), or 1 in a month's first three days, when the overdue one was last month's
        assert summary["本月：提交表决票"] == 4
        assert summary["本月：新增反馈"] == filed_this_month
        assert summary["本月：加装电梯表决票"] == 0  # elevator consent ballots: under elevators
        pledges = workbook.worksheets[2]
        by_estate = {r[0].value: r for r in pledges.iter_rows(min_row=2)}
        meiyuan = next(r for r in rows if r.estate.code == "meiyuan")
        assert by_estate["美苑小区"][2].value * 100 == meiyuan.pledged_fen == 50_000
        assert len(workbook.sheetnames) == 8
    english = tmp_path / "monthly-en.xlsx"
    result = app.test_cli_runner().invoke(
        args=["report", "monthly", "--month", month, "--lang", "en", "--out", str(english)]
    )
    assert result.exit_code == 0, result.output
    assert load_workbook(english).sheetnames == [
        "Summary",
        "Surveys",
        "Pledges",
        "Elevators",
        "Reports",
        "Renovation by district",
        "Renovation funds by source",
        "Districts behind schedule",
    ]
    page = client.get(f"/console/overview/monthly?district=东城区&month={month}").get_data(
        as_text=True
    )
    assert f"<h1>月通报 · {month}</h1>" in page
    assert f"¥{total.pledged_fen // 100:,}.{total.pledged_fen % 100:02d}" in page
    assert client.get("/console/overview/monthly?month=2026-13").status_code == 404


def test_overview_sorts_filters_and_shows_trends(app, client):
    busy_estate()
    estate_in("lanting", "兰亭小区", "东城区")
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    page = client.get("/console/overview?sort=reports_open&desc=1").get_data(as_text=True)
    assert page.index("美苑小区") < page.index("兰亭小区")
    page = client.get("/console/overview?sort=reports_open&desc=0").get_data(as_text=True)
    assert page.index("兰亭小区") < page.index("美苑小区")
    attention = client.get("/console/overview?show=attention").get_data(as_text=True)
    assert "美苑小区" in attention and "兰亭小区" not in attention
    assert attention.count('class="chart trend-chart"') == 3
    points = overview.trends(list(db.session.scalars(db.select(Estate))), months=12)
    assert len(points) == 12 and points[-1].reports_open == 2
    assert points[-1].participation == 10000  # all 4 owners voted: 100.00 % in 1/100 %
    total = overview.totals(overview.estate_rows(list(db.session.scalars(db.select(Estate)))))
    assert points[-1].pledge_rate == percent_points(total.pledged_fen, total.target_fen)


def test_month_ends_and_parsing():
    from datetime import datetime

    assert [m for m, _ in overview.month_ends(datetime(2026, 2, 10), 3)] == [
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    start, end = overview.parse_month("2026-12")
    assert (start, end) == (datetime(2026, 11, 30, 16), datetime(2026, 12, 31, 16))
    # 1 December 00:30 in China is still 30 November in UTC: the trend's last month is
    # December, and it ends where the monthly report's December ends
    first_hour = overview.month_ends(datetime(2026, 11, 30, 16, 30), 2)
    assert first_hour == [("2026-11", start), ("2026-12", end)]
    assert re.match(r"\d{4}-\d{2}", "2026-12")


def test_overview_tallies_are_the_kept_tallies_and_equal_a_full_recount(app):
    """The overview reads the kept scope counts of many surveys in one query: the same result
    as each survey's own page, and as a full recount from the ballots."""
    estate = make_estate()
    surveys = [
        make_survey(estate),
        make_survey(estate, building="1"),
        make_survey(estate, building="1", unit="1"),
        make_survey(estate, kind="consultation", max_priorities=2),
    ]
    pattern = [Choice.SUPPORT, Choice.OPPOSE, Choice.ABSTAIN]
    for n, key in enumerate(
        [("1", "1", "101"), ("1", "1", "301"), ("1", "2", "101"), ("2", "1", "101")]
    ):
        h = household(estate, *key)
        for survey in surveys:
            if not survey.covers(h):
                continue
            items = [i.id for i in survey.items]
            priorities = set(items[: n % 3]) if survey.max_priorities else set()
            survey_operations.submit_ballot(
                survey, h, {i: pattern[(n + k) % 3] for k, i in enumerate(items)}, priorities
            )
    counted = scope_results(surveys)
    for survey in surveys:
        assert counted[survey.id] == compute(survey).overall, survey.id
        assert counting.compare(survey) == [], survey.id


def test_overview_follows_new_ballots_but_not_register_changes_after_opening(app):
    estate = make_estate()
    survey = make_survey(estate)
    first = overview.estate_rows([estate])[0].decision.result
    assert first.participated.heads == 0
    assert overview.trends([estate], months=2)[-1].participation == 0
    h = household(estate, "1", "1", "101")
    survey_operations.submit_ballot(survey, h, {i.id: Choice.SUPPORT for i in survey.items})
    second = overview.estate_rows([estate])[0].decision.result
    assert second.participated.heads == 1 and second == compute(survey).overall
    assert overview.trends([estate], months=2)[-1].participation == 2500  # 1 of 4 owners: 25.00 %
    # a register import changes the areas: the open vote counts its roll, unchanged
    rows = [list(r) for r in SMALL_REGISTER]
    rows[0][4] = "99.99"
    operations.import_registry(estate, parse_registry(register_csv(rows), "r.csv"))
    third = overview.estate_rows([estate])[0].decision.result
    assert third.participated.area == 8050 and third == second == compute(survey).overall


def test_a_district_with_no_estate_of_the_planners_gives_an_empty_overview(app, client):
    make_estate()
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    answer = client.get("/console/overview?district=不存在的区")
    assert answer.status_code == 200
    assert "美苑小区" not in answer.get_data(as_text=True)
    monthly = client.get("/console/overview/monthly?district=不存在的区")
    assert monthly.status_code == 200
