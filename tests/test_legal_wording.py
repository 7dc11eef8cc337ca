"""The law is stated correctly, in Chinese and English, and from one place (issue 11, point 6).

Civil Code Art. 278: owners holding ≥ 2/3 of the exclusive area and ≥ 2/3 of the owners take
part; items 6–8 need ≥ 3/4 of the participating area and owners, every other matter more than
half of both. survey/rules.py states it; every page, print, export and the API description
takes its sentences from there.
"""

import io
import json
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import force_locale
from markupsafe import escape
from openpyxl import load_workbook

from resident_portal.models import Role
from survey import rules
from survey.models import KIND_LABELS, MATTER_LABELS, MATTER_RULES, RULE_LABELS, Matter
from survey.tally import Rule

from .conftest import (
    close_survey,
    make_elevator_project,
    make_estate,
    make_staff,
    make_survey,
    resident,
    sign_in_staff,
)

ROOT = Path(__file__).resolve().parent.parent
ZH_CATALOG = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"

# Wordings the native-speaker review found wrong for binding votes, rules and results.
WRONG_FOR_BINDING = ("正式决定", "征求意见")
WRONG_ELEVATOR_RULE = ("业主人数和面积均达到四分之三", "三分之二以上的业主同意")
WRONG_QUORUM = ("法定参与人数", "参与人数不足")


def in_language(client, language: str) -> None:
    client.post("/preferences", data={"language": language})


def main_of(page: str) -> str:
    return page.split("<main", 1)[1].split("</main>", 1)[0]


def sentence(text, language: str) -> str:
    """A lazy string of survey/rules.py as a page in `language` shows it (escaped)."""
    with force_locale(language):
        return str(escape(str(text() if callable(text) else text)))


# --- the sentences themselves -------------------------------------------------------------


def test_the_chinese_sentences_state_article_278(app):
    with force_locale("zh_Hans_CN"):
        three_quarters = rules.approval(Rule.THREE_QUARTERS)
        majority = rules.approval(Rule.MAJORITY)
        quorum = str(rules.QUORUM)
        summary = str(rules.MATTERS_SUMMARY)
        label = str(rules.QUORUM_LABEL)
        decision = str(rules.DECISION)
    assert three_quarters == (
        "须经参与表决专有部分面积四分之三以上的业主且参与表决人数四分之三以上的业主同意。"
    )
    assert majority == "须经参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意。"
    assert quorum.startswith("须由专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主")
    assert "参与表决" in quorum
    # the whole list of items 6–8, counted among participants, by count and by area
    for words in (
        "维修资金",
        "改建、重建建筑物及其附属设施",
        "改变共有部分的用途",
        "利用共有部分从事经营活动",
        "参与表决专有部分面积四分之三以上",
        "参与表决人数四分之三以上",
        "过半数",
    ):
        assert words in summary, words
    assert "人数" in label and "面积" in label and "三分之二" in label
    assert decision.startswith("业主共同决定")
    for text in (three_quarters, majority, quorum, summary, label, decision):
        for wrong in WRONG_FOR_BINDING + WRONG_ELEVATOR_RULE + WRONG_QUORUM + ("建筑面积",):
            assert wrong not in text


def test_the_english_sentences_state_article_278(app):
    with force_locale("en"):
        three_quarters = rules.approval(Rule.THREE_QUARTERS)
        majority = rules.approval(Rule.MAJORITY)
        quorum = str(rules.QUORUM)
        summary = str(rules.MATTERS_SUMMARY)
    assert "at least three quarters of the participating exclusive area" in three_quarters
    assert "at least three quarters of the participating owners" in three_quarters
    assert "more than half of the participating exclusive area" in majority
    assert "more than half of the participating owners" in majority
    assert "at least two thirds of the exclusive area" in quorum
    assert "at least two thirds of all owners" in quorum
    assert "ancillary facilities" in summary and "business activities" in summary
    assert "participating owners, by count and by exclusive area" in summary


def test_the_models_take_their_labels_and_rules_from_the_one_module(app):
    three_quarters = {m for m, rule in MATTER_RULES.items() if rule is Rule.THREE_QUARTERS}
    assert {m.value for m in three_quarters} == set(rules.THREE_QUARTER_MATTERS)
    assert three_quarters == {Matter.RAISE_MAINTENANCE_FUND, Matter.RENOVATE, Matter.COMMON_PARTS}
    assert all(MATTER_LABELS[m] is rules.MATTER_LABELS[m.value] for m in Matter)
    assert RULE_LABELS is rules.APPROVAL
    assert set(KIND_LABELS.values()) == {rules.DECISION, rules.CONSULTATION, rules.SATISFACTION}
    with force_locale("zh_Hans_CN"):
        assert str(MATTER_LABELS[Matter.RENOVATE]) == "改建、重建建筑物及其附属设施"
        assert str(MATTER_LABELS[Matter.COMMON_PARTS]) == (
            "改变共有部分的用途或者利用共有部分从事经营活动"
        )
        assert "及其附属设施" in str(MATTER_LABELS[Matter.RAISE_MAINTENANCE_FUND])


def test_no_rule_is_worded_outside_the_one_module():
    """Every translatable text that states a threshold comes from survey/rules.py."""
    method_map = [
        ("resident_portal/**.py", "python"),
        ("survey/**.py", "python"),
        ("contributions/**.py", "python"),
        ("templates/**.html", "jinja2"),
    ]
    keywords = {"_": None, "gettext": None, "_l": None, "N_": None, "ngettext": (1, 2)}
    thresholds = ("three quarters", "two thirds", "more than half", "3/4", "2/3")
    elsewhere = [
        (filename, message)
        for filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords=keywords
        )
        if isinstance(message, str)
        and any(t in message.lower() for t in thresholds)
        and filename != "survey/rules.py"
    ]
    assert not elsewhere, elsewhere


# --- the catalog ------------------------------------------------------------------------------


def test_the_chinese_catalog_uses_the_terms_of_the_review():
    with ZH_CATALOG.open("rb") as handle:
        catalog = [m for m in read_po(handle) if m.id]
    for m in catalog:
        text = m.string
        for wrong in WRONG_FOR_BINDING + WRONG_ELEVATOR_RULE + WRONG_QUORUM + ("住户名册",):
            assert wrong not in text, (m.id, text)
        if "建筑面积" in text:  # only as the register's import column
            assert m.id == "area", (m.id, text)
        if "截至" in text:  # "as of" a moment; a deadline is "…截止"
            assert m.id.startswith("as of"), (m.id, text)
        bare = text.replace("意愿征询", "").replace("征询表决", "")
        assert "征询" not in bare, (m.id, text)  # 征询 alone: use 征询表决 or 意愿征询
    by_id = {m.id: m.string for m in catalog}
    assert by_id["Collecting consent"] == "业主表决中"
    assert by_id["Consent reached, collecting pledges"] == "表决已通过，正在认缴"
    assert by_id["Consent not reached"] == "表决未通过"
    assert by_id["Consent vote"] == "业主表决"
    assert by_id["quorum not met"] == "参与表决人数或面积未达三分之二"
    assert by_id["Every household has voted."].startswith("所有业主")
    # may be consulted on, but a consultation does not choose an Art. 278 matter
    assert "不适用" not in by_id["A consultation has no Art. 278 matter."]


# --- pages, print, exports and the API state the same sentence -------------------------------


@pytest.mark.parametrize("language", ["zh_Hans_CN", "en"])
def test_ballot_notice_console_export_and_api_state_the_same_rule(app, language):
    estate = make_estate()
    survey = make_survey(estate)  # renovating: three quarters
    rule = sentence(lambda: rules.full(Rule.THREE_QUARTERS), language)
    decision = sentence(rules.DECISION, language)

    phone, _h = resident(app, estate, "1", "1", "201")
    in_language(phone, language)
    ballot = main_of(phone.get(f"/surveys/{survey.id}").get_data(as_text=True))
    assert rule in ballot and decision in ballot

    staff = app.test_client()
    in_language(staff, language)
    sign_in_staff(staff, *make_staff(Role.PLANNER, estate))
    console = main_of(staff.get(f"/console/meiyuan/surveys/{survey.id}").get_data(as_text=True))
    assert rule in console
    workbook = load_workbook(
        io.BytesIO(staff.get(f"/console/meiyuan/surveys/{survey.id}/results.xlsx").data)
    )
    stated = [row[0] for row in workbook.worksheets[1].iter_rows(values_only=True)]
    with force_locale(language):
        assert stated == [
            str(rules.DECISION),
            str(rules.MATTER_LABELS["renovate"]),
            rules.approval(Rule.THREE_QUARTERS),
            str(rules.QUORUM),
        ]
    new_survey = main_of(staff.get("/console/meiyuan/surveys/new").get_data(as_text=True))
    assert sentence(rules.MATTERS_SUMMARY, language) in new_survey

    close_survey(survey)
    public = app.test_client()
    in_language(public, language)
    notice = main_of(public.get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True))
    assert rule in notice
    assert sentence(rules.QUORUM_LABEL, language) in notice
    assert sentence(rules.EXCLUSIVE_AREA_M2, language) in notice

    api = json.dumps(app.test_client().get("/api/v1/openapi.json").get_json(), ensure_ascii=False)
    for locale in ("zh_Hans_CN", "en"):
        with force_locale(locale):
            for text in (
                rules.approval(Rule.THREE_QUARTERS),
                rules.approval(Rule.MAJORITY),
                str(rules.QUORUM),
            ):
                assert json.dumps(text, ensure_ascii=False)[1:-1] in api


def test_results_count_the_exclusive_area_and_both_halves_of_the_quorum(app):
    estate = make_estate()
    survey = make_survey(estate)
    close_survey(survey)
    notice = main_of(
        app.test_client().get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True)
    )
    assert "建筑面积" not in notice
    assert "专有部分面积（m²）" in notice and "参与表决门槛（人数、面积均达三分之二）" in notice
    for wrong in WRONG_FOR_BINDING + WRONG_QUORUM:
        assert wrong not in notice


def test_a_consultation_is_not_stated_as_a_binding_vote(app):
    estate = make_estate()
    survey = make_survey(estate, kind="consultation", max_priorities=1)
    phone, _h = resident(app, estate, "1", "1", "201")
    ballot = main_of(phone.get(f"/surveys/{survey.id}").get_data(as_text=True))
    assert sentence(rules.CONSULTATION_NOTE, "zh_Hans_CN") in ballot
    assert "业主共同决定" not in ballot and "四分之三" not in ballot


@pytest.mark.parametrize("language", ["zh_Hans_CN", "en"])
def test_the_elevator_vote_is_a_joint_decision_counted_among_participants(app, language):
    estate = make_estate()
    project = make_elevator_project(estate)
    rule = sentence(rules.elevator, language)

    phone, _h = resident(app, estate, "1", "1", "201")
    in_language(phone, language)
    pledge = main_of(phone.get(f"/campaigns/{project.campaign_id}").get_data(as_text=True))
    assert rule in pledge  # the conditional-pledge message states the rule of the vote
    ballot = main_of(phone.get(f"/surveys/{project.survey_id}").get_data(as_text=True))
    assert rule in ballot

    staff = app.test_client()
    in_language(staff, language)
    sign_in_staff(staff, *make_staff(Role.PLANNER, estate))
    console = main_of(staff.get(f"/console/meiyuan/elevators/{project.id}").get_data(as_text=True))
    new = main_of(staff.get("/console/meiyuan/elevators/new").get_data(as_text=True))
    assert rule in new

    if language == "zh_Hans_CN":
        assert "参与表决" in rule and "四分之三以上" in rule
        assert "业主表决中" in pledge  # the step, not 征求意见
        assert "业主表决" in console
        for page in (pledge, ballot, console, new):
            for wrong in WRONG_FOR_BINDING + WRONG_ELEVATOR_RULE:
                assert wrong not in page
    else:
        assert "participating owners" in rule and "three quarters of all owners" not in pledge


def test_the_letter_addresses_the_owner_who_votes(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    issued = client.post("/console/meiyuan/codes", data={"which": "missing"})
    assert issued.status_code == 303
    page = client.get(issued.headers["Location"] + "/letters").get_data(as_text=True)
    assert "尊敬的业主" in page and "尊敬的居民" not in page
    for wrong in WRONG_FOR_BINDING:
        assert wrong not in page
