"""The survey blueprint: its loaders, template helpers and home panel. The views register on `bp`
from survey/views/ by audience: resident.py (ballots, receipts, public notices), console.py
(surveys and their items), console_roll.py, console_paper.py (paper ballots) and api.py.

Routes only parse, authorise and render; changes happen in survey/operations.py.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, g, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from resident_portal.access import estate_from_url
from resident_portal.blueprint import (
    Contact,
    Task,
    contact_provider,
    estate_panel,
    home_panel,
    home_task,
)
from resident_portal.common import N_, format_area, format_fen
from resident_portal.estates import household_in_estate  # noqa: F401 (the views take it from here)
from resident_portal.extensions import db
from resident_portal.letters import LetterItem, letter_items
from resident_portal.messages import current_locale
from resident_portal.models import Estate, Household, utcnow
from resident_portal.privacy import DataSection, data_time, my_data_provider

from . import roll
from .models import (
    CATEGORY_LABELS,
    CHOICE_LABELS,
    KIND_LABELS,
    RULE_LABELS,
    Ballot,
    BallotRevision,
    BallotSource,
    Survey,
    SurveyKind,
    SurveyStatus,
    choice_labels,
)
from .tally import Choice

bp = Blueprint("survey", __name__)

# Sections shown on a ballot above its items, contributed by other features (the elevator share
# of a unit's consent vote comes from contributions/) so that surveys do not depend on them:
# (template, function(survey, households the ballot covers) -> context, or None to show nothing).
BALLOT_PANELS: list[tuple[str, Callable[[Survey, list[Household]], dict | None]]] = []


def ballot_panel(template: str):
    def register(function):
        BALLOT_PANELS.append((template, function))
        return function

    return register


# The survey with its estate and items in one query: every survey page uses all three. Built
# once, like the owner's counted ballot with its choices (the ballot page): building a statement
# and its cache key on every request cost as much as running it.
SURVEY_WITH_ESTATE_AND_ITEMS = select(Survey).options(
    joinedload(Survey.estate), joinedload(Survey.items)
)
SURVEY_BY_ID = SURVEY_WITH_ESTATE_AND_ITEMS.where(Survey.id == bindparam("survey_id"))
COUNTED_BALLOT = (
    select(Ballot)
    .where(Ballot.survey_id == bindparam("survey_id"), Ballot.owner_ref == bindparam("owner_ref"))
    .options(joinedload(Ballot.choices))
)


# Ids are INTEGER columns: a larger number in a URL is no survey (not "integer out of range").
MAX_ID = 2**31 - 1


def survey_estate(kwargs: dict) -> Estate:
    """The estate of the survey in the URL (404 if none, or if the URL names another estate)."""
    if kwargs["survey_id"] > MAX_ID:
        abort(404)
    survey = (
        db.session.execute(SURVEY_BY_ID, {"survey_id": kwargs["survey_id"]})
        .unique()
        .scalar_one_or_none()
    )
    if survey is None:
        abort(404)
    if "estate_code" in kwargs and survey.estate.code != kwargs["estate_code"].lower():
        abort(404)
    g.survey = survey
    return survey.estate


@dataclass(frozen=True)
class BallotFragments:
    """What a ballot page shows every household alike, as HTML: the survey's rule, each item's
    heading (title, category, cost, description) and the answers' labels."""

    rule: Markup
    items: tuple[Markup, ...]
    choices: tuple[tuple[str, str], ...]  # (value, label) of each answer


# Rendered once per content and language: drawing them was a third of the page's rendering.
# The key is everything they show, so an edited item or rule makes new fragments by itself.
_BALLOT_FRAGMENTS: dict[tuple, BallotFragments] = {}
MAX_BALLOT_FRAGMENTS = 256


def ballot_fragments(survey: Survey, choices, locale: str) -> BallotFragments:
    """The ballot page's fragments for `survey` in `locale`; `choices`: an item field's
    choices (every item has the same answers)."""
    key = (
        locale,
        survey.kind,
        survey.matter,
        tuple(
            (i.id, i.category, i.title, i.title_en, i.description, i.description_en)
            + (i.estimated_cost_fen,)
            for i in survey.items
        ),
    )
    fragments = _BALLOT_FRAGMENTS.get(key)
    if fragments is None:
        if len(_BALLOT_FRAGMENTS) >= MAX_BALLOT_FRAGMENTS:
            _BALLOT_FRAGMENTS.clear()
        fragments = _BALLOT_FRAGMENTS[key] = BallotFragments(
            rule=_rendered("survey/_rule.html", survey=survey),
            items=tuple(
                _rendered("survey/_ballot_item.html", item=item, number=number, locale=locale)
                for number, item in enumerate(survey.items, 1)
            ),
            choices=tuple((choice.value, str(choice.label)) for choice in choices),
        )
    return fragments


def _rendered(template: str, **context) -> Markup:
    # Jinja escapes what it puts into an HTML template: its output is safe as it is.
    html = render_template(template, **context)
    return Markup(html)  # noqa: S704  # nosec B704 - Jinja's autoescaped output of our template


@bp.app_context_processor
def survey_labels():
    return {
        "CATEGORY_LABELS": CATEGORY_LABELS,
        "CHOICE_LABELS": CHOICE_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "choice_labels": choice_labels,
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
    return {"surveys": surveys, "voted": _voted(surveys, households[0])}


def _voted(surveys: list[Survey], household: Household) -> set[int]:
    return {
        s.id
        for s in surveys
        if db.session.scalar(
            select(Ballot.id).where(
                Ballot.survey_id == s.id, Ballot.owner_ref == roll.owner_on_roll(s, household)
            )
        )
    }


@home_task
def votes_to_cast(households: list[Household]) -> list[Task]:
    surveys = [s for s in _surveys_for(households) if s.status() is SurveyStatus.OPEN]
    voted = _voted(surveys, households[0])
    return [
        Task(
            title=s.localized_title(current_locale()),
            detail=_("Voting closes %(when)s", when=format_datetime(s.closes_at, "short")),
            action=_("Vote now"),
            url=url_for("survey.ballot", survey_id=s.id),
            sort_key=(s.closes_at,),
        )
        for s in surveys
        if s.id not in voted
    ]


@estate_panel("survey/_estate_panel.html")
def estate_votes(estate: Estate) -> dict:
    """Open votes with their closing dates and the latest published results: public facts."""
    surveys = list(
        db.session.scalars(
            select(Survey).where(Survey.estate_id == estate.id).order_by(Survey.closes_at)
        )
    )
    closed = [s for s in surveys if s.status() is SurveyStatus.CLOSED]
    return {
        "open": [s for s in surveys if s.status() is SurveyStatus.OPEN],
        "results": closed[::-1][:3],
        "more_results": len(closed) > 3,
    }


@contact_provider
def survey_organiser(estate: Estate) -> Contact | None:
    """The organiser and contact named on the estate's latest vote that names them."""
    survey = db.session.scalar(
        select(Survey)
        .where(Survey.estate_id == estate.id, (Survey.organiser != "") | (Survey.contact != ""))
        .order_by(Survey.opens_at.desc(), Survey.id.desc())
        .limit(1)
    )
    return Contact(survey.organiser, survey.contact) if survey else None


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


@my_data_provider
def my_ballots(households: list[Household]) -> list[DataSection]:
    """The owner's own ballots, every submission with its receipt (never anyone else's): by
    owner number within the estate, so a new owner of a flat does not see the previous one's."""
    if not households:
        return []
    owner_ref, estate_id = households[0].owner_ref, households[0].unit.building.estate_id
    revisions = db.session.execute(
        select(BallotRevision, Survey)
        .join(Survey, BallotRevision.survey_id == Survey.id)
        .where(Survey.estate_id == estate_id, BallotRevision.owner_ref == owner_ref)
        .order_by(BallotRevision.submitted_at, BallotRevision.id)
    ).all()
    counted = set(
        db.session.scalars(
            select(Ballot.receipt).where(
                Ballot.survey_id.in_({survey.id for _r, survey in revisions} or {0}),
                Ballot.owner_ref == owner_ref,
            )
        )
    )
    rows = []
    for revision, survey in revisions:
        titles = {item.id: item.title for item in survey.items}
        choices = (revision.content or {}).get("choices", {})
        rows.append(
            {
                "survey": survey.title,
                "submitted_at": data_time(revision.submitted_at),
                "source": _("on paper") if revision.source == BallotSource.PAPER else _("online"),
                "receipt": revision.receipt,
                "counted": _("counted") if revision.receipt in counted else _("replaced"),
                "choices": "; ".join(
                    f"{titles.get(int(item), item)}: {choice_labels(survey)[Choice(choice)]}"
                    for item, choice in choices.items()
                    if choice in {c.value for c in Choice}
                ),
                "suggestion": (revision.content or {}).get("suggestion", ""),
            }
        )
    return [
        DataSection(
            "ballots",
            _("Ballots and receipts"),
            [
                ("survey", _("Survey")),
                ("submitted_at", _("Submitted")),
                ("source", _("How")),
                ("receipt", _("Receipt code")),
                ("counted", _("Counted or replaced")),
                ("choices", _("Choices")),
                ("suggestion", _("Suggestion")),
            ],
            rows,
        )
    ]
