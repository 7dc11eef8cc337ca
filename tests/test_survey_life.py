"""A survey's life (issue 13, point 11): extending the closing time, cancelling before any
ballot, never reopening a closed survey; the console's estate page as a dashboard."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from resident_portal.common import OperationError, in_china
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Role, utcnow
from survey import operations
from survey.models import Survey, SurveyExtension, SurveyStatus
from survey.tally import Choice, Count, at_least, quorum, quorum_shortfall

from .conftest import (
    close_survey,
    household,
    make_estate,
    make_staff,
    make_staff_user,
    make_survey,
    sign_in_staff,
)


def console(app, estate, role=Role.SECRETARY):
    client = app.test_client()
    assert sign_in_staff(client, *make_staff(role, estate)).status_code == 302
    return client


def china_field(moment) -> str:
    return in_china(moment).strftime("%Y-%m-%dT%H:%M")


def audits(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


# --- extending -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SECRETARY, Role.PLANNER])
def test_a_secretary_or_planner_extends_an_open_vote_with_a_reason(app, role):
    estate = make_estate()
    survey = make_survey(estate)
    before = survey.closes_at
    client = console(app, estate, role)
    url = f"/console/meiyuan/surveys/{survey.id}/extend"
    page = client.get(url)
    assert page.status_code == 200 and china_field(before) in page.get_data(as_text=True)
    later = before + timedelta(days=3)
    response = client.post(url, data={"closes_at": china_field(later), "reason": "入户未完成"})
    assert response.status_code == 303
    db.session.refresh(survey)
    assert survey.closes_at == later.replace(second=0, microsecond=0)
    (extension,) = db.session.scalars(select(SurveyExtension)).all()
    assert extension.previous_closes_at == before and extension.reason == "入户未完成"
    (entry,) = audits("survey.extend")
    assert entry.detail["reason"] == "入户未完成" and entry.staff_user_id is not None


def test_an_extension_without_reason_or_not_later_is_refused_beside_the_field(app):
    estate = make_estate()
    survey = make_survey(estate)
    client = console(app, estate)
    url = f"/console/meiyuan/surveys/{survey.id}/extend"
    later = china_field(survey.closes_at + timedelta(days=1))
    no_reason = client.post(url, data={"closes_at": later, "reason": " "})
    assert no_reason.status_code == 422
    earlier = client.post(
        url, data={"closes_at": china_field(survey.closes_at - timedelta(days=1)), "reason": "x"}
    )
    assert earlier.status_code == 422
    assert "新的截止时间必须晚于" in earlier.get_data(as_text=True)
    assert db.session.scalars(select(SurveyExtension)).all() == []
    assert audits("survey.extend") == []


def test_a_closed_survey_never_reopens(app):
    estate = make_estate()
    survey = make_survey(estate)
    close_survey(survey)
    with pytest.raises(OperationError, match="never reopens"):
        operations.extend_survey(
            survey, utcnow() + timedelta(days=3), "晚了", staff_user=make_staff_user(estate)
        )
    assert survey.status() is SurveyStatus.CLOSED
    # The schema refuses it too: an extension made at or after the closing time it replaces.
    db.session.add(
        SurveyExtension(
            survey_id=survey.id,
            previous_closes_at=survey.closes_at,
            new_closes_at=survey.closes_at + timedelta(days=3),
            reason="绕过检查",
            made_at=utcnow(),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    client = console(app, estate)
    response = client.post(
        f"/console/meiyuan/surveys/{survey.id}/extend",
        data={"closes_at": china_field(utcnow() + timedelta(days=3)), "reason": "晚了"},
    )
    assert response.status_code == 422
    db.session.refresh(survey)
    assert survey.status() is SurveyStatus.CLOSED


def test_the_extension_is_on_the_public_notice(app):
    estate = make_estate()
    survey = make_survey(estate)
    operations.extend_survey(
        survey, survey.closes_at + timedelta(days=2), "春节前补充入户", staff_user=None
    )
    close_survey(survey)
    page = app.test_client().get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True)
    assert "春节前补充入户" in page and "表决延期" in page
    printed = app.test_client().get(f"/e/meiyuan/results/{survey.id}/print")
    assert "春节前补充入户" in printed.get_data(as_text=True)


def test_the_command_line_extends_as_the_page_does(app):
    estate = make_estate()
    survey = make_survey(estate)
    until = in_china(survey.closes_at + timedelta(days=5)).replace(second=0, microsecond=0)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "survey",
            "extend",
            str(survey.id),
            "--until",
            until.strftime("%Y-%m-%dT%H:%M"),
            "--reason",
            "命令行延期",
        ]
    )
    assert result.exit_code == 0, result.output
    db.session.refresh(survey)
    assert in_china(survey.closes_at) == until
    (entry,) = audits("survey.extend")
    assert entry.staff_user_id is None and entry.detail["reason"] == "命令行延期"
    refused = runner.invoke(
        args=["survey", "extend", str(survey.id), "--until", "soon", "--reason", "x"]
    )
    assert refused.exit_code != 0 and "--until" in refused.output
    close_survey(survey)
    closed = runner.invoke(
        args=["survey", "extend", str(survey.id), "--until", "2999-01-01T00:00", "--reason", "x"]
    )
    assert closed.exit_code != 0
    assert len(audits("survey.extend")) == 1


# --- cancelling ----------------------------------------------------------------------------


def test_a_survey_without_ballots_is_cancelled_and_says_so_everywhere(app):
    estate = make_estate()
    survey = make_survey(estate)
    client = console(app, estate)
    url = f"/console/meiyuan/surveys/{survey.id}/cancel"
    assert client.post(url, data={"reason": ""}).status_code == 422
    assert client.post(url, data={"reason": "方案需要重新设计"}).status_code == 303
    db.session.refresh(survey)
    assert survey.status() is SurveyStatus.CANCELLED
    (entry,) = audits("survey.cancel")
    assert entry.detail["reason"] == "方案需要重新设计"
    listing = client.get("/console/meiyuan/surveys").get_data(as_text=True)
    assert "已取消" in listing
    page = client.get(f"/console/meiyuan/surveys/{survey.id}").get_data(as_text=True)
    assert "方案需要重新设计" in page
    assert "已取消" in app.test_client().get("/e/meiyuan/results").get_data(as_text=True)
    # Nobody votes in it any more, and it cannot be extended or cancelled again.
    with pytest.raises(OperationError):
        operations.submit_ballot(
            survey,
            household(estate, "1", "1", "101"),
            {i.id: Choice.SUPPORT for i in survey.items},
        )
    with pytest.raises(OperationError):
        operations.extend_survey(survey, survey.closes_at + timedelta(days=1), "x", staff_user=None)
    with pytest.raises(OperationError):
        operations.cancel_survey(survey, "again", staff_user=None)


def test_a_survey_with_a_ballot_cannot_be_cancelled(app):
    estate = make_estate()
    survey = make_survey(estate)
    operations.submit_ballot(
        survey, household(estate, "1", "1", "101"), {i.id: Choice.SUPPORT for i in survey.items}
    )
    client = console(app, estate)
    response = client.post(
        f"/console/meiyuan/surveys/{survey.id}/cancel", data={"reason": "不想要了"}
    )
    assert response.status_code == 422
    assert "已经有业主投票" in response.get_data(as_text=True)
    db.session.refresh(survey)
    assert survey.cancelled_at is None and audits("survey.cancel") == []


def test_a_closed_survey_cannot_be_cancelled_even_in_the_schema(app):
    estate = make_estate()
    survey = make_survey(estate)
    close_survey(survey)
    with pytest.raises(OperationError):
        operations.cancel_survey(survey, "晚了", staff_user=None)
    survey.cancelled_at, survey.cancel_reason = utcnow(), "绕过检查"
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_command_line_cancels(app):
    estate = make_estate()
    survey = make_survey(estate, opened=False)
    result = app.test_cli_runner().invoke(
        args=["survey", "cancel", str(survey.id), "--reason", "改期"]
    )
    assert result.exit_code == 0, result.output
    assert db.session.get(Survey, survey.id).status() is SurveyStatus.CANCELLED


# --- the quorum shortfall (pure) ------------------------------------------------------------


@given(
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
)
def test_the_shortfall_is_the_least_that_meets_the_quorum(whole_heads, part_heads, whole, part):
    part_heads, part = min(part_heads, whole_heads), min(part, whole)
    eligible, taken = Count(0, whole_heads, whole), Count(0, part_heads, part)
    heads, area = quorum_shortfall(eligible, taken)
    assert heads >= 0 and area >= 0
    assert at_least(part_heads + heads, whole_heads, 2, 3)
    assert at_least(part + area, whole, 2, 3)
    if heads:
        assert not at_least(part_heads + heads - 1, whole_heads, 2, 3)
    if area:
        assert not at_least(part + area - 1, whole, 2, 3)
    if whole_heads:
        assert quorum(eligible, taken) == (heads == 0 and area == 0)


# --- the dashboard ------------------------------------------------------------------------


def test_the_estate_page_is_a_dashboard(app):
    from .conftest import make_campaign, make_report

    estate = make_estate()
    survey = make_survey(estate)
    operations.submit_ballot(
        survey, household(estate, "1", "1", "101"), {i.id: Choice.SUPPORT for i in survey.items}
    )
    make_campaign(estate)
    report = make_report(estate, household(estate, "1", "1", "201"))
    report.created_at = utcnow() - timedelta(days=60)
    db.session.commit()
    client = console(app, estate)
    page = client.get("/console/meiyuan").get_data(as_text=True)
    assert "下一步要做的事" in page
    assert survey.title in page and "参与表决" in page
    # Participation against the quorum, and how many owners are still needed.
    assert "还差" in page
    assert "楼道改造居民出资" in page and "¥50,000.00" in page
    assert "逾期" in page and f"/console/meiyuan/surveys/{survey.id}/not-voted" in page
    # Choice figures stay secret while the vote is open.
    assert "赞成" not in page.split("<main", 1)[1]


def test_a_contractor_sees_only_the_reports_panel(app):
    estate = make_estate()
    make_survey(estate)
    page = console(app, estate, Role.CONTRACTOR).get("/console/meiyuan").get_data(as_text=True)
    assert "问题反馈" in page and "正在进行的表决" not in page


def test_an_elevators_consent_vote_cannot_be_cancelled_on_its_own(app):
    from .conftest import make_elevator_project

    estate = make_estate()
    project = make_elevator_project(estate)
    with pytest.raises(OperationError, match="another project"):
        operations.cancel_survey(project.survey, "不装了", staff_user=None)
    assert project.survey.status() is not SurveyStatus.CANCELLED
