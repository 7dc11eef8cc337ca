"""contributions/sharing.py: exact money splitting, directly and with Hypothesis."""

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contributions.sharing import (
    Costs,
    Household,
    Subsidy,
    default_coefficients,
    elevator_split,
    split,
    suggested_amount,
)


def test_split_adds_up_and_rounds_by_largest_remainder():
    assert split(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert split(10, {"a": 0, "b": 3, "c": 7}) == {"a": 0, "b": 3, "c": 7}
    assert split(0, {"a": 0}) == {"a": 0}
    with pytest.raises(ValueError):
        split(100, {"a": 0})
    with pytest.raises(ValueError):
        split(-1, {"a": 1})


def test_subsidy_fixed_percentage_and_cap():
    assert Subsidy(fixed_fen=15_000_000).amount(60_000_000) == 15_000_000
    assert Subsidy(fixed_fen=15_000_000).amount(10_000_000) == 10_000_000  # never above cost
    assert Subsidy(basis_points=4000, cap_fen=20_000_000).amount(60_000_000) == 20_000_000
    assert Subsidy(basis_points=4000, cap_fen=30_000_000).amount(60_000_001) == 24_000_000


def test_worked_example_six_floor_unit():
    """The example of the closing note: one unit, two households per floor, floors 1–6."""
    areas = {
        1: (8194, 6705),
        2: (4891, 5548),
        3: (5546, 6315),
        4: (5525, 8093),
        5: (9284, 6997),
        6: (9331, 5390),
    }
    households = [
        Household(f"{f}0{i + 1}", f, a) for f, pair in areas.items() for i, a in enumerate(pair)
    ]
    result = elevator_split(
        Costs(
            equipment_fen=45_000_000,
            installation_fen=12_000_000,
            design_fen=2_000_000,
            pipes_fen=6_000_000,
        ),
        Subsidy(fixed_fen=20_000_000),
        maintenance_fund_fen=5_000_000,
        households=households,
        coefficients_permille=default_coefficients(6),
        compensation_fen={"101": 1_000_000, "102": 1_000_000},
    )
    assert result.cost_fen == 65_000_000 and result.rest_fen == 42_000_000
    assert sum(result.shares.values()) == 42_000_000
    assert result.shares["101"] == result.shares["202"] == 0
    assert result.shares["601"] > result.shares["501"] > 0
    assert result.shares == {
        "101": 0,
        "102": 0,
        "201": 0,
        "202": 0,
        "301": 2_689_891,
        "302": 3_062_867,
        "401": 3_572_941,
        "402": 5_233_631,
        "501": 7_504_792,
        "502": 5_656_079,
        "601": 9_051_342,
        "602": 5_228_457,
    }
    # checked against the exact fractions: each share is the exact value rounded down or up,
    # and the 4 fen of rounding went to the 4 largest remainders (301, 401, 402, 502)
    coefficients = default_coefficients(6)
    total = sum(coefficients[h.floor] * h.area for h in households)
    for h in households:
        exact = Fraction(42_000_000 * coefficients[h.floor] * h.area, total)
        assert result.shares[h.key] in (math.floor(exact), math.ceil(exact))
    rounded_up = {
        h.key
        for h in households
        if result.shares[h.key] > Fraction(42_000_000 * coefficients[h.floor] * h.area, total)
    }
    assert rounded_up == {"301", "401", "402", "502"}


def test_suggested_amounts():
    assert suggested_amount(50_000, 0, 8194) == 50_000
    assert suggested_amount(0, 1_000, 8194) == 81_940
    # 3.33 yuan/m² × 81.94 m² = 272.8602 yuan, to the fen: 272.86
    assert suggested_amount(10_000, 333, 8194) == 10_000 + 27_286
    assert suggested_amount(0, 1, 50) == 1  # 0.5 fen rounds half up


# --- properties ---------------------------------------------------------------------------

households = st.lists(
    st.tuples(st.integers(1, 12), st.integers(2000, 20000)), min_size=1, max_size=24
).map(lambda specs: [Household(i, f, a) for i, (f, a) in enumerate(specs)])
monotone_coefficients = st.lists(st.integers(0, 400), min_size=12, max_size=12).map(
    lambda steps: {f: sum(steps[:f]) for f in range(1, 13)}
)
amounts = st.integers(0, 10**9)


@settings(max_examples=300)
@given(amounts, st.dictionaries(st.integers(0, 50), st.integers(0, 10**7), min_size=1))
def test_split_properties(total, weights):
    if sum(weights.values()) == 0:
        total = 0
    shares = split(total, weights)
    assert sum(shares.values()) == total
    assert all(s >= 0 for s in shares.values())
    assert all(shares[k] == 0 for k, w in weights.items() if w == 0)
    W = sum(weights.values())
    for k, w in weights.items():  # each share is within one fen of its exact value
        if W:
            assert abs(shares[k] * W - total * w) < W


@settings(max_examples=300)
@given(amounts, households, monotone_coefficients)
def test_elevator_shares_sum_exactly_never_negative_and_rise_with_floor(rest, hs, coeffs):
    if not any(coeffs[h.floor] for h in hs):
        coeffs = {f: 1000 for f in coeffs}
    result = elevator_split(Costs(other_fen=rest), Subsidy(), 0, hs, coeffs)
    assert sum(result.shares.values()) == rest
    assert all(s >= 0 for s in result.shares.values())
    for a in hs:
        for b in hs:
            if a.area == b.area and a.floor < b.floor:
                # monotone up to the one fen of rounding
                assert result.shares[a.key] <= result.shares[b.key] + 1


@settings(max_examples=200)
@given(amounts, households, monotone_coefficients, st.randoms())
def test_elevator_shares_do_not_depend_on_order(rest, hs, coeffs, rnd):
    coeffs = {f: c + 1 for f, c in coeffs.items()}
    shuffled = list(hs)
    rnd.shuffle(shuffled)
    first = elevator_split(Costs(other_fen=rest), Subsidy(), 0, hs, coeffs)
    second = elevator_split(Costs(other_fen=rest), Subsidy(), 0, shuffled, coeffs)
    assert first.shares == second.shares


# --- pledges that ask for a second look (issue 13) -----------------------------------------


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_a_pledge_is_confirmed_above_the_suggestion_or_a_thousand_yuan(amount, suggested):
    from contributions.sharing import CONFIRM_ABOVE_FEN, pledge_needs_confirmation

    needs = pledge_needs_confirmation(amount, suggested)
    # never for the suggested amount or less, when that is at most ¥1,000
    if amount <= suggested and amount <= CONFIRM_ABOVE_FEN:
        assert not needs
    # always above ¥1,000, and above a suggestion there is one
    if amount > CONFIRM_ABOVE_FEN or (suggested and amount > suggested):
        assert needs
    # one more fen never takes the question away
    if needs:
        assert pledge_needs_confirmation(amount + 1, suggested)
