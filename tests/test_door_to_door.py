"""Door-to-door work (issue 13, point 9): the not-voted and not-answered lists show full names
and phones to the estate's own secretary only (each view audited, and only on a POST), masked
to everyone else; each line records the visit's outcome (audited) and the list filters by it."""

import pytest
from sqlalchemy import func, select

from contributions.models import CampaignVisit
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Role, VisitOutcome
from survey import operations
from survey.models import SurveyVisit
from survey.tally import Choice

from .conftest import (
    SMALL_REGISTER,
    household,
    make_campaign,
    make_estate,
    make_staff,
    make_survey,
    sign_in_staff,
)

FULL_NAME, FULL_PHONE = SMALL_REGISTER[1][6:8]  # the owner of 1-1-201 and her phone


def console(app, estate, role=Role.SECRETARY):
    client = app.test_client()
    assert sign_in_staff(client, *make_staff(role, estate)).status_code == 302
    return client


def audited(action):
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )


@pytest.fixture
def lists(app):
    estate = make_estate()
    survey = make_survey(estate)
    campaign = make_campaign(estate)
    # 1-1-101 has voted: it is not on the survey's list.
    operations.submit_ballot(
        survey, household(estate, "1", "1", "101"), {i.id: Choice.SUPPORT for i in survey.items}
    )
    return estate, {
        "survey": f"/console/meiyuan/surveys/{survey.id}/not-voted",
        "campaign": f"/console/meiyuan/campaigns/{campaign.id}/not-answered",
    }


@pytest.mark.parametrize("which", ["survey", "campaign"])
def test_the_estates_own_secretary_sees_full_contacts_each_view_audited(app, lists, which):
    estate, urls = lists
    secretary = console(app, estate)
    masked = secretary.get(urls[which]).get_data(as_text=True)
    assert FULL_PHONE not in masked and FULL_NAME not in masked
    assert FULL_NAME[0] + "**" in masked
    assert audited("visit.contacts_view") == 0  # a GET writes nothing
    full = secretary.post(urls[which] + "/contacts", data={"visit": ""})
    assert full.status_code == 200 and full.headers["Cache-Control"] == "private, no-store"
    text = full.get_data(as_text=True)
    assert FULL_NAME in text and FULL_PHONE in text
    assert audited("visit.contacts_view") == 1
    secretary.post(urls[which] + "/contacts", data={"visit": ""})
    assert audited("visit.contacts_view") == 2
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.detail["list"] in ("survey.not_voted", "campaign.not_answered")


@pytest.mark.parametrize("role", [Role.PLANNER, Role.ADMIN])
@pytest.mark.parametrize("which", ["survey", "campaign"])
def test_everyone_else_sees_them_masked(app, lists, which, role):
    estate, urls = lists
    other = console(app, estate if role is Role.PLANNER else None, role)
    page = other.get(urls[which]).get_data(as_text=True)
    assert FULL_PHONE not in page and FULL_NAME not in page
    assert "/contacts" not in page  # no button to show them
    assert other.post(urls[which] + "/contacts", data={}).status_code == 403
    assert audited("visit.contacts_view") == 0


def test_a_secretary_of_another_estate_cannot_see_them(app, lists):
    estate, urls = lists
    make_estate("lanting", "兰亭小区")
    from resident_portal.estates import estate_by_code

    stranger = console(app, estate_by_code("lanting"))
    assert stranger.post(urls["survey"] + "/contacts", data={}).status_code == 403


@pytest.mark.parametrize(("which", "model"), [("survey", SurveyVisit), ("campaign", CampaignVisit)])
def test_visits_are_recorded_audited_and_filter_the_list(app, lists, which, model):
    estate, urls = lists
    secretary = console(app, estate)
    target = household(estate, "1", "1", "201")
    other = household(estate, "1", "1", "301")
    response = secretary.post(
        f"{urls[which]}/{target.id}/visit",
        data={"outcome": "not_at_home", "note": "晚上再来", "visit": ""},
    )
    assert response.status_code == 303
    secretary.post(f"{urls[which]}/{other.id}/visit", data={"outcome": "paper"})
    (first, second) = db.session.scalars(select(model).order_by(model.id)).all()
    assert first.outcome is VisitOutcome.NOT_AT_HOME and first.note == "晚上再来"
    assert first.staff_user_id is not None and first.at is not None
    assert audited("visit.record") == 2
    # The latest outcome of a household is its outcome; earlier ones stay as history.
    secretary.post(f"{urls[which]}/{target.id}/visit", data={"outcome": "declined"})
    assert db.session.scalar(select(func.count()).select_from(model)) == 3
    page = secretary.get(urls[which]).get_data(as_text=True)
    # Only the latest is shown.
    assert 'class="visit visit-declined">不愿参加' in page and "visit-not_at_home" not in page

    def rooms(query):
        text = secretary.get(urls[which] + query).get_data(as_text=True)
        return {room for room in ("201", "301") if f"<td>{room}</td>" in text}

    assert rooms("?visit=declined") == {"201"}
    assert rooms("?visit=paper") == {"301"}
    assert rooms("?visit=none") == set()
    assert rooms("?visit=visited") == set()
    assert rooms("?visit=nonsense") == {"201", "301"}  # an unknown filter shows everyone


@pytest.mark.parametrize(("which", "model"), [("survey", SurveyVisit), ("campaign", CampaignVisit)])
def test_a_bad_visit_is_refused_beside_its_line_and_writes_nothing(app, lists, which, model):
    estate, urls = lists
    secretary = console(app, estate)
    target = household(estate, "1", "1", "201")
    response = secretary.post(f"{urls[which]}/{target.id}/visit", data={"outcome": "moved"})
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)
    too_long = secretary.post(
        f"{urls[which]}/{target.id}/visit", data={"outcome": "visited", "note": "长" * 201}
    )
    assert too_long.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(model)) == 0
    assert audited("visit.record") == 0


def test_a_household_outside_the_vote_cannot_get_a_visit(app):
    estate = make_estate()
    survey = make_survey(estate, building="1", unit="1")
    secretary = console(app, estate)
    outside = household(estate, "2", "1", "101")
    response = secretary.post(
        f"/console/meiyuan/surveys/{survey.id}/not-voted/{outside.id}/visit",
        data={"outcome": "visited"},
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(SurveyVisit)) == 0
