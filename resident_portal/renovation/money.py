"""Funding arithmetic of a renovation project: pure (no Flask, no database), exact integers.

Amounts are fen. A share is kept as the exact pair (part, whole); it is rounded only when it
is written out for reading (`percent_text`), half up, to two decimals.
"""

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Line:
    """One funding source: planned and received fen; `pledged` only for the residents' line."""

    source: str
    planned: int
    received: int
    pledged: int | None = None


@dataclass(frozen=True)
class Budget:
    lines: tuple[Line, ...]
    residents_source: str = "residents"

    @property
    def planned(self) -> int:
        return sum(line.planned for line in self.lines)

    @property
    def received(self) -> int:
        return sum(line.received for line in self.lines)

    def _residents(self) -> Line | None:
        return next((ln for ln in self.lines if ln.source == self.residents_source), None)

    @property
    def residents_pledged(self) -> int:
        line = self._residents()
        return (line.pledged or 0) if line else 0

    @property
    def residents_received(self) -> int:
        line = self._residents()
        return line.received if line else 0

    @property
    def residents_share_pledged(self) -> Fraction | None:
        """Residents' pledges as a share of the whole planned funding (居民出资占比)."""
        return share(self.residents_pledged, self.planned)

    @property
    def residents_share_received(self) -> Fraction | None:
        """Residents' money received as a share of all money received."""
        return share(self.residents_received, self.received)

    @property
    def received_rate(self) -> Fraction | None:
        """到位率: received against planned, all sources."""
        return share(self.received, self.planned)


def share(part: int, whole: int) -> Fraction | None:
    """part / whole exactly; None when there is no whole to share."""
    return Fraction(part, whole) if whole > 0 else None


def percent_text(value: Fraction | None, decimals: int = 2) -> str:
    """A share as a percentage for reading: half up to `decimals` places ("12.35%"); "—" when
    there is none."""
    if value is None:
        return "—"
    scale = 10**decimals
    scaled = value * 100 * scale
    rounded = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    whole, fraction = divmod(rounded, scale)
    return f"{whole}.{fraction:0{decimals}d}%" if decimals else f"{whole}%"


def permille(value: Fraction | None) -> int | None:
    """A share in ‰, rounded down: what the overview's figures and sort keys use."""
    if value is None:
        return None
    return value.numerator * 1000 // value.denominator


def percent_decimal(value: Fraction | None, decimals: int = 2):
    """A share in % as an exact Decimal, rounded half up as percent_text: workbook cells."""
    from decimal import Decimal

    if value is None:
        return None
    return Decimal(percent_text(value, decimals).rstrip("%"))
