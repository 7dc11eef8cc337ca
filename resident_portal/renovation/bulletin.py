"""The monthly bulletin's (月通报) renovation figures per district and for the whole city: pure
arithmetic (no Flask, no database) over the facts figures.py reads, so that the overview, the
printable report, the workbook and the API all show the numbers of this one computation.

Projects count towards the targets of their batch year. Rates are exact fractions (None where
there is no target or no money planned); they are rounded only when written out for reading.
"""

from dataclasses import dataclass, field
from fractions import Fraction

from .money import share

STARTED, COMPLETED, ACCEPTED = "started", "completed", "accepted"


@dataclass(frozen=True)
class ProjectFacts:
    district: str
    current_stage: str | None  # None: every stage done
    done: frozenset[str]  # stages completed
    late_days: int  # how far the most overdue planned stage is behind (0: on schedule)
    invested_fen: int
    planned_fen: dict[str, int]  # by funding source
    received_fen: dict[str, int]  # by funding source (residents' from the campaigns)
    # Its closed satisfaction survey's answers, every item together (0, 0 without one).
    satisfied: int = 0  # 满意 + 基本满意
    satisfaction_answers: int = 0


@dataclass(frozen=True)
class Targets:
    to_start: int = 0
    to_finish: int = 0
    to_accept: int = 0
    investment_fen: int = 0


@dataclass
class Summary:
    """One district's figures, or the city's (district None)."""

    district: str | None
    projects: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)  # current stage -> projects
    started: int = 0
    completed: int = 0
    accepted: int = 0
    late: int = 0  # projects behind schedule
    invested_fen: int = 0
    planned_fen: dict[str, int] = field(default_factory=dict)
    received_fen: dict[str, int] = field(default_factory=dict)
    residents_pledged_fen: int = 0
    targets: Targets = field(default_factory=Targets)
    satisfied: int = 0  # answers 满意 or 基本满意, over the closed satisfaction surveys
    satisfaction_answers: int = 0
    surveyed: int = 0  # projects with a closed satisfaction survey

    @property
    def satisfaction_rate(self) -> Fraction | None:  # 满意度
        return share(self.satisfied, self.satisfaction_answers)

    @property
    def start_rate(self) -> Fraction | None:  # 开工率
        return share(self.started, self.targets.to_start)

    @property
    def completion_rate(self) -> Fraction | None:  # 完工率
        return share(self.completed, self.targets.to_finish)

    @property
    def acceptance_rate(self) -> Fraction | None:  # 验收率
        return share(self.accepted, self.targets.to_accept)

    @property
    def investment_rate(self) -> Fraction | None:
        return share(self.invested_fen, self.targets.investment_fen)

    @property
    def planned_total(self) -> int:
        return sum(self.planned_fen.values())

    @property
    def received_total(self) -> int:
        return sum(self.received_fen.values())

    @property
    def received_rate(self) -> Fraction | None:  # 到位率
        return share(self.received_total, self.planned_total)

    def received_rate_of(self, source: str) -> Fraction | None:
        return share(self.received_fen.get(source, 0), self.planned_fen.get(source, 0))

    @property
    def residents_share_pledged(self) -> Fraction | None:  # 居民出资占比 (pledged)
        return share(self.residents_pledged_fen, self.planned_total)

    @property
    def residents_share_received(self) -> Fraction | None:  # 居民出资占比 (received)
        return share(self.received_fen.get("residents", 0), self.received_total)


def satisfaction_rate(satisfied: int, basically_satisfied: int, answers: int) -> Fraction | None:
    """满意度 = (满意 + 基本满意) ÷ answers, exact; None when nobody answered."""
    return share(satisfied + basically_satisfied, answers)


def _add(into: dict[str, int], amounts: dict[str, int]) -> None:
    for key, value in amounts.items():
        into[key] = into.get(key, 0) + value


def summarise(
    projects: list[ProjectFacts],
    residents_pledged: dict[str, int],
    targets: dict[str, Targets],
) -> tuple[list[Summary], Summary]:
    """Per district (sorted by name) and the city. `residents_pledged` is per district (the
    pledges of its estates with a project); targets per district."""
    districts = sorted({p.district for p in projects} | set(targets))
    by_district = {d: Summary(d, targets=targets.get(d, Targets())) for d in districts}
    for project in projects:
        summary = by_district[project.district]
        summary.projects += 1
        stage = project.current_stage or "done"
        summary.by_stage[stage] = summary.by_stage.get(stage, 0) + 1
        summary.started += STARTED in project.done
        summary.completed += COMPLETED in project.done
        summary.accepted += ACCEPTED in project.done
        summary.late += project.late_days > 0
        summary.invested_fen += project.invested_fen
        _add(summary.planned_fen, project.planned_fen)
        _add(summary.received_fen, project.received_fen)
        summary.satisfied += project.satisfied
        summary.satisfaction_answers += project.satisfaction_answers
        summary.surveyed += project.satisfaction_answers > 0
    for district, pledged in residents_pledged.items():
        if district in by_district:
            by_district[district].residents_pledged_fen += pledged
    city = Summary(None)
    city_targets = [0, 0, 0, 0]
    for summary in by_district.values():
        city.projects += summary.projects
        _add(city.by_stage, summary.by_stage)
        city.started += summary.started
        city.completed += summary.completed
        city.accepted += summary.accepted
        city.late += summary.late
        city.invested_fen += summary.invested_fen
        _add(city.planned_fen, summary.planned_fen)
        _add(city.received_fen, summary.received_fen)
        city.residents_pledged_fen += summary.residents_pledged_fen
        city.satisfied += summary.satisfied
        city.satisfaction_answers += summary.satisfaction_answers
        city.surveyed += summary.surveyed
        t = summary.targets
        for i, value in enumerate((t.to_start, t.to_finish, t.to_accept, t.investment_fen)):
            city_targets[i] += value
    city.targets = Targets(*city_targets)
    return [by_district[d] for d in districts], city


def behind_schedule(districts: list[Summary]) -> list[Summary]:
    """Districts with projects behind schedule, the most late projects first, then the lowest
    start rate against the target (a district without a target last), then by name."""

    def key(s: Summary):
        rate = s.start_rate
        return (-s.late, rate if rate is not None else Fraction(10**9), s.district or "")

    return sorted((s for s in districts if s.late), key=key)
