"""The kept tally: each survey's counts, kept current in the transaction of every change.

`submit_ballot` (online and paper) adds the difference between the owner's previous and new
ballot; a roll correction recounts the survey. So reading a survey's results reads KeptCount
rows and never scans ballots. `recount` counts again from the roll and the ballots with the
pure tally (survey/tally.py), compares, and repairs: `flask … survey recount ID`.

Rows are keyed by group (the scope, each building, unit and floor), item (0 for the group's own
measures) and measure. Counts are [households, heads, area]: within a group an owner is one
head, whatever number of parts they hold there (docs/domain.md).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from resident_portal.extensions import db

from . import roll, tally
from .models import Ballot, BallotChoice, KeptCount, Survey

ELIGIBLE, PARTICIPATED, PRIORITY = "eligible", "participated", "priority"
SCOPE = ("scope", "", "", 0)

GroupKey = tuple[str, str, str, int]  # kind, building, unit, floor
RowKey = tuple[str, str, str, int, int, str]  # group key + item id + measure
Counts = dict[RowKey, list[int]]  # [households, heads, area]
KEY_COLUMNS = ("grp", "building", "unit", "floor", "item_id", "measure")
COUNT_COLUMNS = ("households", "heads", "area")


def groups_of(part: tally.Part) -> tuple[GroupKey, ...]:
    return (
        SCOPE,
        ("building", part.building, "", 0),
        ("unit", part.building, part.unit, 0),
        ("floor", "", "", part.floor),
    )


def _weights(parts: Iterable[tally.Part]) -> dict[str, dict[GroupKey, list[int]]]:
    """Per owner, per group: [households, heads (always 1), area]."""
    owners: dict[str, dict[GroupKey, list[int]]] = defaultdict(dict)
    for part in parts:
        for group in groups_of(part):
            weight = owners[part.owner_ref].setdefault(group, [0, 1, 0])
            weight[0] += 1
            weight[2] += part.area
    return owners


def _add(counts: Counts, key: RowKey, weight: list[int], sign: int = 1) -> None:
    row = counts.setdefault(key, [0, 0, 0])
    for i in range(3):
        row[i] += sign * weight[i]


@dataclass(frozen=True)
class Vote:
    """What one ballot says, as the kept tally needs it."""

    choices: Mapping[int, str]
    priorities: frozenset[int]


def ballot_counts(weights: Mapping[GroupKey, list[int]], vote: Vote, item_ids) -> Counts:
    """What one owner's ballot adds to the tally."""
    counts: Counts = {}
    for group, weight in weights.items():
        _add(counts, (*group, 0, PARTICIPATED), weight)
        for item_id in item_ids:
            choice = str(vote.choices.get(item_id, tally.Choice.ABSTAIN))
            _add(counts, (*group, item_id, choice), weight)
            if item_id in vote.priorities:
                _add(counts, (*group, item_id, PRIORITY), [0, 1, 0])
    return counts


def _upsert(survey_id: int, deltas: Counts) -> None:
    """Add `deltas` to the stored rows, creating missing ones, in one INSERT … ON CONFLICT DO
    UPDATE per row, in key order: two ballots of one survey then lock the rows they share in
    the same order, and cannot deadlock.

    The proposed row carries no negative number (the schema checks that no count is negative,
    and databases check a proposed row before they find the conflict): a decrement only meets
    a row that exists (the ballot it replaces put it there), so it is applied by the UPDATE
    part, from its own parameters."""
    rows = []
    for key, delta in sorted(deltas.items()):
        if any(delta):
            row = {"k_" + name: value for name, value in zip(KEY_COLUMNS, key, strict=True)}
            row["k_survey_id"] = survey_id
            for name, value in zip(COUNT_COLUMNS, delta, strict=True):
                row["p_" + name], row["d_" + name] = max(value, 0), value
            rows.append(row)
    if not rows:
        return
    db.session.execute(_upsert_statement(db.session.get_bind().dialect.name), rows)


@cache
def _upsert_statement(dialect_name: str):
    """The kept-count upsert, built once per dialect: building it and its cache key on every
    ballot cost more than executing it (all values are bound parameters)."""
    table = KeptCount.__table__
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table).values(
        survey_id=bindparam("k_survey_id"),
        **{name: bindparam("k_" + name) for name in KEY_COLUMNS},
        **{name: bindparam("p_" + name) for name in COUNT_COLUMNS},
    )
    return statement.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={name: table.c[name] + bindparam("d_" + name) for name in COUNT_COLUMNS},
    )


def initialise(survey: Survey) -> None:
    """The eligible counts of a newly taken roll (nothing has been voted yet)."""
    counts: Counts = {}
    for weights in _weights(roll.parts(survey)).values():
        for group, weight in weights.items():
            _add(counts, (*group, 0, ELIGIBLE), weight)
    _upsert(survey.id, counts)


def record_ballot(
    survey: Survey,
    owner_ref: str,
    old: Vote | None,
    new: Vote,
    parts: list[tally.Part] | None = None,
) -> None:
    """Replace the owner's previous ballot (None: a first one) by `new` in the kept tally.
    `parts`: the owner's parts on the roll, when the caller has read them already."""
    if parts is None:
        parts = roll.parts_of_owner(survey, owner_ref)
    weights = _weights(parts)[owner_ref]
    item_ids = [item.id for item in survey.items]
    deltas = ballot_counts(weights, new, item_ids)
    if old is not None:
        for key, weight in ballot_counts(weights, old, item_ids).items():
            _add(deltas, key, weight, -1)
    _upsert(survey.id, deltas)


# --- reading -----------------------------------------------------------------------------


def stored(survey: Survey) -> Counts:
    # On the session's connection, as plain rows: a results page reads a thousand or more of
    # them, and the ORM's result wrapping cost as much as the query.
    rows = db.session.connection().execute(
        select(
            KeptCount.grp,
            KeptCount.building,
            KeptCount.unit,
            KeptCount.floor,
            KeptCount.item_id,
            KeptCount.measure,
            KeptCount.households,
            KeptCount.heads,
            KeptCount.area,
        ).where(KeptCount.survey_id == survey.id)
    )
    return {
        (grp, building, unit, floor, item_id, measure): [households, heads, area]
        for grp, building, unit, floor, item_id, measure, households, heads, area in rows
        if households or heads or area
    }


def tallies(counts: Counts, item_ids: list[int], rule) -> dict[GroupKey, tally.Tally]:
    """A Tally per group from kept counts; the rule is applied to the scope only."""
    by_group: dict[GroupKey, dict[tuple[int, str], tally.Count]] = defaultdict(dict)
    for (grp, building, unit, floor, item_id, measure), (h, heads, area) in counts.items():
        by_group[(grp, building, unit, floor)][(item_id, measure)] = tally.Count(h, heads, area)
    by_group.setdefault(SCOPE, {})
    empty = tally.Count()
    # The (item, measure) keys of every item, made once rather than once per group.
    item_keys = [
        (item_id, [(item_id, str(c)) for c in tally.CHOICES], (item_id, PRIORITY))
        for item_id in item_ids
    ]
    results = {}
    for group, found in by_group.items():
        get = found.get
        results[group] = tally.decide(
            get((0, ELIGIBLE), empty),
            get((0, PARTICIPATED), empty),
            [
                (item_id, *[get(key, empty) for key in choice_keys], get(priority, empty).heads)
                for item_id, choice_keys, priority in item_keys
            ],
            rule if group == SCOPE else None,
        )
    return results


# --- recounting --------------------------------------------------------------------------


def current_ballots(survey: Survey) -> list[tally.Ballot]:
    """The counted ballot of each owner, read as plain rows (one per choice)."""
    ballots: dict[int, tuple[str, dict, set]] = {}
    rows = db.session.execute(
        select(
            Ballot.id,
            Ballot.owner_ref,
            BallotChoice.item_id,
            BallotChoice.choice,
            BallotChoice.priority,
        )
        .outerjoin(BallotChoice, BallotChoice.ballot_id == Ballot.id)  # a ballot may be empty
        .where(Ballot.survey_id == survey.id)
    )
    for ballot_id, owner_ref, item_id, choice, priority in rows:
        _owner, choices, priorities = ballots.setdefault(ballot_id, (owner_ref, {}, set()))
        if item_id is not None:
            choices[item_id] = choice
            if priority:
                priorities.add(item_id)
    return [
        tally.Ballot(owner_ref=owner_ref, choices=choices, priorities=frozenset(priorities))
        for owner_ref, choices, priorities in ballots.values()
    ]


def counts_from(parts: list[tally.Part], ballots: list[tally.Ballot], item_ids) -> Counts:
    """The kept rows that `parts` and `ballots` make, by the pure tally: independent of the
    incremental arithmetic above, which is what makes a recount a check. Pure (also used by
    the migration that gave existing surveys their kept tally)."""
    counts: Counts = {}
    groupings = (
        lambda p: SCOPE,
        lambda p: ("building", p.building, "", 0),
        lambda p: ("unit", p.building, p.unit, 0),
        lambda p: ("floor", "", "", p.floor),
    )
    for key in groupings:
        for group, result in tally.breakdown(parts, ballots, item_ids, key).items():
            for measure, count in (
                (ELIGIBLE, result.eligible),
                (PARTICIPATED, result.participated),
            ):
                _add(counts, (*group, 0, measure), [count.households, count.heads, count.area])
            for r in result.items:
                for choice, count in zip(
                    tally.CHOICES, (r.support, r.oppose, r.abstain), strict=True
                ):
                    _add(
                        counts,
                        (*group, r.item_id, str(choice)),
                        [count.households, count.heads, count.area],
                    )
                _add(counts, (*group, r.item_id, PRIORITY), [0, r.priority_picks, 0])
    return {key: value for key, value in counts.items() if any(value)}


def full_count(survey: Survey) -> Counts:
    """The counts from the survey's roll and its ballots, counted afresh."""
    return counts_from(roll.parts(survey), current_ballots(survey), [i.id for i in survey.items])


@dataclass(frozen=True)
class Difference:
    key: RowKey
    kept: tuple[int, int, int]
    counted: tuple[int, int, int]


def compare(survey: Survey) -> list[Difference]:
    kept, counted = stored(survey), full_count(survey)
    zero = [0, 0, 0]
    return [
        Difference(key, tuple(kept.get(key, zero)), tuple(counted.get(key, zero)))
        for key in sorted(kept.keys() | counted.keys())
        if kept.get(key, zero) != counted.get(key, zero)
    ]


def rewrite(survey: Survey) -> None:
    """Replace the kept counts by a full count (a roll correction, or a repair). Adds to the
    caller's transaction."""
    db.session.execute(delete(KeptCount).where(KeptCount.survey_id == survey.id))
    _upsert(survey.id, full_count(survey))
