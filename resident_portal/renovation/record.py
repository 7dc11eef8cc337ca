"""What a project's pages, its notice board and the API show: read once, here.

The residents' line of the budget is not typed: what households pledged and paid comes from the
estate's pledge campaigns, read through the figures registry (resident_portal/figures.py), so
that this package neither imports the campaigns nor repeats their arithmetic.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from ..extensions import db
from ..figures import PROVIDERS
from ..models import Estate, utcnow
from ..reports.models import Category, Report, Status
from . import money
from .models import FundingSource, Project, ProjectStage, Stage
from .operations import today_in_china

SAFETY_CATEGORIES = (Category.FIRE_SAFETY, Category.SITE_SAFETY)

# The survey feature registers what residents approved (create_app), offered as scope items:
# this package does not import it.
APPROVED_ITEM_SOURCES: list[Callable[[Estate], list[tuple[int, str]]]] = []


def approved_items(estate: Estate) -> list[tuple[int, str]]:
    """(survey item id, title) of the items the estate's residents approved."""
    return [item for source in APPROVED_ITEM_SOURCES for item in source(estate)]


def campaign_money(estate_ids: list[int], end=None) -> dict[int, tuple[int, int]]:
    """Per estate: (pledged, received) fen of its campaigns; zeros without the campaigns.
    With `end` (naive UTC), as recorded before that moment (the bulletin of a month)."""
    provider = PROVIDERS.get("contributions")
    if provider is None:
        return {estate_id: (0, 0) for estate_id in estate_ids}
    if end is not None:
        return provider.money_at(estate_ids, end)
    figures = provider.estate_figures(estate_ids, utcnow())
    return {
        estate_id: (
            int(getattr(figures[estate_id], "pledged_fen", 0) or 0),
            int(getattr(figures[estate_id], "paid_fen", 0) or 0),
        )
        for estate_id in estate_ids
    }


@dataclass(frozen=True)
class StageLine:
    stage: Stage
    planned_on: date | None
    actual_on: date | None
    current: bool
    late: bool  # planned date passed and not completed
    late_days: int


@dataclass(frozen=True)
class FundingLine:
    source: FundingSource
    planned_fen: int
    received_fen: int
    pledged_fen: int | None  # residents only
    note: str

    @property
    def received_rate(self) -> str:
        return money.percent_text(money.share(self.received_fen, self.planned_fen))


def stage_lines(project: Project, today: date | None = None) -> list[StageLine]:
    today = today or today_in_china()
    current = project.current_stage
    return [
        StageLine(
            stage=row.stage,
            planned_on=row.planned_on,
            actual_on=row.actual_on,
            current=row.stage == current,
            late=row.actual_on is None and row.planned_on is not None and row.planned_on < today,
            late_days=(today - row.planned_on).days
            if row.actual_on is None and row.planned_on is not None and row.planned_on < today
            else 0,
        )
        for row in project.stages
    ]


def funding_lines(project: Project, residents: tuple[int, int] | None = None):
    """Every source that has a plan or money, in the sources' order, the residents' line with
    the campaigns' pledged and received amounts."""
    pledged, received = residents or campaign_money([project.estate_id])[project.estate_id]
    lines = []
    for source in FundingSource:
        line = project.funding_line(source)
        planned = line.planned_fen if line else 0
        if source is FundingSource.RESIDENTS:
            if planned or pledged or received:
                lines.append(
                    FundingLine(source, planned, received, pledged, line.note if line else "")
                )
        elif line is not None and (line.planned_fen or line.received_fen):
            lines.append(FundingLine(source, line.planned_fen, line.received_fen, None, line.note))
    return lines


def budget(lines: list[FundingLine]) -> money.Budget:
    return money.Budget(
        tuple(
            money.Line(line.source.value, line.planned_fen, line.received_fen, line.pledged_fen)
            for line in lines
        )
    )


@dataclass(frozen=True)
class ReportSummary:
    open: int
    open_safety: int
    resolved: int


def report_summary(estate: Estate) -> ReportSummary:
    """The estate's quality reports (hidden ones left out): counts only, no report's text."""
    counts = {"open": 0, "open_safety": 0, "resolved": 0}
    for category, status, number in db.session.execute(
        select(Report.category, Report.status, func.count(Report.id))
        .where(Report.estate_id == estate.id, Report.hidden_at.is_(None))
        .group_by(Report.category, Report.status)
    ):
        if status in (Status.RESOLVED, Status.CONFIRMED):
            counts["resolved"] += number
        else:
            counts["open"] += number
            if category in SAFETY_CATEGORIES:
                counts["open_safety"] += number
    return ReportSummary(**counts)


def projects_of(estate: Estate) -> list[Project]:
    """Newest batch first."""
    return list(
        db.session.scalars(
            select(Project)
            .where(Project.estate_id == estate.id)
            .order_by(Project.batch_year.desc(), Project.id.desc())
        )
    )


def stage_of(project_ids: list[int]) -> dict[int, Stage | None]:
    """Per project, its current stage (None: all done), in one query."""
    done: dict[int, list[Stage]] = {pid: [] for pid in project_ids}
    for project_id, stage in db.session.execute(
        select(ProjectStage.project_id, ProjectStage.stage).where(
            ProjectStage.project_id.in_(project_ids), ProjectStage.actual_on.is_not(None)
        )
    ):
        done[project_id].append(stage)
    result = {}
    for project_id, stages in done.items():
        result[project_id] = next((s for s in Stage if s not in stages), None)
    return result
