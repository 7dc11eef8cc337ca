"""The planner's overview across estates and the monthly report (月通报).

One computation feeds the dashboard, the printable monthly page and the XLSX workbook, so their
figures are the same by construction. Data is loaded with a fixed number of queries whatever
the number of estates (no query per estate), and counted with the same code as the estate
pages (survey/tally.py, contributions/sharing.py).
"""

import bisect
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from contributions.models import Campaign, ElevatorProject, Payment, Pledge, PledgeEvent
from contributions.sharing import rate_permille
from contributions.tracker import ElevatorStatus, elevator_status
from contributions.tracker import progress as campaign_progress
from survey import tally
from survey.models import (
    BallotRevision,
    RollCorrection,
    RollEntry,
    Survey,
    SurveyKind,
    SurveyStatus,
)
from survey.results import scope_results

from .extensions import db
from .models import AuditEntry, Building, Estate, Household, Unit, utcnow
from .reports.models import OVERDUE_DAYS, Category, Report, Status


@dataclass
class Decision:
    survey: Survey
    result: tally.Tally

    @property
    def outcome(self) -> str:
        """open | no_quorum | approved | rejected | partly (some items approved)."""
        if self.survey.status() is not SurveyStatus.CLOSED:
            return "open"
        if not self.result.quorum_met:
            return "no_quorum"
        approved = sum(1 for item in self.result.items if item.approved)
        if approved == len(self.result.items):
            return "approved"
        return "partly" if approved else "rejected"


@dataclass
class EstateRow:
    estate: Estate
    households: int = 0
    decision: Decision | None = None
    target_fen: int = 0
    pledged_fen: int = 0
    paid_fen: int = 0
    elevators: dict = field(default_factory=dict)  # ElevatorStatus -> count
    reports_open: int = 0
    reports_overdue: int = 0
    median_days_to_resolve: float | None = None
    last_activity: datetime | None = None

    @property
    def pledge_rate(self) -> int:  # ‰ of target
        return rate_permille(self.pledged_fen, self.target_fen)

    @property
    def paid_rate(self) -> int:
        return rate_permille(self.paid_fen, self.target_fen)

    @property
    def heads_rate(self) -> int | None:
        if self.decision is None:
            return None
        r = self.decision.result
        return rate_permille(r.participated.heads, r.eligible.heads)

    @property
    def area_rate(self) -> int | None:
        if self.decision is None:
            return None
        r = self.decision.result
        return rate_permille(r.participated.area, r.eligible.area)


@dataclass
class Totals:
    estates: int = 0
    households: int = 0
    target_fen: int = 0
    pledged_fen: int = 0
    paid_fen: int = 0
    reports_open: int = 0
    reports_overdue: int = 0
    elevators: dict = field(default_factory=dict)

    @property
    def pledge_rate(self) -> int:
        return rate_permille(self.pledged_fen, self.target_fen)

    @property
    def paid_rate(self) -> int:
        return rate_permille(self.paid_fen, self.target_fen)


def _latest_decisions(estate_ids: list[int], now: datetime) -> dict[int, Survey]:
    """Per estate, its latest formal decision (the one closing last among those opened).

    Elevator consent votes are left out: they are one unit's, and the overview shows them under
    elevators by status."""
    surveys = db.session.scalars(
        select(Survey)
        .where(
            Survey.estate_id.in_(estate_ids),
            Survey.kind == SurveyKind.DECISION,
            Survey.opens_at <= now,
            Survey.id.not_in(select(ElevatorProject.survey_id)),
        )
        .options(selectinload(Survey.items))  # one query for all items, not one per survey
    )
    latest: dict[int, Survey] = {}
    for survey in surveys:
        known = latest.get(survey.estate_id)
        if known is None or survey.closes_at > known.closes_at:
            latest[survey.estate_id] = survey
    return latest


def owners_on_roll(survey_ids: list[int]):
    """A CTE (survey_id, owner_ref): each owner on each survey's roll (survey/roll.py). Surveys
    whose roll is not taken yet have no ballots, so they add nothing to what this is joined to."""
    return (
        select(RollEntry.survey_id.label("survey_id"), RollEntry.owner_ref.label("owner_ref"))
        .where(RollEntry.survey_id.in_(survey_ids))
        .group_by(RollEntry.survey_id, RollEntry.owner_ref)
        .cte("owners")
    )


def _tally_versions(surveys: list[Survey]) -> dict[int, tuple]:
    """What a survey's counts depend on, cheaply: its ballot submissions (count and latest id;
    a new or changed ballot always adds a revision) and its roll corrections. The register
    does not matter: a survey counts its roll."""
    ids = [s.id for s in surveys]
    revisions = {
        survey_id: (count, latest)
        for survey_id, count, latest in db.session.execute(
            select(BallotRevision.survey_id, func.count(), func.max(BallotRevision.id))
            .where(BallotRevision.survey_id.in_(ids))
            .group_by(BallotRevision.survey_id)
        )
    }
    corrections = dict(
        db.session.execute(
            select(RollCorrection.survey_id, func.max(RollCorrection.id))
            .where(RollCorrection.survey_id.in_(ids))
            .group_by(RollCorrection.survey_id)
        ).all()
    )
    return {s.id: (revisions.get(s.id), corrections.get(s.id), s.roll_frozen_at) for s in surveys}


def overdue(category: Category, status: Status, created_at: datetime, now: datetime) -> bool:
    return status.is_open and (now - created_at).days >= OVERDUE_DAYS[category]


def estate_rows(estates: list[Estate], now: datetime | None = None) -> list[EstateRow]:
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

    decisions = _latest_decisions(ids, now)
    results = scope_results(list(decisions.values()))
    for estate_id, survey in decisions.items():
        rows[estate_id].decision = Decision(survey, results[survey.id])

    for estate_id, target in db.session.execute(
        select(Campaign.estate_id, func.sum(Campaign.target_fen))
        .where(Campaign.estate_id.in_(ids))
        .group_by(Campaign.estate_id)
    ):
        rows[estate_id].target_fen = int(target or 0)
    for estate_id, pledged in db.session.execute(
        select(Campaign.estate_id, func.sum(Pledge.amount_fen))
        .join(Pledge, Pledge.campaign_id == Campaign.id)
        .where(Campaign.estate_id.in_(ids), Pledge.withdrawn_at.is_(None))
        .group_by(Campaign.estate_id)
    ):
        rows[estate_id].pledged_fen = int(pledged or 0)
    for estate_id, paid in db.session.execute(
        select(Campaign.estate_id, func.sum(Payment.amount_fen))
        .join(Payment, Payment.campaign_id == Campaign.id)
        .where(Campaign.estate_id.in_(ids))
        .group_by(Campaign.estate_id)
    ):
        rows[estate_id].paid_fen = int(paid or 0)

    # Elevator projects are few (one per unit that asked): their status uses the estate pages'
    # own computation.
    projects = db.session.scalars(
        select(ElevatorProject)
        .join(Campaign, ElevatorProject.campaign_id == Campaign.id)
        .where(Campaign.estate_id.in_(ids))
    )
    for project in projects:
        status = elevator_status(project, campaign_progress(project.campaign))
        counts = rows[project.campaign.estate_id].elevators
        counts[status] = counts.get(status, 0) + 1

    days: dict[int, list[float]] = defaultdict(list)
    for estate_id, category, status, created_at, resolved_at in db.session.execute(
        select(
            Report.estate_id, Report.category, Report.status, Report.created_at, Report.resolved_at
        ).where(Report.estate_id.in_(ids), Report.hidden_at.is_(None))
    ):
        row = rows[estate_id]
        if status.is_open:
            row.reports_open += 1
            row.reports_overdue += overdue(category, status, created_at, now)
        if resolved_at is not None:
            days[estate_id].append((resolved_at - created_at).total_seconds() / 86400)
    for estate_id, values in days.items():
        rows[estate_id].median_days_to_resolve = round(statistics.median(values), 1)

    # Last activity: the latest ballot, pledge, payment, report change or staff action.
    for query in (
        select(Survey.estate_id, func.max(BallotRevision.submitted_at))
        .join(BallotRevision, BallotRevision.survey_id == Survey.id)
        .where(Survey.estate_id.in_(ids))
        .group_by(Survey.estate_id),
        select(Campaign.estate_id, func.max(PledgeEvent.at))
        .join(PledgeEvent, PledgeEvent.campaign_id == Campaign.id)
        .where(Campaign.estate_id.in_(ids))
        .group_by(Campaign.estate_id),
        select(Report.estate_id, func.max(Report.updated_at))
        .where(Report.estate_id.in_(ids))
        .group_by(Report.estate_id),
        select(AuditEntry.estate_id, func.max(AuditEntry.at))
        .where(AuditEntry.estate_id.in_(ids))
        .group_by(AuditEntry.estate_id),
    ):
        for estate_id, moment in db.session.execute(query):
            row = rows[estate_id]
            if moment is not None and (row.last_activity is None or moment > row.last_activity):
                row.last_activity = moment
    return [rows[e.id] for e in estates]


def totals(rows: list[EstateRow]) -> Totals:
    result = Totals()
    for row in rows:
        result.estates += 1
        result.households += row.households
        result.target_fen += row.target_fen
        result.pledged_fen += row.pledged_fen
        result.paid_fen += row.paid_fen
        result.reports_open += row.reports_open
        result.reports_overdue += row.reports_overdue
        for status, count in row.elevators.items():
            result.elevators[status] = result.elevators.get(status, 0) + count
    return result


SORT_KEYS = {
    "estate": lambda r: (r.estate.district or "", r.estate.code),
    "households": lambda r: r.households,
    "participation": lambda r: r.heads_rate if r.heads_rate is not None else -1,
    "pledge_rate": lambda r: r.pledge_rate,
    "paid_rate": lambda r: r.paid_rate,
    "reports_open": lambda r: r.reports_open,
    "reports_overdue": lambda r: r.reports_overdue,
    "last_activity": lambda r: r.last_activity or datetime.min,
}
FILTERS = {
    "attention": lambda r: r.reports_overdue > 0,
    "no_decision": lambda r: r.decision is None,
    "decided": lambda r: r.decision is not None and r.decision.outcome in ("approved", "partly"),
    "elevators": lambda r: bool(r.elevators),
}


# --- trends ---------------------------------------------------------------------------------


def month_ends(last: datetime, count: int) -> list[tuple[str, datetime]]:
    """The last `count` months up to `last`: ("2026-11", first moment of the next month)."""
    year, month = last.year, last.month
    result = []
    for _ in range(count):
        nxt = datetime(year + (month == 12), month % 12 + 1, 1)
        result.append((f"{year:04d}-{month:02d}", nxt))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(result))


@dataclass
class TrendPoint:
    month: str
    participation: int  # ‰ of owners in the latest decisions who had voted by month end
    pledge_rate: int  # ‰ of the targets pledged at month end
    reports_open: int  # reports open at month end


def trends(estates: list[Estate], months: int = 12, now: datetime | None = None):
    """The overview's headline figures at the end of each month, replayed from the history
    (first ballot of each owner, pledge events, report dates) rather than stored snapshots.

    Cached in this process, keyed by what they depend on: the decisions' versions, the latest
    pledge event and the latest report change of these estates, and the months asked for."""
    now = now or utcnow()
    ids = [e.id for e in estates]
    if not ids:
        return []
    surveys = list(_latest_decisions(ids, now).values())
    pledges = db.session.execute(
        select(func.count(PledgeEvent.id), func.max(PledgeEvent.id))
        .join(Campaign, Campaign.id == PledgeEvent.campaign_id)
        .where(Campaign.estate_id.in_(ids))
    ).one()
    reports = db.session.execute(
        select(
            func.count(Report.id), func.max(Report.updated_at), func.max(Report.hidden_at)
        ).where(Report.estate_id.in_(ids))
    ).one()
    key = (
        tuple(ids),
        tuple(sorted(_tally_versions(surveys).items())),
        tuple(pledges),
        tuple(reports),
        tuple(month_ends(now, months)),
    )
    cache = current_app.extensions.setdefault("overview_trend_cache", {})
    if key not in cache:
        if len(cache) > 200:
            cache.clear()
        cache[key] = _replay_trends(ids, surveys, months, now)
    return cache[key]


def _replay_trends(ids: list[int], surveys: list[Survey], months: int, now: datetime):
    eligible_owners = sum(t.eligible.heads for t in scope_results(surveys).values())
    first_votes = []
    if surveys:
        owners = owners_on_roll([s.id for s in surveys])
        first_votes = sorted(
            moment
            for (moment,) in db.session.execute(
                select(func.min(BallotRevision.submitted_at))
                .join(
                    owners,
                    (owners.c.survey_id == BallotRevision.survey_id)
                    & (owners.c.owner_ref == BallotRevision.owner_ref),
                )
                .group_by(BallotRevision.survey_id, BallotRevision.owner_ref)
            )
        )
    target = int(
        db.session.scalar(
            select(func.coalesce(func.sum(Campaign.target_fen), 0)).where(
                Campaign.estate_id.in_(ids)
            )
        )
    )
    events = db.session.execute(
        select(
            PledgeEvent.campaign_id,
            PledgeEvent.household_id,
            PledgeEvent.at,
            PledgeEvent.action,
            PledgeEvent.amount_fen,
        )
        .join(Campaign, Campaign.id == PledgeEvent.campaign_id)
        .where(Campaign.estate_id.in_(ids))
        .order_by(PledgeEvent.at, PledgeEvent.id)
    ).all()
    reports = db.session.execute(
        select(Report.created_at, Report.resolved_at, Report.status).where(
            Report.estate_id.in_(ids), Report.hidden_at.is_(None)
        )
    ).all()
    points = []
    pledged: dict[tuple, int] = {}  # the current pledge of each household, replayed in order
    pledged_total = 0
    position = 0
    for label, end in month_ends(now, months):
        while position < len(events) and events[position].at < end:
            campaign_id, household_id, _at, action, amount = events[position]
            new = amount if action == "pledge" else 0
            pledged_total += new - pledged.get((campaign_id, household_id), 0)
            pledged[(campaign_id, household_id)] = new
            position += 1
        open_reports = sum(
            1
            for created, resolved, status in reports
            if created < end
            and (resolved is None or resolved >= end)
            and not (resolved is None and not status.is_open)
        )
        points.append(
            TrendPoint(
                label,
                rate_permille(bisect.bisect_left(first_votes, end), eligible_owners),
                rate_permille(pledged_total, target),
                open_reports,
            )
        )
    return points


# --- the monthly report (月通报) -------------------------------------------------------------


@dataclass
class MonthActivity:
    ballots: int = 0  # ballot submissions in the month
    pledges: int = 0  # pledges made or changed in the month
    paid_fen: int = 0  # payments recorded in the month
    reports_filed: int = 0
    reports_resolved: int = 0


def parse_month(text: str) -> tuple[datetime, datetime]:
    """ "2026-11" -> (2026-11-01 00:00, 2026-12-01 00:00), China time as naive UTC."""
    from datetime import timedelta

    year, month = (int(part) for part in text.split("-"))
    start = datetime(year, month, 1)
    end = datetime(year + (month == 12), month % 12 + 1, 1)
    return start - timedelta(hours=8), end - timedelta(hours=8)


def month_activity(estates: list[Estate], start: datetime, end: datetime) -> MonthActivity:
    ids = [e.id for e in estates]
    activity = MonthActivity()
    if not ids:
        return activity
    activity.ballots = db.session.scalar(
        select(func.count(BallotRevision.id))
        .join(Survey, Survey.id == BallotRevision.survey_id)
        .where(
            Survey.estate_id.in_(ids),
            BallotRevision.submitted_at >= start,
            BallotRevision.submitted_at < end,
        )
    )
    activity.pledges = db.session.scalar(
        select(func.count(PledgeEvent.id))
        .join(Campaign, Campaign.id == PledgeEvent.campaign_id)
        .where(
            Campaign.estate_id.in_(ids),
            PledgeEvent.action == "pledge",
            PledgeEvent.at >= start,
            PledgeEvent.at < end,
        )
    )
    activity.paid_fen = int(
        db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_fen), 0))
            .join(Campaign, Campaign.id == Payment.campaign_id)
            .where(
                Campaign.estate_id.in_(ids), Payment.created_at >= start, Payment.created_at < end
            )
        )
    )
    activity.reports_filed = db.session.scalar(
        select(func.count(Report.id)).where(
            Report.estate_id.in_(ids), Report.created_at >= start, Report.created_at < end
        )
    )
    activity.reports_resolved = db.session.scalar(
        select(func.count(Report.id)).where(
            Report.estate_id.in_(ids), Report.resolved_at >= start, Report.resolved_at < end
        )
    )
    return activity


def _yuan(fen: int) -> Decimal:
    # Spreadsheet cells hold yuan as exact decimals so offices can sum them.
    return Decimal(fen) / 100


def _permille(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value) / 10


def monthly_workbook(
    rows: list[EstateRow],
    total: Totals,
    activity: MonthActivity,
    month: str,
    district: str | None,
    labels,
) -> bytes:
    """The workbook: a summary sheet and a sheet per topic. `labels(msgid)` translates."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .spreadsheets import safe

    workbook = Workbook()
    summary = workbook.active
    summary.title = labels("Summary")
    summary.append([labels("Monthly progress report"), month])
    # The district comes from the query string (or the command line): text, never a formula.
    summary.append([labels("District"), safe(district) if district else labels("All districts")])
    summary.append([labels("Estates"), total.estates])
    summary.append([labels("Households"), total.households])
    summary.append([labels("Pledge target (yuan)"), _yuan(total.target_fen)])
    summary.append([labels("Pledged (yuan)"), _yuan(total.pledged_fen)])
    summary.append([labels("Received (yuan)"), _yuan(total.paid_fen)])
    summary.append([labels("Pledge rate (%)"), _permille(total.pledge_rate)])
    summary.append([labels("Reports open"), total.reports_open])
    summary.append([labels("Reports overdue"), total.reports_overdue])
    summary.append([labels("This month: ballots cast"), activity.ballots])
    summary.append([labels("This month: pledges"), activity.pledges])
    summary.append([labels("This month: received (yuan)"), _yuan(activity.paid_fen)])
    summary.append([labels("This month: reports filed"), activity.reports_filed])
    summary.append([labels("This month: reports resolved"), activity.reports_resolved])
    summary["A1"].font = Font(bold=True)

    def sheet(title, header, body):
        ws = workbook.create_sheet(labels(title))
        ws.append([labels(h) for h in header])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in body:
            ws.append([safe(v) if isinstance(v, str) else v for v in row])
        ws.freeze_panes = "B2"

    def name(row):
        return row.estate.name

    sheet(
        "Surveys",
        [
            "Estate",
            "Latest formal decision",
            "Owners taking part (%)",
            "Area taking part (%)",
            "Outcome",
        ],
        [
            [
                name(r),
                r.decision.survey.title if r.decision else "",
                _permille(r.heads_rate),
                _permille(r.area_rate),
                labels(OUTCOME_LABELS[r.decision.outcome]) if r.decision else "",
            ]
            for r in rows
        ],
    )
    sheet(
        "Pledges",
        [
            "Estate",
            "Target (yuan)",
            "Pledged (yuan)",
            "Received (yuan)",
            "Pledge rate (%)",
            "Paid rate (%)",
        ],
        [
            [
                name(r),
                _yuan(r.target_fen),
                _yuan(r.pledged_fen),
                _yuan(r.paid_fen),
                _permille(r.pledge_rate),
                _permille(r.paid_rate),
            ]
            for r in rows
        ],
    )
    sheet(
        "Elevators",
        ["Estate"] + [ELEVATOR_LABELS[s] for s in ElevatorStatus],
        [[name(r)] + [r.elevators.get(s, 0) for s in ElevatorStatus] for r in rows],
    )
    sheet(
        "Reports",
        ["Estate", "Open", "Overdue", "Median days to resolve", "Last activity"],
        [
            [
                name(r),
                r.reports_open,
                r.reports_overdue,
                r.median_days_to_resolve,
                r.last_activity.isoformat(timespec="minutes") if r.last_activity else "",
            ]
            for r in rows
        ],
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# msgids, translated where they are shown (N_ marks them for extraction)
def N_(message: str) -> str:
    return message


OUTCOME_LABELS = {
    "open": N_("voting"),
    "no_quorum": N_("quorum not met"),
    "approved": N_("approved"),
    "partly": N_("partly approved"),
    "rejected": N_("not approved"),
}
ELEVATOR_LABELS = {
    ElevatorStatus.COLLECTING_CONSENT: N_("Collecting consent"),
    ElevatorStatus.NOT_AGREED: N_("Consent not reached"),
    ElevatorStatus.CONSENT_REACHED: N_("Consent reached, collecting pledges"),
    ElevatorStatus.FULLY_PLEDGED: N_("Fully pledged"),
    ElevatorStatus.FULLY_PAID: N_("Fully paid"),
}
EXTRA_LABELS = [
    N_("Summary"),
    N_("Monthly progress report"),
    N_("District"),
    N_("All districts"),
    N_("Pledge target (yuan)"),
    N_("Pledged (yuan)"),
    N_("Received (yuan)"),
    N_("Pledge rate (%)"),
    N_("Reports open"),
    N_("Reports overdue"),
    N_("This month: ballots cast"),
    N_("This month: pledges"),
    N_("This month: received (yuan)"),
    N_("This month: reports filed"),
    N_("This month: reports resolved"),
    N_("Surveys"),
    N_("Pledges"),
    N_("Elevators"),
    N_("Reports"),
    N_("Estate"),
    N_("Estates"),
    N_("Households"),
    N_("Latest formal decision"),
    N_("Owners taking part (%)"),
    N_("Area taking part (%)"),
    N_("Outcome"),
    N_("Target (yuan)"),
    N_("Paid rate (%)"),
    N_("Open"),
    N_("Overdue"),
    N_("Median days to resolve"),
    N_("Last activity"),
]
