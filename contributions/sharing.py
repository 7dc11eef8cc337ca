"""Money arithmetic of contributions (docs/domain.md). Pure: no Flask, no database, no floats.

All amounts are integer fen. Floor coefficients are integer thousandths (‰: 1000 = 1.0), areas
integer 0.01 m², so every weight is an integer and every split is exact.

Elevator co-funding: rest = cost − subsidy − maintenance-fund share + compensation to affected
households (paid out of the pool, so it raises everyone else's share), and

    share_i = rest × c(floor_i)·area_i / Σ_j c(floor_j)·area_j

rounded to the fen by largest remainder, so the shares add up exactly to the rest.
"""

from collections.abc import Hashable, Mapping
from dataclasses import dataclass


def split(total_fen: int, weights: Mapping[Hashable, int]) -> dict[Hashable, int]:
    """Split `total_fen` in proportion to integer `weights`, exactly, by largest remainder.

    Each key first gets floor(total·w/W); the fen left over go one each to the largest
    remainders, ties broken by key order (sorted), so the result never depends on the order
    the households were given in. Zero weight gets zero.
    """
    if total_fen < 0:
        raise ValueError("cannot split a negative amount")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights cannot be negative")
    total_weight = sum(weights.values())
    if total_weight == 0:
        if total_fen:
            raise ValueError("nobody carries any weight")
        return {k: 0 for k in weights}
    shares, remainders = {}, []
    for key in sorted(weights):
        whole, remainder = divmod(total_fen * weights[key], total_weight)
        shares[key] = whole
        remainders.append((-remainder, key))
    left = total_fen - sum(shares.values())
    for _negative_remainder, key in sorted(remainders)[:left]:
        shares[key] += 1
    return shares


# --- elevator co-funding ------------------------------------------------------------------

# A common starting table in Chinese cities: floors 1–2 pay nothing, then rising with height.
DEFAULT_COEFFICIENTS_PERMILLE = {
    1: 0,
    2: 0,
    3: 600,
    4: 800,
    5: 1000,
    6: 1200,
    7: 1400,
    8: 1500,
    9: 1600,
}
TOP_COEFFICIENT_PERMILLE = 1600


def default_coefficients(floors: int) -> dict[int, int]:
    return {
        f: DEFAULT_COEFFICIENTS_PERMILLE.get(f, TOP_COEFFICIENT_PERMILLE)
        for f in range(1, floors + 1)
    }


@dataclass(frozen=True)
class Costs:
    equipment_fen: int = 0
    installation_fen: int = 0
    design_fen: int = 0
    pipes_fen: int = 0  # moving water, gas and power lines
    other_fen: int = 0

    @property
    def total_fen(self) -> int:
        return (
            self.equipment_fen
            + self.installation_fen
            + self.design_fen
            + self.pipes_fen
            + self.other_fen
        )


@dataclass(frozen=True)
class Subsidy:
    """Either a fixed amount, or a percentage (basis points: 10000 = 100 %) with a cap."""

    fixed_fen: int = 0
    basis_points: int = 0
    cap_fen: int | None = None

    def amount(self, cost_fen: int) -> int:
        if self.basis_points:
            amount = cost_fen * self.basis_points // 10_000  # rounds down: never over-subsidise
            if self.cap_fen is not None:
                amount = min(amount, self.cap_fen)
        else:
            amount = self.fixed_fen
        return min(amount, cost_fen)


@dataclass(frozen=True)
class Household:
    key: Hashable  # household id
    floor: int
    area: int  # 0.01 m²


@dataclass(frozen=True)
class ElevatorSplit:
    cost_fen: int
    subsidy_fen: int
    maintenance_fund_fen: int
    compensation_fen: int
    rest_fen: int
    total_weight: int  # Σ c·area, in ‰ × 0.01 m²
    weights: dict  # household key -> c·area
    shares: dict  # household key -> fen


def elevator_split(
    costs: Costs,
    subsidy: Subsidy,
    maintenance_fund_fen: int,
    households: list[Household],
    coefficients_permille: Mapping[int, int],
    compensation_fen: Mapping[Hashable, int] | None = None,
) -> ElevatorSplit:
    cost = costs.total_fen
    if min(cost, maintenance_fund_fen) < 0 or any(v < 0 for v in (compensation_fen or {}).values()):
        raise ValueError("amounts cannot be negative")
    subsidy_fen = subsidy.amount(cost)
    compensation = sum((compensation_fen or {}).values())
    rest = max(0, cost - subsidy_fen - maintenance_fund_fen) + compensation
    weights = {h.key: coefficients_permille.get(h.floor, 0) * h.area for h in households}
    return ElevatorSplit(
        cost_fen=cost,
        subsidy_fen=subsidy_fen,
        maintenance_fund_fen=min(maintenance_fund_fen, cost - subsidy_fen),
        compensation_fen=compensation,
        rest_fen=rest,
        total_weight=sum(weights.values()),
        weights=weights,
        shares=split(rest, weights),
    )


# --- suggested amounts of a campaign ------------------------------------------------------


def suggested_amount(flat_fen: int, per_m2_fen: int, area: int) -> int:
    """flat + per m² × area, to the nearest fen (half up); area in 0.01 m²."""
    return flat_fen + (per_m2_fen * area + 50) // 100


def rate_permille(part: int, whole: int) -> int:
    """part/whole in ‰, rounded down, for display of pledge and payment rates."""
    return part * 1000 // whole if whole else 0


# --- pledges that ask for a second look ----------------------------------------------------

# A pledge above this asks the resident to confirm it on a second screen, whatever the
# suggestion: a slip of the finger (an extra zero) is most costly on large amounts.
CONFIRM_ABOVE_FEN = 100_000  # ¥1,000


def pledge_needs_confirmation(amount_fen: int, suggested_fen: int) -> bool:
    """More than the household's suggested amount (or elevator share), or more than ¥1,000."""
    return amount_fen > CONFIRM_ABOVE_FEN or (suggested_fen > 0 and amount_fen > suggested_fen)
