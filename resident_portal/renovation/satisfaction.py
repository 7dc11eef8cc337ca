"""The satisfaction survey (满意度测评) of a finished renovation project, as the renovation
record sees it. The survey itself is the survey feature's (a survey of kind "satisfaction":
roll, ballots, receipts, paper entry, kept tally and the secrecy rule); the ground may not
import it, so the feature registers a `SatisfactionSurveys` here (create_app) and the renovation
calls it through `surveys()`.

The figures are whole numbers of households; the rate is bulletin.satisfaction_rate, the one
computation of every page, file and API.
"""

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Protocol

from .bulletin import satisfaction_rate


@dataclass(frozen=True)
class ItemSatisfaction:
    """One scope item: how many households answered 满意, 基本满意 and 不满意."""

    title: str
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0

    @property
    def answers(self) -> int:
        return self.satisfied + self.basically_satisfied + self.dissatisfied

    @property
    def rate(self) -> Fraction | None:
        return satisfaction_rate(self.satisfied, self.basically_satisfied, self.answers)


@dataclass(frozen=True)
class SatisfactionResult:
    """A project's survey. `items` is empty until the survey closes (the secrecy rule: the
    answers are counted all along but shown only once it is closed)."""

    survey_id: int
    closes_at: datetime  # naive UTC
    closed: bool
    households: int  # on the roll
    answered: int  # households that answered
    items: list[ItemSatisfaction] = field(default_factory=list)

    @property
    def satisfied(self) -> int:
        return sum(i.satisfied + i.basically_satisfied for i in self.items)

    @property
    def answers(self) -> int:
        return sum(i.answers for i in self.items)

    @property
    def rate(self) -> Fraction | None:
        """Over every item's answers together: the project's figure in the bulletin."""
        return satisfaction_rate(
            sum(i.satisfied for i in self.items),
            sum(i.basically_satisfied for i in self.items),
            self.answers,
        )


class SatisfactionSurveys(Protocol):
    def open(self, project, item_titles: list[str], closes_at: datetime, staff_user) -> int:
        """Add an open satisfaction survey of the project's estate to the current transaction
        (no commit) with one item per title; return its id."""

    def results(self, survey_ids: list[int]) -> dict[int, SatisfactionResult]:
        """The results of these surveys, the secrecy rule applied."""


_REGISTERED: list[SatisfactionSurveys] = []


def register(source: SatisfactionSurveys) -> None:
    _REGISTERED[:] = [source]


def surveys() -> SatisfactionSurveys | None:
    """The registered survey feature; None when the application runs without it."""
    return _REGISTERED[0] if _REGISTERED else None


def results_of(survey_ids: list[int]) -> dict[int, SatisfactionResult]:
    source = surveys()
    ids = [i for i in survey_ids if i is not None]
    return source.results(ids) if source and ids else {}
