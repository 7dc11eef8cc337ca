"""Counting ballots, under Civil Code Art. 278 for formal decisions (docs/domain.md).

Pure: no Flask, no database. Areas are integers in 0.01 m² units and every threshold is a
cross-multiplication of integers, so a tally exactly on 2/3 or 3/4 comes out as the law says.

- Heads: one exclusive part is one head, but an owner holding several parts in scope counts
  once; area: the registered area of each part. One ballot per owner covers all their parts.
- Quorum (decisions): owners holding ≥ 2/3 of the area AND ≥ 2/3 of the heads take part.
- Approval among participants: THREE_QUARTERS ≥ 3/4 of area AND of heads (Art. 278 items
  6–8: raising maintenance funds, renovating buildings and facilities, changing the use of
  common parts); MAJORITY strictly more than half of area AND of heads. Abstentions take part
  but do not approve; an item a ballot leaves unanswered counts as an abstention.
- Deemed consent (未参与表决的视为同意) is not applied.
"""

import enum
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field


class Choice(enum.StrEnum):
    SUPPORT = "support"
    OPPOSE = "oppose"
    ABSTAIN = "abstain"


CHOICES = tuple(Choice)  # iterating an Enum class is slow enough to show in big tallies


class Rule(enum.StrEnum):
    MAJORITY = "majority"
    THREE_QUARTERS = "three_quarters"


@dataclass(frozen=True)
class Part:
    """One exclusive part (household) in the survey's scope."""

    household_id: int
    owner_ref: str
    building: str
    unit: str
    floor: int
    area: int  # 0.01 m²


@dataclass(frozen=True)
class Ballot:
    owner_ref: str
    choices: Mapping[int, Choice]  # item id -> choice
    priorities: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Count:
    households: int = 0
    heads: int = 0
    area: int = 0

    def __add__(self, other: "Count") -> "Count":
        return Count(
            self.households + other.households, self.heads + other.heads, self.area + other.area
        )


@dataclass(frozen=True)
class ItemResult:
    item_id: int
    support: Count
    oppose: Count
    abstain: Count
    priority_picks: int
    approved: bool | None  # None: not a decision (consultation, or a breakdown)


@dataclass(frozen=True)
class Tally:
    eligible: Count
    participated: Count
    quorum_met: bool | None
    items: tuple[ItemResult, ...] = field(default_factory=tuple)

    def item(self, item_id: int) -> ItemResult:
        return next(i for i in self.items if i.item_id == item_id)


def at_least(part: int, whole: int, numerator: int, denominator: int) -> bool:
    """part/whole ≥ numerator/denominator, exactly ("以上" includes the boundary)."""
    return part * denominator >= whole * numerator


def more_than_half(part: int, whole: int) -> bool:
    """part/whole > 1/2, exactly ("过半数" excludes the boundary)."""
    return 2 * part > whole


def quorum(eligible: Count, participated: Count) -> bool:
    return (
        eligible.heads > 0
        and at_least(participated.heads, eligible.heads, 2, 3)
        and at_least(participated.area, eligible.area, 2, 3)
    )


def still_needed(part: int, whole: int, numerator: int, denominator: int) -> int:
    """The least x ≥ 0 with at_least(part + x, whole, numerator, denominator)."""
    return max(0, -(-whole * numerator // denominator) - part)


def quorum_shortfall(eligible: Count, participated: Count) -> tuple[int, int]:
    """(owners, area in 0.01 m²) still to take part before the quorum is met; (0, 0) once it
    is. The two are needed together: owners who take part bring their area with them."""
    return (
        still_needed(participated.heads, eligible.heads, 2, 3),
        still_needed(participated.area, eligible.area, 2, 3),
    )


def approves(rule: Rule, support: Count, participated: Count) -> bool:
    if participated.heads == 0:
        return False
    if rule is Rule.THREE_QUARTERS:
        return at_least(support.heads, participated.heads, 3, 4) and at_least(
            support.area, participated.area, 3, 4
        )
    return more_than_half(support.heads, participated.heads) and more_than_half(
        support.area, participated.area
    )


def _owner_counts(parts: Iterable[Part]) -> dict[str, Count]:
    owners: dict[str, Count] = {}
    for part in parts:
        known = owners.get(part.owner_ref)
        owners[part.owner_ref] = Count(
            households=(known.households if known else 0) + 1,
            heads=1,  # an owner is one head however many parts they hold
            area=(known.area if known else 0) + part.area,
        )
    return owners


def tally(
    parts: Iterable[Part],
    ballots: Iterable[Ballot],
    item_ids: Iterable[int],
    rule: Rule | None,
) -> Tally:
    """The result over `parts`; ballots of owners without a part here are ignored."""
    owners = _owner_counts(parts)
    item_ids = list(item_ids)
    eligible = sum(owners.values(), Count())
    voting = {b.owner_ref: b for b in ballots if b.owner_ref in owners}
    participated = sum((owners[o] for o in voting), Count())

    # Integer sums [households, heads, area] per item and choice, owner by owner: one pass
    # over the ballots with plain ints (a Count per addition made big estates' pages slow).
    sums = {item_id: {choice: [0, 0, 0] for choice in CHOICES} for item_id in item_ids}
    picks = dict.fromkeys(item_ids, 0)
    for owner, ballot in voting.items():
        weight = owners[owner]
        households, heads, area = weight.households, weight.heads, weight.area
        for item_id, by_choice in sums.items():
            choice = ballot.choices.get(item_id, Choice.ABSTAIN)
            counted = by_choice.get(choice)  # a StrEnum: "support" finds Choice.SUPPORT
            if counted is None:
                counted = by_choice[Choice(choice)]  # ValueError for anything else
            counted[0] += households
            counted[1] += heads
            counted[2] += area
        for item_id in ballot.priorities:
            if item_id in picks:
                picks[item_id] += 1

    return decide(
        eligible,
        participated,
        [
            (item_id, *(Count(*sums[item_id][choice]) for choice in CHOICES), picks[item_id])
            for item_id in item_ids
        ],
        rule,
    )


def decide(
    eligible: Count,
    participated: Count,
    items: Iterable[tuple[int, Count, Count, Count, int]],
    rule: Rule | None,
) -> Tally:
    """The result from counts already made: (item id, support, oppose, abstain, priority picks)
    per item. Where the rule is applied, for the pure tally above and the kept tally alike."""
    quorum_met = quorum(eligible, participated) if rule is not None else None
    results = []
    for item_id, support, oppose, abstain, priority_picks in items:
        approved = None
        if rule is not None:
            approved = bool(quorum_met) and approves(rule, support, participated)
        results.append(ItemResult(item_id, support, oppose, abstain, priority_picks, approved))
    return Tally(eligible, participated, quorum_met, tuple(results))


def breakdown(
    parts: Iterable[Part],
    ballots: Iterable[Ballot],
    item_ids: Iterable[int],
    key: Callable[[Part], Hashable],
) -> dict[Hashable, Tally]:
    """The same counts per group (building, unit, floor). An owner is one head in each group
    where they hold a part. No pass/fail: the rule applies to the whole scope only."""
    groups: dict[Hashable, list[Part]] = {}
    for part in parts:
        groups.setdefault(key(part), []).append(part)
    ballots = list(ballots)
    item_ids = list(item_ids)
    return {k: tally(g, ballots, item_ids, None) for k, g in groups.items()}


# --- ballot secrecy in small groups ---------------------------------------------------------

MIN_GROUP_OWNERS = 5


def withheld(groups: Mapping[Hashable, Tally], minimum: int = MIN_GROUP_OWNERS) -> set[Hashable]:
    """The groups of one breakdown (they partition their parent, whose total is shown) whose
    choice figures must not be shown.

    A group with fewer than `minimum` participating owners is withheld; and because the parent's
    total minus the shown groups gives the withheld ones together, the smallest shown groups
    are withheld too until the withheld ones hold at least `minimum` participants between them
    (or every group is withheld). So no group of fewer than `minimum` owners can be read
    directly or by subtraction within the breakdown.
    """
    hidden = {key for key, group in groups.items() if group.participated.heads < minimum}
    if not hidden:
        return hidden
    together = sum(groups[key].participated.heads for key in hidden)
    shown = sorted(
        (key for key in groups if key not in hidden),
        key=lambda key: groups[key].participated.heads,
    )
    while together < minimum and shown:
        key = shown.pop(0)
        hidden.add(key)
        together += groups[key].participated.heads
    return hidden
