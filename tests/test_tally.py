"""survey/tally.py: the Art. 278 arithmetic, directly and with Hypothesis."""

from hypothesis import given, settings
from hypothesis import strategies as st

from survey.tally import Ballot, Choice, Count, Part, Rule, approves, quorum, tally

S, OP, A = Choice.SUPPORT, Choice.OPPOSE, Choice.ABSTAIN


def parts_of(*specs):
    """specs: (owner, area) per part, one household each, all in building 1 unit 1."""
    return [
        Part(household_id=i, owner_ref=owner, building="1", unit="1", floor=1 + i % 6, area=area)
        for i, (owner, area) in enumerate(specs)
    ]


def votes(**choices):
    return [Ballot(owner, {1: choice}) for owner, choice in choices.items()]


def test_owner_with_two_parts_is_one_head_with_both_areas():
    parts = parts_of(("a", 100), ("a", 50), ("b", 100))
    result = tally(parts, votes(a=S), [1], Rule.MAJORITY)
    assert result.eligible == Count(households=3, heads=2, area=250)
    assert result.participated == Count(households=2, heads=1, area=150)
    assert result.item(1).support == Count(households=2, heads=1, area=150)


def test_quorum_exactly_two_thirds_is_met_and_just_below_is_not():
    parts = parts_of(("a", 100), ("b", 100), ("c", 100))
    assert tally(parts, votes(a=S, b=S), [1], Rule.MAJORITY).quorum_met is True
    assert tally(parts, votes(a=S), [1], Rule.MAJORITY).quorum_met is False
    # two thirds of heads, but 199.99 of 300.00 m² is below two thirds of the area
    uneven = parts_of(("a", 10000), ("b", 9999), ("c", 10001))
    assert tally(uneven, votes(a=S, b=S), [1], Rule.MAJORITY).quorum_met is False
    assert tally(uneven, votes(a=S, c=S), [1], Rule.MAJORITY).quorum_met is True


def test_three_quarters_exactly_on_the_boundary_passes():
    parts = parts_of(*[(f"o{i}", 100) for i in range(4)])
    result = tally(parts, votes(o0=S, o1=S, o2=S, o3=OP), [1], Rule.THREE_QUARTERS)
    assert result.quorum_met and result.item(1).approved is True
    # an abstention participates but does not approve: 2 of 4 is not three quarters
    result = tally(parts, votes(o0=S, o1=S, o2=A, o3=OP), [1], Rule.THREE_QUARTERS)
    assert result.item(1).approved is False


def test_three_quarters_needs_area_and_heads():
    # 3 of 4 heads support, but they hold only 74.99 % of the participating area
    parts = parts_of(("a", 2500), ("b", 2500), ("c", 2499), ("d", 2501))
    result = tally(parts, votes(a=S, b=S, c=S, d=OP), [1], Rule.THREE_QUARTERS)
    assert result.item(1).approved is False
    result = tally(parts, votes(a=S, b=S, d=S, c=OP), [1], Rule.THREE_QUARTERS)
    assert result.item(1).approved is True


def test_majority_means_strictly_more_than_half():
    parts = parts_of(*[(f"o{i}", 100) for i in range(4)])
    half = tally(parts, votes(o0=S, o1=S, o2=OP, o3=OP), [1], Rule.MAJORITY)
    assert half.item(1).approved is False
    more = tally(parts, votes(o0=S, o1=S, o2=S, o3=OP), [1], Rule.MAJORITY)
    assert more.item(1).approved is True


def test_no_quorum_means_no_approval_even_if_unanimous():
    parts = parts_of(*[(f"o{i}", 100) for i in range(3)])
    result = tally(parts, votes(o0=S), [1], Rule.MAJORITY)
    assert result.quorum_met is False and result.item(1).approved is False


def test_consultation_has_no_verdict_and_unanswered_items_abstain():
    parts = parts_of(("a", 100), ("b", 100))
    ballots = [Ballot("a", {1: S}, frozenset({2})), Ballot("b", {2: OP}, frozenset({2}))]
    result = tally(parts, ballots, [1, 2], None)
    assert result.quorum_met is None
    assert result.item(1).approved is None
    assert result.item(1).abstain.heads == 1 and result.item(2).abstain.heads == 1
    assert result.item(2).priority_picks == 2 and result.item(1).priority_picks == 0


def test_ballots_of_owners_outside_the_scope_are_ignored():
    parts = parts_of(("a", 100))
    result = tally(parts, votes(a=S, stranger=OP), [1], Rule.MAJORITY)
    assert result.participated.heads == 1 and result.item(1).oppose == Count()


def test_empty_scope_never_reaches_quorum():
    assert tally([], [], [1], Rule.MAJORITY).quorum_met is False
    assert not quorum(Count(), Count())
    assert not approves(Rule.MAJORITY, Count(), Count())


# --- properties ---------------------------------------------------------------------------

owners = st.sampled_from([f"o{i}" for i in range(8)])
parts_strategy = st.lists(
    st.tuples(owners, st.integers(min_value=1, max_value=20000)), min_size=1, max_size=14
).map(lambda specs: parts_of(*specs))
choice = st.sampled_from(list(Choice))
ballot_map = st.dictionaries(owners, st.tuples(choice, choice))
rules = st.sampled_from([Rule.MAJORITY, Rule.THREE_QUARTERS, None])


def to_ballots(mapping):
    return [
        Ballot(o, {1: c1, 2: c2}, frozenset({1} if c1 == S else ()))
        for o, (c1, c2) in mapping.items()
    ]


@settings(max_examples=300)
@given(parts_strategy, ballot_map, rules)
def test_choices_add_up_to_participation(parts, mapping, rule):
    result = tally(parts, to_ballots(mapping), [1, 2], rule)
    for item in result.items:
        assert item.support + item.oppose + item.abstain == result.participated
    assert result.participated.heads <= result.eligible.heads
    assert result.participated.area <= result.eligible.area
    assert result.eligible.heads == len({p.owner_ref for p in parts})
    assert result.eligible.households == len(parts)


@settings(max_examples=300)
@given(parts_strategy, ballot_map, st.sampled_from([Rule.MAJORITY, Rule.THREE_QUARTERS]), owners)
def test_one_more_supporting_ballot_never_turns_a_pass_into_a_fail(parts, mapping, rule, owner):
    before = tally(parts, to_ballots(mapping), [1, 2], rule)
    mapping = dict(mapping)
    previous = mapping.get(owner, (A, A))
    mapping[owner] = (S, previous[1])  # a new supporter, or a voter switching to support
    after = tally(parts, to_ballots(mapping), [1, 2], rule)
    if before.item(1).approved:
        assert after.item(1).approved
    if before.quorum_met:
        assert after.quorum_met


@settings(max_examples=200)
@given(parts_strategy, ballot_map, rules)
def test_result_does_not_depend_on_order(parts, mapping, rule):
    ballots = to_ballots(mapping)
    assert tally(parts, ballots, [1, 2], rule) == tally(
        list(reversed(parts)), list(reversed(ballots)), [1, 2], rule
    )


@settings(max_examples=200)
@given(st.integers(1, 10**9), st.integers(1, 10**9))
def test_thresholds_agree_with_exact_fractions(part, whole):
    from fractions import Fraction

    from survey.tally import at_least, more_than_half

    assert at_least(part, whole, 2, 3) == (Fraction(part, whole) >= Fraction(2, 3))
    assert at_least(part, whole, 3, 4) == (Fraction(part, whole) >= Fraction(3, 4))
    assert more_than_half(part, whole) == (Fraction(part, whole) > Fraction(1, 2))
