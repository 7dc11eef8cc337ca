"""Planners' figures (issue 13, points 12–15): written suggestions with the results, figures
that mean what they say and one rounding of percentages, readable results and spreadsheets,
the monthly report page, and the read-only API for planners' own systems."""

import csv
import io
import re
from datetime import timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from contributions import operations as contribution_operations
from contributions.models import Channel
from resident_portal import operations, overview
from resident_portal.common import format_percent, percent, percent_points
from resident_portal.extensions import db
from resident_portal.models import Role, StaffUser, utcnow
from resident_portal.privacy import mask_phone_numbers
from survey import operations as survey_operations
from survey.models import Ballot
from survey.rules import share
from survey.tally import Choice

from .conftest import (
    SAMPLE_ROWS,
    close_survey,
    household,
    make_campaign,
    make_elevator_project,
    make_estate,
    make_report,
    make_staff,
    make_staff_user,
    make_survey,
    resident,
    sign_in_staff,
)

# --- one rounding of percentages ---------------------------------------------------------------


def half_up(part: int, whole: int) -> Fraction:
    """The exact ratio in %, rounded half away from zero to two decimals, by fractions."""
    exact = Fraction(100 * abs(part), abs(whole)) * 100
    rounded = int(exact + Fraction(1, 2))
    sign = -1 if (part < 0) != (whole < 0) else 1
    return Fraction(sign * rounded, 100)


@given(st.integers(-(10**15), 10**15), st.integers(-(10**12), 10**12).filter(bool))
def test_percent_is_the_exact_ratio_rounded_half_up(part, whole):
    assert Fraction(percent(part, whole)) == half_up(part, whole)
    assert percent_points(part, whole) == half_up(part, whole) * 100
    text = format_percent(part, whole)
    assert re.fullmatch(r"-?\d+\.\d{2}", text) and Fraction(text) == half_up(part, whole)
    assert share(part, whole) == text  # the public notice's shares are the same function


def test_percent_edges():
    assert format_percent(2, 3) == "66.67"  # not 66.7, which would read as two thirds met
    assert format_percent(1, 8) == "12.50"
    assert format_percent(1, 800) == "0.13"  # half-up, where round() would give 0.12
    assert format_percent(5, 0) == "0.00"
    assert format_percent(7, 7) == "100.00"


# --- phone numbers in suggestions ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, masked",
    [
        ("请联系13812345678王师傅", "请联系***********王师傅"),
        ("电话 138 1234 5678 找我", "电话 *** **** **** 找我"),
        ("+86 138-1234-5678", "+** ***-****-****"),
        ("座机010-6512 3456", "座机***-**** ****"),
        ("电话651 2345", "电话*** ****"),
        ("１３８１２３４５６７８", "***********"),  # full-width digits, as phones type them
        ("5号楼301室，费用20万，2026年装好", "5号楼301室，费用20万，2026年装好"),
    ],
)
def test_phone_numbers_are_masked(text, masked):
    assert mask_phone_numbers(text) == masked


@given(
    st.text(alphabet="楼道灯电梯，。 abc", max_size=20),
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.text(alphabet="楼道灯电梯，。 abc", max_size=20),
)
def test_no_mobile_number_survives_masking(before, number, after):
    masked = mask_phone_numbers(before + number + after)
    assert masked == before + "*" * len(number) + after


# --- written suggestions reach staff (point 12) -------------------------------------------------

SUGGESTIONS = {
    ("1", "1", "101"): (Choice.SUPPORT, "楼道灯太暗，请先换灯。有事打13812345678"),
    ("1", "1", "201"): (Choice.OPPOSE, "电梯噪音大，不要装在卧室旁边"),
    ("2", "1", "101"): (Choice.ABSTAIN, ""),
}


def voted_consultation():
    estate = make_estate()
    survey = make_survey(estate, kind="consultation")
    assert survey.allow_suggestion
    for key, (choice, text) in SUGGESTIONS.items():
        survey_operations.submit_ballot(
            survey, household(estate, *key), {i.id: choice for i in survey.items}, set(), text
        )
    return estate, survey


def test_suggestions_reach_staff_after_closing_masked_and_apart_from_choices(app, client):
    estate, survey = voted_consultation()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    base = f"/console/meiyuan/surveys/{survey.id}"
    page = client.get(base).get_data(as_text=True)
    assert "楼道灯太暗" not in page and "书面建议在表决截止后显示在这里" in page
    assert client.get(base + "/suggestions.csv").data.decode("utf-8-sig") == "suggestion\r\n"

    close_survey(survey)
    page = client.get(base).get_data(as_text=True)
    section = page[page.index('id="suggestions"') :]
    masked = sorted(mask_phone_numbers(t) for _c, t in SUGGESTIONS.values() if t)
    items = re.findall(r"<li>(.*?)</li>", section[: section.index("</ul>")])
    assert items == masked  # in the order of their text, not of voting
    assert "***********" in page and "13812345678" not in page
    assert "共有2位业主写了建议" in section
    # On their own: no choice and no receipt beside them.
    listing = section[: section.index("</ul>")]
    assert not any(word in listing for word in ("支持", "反对", "弃权"))
    receipts = [b.receipt for b in db.session.scalars(db.select(Ballot)).all()]
    assert receipts and not any(r in page for r in receipts)

    rows = list(
        csv.reader(io.StringIO(client.get(base + "/suggestions.csv").data.decode("utf-8-sig")))
    )
    assert rows == [["suggestion"]] + [[t] for t in masked]
    workbook = load_workbook(io.BytesIO(client.get(base + "/results.xlsx").data))
    sheet = workbook["建议"]
    assert [c.value for c in sheet["A"]] == ["书面建议", *masked]

    # Never to residents or the public: the notice, the household's pages.
    notice = app.test_client().get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True)
    assert "楼道灯太暗" not in notice and "***********" not in notice
    phone, _h = resident(app, estate, "1", "1", "101")
    for url in ("/home", f"/surveys/{survey.id}", f"/e/meiyuan/results/{survey.id}"):
        text = phone.get(url).get_data(as_text=True)
        assert "电梯噪音大" not in text, url
    assert phone.get(base + "/suggestions.csv").status_code in (302, 403)


# --- figures that mean what they say (point 13) ---------------------------------------------


def test_overview_headline_is_the_latest_estate_wide_decision(app):
    estate = make_estate()
    estate_wide = make_survey(estate)
    survey_operations.submit_ballot(
        estate_wide,
        household(estate, "1", "1", "101"),
        {i.id: Choice.SUPPORT for i in estate_wide.items},
    )
    close_survey(estate_wide)
    # Newer, but one building's; and a unit's elevator consent vote: neither is the headline.
    building_vote = make_survey(estate, building="1")
    building_vote.closes_at = utcnow() + timedelta(days=30)
    project = make_elevator_project(estate)
    db.session.commit()
    [row] = overview.estate_rows([estate])
    assert row.decision.survey.id == estate_wide.id
    assert row.heads_share == "25.00"  # 1 of the 4 owners
    assert sum(row.elevators.values()) == 1  # the elevator vote is counted under elevators
    assert project.survey_id not in (estate_wide.id, building_vote.id)
    # The month's ballots likewise: the elevator's consent ballot is counted under elevators.
    survey_operations.submit_ballot(
        project.survey,
        household(estate, "1", "1", "201"),
        {i.id: Choice.SUPPORT for i in project.survey.items},
    )
    start, end = overview.parse_month(f"{(utcnow() + timedelta(hours=8)):%Y-%m}")
    activity = overview.month_activity([estate], start, end)
    assert (activity.ballots, activity.consent_ballots) == (1, 1)


def test_the_same_percentage_on_every_page_and_file(app, client):
    """Three of the four owners vote (75 %), holding 80.50 + 60.00 + 90.00 of 355.75 m²: the
    same two-decimal, half-up share on the results page, the notice, the overview and the
    monthly workbook (the former pages printed one decimal, rounded down on some)."""
    estate = make_estate()
    survey = make_survey(estate)
    for key in [("1", "1", "101"), ("1", "1", "201"), ("2", "1", "101")]:
        survey_operations.submit_ballot(
            survey, household(estate, *key), {i.id: Choice.SUPPORT for i in survey.items}
        )
    close_survey(survey)
    part, whole = 8050 + 6000 + 9000, 8050 + 6000 + 7025 + 5500 + 9000
    area = format_percent(part, whole)
    assert area == "64.79"
    one_decimal = f"{100 * part / whole:.1f}%"
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    results_page = client.get(f"/console/meiyuan/surveys/{survey.id}").get_data(as_text=True)
    notice = client.get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True)
    overview_page = client.get("/console/overview").get_data(as_text=True)
    for page in (results_page, notice, overview_page):
        assert f"{area}%" in page and "75.00%" in page
        assert one_decimal not in page and "75.0%" not in page
    month = f"{(utcnow() + timedelta(hours=8)):%Y-%m}"
    workbook = load_workbook(
        io.BytesIO(client.get(f"/console/overview/monthly.xlsx?month={month}").data)
    )
    surveys = workbook["征询表决"]
    line = [c.value for c in surveys[2]]
    assert line[2] == pytest.approx(75.00) and line[3] == pytest.approx(64.79)
    assert surveys["C2"].number_format == "0.00"


# --- readable results (point 14) --------------------------------------------------------------


def test_results_are_headed_by_item_names_priorities_ranked_and_bars_labelled(app, client):
    estate = make_estate(rows=SAMPLE_ROWS)
    survey = make_survey(estate, kind="consultation", max_priorities=2)
    roof, elevators, lighting = survey.items
    voters = [h for b in estate.buildings for u in b.units for h in u.households][:30]
    seen = set()
    for n, h in enumerate(voters):
        if h.owner_ref in seen:
            continue
        seen.add(h.owner_ref)
        picks = {lighting.id} if n % 3 else {lighting.id, roof.id}
        survey_operations.submit_ballot(
            survey, h, {i.id: [Choice.SUPPORT, Choice.OPPOSE][n % 2] for i in survey.items}, picks
        )
    close_survey(survey)
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    page = client.get(f"/console/meiyuan/surveys/{survey.id}").get_data(as_text=True)
    breakdown = page[page.index('id="breakdown-building"') :]
    head = breakdown[: breakdown.index("</thead>")]
    for item in survey.items:
        assert item.title in head
    ranking = page[
        page.index('id="priorities"') : page.index("</ol>", page.index('id="priorities"'))
    ]
    assert (
        ranking.index(lighting.title) < ranking.index(roof.title) < ranking.index(elevators.title)
    )
    # Every bar says in words what it draws.
    assert page.count('class="bar-label"') == 2 + len(survey.items)
    assert re.search(r"支持 \d+\.\d{2}% · <span class=\"key oppose\"></span>反对 \d+\.\d{2}%", page)


def _assert_readable(sheet, numeric_columns: dict[str, str]):
    """Frozen header, filter over the table, widths set, numbers as numbers with formats."""
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
    assert all(sheet.column_dimensions[c].width >= 6 for c in "AB")
    header = [c.value for c in sheet[1]]
    for name, number_format in numeric_columns.items():
        column = header.index(name) + 1
        cells = [sheet.cell(row, column) for row in range(2, sheet.max_row + 1)]
        values = [c for c in cells if c.value is not None]
        assert values, name
        for cell in values:
            assert isinstance(cell.value, int | float), (name, cell.value)
            assert cell.number_format == number_format, (name, cell.number_format)


def test_spreadsheets_are_in_the_readers_language_with_numbers_and_formats(app, client):
    estate, survey = voted_consultation()
    close_survey(survey)
    campaign = make_campaign(estate)
    h = household(estate, "1", "1", "101")
    contribution_operations.pledge(campaign, h, 20_050, Channel.MAINTENANCE_FUND)
    make_report(estate, h)
    sign_in_staff(client, *make_staff(Role.ADMIN, None))

    results = load_workbook(
        io.BytesIO(client.get(f"/console/meiyuan/surveys/{survey.id}/results.xlsx").data)
    )
    sheet = results.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["范围", "楼栋", "单元"] and "支持的专有部分面积（m²）" in header
    assert sheet["A2"].value == "全部范围" and sheet["G2"].value == "基础类"
    _assert_readable(sheet, {"参与表决的专有部分面积（m²）": "#,##0.00", "支持的业主人数": "0"})
    assert sheet["K2"].value == pytest.approx(80.50 + 60.00 + 90.00)

    pledges = load_workbook(
        io.BytesIO(client.get(f"/console/meiyuan/campaigns/{campaign.id}/export.xlsx").data)
    ).active
    header = [c.value for c in pledges[1]]
    assert "已认缴（元）" in header and "出资方式" in header
    _assert_readable(pledges, {"已认缴（元）": "#,##0.00", "登记面积（m²）": "#,##0.00"})
    line = next(
        r
        for r in pledges.iter_rows(min_row=2, values_only=True)
        if r[2] == "101" and r[0] == "1" and r[1] == "1"
    )
    assert line[header.index("已认缴（元）")] == pytest.approx(200.50)
    assert line[header.index("出资方式")] == "从我家的住宅专项维修资金账户支出"

    reports = load_workbook(
        io.BytesIO(client.get("/console/meiyuan/reports/export.xlsx").data)
    ).active
    header = [c.value for c in reports[1]]
    assert header[:4] == ["编号", "反映时间", "类别", "状态"]
    assert reports["C2"].value == "漏水" and reports["B2"].number_format == "yyyy-mm-dd hh:mm"

    month = f"{(utcnow() + timedelta(hours=8)):%Y-%m}"
    monthly = load_workbook(
        io.BytesIO(client.get(f"/console/overview/monthly.xlsx?month={month}").data)
    )
    assert monthly.sheetnames[0] == "汇总"
    for sheet in monthly.worksheets[1:]:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref, sheet.title
    pledge_sheet = monthly.worksheets[2]
    assert (
        pledge_sheet["C2"].number_format == "#,##0.00"
        and pledge_sheet["E2"].number_format == "0.00"
    )

    # English readers get English headers.
    client.post("/preferences", data={"language": "en"})
    english = load_workbook(
        io.BytesIO(client.get(f"/console/meiyuan/surveys/{survey.id}/results.xlsx").data)
    )
    assert [c.value for c in english.worksheets[0][1]][:3] == ["Group", "Building", "Unit"]
    assert english.worksheets[0]["G2"].value == "Basic"


# --- the monthly report page (point 14) -------------------------------------------------------


def test_monthly_page_has_navigation_month_picker_print_xlsx_and_labelled_trends(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    make_report(estate, h)
    make_report(estate, h, category="noise")
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    month = f"{(utcnow() + timedelta(hours=8)):%Y-%m}"
    page = client.get(f"/console/overview/monthly?month={month}").get_data(as_text=True)
    assert 'nav class="console"' in page and 'href="/console/overview' in page
    assert re.search(rf'<input type="month" id="month" name="month" value="{month}"', page)
    assert '<button class="secondary" type="button" data-print hidden>打印</button>' in page
    assert "/static/print.js" in page
    assert f'href="/console/overview/monthly.xlsx?month={month}"' in page
    # Trends: axes labelled, counts as integers (two open reports print 2, not 2.0).
    assert page.count('class="chart trend-chart"') == 3
    assert "月份（" in page and "占比（%）" in page and "数量" in page
    assert re.search(rf"未办结的问题反馈: [^\"]*{month} 2\"", page)
    labels = re.findall(r'aria-label="([^"]*)"', page) + re.findall(r"<title>([^<]*)</title>", page)
    figures = [f for text in labels for f in re.findall(r"\d{4}-\d\d:? ([\d.]+)%?", text)]
    assert figures and all(re.fullmatch(r"\d+|\d+\.\d\d", f) for f in figures)
    assert not any(f.endswith(".0") for f in figures)
    # Another month: the picker's choice, its trends ending there.
    earlier = client.get("/console/overview/monthly?month=2026-01").get_data(as_text=True)
    assert "月通报 · 2026-01" in earlier and "2025-02 至 2026-01" in earlier


# --- the API for planners' own systems (point 15) --------------------------------------------


def _token(role, estate) -> str:
    username, _password = make_staff(role, estate)
    user = db.session.scalar(db.select(StaffUser).where(StaffUser.username == username))
    token, _record = operations.create_api_token(user, "city system")
    return {"Authorization": f"Bearer {token}"}


def test_api_gives_campaigns_elevators_and_reports_per_estate_and_district(app):
    estate = make_estate()
    other = make_estate("lanting", "兰亭小区")
    other.district = "西城区"
    campaign = make_campaign(estate)
    h = household(estate, "1", "1", "101")
    contribution_operations.pledge(campaign, h, 30_000, Channel.DIRECT)
    contribution_operations.record_payment(
        campaign, h, 10_000, utcnow().date(), "R1", "", staff_user=make_staff_user(estate)
    )
    project = make_elevator_project(estate)
    old = make_report(estate, h, category="fire_safety")
    old.created_at -= timedelta(days=3)
    make_report(estate, h, category="noise")
    make_report(other, household(other, "1", "1", "101"))
    db.session.commit()
    client = app.test_client()
    planner = _token(Role.PLANNER, estate)
    admin = _token(Role.ADMIN, None)

    answer = client.get("/api/v1/campaigns", headers=planner).get_json()
    [line] = [c for c in answer["campaigns"] if c["id"] == campaign.id]
    assert line["target_fen"] == 5_000_000 and line["pledged_fen"] == 30_000
    assert line["received_fen"] == 10_000 and line["received_percent"] == "0.20"
    assert line["pledged_percent"] == format_percent(30_000, 5_000_000) == "0.60"
    assert {b["building"] for b in line["by_building"]} == {"1", "2"}
    assert sum(b["pledged_fen"] for b in line["by_building"]) == 30_000
    assert {c["estate"]["code"] for c in answer["campaigns"]} == {"meiyuan"}  # theirs only
    [meiyuan] = answer["by_estate"]
    assert meiyuan["estate"]["code"] == "meiyuan" and meiyuan["campaigns"] == 2  # and the lift's
    assert meiyuan["pledged_fen"] == 30_000 and meiyuan["received_fen"] == 10_000
    assert answer["by_district"][0]["district"] == "示范街道"

    elevators = client.get("/api/v1/elevators?estate=meiyuan", headers=planner).get_json()
    [lift] = elevators["elevators"]
    assert lift["id"] == project.id and lift["status"] == "collecting_consent"
    assert lift["target_fen"] == 45_000_000  # ¥600,000 less the ¥150,000 subsidy, to share
    assert lift["consent"]["choices_shown"] is False and lift["consent"]["support"] is None
    assert elevators["by_district"][0]["by_status"]["collecting_consent"] == 1
    assert elevators["by_estate"][0]["projects"] == 1

    reports = client.get("/api/v1/reports/summary", headers=admin).get_json()
    by_code = {e["estate"]["code"]: e for e in reports["estates"]}
    assert by_code["meiyuan"]["open"] == 2 and by_code["meiyuan"]["overdue"] == 1
    assert by_code["meiyuan"]["by_category"]["fire_safety"] == 1
    assert by_code["meiyuan"]["by_status"]["submitted"] == 2
    districts = {d["district"]: d for d in reports["by_district"]}
    assert districts["西城区"]["total"] == 1 and districts["示范街道"]["total"] == 2

    west = client.get("/api/v1/reports/summary?district=西城区", headers=admin).get_json()
    assert [e["estate"]["code"] for e in west["estates"]] == ["lanting"]
    nowhere = client.get("/api/v1/campaigns?district=无此区", headers=admin).get_json()
    assert nowhere == {"campaigns": [], "by_estate": [], "by_district": []}

    # The same tokens and rules as the survey results.
    assert client.get("/api/v1/campaigns?estate=lanting", headers=planner).status_code == 403
    assert client.get("/api/v1/elevators?estate=nowhere", headers=planner).status_code == 404
    assert client.get("/api/v1/reports/summary").status_code == 401
    document = client.get("/api/v1/openapi.json").get_json()
    assert {"/surveys", "/campaigns", "/elevators", "/reports/summary"} <= set(document["paths"])


def test_api_shows_an_elevator_consent_only_after_its_vote_closes(app):
    estate = make_estate()
    project = make_elevator_project(estate)
    survey = project.survey
    for room in ("101", "201", "301"):
        survey_operations.submit_ballot(
            survey, household(estate, "1", "1", room), {i.id: Choice.SUPPORT for i in survey.items}
        )
    client = app.test_client()
    planner = _token(Role.PLANNER, estate)
    consent = client.get("/api/v1/elevators", headers=planner).get_json()["elevators"][0]["consent"]
    assert consent["participated"]["heads"] == 3 and consent["support"] is None
    close_survey(survey)
    consent = client.get("/api/v1/elevators", headers=planner).get_json()["elevators"][0]["consent"]
    assert consent["choices_shown"] is True and consent["support"]["heads"] == 3
    assert consent["approved"] is True
