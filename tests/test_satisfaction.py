"""The renovation's satisfaction survey (满意度测评, docs/renovation.md): opened at 完工 on the
survey machinery, answered online and on paper, shown only after it closes, and the
satisfaction rate of the bulletin. Every test runs on SQLite and PostgreSQL."""

from datetime import timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from resident_portal.common import OperationError, format_percent
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Role
from resident_portal.renovation import operations, satisfaction
from resident_portal.renovation.models import Project
from survey.models import Ballot, Survey, SurveyKind

from .conftest import (
    close_survey,
    count,
    household,
    make_staff,
    resident,
    sign_in_staff,
)
from .test_renovation import TODAY, finished

# The renovation tests' fixtures, by name (pytest finds fixtures imported into the module).
from .test_renovation import estate as estate  # noqa: E402, I001
from .test_renovation import planner as planner  # noqa: E402
from .test_renovation import project as project  # noqa: E402

CLOSES_ON = TODAY + timedelta(days=14)


@pytest.fixture
def scoped(project, planner):
    operations.add_scope_item(project, "屋面防水", staff_user=planner)
    operations.add_scope_item(project, "楼道照明", staff_user=planner)
    return project


def opened(project, planner):
    finished(project, planner)
    survey_id = operations.open_satisfaction(project, CLOSES_ON, staff_user=planner)
    return db.session.get(Survey, survey_id)


def test_it_opens_only_once_construction_is_finished_and_before_acceptance(scoped, planner):
    with pytest.raises(OperationError, match="construction is finished"):
        operations.open_satisfaction(scoped, CLOSES_ON, staff_user=planner)
    assert count(Survey) == 0 and scoped.satisfaction_survey_id is None
    survey = opened(scoped, planner)
    assert survey.kind is SurveyKind.SATISFACTION and survey.matter is None
    assert [i.title for i in survey.items] == ["屋面防水", "楼道照明"]
    assert scoped.satisfaction_survey_id == survey.id
    assert survey.status().value == "open"
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "renovation.satisfaction")
    ).all()
    assert entry.detail["survey"] == survey.id
    with pytest.raises(OperationError, match="already open"):
        operations.open_satisfaction(scoped, CLOSES_ON, staff_user=planner)
    assert count(Survey) == 1


def test_a_closing_day_in_the_past_or_no_scope_is_refused(project, planner):
    finished(project, planner)
    with pytest.raises(OperationError, match="scope items"):
        operations.open_satisfaction(project, CLOSES_ON, staff_user=planner)
    operations.add_scope_item(project, "屋面防水", staff_user=planner)
    with pytest.raises(OperationError, match="close after today"):
        operations.open_satisfaction(project, TODAY, staff_user=planner)
    assert count(Survey) == 0 and project.satisfaction_survey_id is None


def test_the_planner_opens_it_from_the_console_and_a_refusal_says_why(app, estate, scoped, planner):
    client = app.test_client()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    base = f"/console/{estate.code}/renovation/{scoped.id}"
    early = client.post(f"{base}/satisfaction", data={"closes_on": CLOSES_ON.isoformat()})
    assert early.status_code == 422
    assert "完工后" in early.get_data(as_text=True)
    assert count(Survey) == 0
    finished(scoped, planner)
    page = client.get(base).get_data(as_text=True)
    assert "开始满意度测评" in page
    missing = client.post(f"{base}/satisfaction", data={"closes_on": ""})
    assert missing.status_code == 422 and count(Survey) == 0
    done = client.post(f"{base}/satisfaction", data={"closes_on": CLOSES_ON.isoformat()})
    assert done.status_code == 303
    assert db.session.get(Project, scoped.id).satisfaction_survey_id is not None


def test_residents_answer_and_the_answers_show_only_after_closing(app, estate, scoped, planner):
    survey = opened(scoped, planner)
    phone, h = resident(app, estate, "1", "1", "101")
    home = phone.get("/home").get_data(as_text=True)
    assert f"/surveys/{survey.id}" in home
    ballot = phone.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "基本满意" in ballot and "不满意" in ballot and "三分之二" not in ballot
    roof, light = survey.items
    answered = phone.post(
        f"/surveys/{survey.id}",
        data={f"item_{roof.id}": "support", f"item_{light.id}": "oppose", "suggestion": "灯太暗"},
    )
    assert answered.status_code in (302, 303)
    assert count(Ballot) == 1

    # Open: participation only, no answer figures, anywhere.
    [result] = satisfaction.results_of([survey.id]).values()
    assert result.answered == 1 and result.items == [] and result.rate is None
    client = app.test_client()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    console = client.get(f"/console/{estate.code}/renovation/{scoped.id}").get_data(as_text=True)
    assert "满意率" not in console and "截止" in console
    board = app.test_client().get(f"/e/{estate.code}/project/{scoped.id}").get_data(as_text=True)
    assert "满意率" not in board

    close_survey(survey)
    [result] = satisfaction.results_of([survey.id]).values()
    assert [(i.satisfied, i.basically_satisfied, i.dissatisfied) for i in result.items] == [
        (1, 0, 0),
        (0, 0, 1),
    ]
    assert result.rate == Fraction(1, 2)
    console = client.get(f"/console/{estate.code}/renovation/{scoped.id}").get_data(as_text=True)
    assert "满意率" in console and "50.00%" in console
    board = app.test_client().get(f"/e/{estate.code}/project/{scoped.id}").get_data(as_text=True)
    assert "满意率" in board and "100.00%" in board


def test_a_secretary_enters_a_paper_answer(app, estate, scoped, planner):
    survey = opened(scoped, planner)
    secretary = app.test_client()
    sign_in_staff(secretary, *make_staff(Role.SECRETARY, estate))
    h = household(estate, "2", "1", "101")
    roof, light = survey.items
    page = secretary.get(f"/console/{estate.code}/surveys/{survey.id}/paper/{h.id}")
    assert page.status_code == 200 and "基本满意" in page.get_data(as_text=True)
    entered = secretary.post(
        f"/console/{estate.code}/surveys/{survey.id}/paper/{h.id}",
        data={
            "household": str(h.id),
            f"item_{roof.id}": "abstain",
            f"item_{light.id}": "abstain",
            "reason": "老人不用手机，纸质测评表",
        },
    )
    assert entered.status_code == 302, entered.get_data(as_text=True)
    sheets = secretary.get(f"/console/{estate.code}/surveys/{survey.id}/paper/sheets")
    text = sheets.get_data(as_text=True)
    assert "基本满意" in text and "反对" not in text
    close_survey(survey)
    [result] = satisfaction.results_of([survey.id]).values()
    assert [i.basically_satisfied for i in result.items] == [1, 1]
    assert result.rate == 1
    # On the acceptance record once the representatives have signed.
    operations.record_signoff(scoped, "张三", TODAY, staff_user=planner)
    page = secretary.get(f"/console/{estate.code}/renovation/{scoped.id}").get_data(as_text=True)
    record = page.split("竣工验收", 1)[1].split("</dl>", 1)[0]
    assert "满意率" in record and "100.00%" in record
    notice = app.test_client().get(f"/e/{estate.code}/results/{survey.id}")
    text = notice.get_data(as_text=True)
    assert "基本满意" in text and "不是表决" in text and "三分之二" not in text


def test_the_kind_cannot_be_made_outside_the_renovation(app, estate):
    from survey.definition import parse_definition

    _definition, problems = parse_definition(
        {
            "title": "满意度",
            "kind": "satisfaction",
            "opens_at": "2026-12-01T09:00:00+08:00",
            "closes_at": "2026-12-15T09:00:00+08:00",
            "items": [{"category": "basic", "title": "屋面"}],
        }
    )
    assert any("renovation project" in p.message for p in problems)


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
)
def test_the_rate_is_the_exact_share_of_satisfied_and_basically_satisfied(s, b, d):
    item = satisfaction.ItemSatisfaction("屋面", s, b, d)
    if s + b + d == 0:
        assert item.rate is None
        return
    assert item.rate == Fraction(s + b, s + b + d)
    assert 0 <= item.rate <= 1
    # Displayed with the one rounding of every page.
    assert format_percent(s + b, s + b + d) == bulletin_percent(item.rate)


def bulletin_percent(rate: Fraction) -> str:
    from resident_portal.renovation.money import percent_text

    return percent_text(rate).rstrip("%")


def answer(survey, h, roof, light):
    from survey import operations as survey_operations
    from survey.tally import Choice

    first, second = survey.items
    survey_operations.submit_ballot(survey, h, {first.id: Choice(roof), second.id: Choice(light)})


def test_the_bulletin_counts_closed_surveys_per_district_page_workbook_and_api(
    app, estate, scoped, planner
):
    import io

    from openpyxl import load_workbook

    from resident_portal.models import utcnow

    survey = opened(scoped, planner)
    answer(survey, household(estate, "1", "1", "101"), "support", "support")
    answer(survey, household(estate, "1", "1", "201"), "abstain", "oppose")
    answer(survey, household(estate, "2", "1", "101"), "oppose", "oppose")
    client = app.test_client()
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    # Open: the bulletin has no satisfaction figure yet.
    body = client.get("/api/v1/renovation/districts").json
    assert body["city"]["satisfaction_rate"] is None and body["city"]["satisfaction_surveys"] == 0

    close_survey(survey)
    body = client.get("/api/v1/renovation/districts").json
    [district] = body["districts"]
    assert district["satisfaction_surveys"] == 1
    assert (district["satisfied"], district["satisfaction_answers"]) == (3, 6)
    assert district["satisfaction_rate"] == {"part": 1, "whole": 2, "percent": "50.00"}
    assert body["city"]["satisfaction_rate"] == district["satisfaction_rate"]

    month = f"{(utcnow() + timedelta(hours=8)):%Y-%m}"
    page = client.get(f"/console/overview/monthly?month={month}").get_data(as_text=True)
    assert "满意率" in page and "50.00%" in page
    workbook = load_workbook(
        io.BytesIO(client.get(f"/console/overview/monthly.xlsx?month={month}").data)
    )
    sheet = workbook["分区县改造进展"]
    header = [c.value for c in sheet[1]]
    rate = header.index("满意率（%）")
    assert [c.value for c in sheet[2]][rate] == 50
    openapi = client.get("/api/v1/openapi.json").json
    assert "satisfaction_rate" in str(openapi)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["甲区", "乙区"]),
            st.integers(0, 1000),
            st.integers(0, 1000),
        ),
        max_size=20,
    )
)
def test_the_city_rate_is_the_exact_share_over_every_district(surveys):
    from resident_portal.renovation import bulletin

    projects = [
        bulletin.ProjectFacts(
            district=district,
            current_stage=None,
            done=frozenset(),
            late_days=0,
            invested_fen=0,
            planned_fen={},
            received_fen={},
            satisfied=min(happy, answers),
            satisfaction_answers=answers,
        )
        for district, happy, answers in surveys
    ]
    districts, city = bulletin.summarise(projects, {}, {})
    answers = sum(p.satisfaction_answers for p in projects)
    satisfied = sum(p.satisfied for p in projects)
    assert city.satisfaction_rate == (Fraction(satisfied, answers) if answers else None)
    assert city.satisfied == sum(d.satisfied for d in districts)
    assert city.surveyed == sum(1 for p in projects if p.satisfaction_answers)


def test_its_exports_and_the_results_api_speak_satisfaction(app, estate, scoped, planner):
    """satisfied / basically_satisfied / unsatisfied in the API and the CSV, 满意 / 基本满意 /
    不满意 in the workbook; a consultation of the same estate keeps support / oppose /
    abstain."""
    import csv
    import io

    from openpyxl import load_workbook

    from .conftest import make_survey

    survey = opened(scoped, planner)
    answer(survey, household(estate, "1", "1", "101"), "support", "abstain")
    answer(survey, household(estate, "1", "1", "201"), "oppose", "support")
    close_survey(survey)
    client = app.test_client()
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    base = f"/console/{estate.code}/surveys/{survey.id}/results"

    body = client.get(f"/api/v1/surveys/{survey.id}/results").json
    roof, light = body["items"]
    assert set(roof) == {
        "id",
        "title",
        "category",
        "satisfied",
        "basically_satisfied",
        "unsatisfied",
        "priority_picks",
        "approved",
    }
    assert (roof["satisfied"]["heads"], roof["unsatisfied"]["heads"]) == (1, 1)
    assert roof["basically_satisfied"]["heads"] == 0
    assert (light["satisfied"]["heads"], light["basically_satisfied"]["heads"]) == (1, 1)
    assert client.get(f"{base}.json").json["items"] == body["items"]  # the console's JSON too

    rows = list(csv.DictReader(io.StringIO(client.get(f"{base}.csv").data.decode("utf-8-sig"))))
    scope = [r for r in rows if r["group"] == "scope"]
    assert [(r["satisfied_heads"], r["basically_satisfied_heads"]) for r in scope] == [
        ("1", "0"),
        ("1", "1"),
    ]
    assert [r["unsatisfied_heads"] for r in scope] == ["1", "0"]
    assert not any(key.startswith(("support", "oppose", "abstain")) for key in rows[0])

    sheet = load_workbook(io.BytesIO(client.get(f"{base}.xlsx").data))["表决结果"]
    header = [c.value for c in sheet[1]]
    assert header[11:17] == [
        "满意的业主人数",
        "满意的专有部分面积（m²）",
        "基本满意的业主人数",
        "基本满意的专有部分面积（m²）",
        "不满意的业主人数",
        "不满意的专有部分面积（m²）",
    ]

    # Other kinds are unchanged: their keys and columns are read by other systems.
    other = make_survey(estate, kind="consultation")
    close_survey(other)
    [item, *_] = client.get(f"/api/v1/surveys/{other.id}/results").json["items"]
    assert {"support", "oppose", "abstain"} <= set(item) and "satisfied" not in item
    other_base = f"/console/{estate.code}/surveys/{other.id}/results"
    first = client.get(f"{other_base}.csv").data.decode("utf-8-sig").splitlines()[0]
    assert "support_heads,support_area_m2,oppose_heads" in first
    assert [
        c.value
        for c in load_workbook(io.BytesIO(client.get(f"{other_base}.xlsx").data))["表决结果"][1]
    ][11] == "支持的业主人数"

    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert set(schemas["SatisfactionItem"]["required"]) >= {"satisfied", "unsatisfied"}
    assert "satisfaction" in schemas["Survey"]["properties"]["kind"]["enum"]
