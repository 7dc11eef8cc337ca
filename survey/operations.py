"""State changes of surveys and ballots: one transaction each, staff changes audited."""

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from resident_portal.access import CODE_ALPHABET
from resident_portal.extensions import db
from resident_portal.models import Building, Estate, Household, StaffUser, Unit, utcnow
from resident_portal.operations import OperationError, audit
from resident_portal.registry import N_

from .definition import ItemDefinition, SurveyDefinition
from .models import (
    Ballot,
    BallotChoice,
    BallotRevision,
    BallotSource,
    Survey,
    SurveyItem,
    SurveyKind,
    SurveyStatus,
)
from .tally import Choice

RECEIPT_LENGTH = 8
MAX_SUGGESTION = 1000


def new_receipt() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(RECEIPT_LENGTH))


def resolve_scope(estate: Estate, building_number: str | None, unit_number: str | None):
    """The building and unit a survey or campaign is addressed to (None, None: the estate)."""
    building = unit = None
    if building_number:
        building = db.session.scalar(
            select(Building).where(
                Building.estate_id == estate.id, Building.number == building_number
            )
        )
        if building is None:
            raise OperationError(
                N_("The estate has no building %(building)s."), building=building_number
            )
    if unit_number:
        unit = db.session.scalar(
            select(Unit).where(Unit.building_id == building.id, Unit.number == unit_number)
        )
        if unit is None:
            raise OperationError(
                N_("Building %(building)s has no unit %(unit)s."),
                building=building_number,
                unit=unit_number,
            )
    return building, unit


def create_survey(estate: Estate, definition: SurveyDefinition, *, staff_user=None) -> Survey:
    survey = add_survey(estate, definition, staff_user=staff_user)
    db.session.commit()
    return survey


def add_survey(estate: Estate, definition: SurveyDefinition, *, staff_user=None) -> Survey:
    """Add the survey to the current transaction without committing (for callers that create
    more in the same transaction, like an elevator project and its consent vote)."""
    building, unit = resolve_scope(estate, definition.building, definition.unit)
    survey = Survey(
        estate_id=estate.id,
        building=building,
        unit=unit,
        title=definition.title,
        title_en=definition.title_en,
        kind=definition.kind,
        matter=definition.matter,
        opens_at=definition.opens_at,
        closes_at=definition.closes_at,
        max_priorities=definition.max_priorities,
        allow_suggestion=definition.allow_suggestion,
        items=[_item(position, item) for position, item in enumerate(definition.items, 1)],
    )
    db.session.add(survey)
    db.session.flush()
    audit(
        "survey.create", staff_user=staff_user, estate=estate, survey=survey.id, title=survey.title
    )
    return survey


def _item(position: int, item: ItemDefinition) -> SurveyItem:
    return SurveyItem(
        position=position,
        category=item.category,
        title=item.title,
        title_en=item.title_en,
        description=item.description,
        description_en=item.description_en,
        estimated_cost_fen=item.estimated_cost_fen,
    )


def _editable(survey: Survey) -> None:
    if survey.status() is not SurveyStatus.DRAFT:
        raise OperationError(N_("The survey has opened: its items can no longer change."))


def save_item(survey: Survey, item: SurveyItem | None, fields: ItemDefinition, *, staff_user):
    """Change an item, or add one when `item` is None, while the survey is not open yet."""
    _editable(survey)
    if item is None:
        item = _item(max((i.position for i in survey.items), default=0) + 1, fields)
        survey.items.append(item)
    else:
        for name in (
            "category",
            "title",
            "title_en",
            "description",
            "description_en",
            "estimated_cost_fen",
        ):
            setattr(item, name, getattr(fields, name))
    db.session.flush()
    audit(
        "survey.item_save",
        staff_user=staff_user,
        estate=survey.estate,
        survey=survey.id,
        item=item.id,
        title=item.title,
    )
    db.session.commit()
    return item


def remove_item(survey: Survey, item: SurveyItem, *, staff_user) -> None:
    _editable(survey)
    if len(survey.items) == 1:
        raise OperationError(N_("A survey needs at least one item."))
    survey.items.remove(item)
    audit(
        "survey.item_remove",
        staff_user=staff_user,
        estate=survey.estate,
        survey=survey.id,
        item=item.id,
        title=item.title,
    )
    db.session.commit()


def submit_ballot(
    survey: Survey,
    household: Household,
    choices: dict[int, Choice],
    priorities: set[int] = frozenset(),
    suggestion: str = "",
    *,
    staff_user: StaffUser | None = None,
    paper_reason: str | None = None,
) -> str:
    """Record the owner's ballot (covering all their households in scope); return its receipt.

    The latest submission counts and every earlier one stays in BallotRevision. A paper ballot
    (staff_user and paper_reason given) never replaces an online ballot of the same owner.
    Two phones of one household submitting at once: the unique (survey, owner) constraint lets
    one insert win, and the other retries as an update, so exactly one ballot counts.
    """
    source = BallotSource.PAPER if staff_user else BallotSource.ONLINE
    if survey.status() is not SurveyStatus.OPEN:
        raise OperationError(N_("This survey is not open for voting."))
    if not survey.covers(household):
        raise OperationError(N_("This household is not part of the survey."))
    item_ids = {item.id for item in survey.items}
    if set(choices) != item_ids:
        raise OperationError(N_("Choose support, oppose or abstain for every item."))
    if not priorities <= item_ids:
        raise OperationError(N_("Priorities must be items of this survey."))
    if len(priorities) > survey.max_priorities:
        raise OperationError(
            N_("Choose at most %(count)s priorities."), count=survey.max_priorities
        )
    suggestion = (suggestion or "").strip() if survey.allow_suggestion else ""
    if len(suggestion) > MAX_SUGGESTION:
        raise OperationError(
            N_("The suggestion is longer than %(limit)s characters."), limit=MAX_SUGGESTION
        )
    if source is BallotSource.PAPER and not (paper_reason or "").strip():
        raise OperationError(N_("Give the reason for entering a paper ballot."))

    for _attempt in range(3):
        receipt = new_receipt()
        try:
            ballot = db.session.scalar(
                select(Ballot)
                .where(Ballot.survey_id == survey.id, Ballot.owner_ref == household.owner_ref)
                .with_for_update()
            )
            if ballot is None:
                ballot = Ballot(survey_id=survey.id, owner_ref=household.owner_ref)
                db.session.add(ballot)
            elif source is BallotSource.PAPER and ballot.source is BallotSource.ONLINE:
                raise OperationError(
                    N_("The owner has already voted online; a paper ballot cannot replace it.")
                )
            else:
                # The new choices replace these in the same flush, at the commit: rows of the
                # same (ballot, item) are updated in place (SQLAlchemy's "row switch"), so the
                # write transaction starts as late, and is as short, as it can be.
                ballot.choices.clear()
            now = utcnow()
            ballot.household_id = household.id
            ballot.source = source
            ballot.receipt = receipt
            ballot.submitted_at = now
            ballot.suggestion = suggestion
            ballot.entered_by_id = staff_user.id if staff_user else None
            ballot.paper_reason = paper_reason.strip() if paper_reason else None
            ballot.choices.extend(
                BallotChoice(item_id=i, choice=Choice(c), priority=i in priorities)
                for i, c in choices.items()
            )
            db.session.add(
                BallotRevision(
                    survey_id=survey.id,
                    owner_ref=household.owner_ref,
                    household_id=household.id,
                    source=source,
                    receipt=receipt,
                    submitted_at=now,
                    content={
                        "choices": {str(i): Choice(c).value for i, c in sorted(choices.items())},
                        "priorities": sorted(priorities),
                        "suggestion": suggestion,
                    },
                    entered_by_id=ballot.entered_by_id,
                    paper_reason=ballot.paper_reason,
                )
            )
            if staff_user:
                audit(
                    "survey.paper_ballot",
                    staff_user=staff_user,
                    estate=survey.estate,
                    survey=survey.id,
                    household=household.id,
                    reason=ballot.paper_reason,
                )
            db.session.commit()
            return receipt
        except IntegrityError:
            # Another submission of the same owner (or a receipt collision) won the race.
            db.session.rollback()
        except Exception:
            db.session.rollback()
            raise
    raise OperationError(N_("Many submissions arrived at once; please try again."))


def find_receipt(estate: Estate, receipt: str) -> tuple[BallotRevision, bool] | None:
    """The submission with this receipt in the estate, and whether it is the one that counts."""
    receipt = "".join(ch for ch in (receipt or "").upper() if ch.isalnum())
    revision = db.session.scalar(
        select(BallotRevision)
        .join(Survey, Survey.id == BallotRevision.survey_id)
        .where(BallotRevision.receipt == receipt, Survey.estate_id == estate.id)
    )
    if revision is None:
        return None
    counted = db.session.scalar(select(Ballot.id).where(Ballot.receipt == receipt)) is not None
    return revision, counted


__all__ = [
    "SurveyKind",
    "create_survey",
    "find_receipt",
    "remove_item",
    "save_item",
    "submit_ballot",
]
