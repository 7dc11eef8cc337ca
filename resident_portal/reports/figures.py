"""The quality reports' figures for the planner's overview and the monthly report
(resident_portal/figures.py): per estate reports open, overdue and the median days to resolve;
the open-reports trend; the month's reports filed and resolved."""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..common import in_china
from ..extensions import db
from ..figures import Filter, Provider, Sheet, Trend
from ..registry import N_
from .models import OVERDUE_DAYS, Category, Report, ReportEvent, Status


def overdue(category: Category, status: Status, created_at: datetime, now: datetime) -> bool:
    return status.is_open and (now - created_at).days >= OVERDUE_DAYS[category]


@dataclass
class ReportFigures:
    reports_open: int = 0
    reports_overdue: int = 0
    median_days_to_resolve: float | None = None


@dataclass
class ReportTotals:
    reports_open: int = 0
    reports_overdue: int = 0


@dataclass
class ReportActivity:
    reports_filed: int = 0
    reports_resolved: int = 0


class ReportsProvider(Provider):
    name = "reports"
    position = 30
    template = "reports/_figures.html"
    columns = 3
    trends = (Trend("reports_open", N_("Open problem reports")),)
    sort_keys = {
        "reports_open": lambda f: f.reports_open,
        "reports_overdue": lambda f: f.reports_overdue,
    }
    filters = (
        Filter("attention", N_("With overdue reports"), lambda f: f.reports_overdue > 0, 10),
    )

    def data_version(self, estate_ids, now):
        """Reports filed, their latest event (every status change, support or hiding adds one)
        and their latest change."""
        reports = select(Report.id).where(Report.estate_id.in_(estate_ids))
        return tuple(
            db.session.execute(
                select(
                    select(func.count(Report.id))
                    .where(Report.estate_id.in_(estate_ids))
                    .scalar_subquery(),
                    select(func.max(Report.updated_at))
                    .where(Report.estate_id.in_(estate_ids))
                    .scalar_subquery(),
                    select(func.max(Report.hidden_at))
                    .where(Report.estate_id.in_(estate_ids))
                    .scalar_subquery(),
                    select(func.max(ReportEvent.id))
                    .where(ReportEvent.report_id.in_(reports))
                    .scalar_subquery(),
                )
            ).one()
        )

    def estate_figures(self, estate_ids, now):
        figures = {estate_id: ReportFigures() for estate_id in estate_ids}
        days: dict[int, list[float]] = defaultdict(list)
        for estate_id, category, status, created_at, resolved_at in db.session.execute(
            select(
                Report.estate_id,
                Report.category,
                Report.status,
                Report.created_at,
                Report.resolved_at,
            ).where(Report.estate_id.in_(estate_ids), Report.hidden_at.is_(None))
        ):
            f = figures[estate_id]
            if status.is_open:
                f.reports_open += 1
                f.reports_overdue += overdue(category, status, created_at, now)
            if resolved_at is not None:
                days[estate_id].append((resolved_at - created_at).total_seconds() / 86400)
        for estate_id, values in days.items():
            figures[estate_id].median_days_to_resolve = round(statistics.median(values), 1)
        return figures

    def totals(self, figures):
        return ReportTotals(
            reports_open=sum(f.reports_open for f in figures),
            reports_overdue=sum(f.reports_overdue for f in figures),
        )

    def last_activity(self, estate_ids):
        return dict(
            db.session.execute(
                select(Report.estate_id, func.max(Report.updated_at))
                .where(Report.estate_id.in_(estate_ids))
                .group_by(Report.estate_id)
            ).all()
        )

    def trend_series(self, estate_ids, ends, now):
        """Reports open at each month end, from their filing and resolving dates."""
        reports = db.session.execute(
            select(Report.created_at, Report.resolved_at, Report.status).where(
                Report.estate_id.in_(estate_ids), Report.hidden_at.is_(None)
            )
        ).all()
        return {
            "reports_open": [
                sum(
                    1
                    for created, resolved, status in reports
                    if created < end
                    and (resolved is None or resolved >= end)
                    and not (resolved is None and not status.is_open)
                )
                for _label, end in ends
            ]
        }

    def month_activity(self, estate_ids, start, end):
        mine = Report.estate_id.in_(estate_ids)
        return ReportActivity(
            reports_filed=db.session.scalar(
                select(func.count(Report.id)).where(
                    mine, Report.created_at >= start, Report.created_at < end
                )
            ),
            reports_resolved=db.session.scalar(
                select(func.count(Report.id)).where(
                    mine, Report.resolved_at >= start, Report.resolved_at < end
                )
            ),
        )

    def summary_cells(self, totals, activity, part):
        if part == "totals":
            return [
                (
                    N_("Reports open"),
                    _(
                        "%(count)s (overdue: %(overdue)s)",
                        count=totals.reports_open,
                        overdue=totals.reports_overdue,
                    ),
                )
            ]
        return [
            (
                N_("This month: reports filed"),
                _(
                    "%(count)s (resolved this month: %(resolved)s)",
                    count=activity.reports_filed,
                    resolved=activity.reports_resolved,
                ),
            )
        ]

    def summary_rows(self, totals, activity, part):
        if part == "totals":
            return [
                (N_("Reports open"), totals.reports_open),
                (N_("Reports overdue"), totals.reports_overdue),
            ]
        return [
            (N_("This month: reports filed"), activity.reports_filed),
            (N_("This month: reports resolved"), activity.reports_resolved),
        ]

    def sheets(self, rows, labels):
        lines = []
        for row in rows:
            f = row.figures[self.name]
            lines.append(
                [
                    row.estate.name,
                    f.reports_open,
                    f.reports_overdue,
                    f.median_days_to_resolve,
                    # China time, as a date-time cell (naive: spreadsheets have no zones)
                    in_china(row.last_activity).replace(tzinfo=None) if row.last_activity else None,
                ]
            )
        header = [
            N_("Estate"),
            N_("Reports open"),
            N_("Overdue"),
            N_("Median days to resolve"),
            N_("Last activity"),
        ]
        kinds = ["text", "integer", "integer", "decimal", "datetime"]
        return [Sheet(N_("Reports"), header, lines, kinds)]


PROVIDER = ReportsProvider()
