"""The survey blueprint: its loaders, template helpers and home panel. The views register on `bp`
from survey/views/ by audience: resident.py (ballots, receipts, public notices), console.py
(surveys and their items), console_roll.py, console_paper.py (paper ballots) and api.py.

Routes only parse, authorise and render; changes happen in survey/operations.py.
"""

from flask import Blueprint, abort, g
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from resident_portal.access import estate_from_url
from resident_portal.blueprint import home_panel
from resident_portal.common import N_, format_area, format_fen
from resident_portal.extensions import db
from resident_portal.letters import LetterItem, letter_items
from resident_portal.models import Estate, Household, utcnow

from . import roll
from .models import (
    CATEGORY_LABELS,
    CHOICE_LABELS,
    KIND_LABELS,
    RULE_LABELS,
    Ballot,
    Survey,
    SurveyKind,
    SurveyStatus,
)

bp = Blueprint("survey", __name__)


# The survey with its estate and items in one query: every survey page uses all three.
SURVEY_WITH_ESTATE_AND_ITEMS = (joinedload(Survey.estate), joinedload(Survey.items))
BALLOT_CHOICES = joinedload(Ballot.choices)


# Ids are INTEGER columns: a larger number in a URL is no survey (not "integer out of range").
MAX_ID = 2**31 - 1


def survey_estate(kwargs: dict) -> Estate:
    """The estate of the survey in the URL (404 if none, or if the URL names another estate)."""
    if kwargs["survey_id"] > MAX_ID:
        abort(404)
    survey = db.session.get(Survey, kwargs["survey_id"], options=SURVEY_WITH_ESTATE_AND_ITEMS)
    if survey is None:
        abort(404)
    if "estate_code" in kwargs and survey.estate.code != kwargs["estate_code"].lower():
        abort(404)
    g.survey = survey
    return survey.estate


def household_in_estate(household_id: int) -> Household:
    """The household in the form or URL, 404 unless it is in the estate of the URL."""
    household = db.get_or_404(Household, household_id)
    if household.estate.id != g.estate.id:
        abort(404)
    return household


@bp.app_template_filter("percent")
def percent(part: int, whole: int) -> float:
    """For drawing bars only; decisions are made in survey/tally.py with integers."""
    return round(100 * part / whole, 1) if whole else 0.0


@bp.app_context_processor
def survey_labels():
    return {
        "CATEGORY_LABELS": CATEGORY_LABELS,
        "CHOICE_LABELS": CHOICE_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "RULE_LABELS": RULE_LABELS,
        "format_fen": format_fen,
        "format_area": format_area,
        "SurveyStatus": SurveyStatus,
        "now": utcnow(),
    }


def _surveys_for(households: list[Household]) -> list[Survey]:
    if not households:
        return []
    estate_id = households[0].unit.building.estate_id
    surveys = db.session.scalars(
        select(Survey).where(Survey.estate_id == estate_id).order_by(Survey.closes_at)
    )
    return [s for s in surveys if any(roll.owner_on_roll(s, h) for h in households)]


@letter_items
def letter_surveys(estate: Estate, now) -> list[LetterItem]:
    """Votes open or still to open, for the household letters (resident_portal/letters.py)."""
    from resident_portal.messages import current_locale

    surveys = db.session.scalars(
        select(Survey).where(
            Survey.estate_id == estate.id, Survey.closes_at > now, Survey.cancelled_at.is_(None)
        )
    )
    return [
        LetterItem(
            N_("Vote"),
            s.localized_title(current_locale()),
            s.closes_at,
            s.covers,
            organiser=s.organiser,
            contact=s.contact,
        )
        for s in surveys
    ]


@home_panel("survey/_home_panel.html")
def home_surveys(households: list[Household]) -> dict:
    surveys = [s for s in _surveys_for(households) if s.status() is SurveyStatus.OPEN]
    voted = {
        s.id
        for s in surveys
        if db.session.scalar(
            select(Ballot.id).where(
                Ballot.survey_id == s.id, Ballot.owner_ref == roll.owner_on_roll(s, households[0])
            )
        )
    }
    return {"surveys": surveys, "voted": voted}


# The views register on `bp` (imported last: they import `bp` from here).
from . import dashboard  # noqa: E402, F401  (registers the estate dashboard's panel)
from .views import (  # noqa: E402, F401
    api,
    console,
    console_life,
    console_paper,
    console_roll,
    resident,
)

__all__ = ["bp", "estate_from_url", "SurveyKind"]
