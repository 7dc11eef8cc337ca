"""The registration point for the planner's overview and the monthly report (月通报).

The ground package hosts the pages (console/planners.py) and puts the figures together
(overview.py), but the figures themselves belong to the features: each registers a `Provider`
(survey/figures.py, contributions/figures.py, reports/figures.py), and create_app imports them.
The ground package never names a feature.

A provider computes its figures for a list of estates in a fixed number of queries (never one
per estate), and publishes a cheap `data_version` of its own tables: caches of its figures are
keyed on that version, so that a new ballot, pledge or report invalidates them.

Its page markup lives in `template` (Jinja macros `overview_head(sort_link)`,
`overview_cells(estate, figures)`, `overview_foot(totals)`, `monthly_head()`,
`monthly_cells(figures)`), imported with the page's context.
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .common import yuan as common_yuan


@dataclass(frozen=True)
class Trend:
    """One chart of the overview: a figure at the end of each month."""

    key: str  # the series' name: trend points answer point.<key>
    title: str  # msgid, translated where shown
    unit: str = ""  # "%" for shares (then scale 100: common.percent_points), "" for counts
    scale: int = 1  # the series is in 1/scale of the unit


@dataclass(frozen=True)
class Filter:
    """A choice of the overview's "Show" list: estates whose figures pass `test`."""

    key: str  # ?show=<key>
    label: str  # msgid
    test: Callable[[Any], bool]  # the provider's figures of one estate -> shown?
    position: int  # where it stands in the list


@dataclass(frozen=True)
class Sheet:
    """A sheet of the monthly workbook: `title` and `header` are msgids; `kinds` the number
    format of each column (resident_portal/spreadsheets.py NUMBER_FORMATS; None: by value)."""

    title: str
    header: list[str]
    rows: list[list]
    kinds: list[str | None] | None = None


class Provider:
    """What one feature contributes. Every method gets estate ids and answers for all of them."""

    name: str = ""  # also the key of its figures in rows and totals
    position: int = 0  # providers' columns, charts, summaries and sheets follow this order
    template: str | None = None
    columns: int = 0  # cells of `overview_cells`
    trends: tuple[Trend, ...] = ()
    sort_keys: dict[str, Callable[[Any], Any]] = {}  # ?sort=<key> -> key of its figures
    filters: tuple[Filter, ...] = ()

    def data_version(self, estate_ids: list[int], now: datetime) -> Hashable:
        """Changes whenever any figure of these estates may have changed."""
        raise NotImplementedError

    def estate_figures(self, estate_ids: list[int], now: datetime) -> dict[int, Any]:
        """Per estate id (every one of them), an object whose attributes are the figures."""
        return {estate_id: None for estate_id in estate_ids}

    def month_figures(self, estate_ids: list[int], now: datetime, end: datetime) -> dict[int, Any]:
        """The monthly report's figures for the month ending at `end` (naive UTC, the first
        moment after the month). By default today's; a provider whose records are dated
        answers as they stood at the month's end (and says so where it shows them)."""
        return self.estate_figures(estate_ids, now)

    def totals(self, figures: list[Any]) -> Any:
        return None

    def last_activity(self, estate_ids: list[int]) -> dict[int, datetime]:
        """Per estate, the latest moment something happened in this feature."""
        return {}

    def trend_series(
        self, estate_ids: list[int], ends: list[tuple[str, datetime]], now: datetime
    ) -> dict[str, list[int]]:
        """For each of `trends`, its value at each month end (`ends` as overview.month_ends)."""
        return {}

    def month_activity(self, estate_ids: list[int], start: datetime, end: datetime) -> Any:
        return None

    def summary_cells(self, totals: Any, activity: Any, part: str) -> list[tuple[str, str]]:
        """The monthly page's summary: (msgid, text) of the totals (part "totals") or of the
        month's activity (part "month")."""
        return []

    def summary_rows(self, totals: Any, activity: Any, part: str) -> list[tuple[str, Any]]:
        """The workbook's summary sheet: (msgid, cell value), as summary_cells."""
        return []

    def sheets(self, rows: list, labels: Callable[[str], str]) -> list[Sheet]:
        """Sheets of the workbook, one line per overview row (its figures: row.figures[name]);
        `labels(msgid)` translates cell texts (titles and headers are translated for it)."""
        return []


def yuan(fen: int) -> Decimal:
    """A workbook cell in yuan: an exact decimal, so that offices can sum them."""
    return common_yuan(fen)


def rate_permille(part: int, whole: int) -> int:
    """part/whole in ‰, rounded down: for sorting and filtering only. Every percentage shown
    comes from resident_portal.common.percent / format_percent (one rounding everywhere)."""
    return part * 1000 // whole if whole else 0


PROVIDERS: dict[str, Provider] = {}


def register(provider: Provider) -> Provider:
    """Register (or replace, by name) a provider; idempotent, so that every app has them."""
    PROVIDERS[provider.name] = provider
    return provider


def providers() -> list[Provider]:
    return sorted(PROVIDERS.values(), key=lambda p: (p.position, p.name))
