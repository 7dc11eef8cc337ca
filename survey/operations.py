"""State changes of surveys and ballots: one transaction each, staff changes audited."""

import secrets

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm.exc import StaleDataError

from resident_portal import monitoring
from resident_portal.access import CODE_ALPHABET
from resident_portal.common import N_, OperationError
from resident_portal.extensions import db
from resident_portal.models import Building, Estate, Household, Role, StaffUser, Unit, utcnow
from resident_portal.operations import audit, retry_on_conflict
from resident_portal.reports.photos import Photo, photo_store

from . import counting, roll, tally
from .definition import ItemDefinition, SurveyDefinition
from .models import (
    Ballot,
    BallotChoice,
    BallotRevision,
    BallotSource,
    CorrectionKind,
    RollCorrection,
    RollEntry,
    Survey,
    SurveyExtension,
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
        organiser=definition.organiser,
        contact=definition.contact,
        items=[_item(position, item) for position, item in enumerate(definition.items, 1)],
    )
    db.session.add(survey)
    db.session.flush()
    roll.freeze(survey)  # a survey created already open takes its roll at once
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


def entered_as(staff_user: StaffUser, estate: Estate) -> Role:
    """The role a staff member acts in for this estate (the most local grant), for the record
    the household sees."""
    roles = {g.role for g in staff_user.grants if g.estate_id in (estate.id, None)}
    roles |= {g.role for g in staff_user.district_grants if g.district == estate.district}
    return next(
        (r for r in (Role.SECRETARY, Role.PLANNER, Role.CONTRACTOR) if r in roles), Role.ADMIN
    )


# The statements of a ballot, built once (building one and its cache key costs about as much
# as running it). The counted ballot is locked (FOR UPDATE on PostgreSQL; SQLite locks at the
# first write and relies on the receipt check), and its choices read by a statement of their
# own once the lock is held: joined to the locking query, PostgreSQL would hand a submission
# that waited for the lock the new ballot row with the choices it replaced.
_BALLOTS, _CHOICES = Ballot.__table__, BallotChoice.__table__
_COUNTED_BALLOT = (
    select(_BALLOTS.c.id, _BALLOTS.c.source, _BALLOTS.c.receipt)
    .where(
        _BALLOTS.c.survey_id == bindparam("survey_id"),
        _BALLOTS.c.owner_ref == bindparam("owner_ref"),
    )
    .with_for_update()
)
_COUNTED_CHOICES = select(_CHOICES.c.item_id, _CHOICES.c.choice, _CHOICES.c.priority).where(
    _CHOICES.c.ballot_id == bindparam("ballot_id")
)
_INSERT_BALLOT = insert(_BALLOTS).returning(_BALLOTS.c.id)
_UPDATE_BALLOT = update(_BALLOTS).where(
    _BALLOTS.c.id == bindparam("ballot_id"), _BALLOTS.c.receipt == bindparam("read_receipt")
)
_DELETE_CHOICES = delete(_CHOICES).where(_CHOICES.c.ballot_id == bindparam("ballot_id"))
_INSERT_CHOICES = insert(_CHOICES)
_INSERT_REVISION = insert(BallotRevision.__table__)


def submit_ballot(
    survey: Survey,
    household: Household,
    choices: dict[int, Choice],
    priorities: set[int] = frozenset(),
    suggestion: str = "",
    *,
    staff_user: StaffUser | None = None,
    paper_reason: str | None = None,
    evidence: Photo | None = None,
    known_owner: tuple[str | None, list[tally.Part]] | None = None,
) -> str:
    """Record the owner's ballot (covering all their parts on the roll); return its receipt.

    The owner is the one on the survey's roll (survey/roll.py), which the first ballot takes if
    nobody has yet. The latest submission counts and every earlier one stays in BallotRevision;
    the kept tally (survey/counting.py) changes in the same transaction. A paper ballot
    (staff_user and paper_reason given, optionally a photo of the signed sheet as `evidence`)
    never replaces an online ballot of the same owner. Two phones of one household submitting
    at once: the unique (survey, owner) constraint lets one insert win, and the other retries
    as an update, so exactly one ballot counts.

    `known_owner`: what `roll.owner_and_parts(survey, household)` gave the caller in this
    transaction (the ballot page reads it to show the form); the first attempt then does not
    read it again, a retry does.
    """
    source = BallotSource.PAPER if staff_user else BallotSource.ONLINE
    if survey.status() is not SurveyStatus.OPEN:
        raise OperationError(N_("This survey is not open for voting."))
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
    new_vote = counting.Vote(
        {i: Choice(c).value for i, c in choices.items()}, frozenset(priorities)
    )

    # Only from a roll already taken: the first ballot takes it (freeze) inside the attempt.
    known = [known_owner] if known_owner is not None and roll.is_frozen(survey) else []

    def attempt() -> str:
        # Inside the attempt: the database photo store writes in this transaction, which a
        # retry rolls back (a file or an object left by a failed one is harmless: same key).
        if evidence is not None:
            photo_store().put(evidence)
        # A fresh receipt each attempt: a receipt collision is retried too.
        receipt = new_receipt()
        roll.freeze(survey)
        # The owner and their parts before the ballot changes (see below: reads, then writes).
        owner_ref, owner_parts = known.pop() if known else roll.owner_and_parts(survey, household)
        if owner_ref is None:
            raise OperationError(N_("This household is not part of the survey."))
        if source is BallotSource.ONLINE and owner_ref != household.owner_ref:
            # The register changed after the vote opened (a transfer, say): the person
            # holding this household's code is not the owner on the roll.
            raise OperationError(
                N_(
                    "The owner of this flat changed after the vote opened. Ask the "
                    "secretary to correct the voting roll before you vote."
                )
            )
        # Plain statements, not the ORM's unit of work (a third of a ballot's CPU). First the
        # counted ballot, locked, then its choices (see _COUNTED_BALLOT).
        connection = db.session.connection()
        counted = connection.execute(
            _COUNTED_BALLOT, {"survey_id": survey.id, "owner_ref": owner_ref}
        ).first()
        if counted and source is BallotSource.PAPER and counted.source is BallotSource.ONLINE:
            raise OperationError(
                N_("The owner has already voted online; a paper ballot cannot replace it.")
            )
        old_vote = None
        if counted:
            old = connection.execute(_COUNTED_CHOICES, {"ballot_id": counted.id}).all()
            old_vote = counting.Vote(
                {c.item_id: c.choice.value for c in old},
                frozenset(c.item_id for c in old if c.priority),
            )
        row = {
            "household_id": household.id,
            "source": source,
            "receipt": receipt,
            "submitted_at": utcnow(),
            "suggestion": suggestion,
            "entered_by_id": staff_user.id if staff_user else None,
            "paper_reason": paper_reason.strip() if paper_reason else None,
            "entered_as": entered_as(staff_user, survey.estate) if staff_user else None,
            "evidence_key": evidence.key if evidence else None,
        }
        # Every read is done: SQLite takes its write lock at the first write (here) and holds it
        # to the commit, so the writes come last and together.
        counting.record_ballot(survey, owner_ref, old_vote, new_vote, owner_parts)
        if not counted:
            # Two first ballots of one owner at once: the unique (survey, owner) constraint
            # refuses the second insert (IntegrityError), which is tried again as a change.
            ballot_id = connection.execute(
                _INSERT_BALLOT, {"survey_id": survey.id, "owner_ref": owner_ref, **row}
            ).scalar_one()
        else:
            # The receipt, new with every submission, is the ballot's version: a submission
            # that read a ballot another has replaced since updates nothing and is tried again
            # (SQLite has no FOR UPDATE), instead of moving the kept tally from stale choices.
            ballot_id = counted.id
            replaced = connection.execute(
                _UPDATE_BALLOT,
                {"ballot_id": ballot_id, "read_receipt": counted.receipt, **row},
            ).rowcount
            if replaced != 1:
                raise StaleDataError("the ballot was replaced since it was read")
            connection.execute(_DELETE_CHOICES, {"ballot_id": ballot_id})
        connection.execute(
            _INSERT_CHOICES,
            [
                {
                    "ballot_id": ballot_id,
                    "item_id": i,
                    "choice": Choice(c),
                    "priority": i in priorities,
                }
                for i, c in choices.items()
            ],
        )
        revision = {
            "choices": {str(i): Choice(c).value for i, c in sorted(choices.items())},
            "priorities": sorted(priorities),
            "suggestion": suggestion,
        }
        connection.execute(
            _INSERT_REVISION,
            {"survey_id": survey.id, "owner_ref": owner_ref, "content": revision, **row},
        )
        if staff_user:
            audit(
                "survey.paper_ballot",
                staff_user=staff_user,
                estate=survey.estate,
                survey=survey.id,
                household=household.id,
                reason=row["paper_reason"],
                evidence=row["evidence_key"],
            )
        db.session.commit()
        monitoring.BALLOTS.labels(source.value).inc()
        return receipt

    return retry_on_conflict(attempt)


# --- roll corrections ---------------------------------------------------------------------

MAX_REASON = 500


def correct_roll(
    survey: Survey,
    household: Household,
    kind: CorrectionKind,
    reason: str,
    *,
    staff_user: StaffUser,
    area_centi_m2: int | None = None,
    owner_ref: str | None = None,
) -> RollCorrection:
    """Change one part of an open survey's roll, with a reason; audited, listed on the notice.

    AREA sets the registered area; OWNER transfers the part (the previous owner's ballot stops
    covering it, and the new owner can vote for it); ADDED puts a part of the register that is
    in scope but missing from the roll on it (with today's register facts unless given);
    REMOVED takes a part off. The kept tally is counted again in the same transaction.
    """
    reason = (reason or "").strip()
    if not reason:
        raise OperationError(N_("Give the reason for the roll correction."))
    if len(reason) > MAX_REASON:
        raise OperationError(
            N_("The reason is longer than %(limit)s characters."), limit=MAX_REASON
        )
    if survey.status() is not SurveyStatus.OPEN:
        raise OperationError(N_("The roll can be corrected only while the vote is open."))
    if household.estate.id != survey.estate_id:
        raise OperationError(N_("This household is not part of the survey."))
    if area_centi_m2 is not None and area_centi_m2 <= 0:
        raise OperationError(N_("The area must be more than zero."))
    owner_ref = (owner_ref or "").strip() or None
    if owner_ref is not None and len(owner_ref) > 64:
        raise OperationError(N_("The owner number is longer than %(limit)s characters."), limit=64)
    try:
        roll.freeze(survey)
        entry = db.session.get(RollEntry, (survey.id, household.id))
        correction = RollCorrection(
            survey_id=survey.id,
            household_id=household.id,
            kind=kind,
            reason=reason,
            staff_user_id=staff_user.id,
            made_at=utcnow(),
        )
        if kind is CorrectionKind.ADDED:
            if entry is not None:
                raise OperationError(N_("This household is already on the roll."))
            if not survey.covers(household):
                raise OperationError(N_("This household is not part of the survey."))
            entry = RollEntry(
                survey_id=survey.id,
                household_id=household.id,
                owner_ref=owner_ref or household.owner_ref,
                area_centi_m2=area_centi_m2 or household.area_centi_m2,
                building=household.unit.building.number,
                unit=household.unit.number,
                floor=household.floor,
            )
            db.session.add(entry)
            correction.new_owner_ref = entry.owner_ref
            correction.new_area_centi_m2 = entry.area_centi_m2
        else:
            if entry is None:
                raise OperationError(N_("This household is not on the roll."))
            correction.old_owner_ref = entry.owner_ref
            correction.old_area_centi_m2 = entry.area_centi_m2
            if kind is CorrectionKind.AREA:
                if area_centi_m2 is None:
                    raise OperationError(N_("Type the correct area in m², such as 89.50."))
                if area_centi_m2 == entry.area_centi_m2:
                    raise OperationError(N_("The roll already has this area."))
                entry.area_centi_m2 = correction.new_area_centi_m2 = area_centi_m2
            elif kind is CorrectionKind.OWNER:
                if owner_ref is None:
                    raise OperationError(N_("Type the new owner's number."))
                if owner_ref == entry.owner_ref:
                    raise OperationError(N_("The roll already has this owner."))
                entry.owner_ref = correction.new_owner_ref = owner_ref
            else:
                db.session.delete(entry)
        db.session.add(correction)
        db.session.flush()
        counting.rewrite(survey)
        audit(
            "survey.roll_correction",
            staff_user=staff_user,
            estate=survey.estate,
            survey=survey.id,
            household=household.id,
            kind=kind.value,
            reason=reason,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return correction


# --- a survey's life: extending and cancelling -------------------------------------------

# An extension is for a few more days or weeks of door-to-door work, not a new vote.
MAX_EXTENSION_DAYS = 90


REASON_REFUSALS = (
    N_("Give the reason for extending the vote."),
    N_("Give the reason for cancelling the survey."),
    N_("The reason is longer than %(limit)s characters."),
)


def _life_reason(reason: str | None, missing: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise OperationError(missing)
    if len(reason) > MAX_REASON:
        raise OperationError(
            N_("The reason is longer than %(limit)s characters."), limit=MAX_REASON
        )
    return reason


def extend_survey(
    survey: Survey, new_closes_at, reason: str, *, staff_user: StaffUser | None
) -> SurveyExtension:
    """Move the closing time of a survey that has not closed to a later moment, with a reason;
    audited, listed on the notice. A closed survey never reopens: refused here, and by the
    schema (survey_extension's checks: made before the closing time it replaces, and later)."""
    from datetime import timedelta

    reason = _life_reason(reason, N_("Give the reason for extending the vote."))
    status = survey.status()
    if status is SurveyStatus.CANCELLED:
        raise OperationError(N_("The survey was cancelled; it cannot be extended."))
    if status is SurveyStatus.CLOSED:
        raise OperationError(N_("The survey has closed; a closed survey never reopens."))
    now = utcnow()
    if new_closes_at <= survey.closes_at:
        raise OperationError(N_("The new closing time must be later than the current one."))
    if new_closes_at > max(survey.closes_at, now) + timedelta(days=MAX_EXTENSION_DAYS):
        raise OperationError(
            N_("Extend by at most %(days)s days at a time."), days=MAX_EXTENSION_DAYS
        )
    try:
        extension = SurveyExtension(
            survey_id=survey.id,
            previous_closes_at=survey.closes_at,
            new_closes_at=new_closes_at,
            reason=reason,
            staff_user_id=staff_user.id if staff_user else None,
            made_at=now,
        )
        db.session.add(extension)
        survey.closes_at = new_closes_at
        audit(
            "survey.extend",
            staff_user=staff_user,
            estate=survey.estate,
            survey=survey.id,
            previous=extension.previous_closes_at.isoformat(),
            until=new_closes_at.isoformat(),
            reason=reason,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return extension


def cancel_survey(survey: Survey, reason: str, *, staff_user: StaffUser | None) -> None:
    """Call off a survey before it closes and before anyone has voted (online or on paper);
    audited. It then says cancelled everywhere and never opens, counts or closes again."""
    reason = _life_reason(reason, N_("Give the reason for cancelling the survey."))
    status = survey.status()
    if status is SurveyStatus.CANCELLED:
        raise OperationError(N_("The survey is already cancelled."))
    if status is SurveyStatus.CLOSED:
        raise OperationError(N_("The survey has closed; it can no longer be cancelled."))
    from .figures import SHOWN_ELSEWHERE

    if any(
        db.session.scalar(select(owned.c[0]).where(owned.c[0] == survey.id))
        for owned in (part().subquery() for part in SHOWN_ELSEWHERE)
    ):
        # An elevator's consent vote: the project would wait for it for ever.
        raise OperationError(
            N_("This vote belongs to another project and cannot be cancelled on its own.")
        )
    has_ballot = db.session.scalar(
        select(BallotRevision.id).where(BallotRevision.survey_id == survey.id).limit(1)
    )
    if has_ballot is not None:
        raise OperationError(
            N_("Owners have already voted in this survey; it can no longer be cancelled.")
        )
    try:
        survey.cancelled_at = utcnow()
        survey.cancel_reason = reason
        audit(
            "survey.cancel",
            staff_user=staff_user,
            estate=survey.estate,
            survey=survey.id,
            title=survey.title,
            reason=reason,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def extensions_of(survey: Survey) -> list[SurveyExtension]:
    return list(
        db.session.scalars(
            select(SurveyExtension)
            .where(SurveyExtension.survey_id == survey.id)
            .order_by(SurveyExtension.made_at, SurveyExtension.id)
        )
    )


def record_visit(survey: Survey, household: Household, outcome, note: str, *, staff_user):
    """A door-to-door visit to a household on the survey's roll (doorstep.py)."""
    from resident_portal.operations import record_visit as add_visit

    from .models import SurveyVisit

    if roll.owner_on_roll(survey, household) is None:
        raise OperationError(N_("This household is not part of the survey."))
    return add_visit(
        SurveyVisit,
        household,
        outcome,
        note,
        staff_user=staff_user,
        estate=survey.estate,
        list_name="survey.not_voted",
        survey_id=survey.id,
    )


def repair_tally(survey: Survey) -> None:
    """Replace the kept tally by a full recount (after `survey recount` found a difference)."""
    try:
        counting.rewrite(survey)
        audit("survey.recount_repair", staff_user=None, estate=survey.estate, survey=survey.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


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
    "correct_roll",
    "extend_survey",
    "cancel_survey",
    "record_visit",
]
