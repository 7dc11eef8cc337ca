"""The renovation's figures for the planner's overview and the monthly bulletin (月通报), through
the providers registry (resident_portal/figures.py): per estate its projects of the year's
batch; per district and for the city the stages against the year's targets (开工率, 完工率,
验收率), investment, funds received by source against planned (到位率), the residents' share,
and the districts behind schedule, ranked. The arithmetic is bulletin.py's."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..common import format_fen, in_china
from ..extensions import db
from ..figures import Provider, Sheet, yuan
from ..models import Estate
from ..registry import N_
from . import bulletin, money, satisfaction
from .models import (
    FUNDING_LABELS,
    STAGE_LABELS,
    DistrictTarget,
    Funding,
    FundingSource,
    InvestmentRecord,
    Project,
    ProjectStage,
    ReceivedRecord,
    Stage,
)
from .record import campaign_money

NO_DISTRICT = "—"


@dataclass
class EstateRenovation:
    district: str
    year: int
    as_of: date  # the day the figures stand at (China time)
    projects: list[bulletin.ProjectFacts] = field(default_factory=list)
    residents_pledged_fen: int = 0

    @property
    def renovation_projects(self) -> int:
        return len(self.projects)

    @property
    def renovation_stage(self) -> str | None:
        """The least advanced current stage of the estate's projects (for its cell)."""
        stages = [p.current_stage for p in self.projects]
        if not stages:
            return None
        order = [s.value for s in Stage] + [None]
        return min(stages, key=order.index)

    @property
    def renovation_late(self) -> int:
        return sum(1 for p in self.projects if p.late_days > 0)


@dataclass
class RenovationTotals:
    year: int
    districts: list[bulletin.Summary]
    city: bulletin.Summary
    behind: list[bulletin.Summary]
    as_of: date | None = None  # the day the figures stand at


@dataclass
class RenovationActivity:
    started: int = 0
    completed: int = 0
    accepted: int = 0


def year_of(now) -> int:
    return in_china(now).year


def day_before(end: datetime) -> date:
    """The China calendar day of the last moment before `end` (naive UTC): the month's last
    day for the first moment of the next month, today for now."""
    return in_china(end - timedelta(microseconds=1)).date()


def _latest(rows) -> dict:
    """Dated records (key, recorded_at, amount) in the order they were recorded: per key the
    amount recorded last."""
    return {key: int(amount) for key, _recorded_at, amount in rows}


def facts(estate_ids: list[int], year: int, end: datetime) -> dict[int, EstateRenovation]:
    """The year's projects of these estates as they stood just before `end` (naive UTC: now
    for the overview, the first moment after the month for its bulletin), in a fixed number of
    queries whatever their number:

    - a stage counts as completed if its actual date is on or before the day of `end`; a
      project is behind schedule if a planned date before that day had not been met by then;
    - funds received and the investment completed are the amounts recorded before `end`
      (their dated records), the residents' money the campaigns' pledges and payments recorded
      before `end`;
    - satisfaction only from surveys closed by `end`.
    """
    today = day_before(end)
    estates = dict(
        db.session.execute(
            select(Estate.id, Estate.district).where(Estate.id.in_(estate_ids))
        ).all()
    )
    result = {
        estate_id: EstateRenovation(estates.get(estate_id) or NO_DISTRICT, year, today)
        for estate_id in estate_ids
    }
    projects = db.session.execute(
        select(Project.id, Project.estate_id, Project.satisfaction_survey_id)
        .where(Project.estate_id.in_(estate_ids), Project.batch_year == year)
        .order_by(Project.id)
    ).all()
    ids = [p.id for p in projects]
    stages: dict[int, list] = {pid: [] for pid in ids}
    for row in db.session.execute(
        select(
            ProjectStage.project_id,
            ProjectStage.stage,
            ProjectStage.planned_on,
            ProjectStage.actual_on,
        )
        .where(ProjectStage.project_id.in_(ids))
        .order_by(ProjectStage.project_id, ProjectStage.position)
    ):
        stages[row.project_id].append(row)
    planned: dict[int, dict[str, int]] = {pid: {} for pid in ids}
    for project_id, source, planned_fen in db.session.execute(
        select(Funding.project_id, Funding.source, Funding.planned_fen).where(
            Funding.project_id.in_(ids)
        )
    ):
        planned[project_id][source.value] = int(planned_fen)
    received: dict[int, dict[str, int]] = {pid: {} for pid in ids}
    dated = db.session.execute(
        select(
            ReceivedRecord.project_id,
            ReceivedRecord.source,
            ReceivedRecord.recorded_at,
            ReceivedRecord.received_fen,
        )
        .where(ReceivedRecord.project_id.in_(ids), ReceivedRecord.recorded_at < end)
        .order_by(ReceivedRecord.recorded_at, ReceivedRecord.id)
    )
    latest = _latest(((r.project_id, r.source.value), r.recorded_at, r.received_fen) for r in dated)
    for (project_id, source), fen in latest.items():
        if fen:
            received[project_id][source] = fen
    invested = _latest(
        db.session.execute(
            select(
                InvestmentRecord.project_id,
                InvestmentRecord.recorded_at,
                InvestmentRecord.invested_fen,
            )
            .where(InvestmentRecord.project_id.in_(ids), InvestmentRecord.recorded_at < end)
            .order_by(InvestmentRecord.recorded_at, InvestmentRecord.id)
        )
    )
    with_project = sorted({p.estate_id for p in projects})
    residents = campaign_money(with_project, end) if with_project else {}
    # Closed satisfaction surveys only: an open one's answers are not shown (secrecy rule).
    surveyed = satisfaction.results_of([p.satisfaction_survey_id for p in projects])
    counted: set[int] = set()
    for project in projects:
        found = surveyed.get(project.satisfaction_survey_id)
        closed = found is not None and found.closed and found.closes_at <= end
        happy, answers = (found.satisfied, found.answers) if closed else (0, 0)
        rows = stages[project.id]

        def done_by(row) -> bool:
            return row.actual_on is not None and row.actual_on <= today

        done = frozenset(r.stage.value for r in rows if done_by(r))
        current = next((r.stage.value for r in rows if not done_by(r)), None)
        late = max(
            [
                (today - r.planned_on).days
                for r in rows
                if not done_by(r) and r.planned_on is not None and r.planned_on < today
            ],
            default=0,
        )
        got = dict(received[project.id])
        if project.estate_id not in counted:
            # The campaigns are the estate's: their money counts once, on its first project.
            counted.add(project.estate_id)
            pledged, paid = residents[project.estate_id]
            got[FundingSource.RESIDENTS.value] = paid
            result[project.estate_id].residents_pledged_fen = pledged
        result[project.estate_id].projects.append(
            bulletin.ProjectFacts(
                district=result[project.estate_id].district,
                current_stage=current,
                done=done,
                late_days=late,
                invested_fen=invested.get(project.id, 0),
                planned_fen=planned[project.id],
                received_fen=got,
                satisfied=happy,
                satisfaction_answers=answers,
            )
        )
    return result


def targets_of(year: int) -> dict[str, bulletin.Targets]:
    return {
        t.district: bulletin.Targets(t.to_start, t.to_finish, t.to_accept, int(t.investment_fen))
        for t in db.session.scalars(select(DistrictTarget).where(DistrictTarget.year == year))
    }


def summarise(figures: list[EstateRenovation], year: int | None = None) -> RenovationTotals:
    year = figures[0].year if figures else year
    projects = [p for f in figures for p in f.projects]
    pledged: dict[str, int] = {}
    for f in figures:
        pledged[f.district] = pledged.get(f.district, 0) + f.residents_pledged_fen
    present = {f.district for f in figures}
    # Targets of districts whose estates are shown (a district's page shows its own only).
    targets = {d: t for d, t in targets_of(year).items() if d in present} if year else {}
    districts, city = bulletin.summarise(projects, pledged, targets)
    as_of = figures[0].as_of if figures else None
    return RenovationTotals(year, districts, city, bulletin.behind_schedule(districts), as_of)


def format_date(day: date | None) -> str:
    return day.isoformat() if day else "—"


def _pct(value) -> str:
    return money.percent_text(value)


def _against(done: int, target: int, rate) -> str:
    return f"{done} / {target} ({_pct(rate)})" if target else f"{done} / —"


def source_label(source: str) -> str:
    return str(FUNDING_LABELS[FundingSource(source)])


def stage_label(stage: str | None) -> str:
    if stage is None or stage == "done":
        return _("All stages are completed.")
    return str(STAGE_LABELS[Stage(stage)])


class RenovationProvider(Provider):
    name = "renovation"
    position = 40
    template = "renovation/_figures.html"
    columns = 3
    sort_keys = {
        "renovation_late": lambda f: f.renovation_late,
        "renovation_projects": lambda f: f.renovation_projects,
    }

    def data_version(self, estate_ids, now):
        # The survey feature's table, by name: the ground does not import the feature.
        SURVEY = db.metadata.tables["survey"]  # noqa: N806
        return tuple(
            db.session.execute(
                select(
                    select(func.count(Project.id))
                    .where(Project.estate_id.in_(estate_ids))
                    .scalar_subquery(),
                    select(func.max(Project.updated_at))
                    .where(Project.estate_id.in_(estate_ids))
                    .scalar_subquery(),
                    # A satisfaction survey's figures appear when it closes, with no write.
                    select(func.count(Project.id))
                    .join(SURVEY, SURVEY.c.id == Project.satisfaction_survey_id)
                    .where(Project.estate_id.in_(estate_ids), SURVEY.c.closes_at <= now)
                    .scalar_subquery(),
                )
            ).one()
        )

    def estate_figures(self, estate_ids, now):
        return facts(estate_ids, year_of(now), now)

    def month_figures(self, estate_ids, now, end):
        # The bulletin of a month: as the record stood at its end, against its year's targets.
        end = min(end, now)
        return facts(estate_ids, day_before(end).year, end)

    def totals(self, figures):
        return summarise(figures)

    def last_activity(self, estate_ids):
        return dict(
            db.session.execute(
                select(Project.estate_id, func.max(Project.updated_at))
                .where(Project.estate_id.in_(estate_ids))
                .group_by(Project.estate_id)
            ).all()
        )

    def month_activity(self, estate_ids, start, end):
        """Stages started, finished and accepted within the month (their China dates)."""
        first = (start + timedelta(hours=8)).date()
        last = (end + timedelta(hours=8)).date()
        counts = dict(
            db.session.execute(
                select(ProjectStage.stage, func.count(ProjectStage.id))
                .join(Project, Project.id == ProjectStage.project_id)
                .where(
                    Project.estate_id.in_(estate_ids),
                    ProjectStage.stage.in_([Stage.STARTED, Stage.COMPLETED, Stage.ACCEPTED]),
                    ProjectStage.actual_on >= first,
                    ProjectStage.actual_on < last,
                )
                .group_by(ProjectStage.stage)
            ).all()
        )
        return RenovationActivity(
            counts.get(Stage.STARTED, 0),
            counts.get(Stage.COMPLETED, 0),
            counts.get(Stage.ACCEPTED, 0),
        )

    def summary_cells(self, totals, activity, part):
        if part == "month":
            return [
                (N_("This month: projects started"), str(activity.started)),
                (N_("This month: projects finished"), str(activity.completed)),
                (N_("This month: projects accepted"), str(activity.accepted)),
            ]
        c = totals.city
        t = c.targets
        return [
            (N_("Renovation figures as of"), format_date(totals.as_of)),
            (N_("Renovation projects of the year"), str(c.projects)),
            (N_("Started against target"), _against(c.started, t.to_start, c.start_rate)),
            (N_("Finished against target"), _against(c.completed, t.to_finish, c.completion_rate)),
            (N_("Accepted against target"), _against(c.accepted, t.to_accept, c.acceptance_rate)),
            (
                N_("Investment completed (yuan)"),
                f"¥{format_fen(c.invested_fen)}"
                + (f" ({_pct(c.investment_rate)})" if t.investment_fen else ""),
            ),
            (
                N_("Funds received against planned"),
                f"¥{format_fen(c.received_total)} / ¥{format_fen(c.planned_total)} "
                f"({_pct(c.received_rate)})",
            ),
            (
                N_("Residents' share of funding, pledged and received"),
                f"{_pct(c.residents_share_pledged)} · {_pct(c.residents_share_received)}",
            ),
            (N_("Satisfaction rate"), _pct(c.satisfaction_rate)),
            (
                N_("Districts behind schedule"),
                ", ".join(f"{s.district} ({s.late})" for s in totals.behind) or "—",
            ),
        ]

    def summary_rows(self, totals, activity, part):
        if part == "month":
            return [
                (N_("This month: projects started"), activity.started),
                (N_("This month: projects finished"), activity.completed),
                (N_("This month: projects accepted"), activity.accepted),
            ]
        c = totals.city
        pct = money.percent_decimal
        return [
            (N_("Renovation figures as of"), format_date(totals.as_of)),
            (N_("Renovation projects of the year"), c.projects),
            (N_("Projects started"), c.started),
            (N_("Start rate (%)"), pct(c.start_rate)),
            (N_("Projects finished"), c.completed),
            (N_("Completion rate (%)"), pct(c.completion_rate)),
            (N_("Projects accepted"), c.accepted),
            (N_("Acceptance rate (%)"), pct(c.acceptance_rate)),
            (N_("Investment completed (yuan)"), yuan(c.invested_fen)),
            (N_("Funds planned (yuan)"), yuan(c.planned_total)),
            (N_("Funds received (yuan)"), yuan(c.received_total)),
            (N_("Funds received rate (%)"), pct(c.received_rate)),
            (N_("Residents' share pledged (%)"), pct(c.residents_share_pledged)),
            (N_("Residents' share received (%)"), pct(c.residents_share_received)),
            (N_("Satisfaction rate (%)"), pct(c.satisfaction_rate)),
        ]

    def sheets(self, rows, labels):
        totals = summarise([row.figures[self.name] for row in rows])
        pct = money.percent_decimal
        header = [
            N_("District"),
            N_("Projects"),
            N_("Projects started"),
            N_("Target"),
            N_("Start rate (%)"),
            N_("Projects finished"),
            N_("Target"),
            N_("Completion rate (%)"),
            N_("Projects accepted"),
            N_("Target"),
            N_("Acceptance rate (%)"),
            N_("Behind schedule"),
            N_("Investment completed (yuan)"),
            N_("Investment target (yuan)"),
            N_("Funds planned (yuan)"),
            N_("Funds received (yuan)"),
            N_("Funds received rate (%)"),
            N_("Residents pledged (yuan)"),
            N_("Residents' share pledged (%)"),
            N_("Residents' share received (%)"),
            N_("Projects with a closed satisfaction survey"),
            N_("Satisfaction rate (%)"),
        ]

        def line(s: bulletin.Summary) -> list:
            t = s.targets
            return [
                s.district or labels("All districts"),
                s.projects,
                s.started,
                t.to_start,
                pct(s.start_rate),
                s.completed,
                t.to_finish,
                pct(s.completion_rate),
                s.accepted,
                t.to_accept,
                pct(s.acceptance_rate),
                s.late,
                yuan(s.invested_fen),
                yuan(t.investment_fen),
                yuan(s.planned_total),
                yuan(s.received_total),
                pct(s.received_rate),
                yuan(s.residents_pledged_fen),
                pct(s.residents_share_pledged),
                pct(s.residents_share_received),
                s.surveyed,
                pct(s.satisfaction_rate),
            ]

        by_district = Sheet(
            N_("Renovation by district"),
            header,
            [line(s) for s in totals.districts] + [line(totals.city)],
        )
        funds = Sheet(
            N_("Renovation funds by source"),
            [
                N_("District"),
                N_("Source"),
                N_("Funds planned (yuan)"),
                N_("Funds received (yuan)"),
                N_("Funds received rate (%)"),
            ],
            [
                [
                    s.district or labels("All districts"),
                    source_label(source.value),
                    yuan(s.planned_fen.get(source.value, 0)),
                    yuan(s.received_fen.get(source.value, 0)),
                    pct(s.received_rate_of(source.value)),
                ]
                for s in [*totals.districts, totals.city]
                for source in FundingSource
                if s.planned_fen.get(source.value) or s.received_fen.get(source.value)
            ],
        )
        behind = Sheet(
            N_("Districts behind schedule"),
            [N_("Rank"), N_("District"), N_("Behind schedule"), N_("Start rate (%)")],
            [
                [rank, s.district, s.late, pct(s.start_rate)]
                for rank, s in enumerate(totals.behind, start=1)
            ],
        )
        return [by_district, funds, behind]


PROVIDER = RenovationProvider()
