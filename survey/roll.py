"""The roll: the exclusive parts, owners and areas a survey is about, frozen when it opens.

A survey's status follows the clock, so "opening" is not a request of its own. The roll is
taken by whichever comes first after `opens_at`: the first ballot, a roll correction, or a
change to the register (the register import calls `freeze_due` in its own transaction, through
the ground package's `before_register_change` point). Until then the register cannot have
changed since the opening time, so reading the live register gives exactly what the roll will
hold; reading pages therefore never writes.

After freezing, quorum, participation, tallies, the not-voted list, exports and the API all read
RollEntry. The register can change freely; the survey's console lists what changed since opening,
and a secretary brings a change into the roll only as an audited roll correction.
"""

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from resident_portal.extensions import db
from resident_portal.models import Building, Estate, Household, Unit, natural_key, utcnow
from resident_portal.operations import before_register_change

from . import tally
from .models import RollEntry, Survey


def _live_query(survey: Survey):
    query = (
        select(
            Household.id,
            Household.owner_ref,
            Building.number.label("building"),
            Unit.number.label("unit"),
            Household.floor,
            Household.area_centi_m2,
        )
        .join(Unit, Household.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .where(Building.estate_id == survey.estate_id)
    )
    if survey.building_id:
        query = query.where(Building.id == survey.building_id)
    if survey.unit_id:
        query = query.where(Unit.id == survey.unit_id)
    return query


def live_parts(survey: Survey) -> list[tally.Part]:
    """The parts in scope in today's register (columns, not Household objects)."""
    return [tally.Part(*row) for row in db.session.execute(_live_query(survey))]


def is_frozen(survey: Survey) -> bool:
    return survey.roll_frozen_at is not None


def parts(survey: Survey) -> list[tally.Part]:
    """The parts a survey counts: its roll once taken, otherwise the register (see above)."""
    if not is_frozen(survey):
        return live_parts(survey)
    return [tally.Part(*row) for row in db.session.execute(_roll_query(survey))]


_ROLL_COLUMNS = select(
    RollEntry.household_id,
    RollEntry.owner_ref,
    RollEntry.building,
    RollEntry.unit,
    RollEntry.floor,
    RollEntry.area_centi_m2,
)


def _roll_query(survey: Survey):
    return _ROLL_COLUMNS.where(RollEntry.survey_id == survey.id)


# The parts of the owner of one household on the roll, in one query. Read by every ballot page
# and ballot, so built once (building a statement and its cache key cost as much as running it).
_OWNER_AND_PARTS = _ROLL_COLUMNS.where(
    RollEntry.survey_id == bindparam("survey_id"),
    RollEntry.owner_ref
    == select(RollEntry.owner_ref)
    .where(
        RollEntry.survey_id == bindparam("survey_id"),
        RollEntry.household_id == bindparam("household_id"),
    )
    .scalar_subquery(),
)


def freeze(survey: Survey) -> bool:
    """Take the roll if the survey has opened and has none yet; True if this call took it.

    Adds to the caller's transaction. The conditional UPDATE is the lock: of two transactions
    freezing at once, one updates the row and inserts the roll, the other (on PostgreSQL after
    waiting for the first to commit) updates nothing and leaves the roll alone.
    """
    if survey.roll_frozen_at is not None or survey.opens_at > utcnow():
        return False
    now = utcnow()
    taken = db.session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.roll_frozen_at.is_(None))
        .values(roll_frozen_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        db.session.refresh(survey, ["roll_frozen_at"])
        return False
    live = _live_query(survey).subquery()
    db.session.execute(
        insert(RollEntry).from_select(
            [
                "survey_id",
                "household_id",
                "owner_ref",
                "building",
                "unit",
                "floor",
                "area_centi_m2",
            ],
            select(
                db.literal(survey.id),
                live.c.id,
                live.c.owner_ref,
                live.c.building,
                live.c.unit,
                live.c.floor,
                live.c.area_centi_m2,
            ),
        )
    )
    set_committed_value(survey, "roll_frozen_at", now)  # already written by the UPDATE
    from . import counting  # counting reads the roll this module writes

    counting.initialise(survey)
    return True


@before_register_change
def freeze_due(estate: Estate) -> None:
    """Before the register of `estate` changes: freeze every survey that has opened."""
    due = db.session.scalars(
        select(Survey).where(
            Survey.estate_id == estate.id,
            Survey.roll_frozen_at.is_(None),
            Survey.opens_at <= utcnow(),
        )
    )
    for survey in due:
        freeze(survey)


def owner_on_roll(survey: Survey, household: Household) -> str | None:
    """Whose part `household` is in this survey (None: not on its roll / not in scope)."""
    if not is_frozen(survey):
        return household.owner_ref if survey.covers(household) else None
    return db.session.scalar(
        select(RollEntry.owner_ref).where(
            RollEntry.survey_id == survey.id, RollEntry.household_id == household.id
        )
    )


def parts_of_owner(survey: Survey, owner_ref: str) -> list[tally.Part]:
    """The owner's parts in the survey: the weight one ballot of theirs carries."""
    if not is_frozen(survey):
        return [p for p in live_parts(survey) if p.owner_ref == owner_ref]
    rows = db.session.execute(_roll_query(survey).where(RollEntry.owner_ref == owner_ref))
    return [tally.Part(*row) for row in rows]


def owner_and_parts(survey: Survey, household: Household) -> tuple[str | None, list[tally.Part]]:
    """`owner_on_roll` and that owner's `parts_of_owner` together, in one query once the roll
    is taken (a ballot page and a ballot both need the two; None and [] when `household` is
    not on the roll)."""
    if not is_frozen(survey):
        owner_ref = owner_on_roll(survey, household)
        return owner_ref, ([] if owner_ref is None else parts_of_owner(survey, owner_ref))
    rows = db.session.connection().execute(
        _OWNER_AND_PARTS, {"survey_id": survey.id, "household_id": household.id}
    )
    parts = [tally.Part(*row) for row in rows]
    return (parts[0].owner_ref if parts else None), parts


def covered_households(
    survey: Survey,
    household: Household,
    owner_ref: str | None = "",
    parts: list[tally.Part] | None = None,
) -> list[Household]:
    """The households one ballot cast from `household` covers: its owner's parts on the roll
    (the register's, before the roll is taken). `owner_ref` and `parts`, when the caller has
    looked them up already (owner_ref None: not on the roll)."""
    if owner_ref == "":
        owner_ref = owner_on_roll(survey, household)
    if owner_ref is None:
        return []
    if parts is None:
        parts = parts_of_owner(survey, owner_ref)
    ids = [p.household_id for p in parts]
    if ids == [household.id]:
        return [household]  # the usual case, one flat: already loaded with the session
    households = db.session.scalars(select(Household).where(Household.id.in_(ids)))
    return sorted(households, key=lambda h: h.sort_key)


@dataclass(frozen=True)
class RegisterChange:
    """A difference between the roll and today's register, for the survey's console."""

    household_id: int
    address: tuple[str, str, str]  # building, unit, room
    kind: str  # "new", "removed", "area", "owner"
    on_roll: tally.Part | None
    in_register: tally.Part | None


def register_changes(survey: Survey) -> list[RegisterChange]:
    """What changed in the register since the roll was taken (new, removed, area, owner)."""
    if not is_frozen(survey):
        return []
    roll = {p.household_id: p for p in parts(survey)}
    live = {p.household_id: p for p in live_parts(survey)}
    rooms = dict(
        db.session.execute(
            select(Household.id, Household.room).where(Household.id.in_(roll.keys() | live.keys()))
        ).all()
    )
    changes = []
    for household_id in roll.keys() | live.keys():
        before, now = roll.get(household_id), live.get(household_id)
        part = before or now
        address = (part.building, part.unit, rooms.get(household_id, ""))
        kinds = []
        if before is None:
            kinds.append("new")
        elif now is None:
            kinds.append("removed")
        else:
            if before.area != now.area:
                kinds.append("area")
            if before.owner_ref != now.owner_ref:
                kinds.append("owner")
        changes += [RegisterChange(household_id, address, k, before, now) for k in kinds]
    return sorted(changes, key=lambda c: (tuple(natural_key(a) for a in c.address), c.kind))
