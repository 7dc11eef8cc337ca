"""The planner's overview across estates and the monthly report (月通报).

One computation feeds the dashboard, the printable monthly page and the XLSX workbook, so their
figures are the same by construction. The figures come from the providers features register
(resident_portal/figures.py); this module adds the register's own (households, last staff
action) and never names a feature. Each provider loads its figures with a fixed number of
queries whatever the number of estates (no query per estate).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from .common import N_, in_china, to_utc
from .extensions import db
from .figures import Filter, providers
from .models import AuditEntry, Building, Estate, Household, Unit, utcnow


class _Figures:
    """Rows, totals and the month's activity answer the providers' figures as attributes
    (row.pledged_fen is row.figures["contributions"].pledged_fen): figure names are unique."""

    figures: dict[str, Any]

    def __getattr__(self, name: str):
        for value in self.__dict__.get("figures", {}).values():
            if value is not None and hasattr(value, name):
                return getattr(value, name)
        raise AttributeError(name)


@dataclass
class EstateRow(_Figures):
    estate: Estate
    households: int = 0
    last_activity: datetime | None = None
    figures: dict[str, Any] = field(default_factory=dict)  # provider name -> its figures


@dataclass
class Totals(_Figures):
    estates: int = 0
    households: int = 0
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class MonthActivity(_Figures):
    figures: dict[str, Any] = field(default_factory=dict)


def estate_rows(
    estates: list[Estate], now: datetime | None = None, month_end: datetime | None = None
) -> list[EstateRow]:
    """With `month_end` (the first moment after a month, naive UTC), the monthly report's
    rows: each provider's figures for that month (Provider.month_figures)."""
    now = now or utcnow()
    ids = [e.id for e in estates]
    rows = {e.id: EstateRow(estate=e) for e in estates}
    if not ids:
        return []
    for estate_id, households in db.session.execute(
        select(Building.estate_id, func.count(Household.id))
        .join(Unit, Unit.building_id == Building.id)
        .join(Household, Household.unit_id == Unit.id)
        .where(Building.estate_id.in_(ids))
        .group_by(Building.estate_id)
    ):
        rows[estate_id].households = households

    # Last activity: the latest moment in any feature (ballot, pledge, report…) or staff action.
    moments = [
        dict(
            db.session.execute(
                select(AuditEntry.estate_id, func.max(AuditEntry.at))
                .where(AuditEntry.estate_id.in_(ids))
                .group_by(AuditEntry.estate_id)
            ).all()
        )
    ]
    for provider in providers():
        if month_end is None:
            figures = provider.estate_figures(ids, now)
        else:
            figures = provider.month_figures(ids, now, month_end)
        for estate_id in ids:
            rows[estate_id].figures[provider.name] = figures[estate_id]
        moments.append(provider.last_activity(ids))
    for by_estate in moments:
        for estate_id, moment in by_estate.items():
            row = rows[estate_id]
            if moment is not None and (row.last_activity is None or moment > row.last_activity):
                row.last_activity = moment
    return [rows[e.id] for e in estates]


def totals(rows: list[EstateRow]) -> Totals:
    result = Totals(estates=len(rows), households=sum(row.households for row in rows))
    for provider in providers():
        result.figures[provider.name] = provider.totals(
            [row.figures[provider.name] for row in rows]
        )
    return result


# --- sorting and filtering the overview -----------------------------------------------------

GROUND_SORT_KEYS = {
    "estate": lambda r: (r.estate.district or "", r.estate.code),
    "households": lambda r: r.households,
    "last_activity": lambda r: r.last_activity or datetime.min,
}


def sort_key(name: str):
    """?sort=<name>: the register's own keys or a provider's; by estate if unknown."""
    for provider in providers():
        if name in provider.sort_keys:
            key = provider.sort_keys[name]
            return lambda row: key(row.figures[provider.name])
    return GROUND_SORT_KEYS.get(name, GROUND_SORT_KEYS["estate"])


def filters() -> list[tuple[str, Filter]]:
    """(provider name, filter) for the "Show" list, in its order."""
    found = [(p.name, f) for p in providers() for f in p.filters]
    return sorted(found, key=lambda pair: pair[1].position)


def filter_rows(rows: list[EstateRow], show: str) -> list[EstateRow]:
    for name, choice in filters():
        if choice.key == show:
            return [row for row in rows if choice.test(row.figures[name])]
    return rows


# --- trends ---------------------------------------------------------------------------------


def month_ends(last: datetime, count: int) -> list[tuple[str, datetime]]:
    """The last `count` months up to `last` (stored naive UTC): ("2026-11", first moment of
    the next month). Months are China's calendar months, as the monthly report's: the first
    eight hours of a month in China are still the previous month in UTC."""
    local = in_china(last)
    year, month = local.year, local.month
    result = []
    for _ in range(count):
        nxt = to_utc(datetime(year + (month == 12), month % 12 + 1, 1))
        result.append((f"{year:04d}-{month:02d}", nxt))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(result))


class TrendPoint:
    """The providers' trend figures at one month end: point.participation, point["…"]."""

    def __init__(self, month: str):
        self.month = month
        self.values: dict[str, int] = {}

    def __getattr__(self, name: str) -> int:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> int:
        return self.values[name]


def trends(estates: list[Estate], months: int = 12, now: datetime | None = None):
    """The overview's headline figures at the end of each month, replayed by each provider
    from its history (first ballot of each owner, pledge events, report dates) rather than
    stored snapshots.

    Cached in this process per provider, keyed by the data version it publishes for these
    estates and by the months asked for."""
    now = now or utcnow()
    ids = [e.id for e in estates]
    if not ids:
        return []
    ends = month_ends(now, months)
    points = [TrendPoint(label) for label, _end in ends]
    for provider in providers():
        if not provider.trends:
            continue
        for trend, series in cached_trend_series(provider, ids, ends, now).items():
            for point, value in zip(points, series, strict=True):
                point.values[trend] = value
    return points


def trend_cache() -> dict:
    return current_app.extensions.setdefault("overview_trend_cache", {})


def cached_trend_series(provider, ids: list[int], ends, now: datetime) -> dict[str, list[int]]:
    key = (provider.name, tuple(ids), provider.data_version(ids, now), tuple(ends))
    cache = trend_cache()
    if key not in cache:
        if len(cache) > 200:
            cache.clear()
        cache[key] = provider.trend_series(ids, ends, now)
    return cache[key]


# --- the monthly report (月通报) -------------------------------------------------------------


MONTH = re.compile(r"[0-9]{4}-[0-9]{1,2}")  # the month pickers' and the API's YYYY-MM


def parse_month(text: str) -> tuple[datetime, datetime]:
    """ "2026-11" -> (2026-11-01 00:00, 2026-12-01 00:00), China time as naive UTC.
    ValueError unless `text` is exactly that: int() alone would take " 11", "1_1" or
    full-width digits, which the API's document (YYYY-MM) does not allow."""
    if not MONTH.fullmatch(text):
        raise ValueError(f"not a month: {text!r}")
    year, month = (int(part) for part in text.split("-"))
    start = datetime(year, month, 1)
    end = datetime(year + (month == 12), month % 12 + 1, 1)
    return to_utc(start), to_utc(end)


def this_month() -> str:
    """The month it is now in China, as "YYYY-MM" (the monthly report's default)."""
    now = in_china(utcnow())
    return f"{now.year:04d}-{now.month:02d}"


def month_end(month: str) -> datetime:
    """The last moment of that month (China time, as naive UTC), or now if it has not ended:
    the monthly report's trends end there."""
    _start, end = parse_month(month)
    return min(end - timedelta(seconds=1), utcnow())


def month_activity(estates: list[Estate], start: datetime, end: datetime) -> MonthActivity:
    ids = [e.id for e in estates]
    activity = MonthActivity()
    for provider in providers():
        activity.figures[provider.name] = provider.month_activity(ids, start, end)
    return activity


# Estates counted at a time for the monthly report: a city's report tells its progress
# (`report monthly`) between batches; each batch's figures are those of the whole list.
MONTHLY_BATCH = 50


def monthly_report(month: str, estates: list[Estate], progress=None):
    """Rows, totals and the month's activity: the same numbers for page, XLSX and CLI.
    `progress(done, total)`, when given, is told after each batch of estates and after the
    month's activity (total: the estates, and one step for the activity)."""
    start, end = parse_month(month)
    now = utcnow()  # one moment for every batch ("overdue" and the like)
    rows = []
    for first in range(0, len(estates), MONTHLY_BATCH):
        if progress:
            progress(first, len(estates) + 1)
        rows += estate_rows(estates[first : first + MONTHLY_BATCH], now, end)
    if progress:
        progress(len(estates), len(estates) + 1)
    activity = month_activity(estates, start, end)
    if progress:
        progress(len(estates) + 1, len(estates) + 1)
    return rows, totals(rows), activity


def summary_cells(total: Totals, activity: MonthActivity) -> list[tuple[str, str]]:
    """The monthly page's summary after estates and households: (msgid, text), two a line."""
    return [
        cell
        for part in ("totals", "month")
        for provider in providers()
        for cell in provider.summary_cells(
            total.figures.get(provider.name), activity.figures.get(provider.name), part
        )
    ]


def monthly_workbook(
    rows: list[EstateRow],
    total: Totals,
    activity: MonthActivity,
    month: str,
    district: str | None,
    labels,
) -> bytes:
    """The workbook: a summary sheet and the providers' sheets, through the one spreadsheet
    helper (translated headers, numeric cells with formats, widths, frozen header, filters).
    `labels(msgid)` translates."""
    from .spreadsheets import Column, Table, columns, workbook

    summary = [
        # The district comes from the query string (or the command line): text, never a
        # formula (the helper neutralises it).
        [labels("District"), district if district else labels("All districts")],
        [labels("Estates"), total.estates],
        [labels("Households"), total.households],
    ]
    for part in ("totals", "month"):
        for provider in providers():
            for label, value in provider.summary_rows(
                total.figures.get(provider.name), activity.figures.get(provider.name), part
            ):
                summary.append([labels(label), value])
    tables = [
        Table(
            labels("Summary"),
            [Column(labels("Monthly progress report"), "text"), Column(month)],
            summary,
            filter=False,
        )
    ]
    for provider in providers():
        for sheet in provider.sheets(rows, labels):
            tables.append(
                Table(
                    labels(sheet.title),
                    columns([labels(h) for h in sheet.header], sheet.kinds),
                    sheet.rows,
                )
            )
    return workbook(tables)


# msgids, translated where they are shown (N_ marks them for extraction)
EXTRA_LABELS = [
    N_("Summary"),
    N_("Monthly progress report"),
    N_("District"),
    N_("All districts"),
    N_("Estates"),
    N_("Households"),
    N_("Estate"),
    N_("Last activity"),
]
