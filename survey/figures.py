"""The survey feature's figures for the planner's overview and the monthly report
(resident_portal/figures.py): per estate its latest formal decision with participation and,
once closed, the outcome; the participation trend; the month's ballots."""

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from resident_portal.common import format_percent, percent, percent_points
from resident_portal.extensions import db
from resident_portal.figures import Filter, Provider, Sheet, Trend, rate_permille
from resident_portal.registry import N_

from . import tally
from .models import BallotRevision, RollCorrection, RollEntry, Survey, SurveyKind, SurveyStatus
from .results import scope_results

# Surveys another feature shows itself, left out of the estates' latest decisions: each entry
# makes a subquery of survey ids (contributions adds its elevator consent votes: they are one
# unit's, and the overview shows them under elevators by status).
SHOWN_ELSEWHERE: list[Callable[[], Select]] = []

OUTCOME_LABELS = {
    "open": N_("voting"),
    "no_quorum": N_("quorum not met"),
    "approved": N_("approved"),
    "partly": N_("partly approved"),
    "rejected": N_("not approved"),
}


@dataclass
class Decision:
    survey: Survey
    result: tally.Tally

    @property
    def outcome(self) -> str:
        """open | no_quorum | approved | rejected | partly (some items approved). While the
        vote is open it is only "open": choice figures are secret until closing
        (docs/domain.md §5)."""
        if self.survey.status() is not SurveyStatus.CLOSED:
            return "open"
        if not self.result.quorum_met:
            return "no_quorum"
        approved = sum(1 for item in self.result.items if item.approved)
        if approved == len(self.result.items):
            return "approved"
        return "partly" if approved else "rejected"

    @property
    def outcome_label(self) -> str:  # msgid
        return OUTCOME_LABELS[self.outcome]


@dataclass
class SurveyFigures:
    decision: Decision | None = None

    @property
    def heads_rate(self) -> int | None:  # ‰ of the owners on the roll who took part
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

    # As shown: the one rounding of every page and file (resident_portal.common).
    @property
    def heads_percent(self):
        r = self.decision.result if self.decision else None
        return percent(r.participated.heads, r.eligible.heads) if r else None

    @property
    def area_percent(self):
        r = self.decision.result if self.decision else None
        return percent(r.participated.area, r.eligible.area) if r else None

    @property
    def heads_share(self) -> str:
        r = self.decision.result if self.decision else None
        return format_percent(r.participated.heads, r.eligible.heads) if r else ""

    @property
    def area_share(self) -> str:
        r = self.decision.result if self.decision else None
        return format_percent(r.participated.area, r.eligible.area) if r else ""


@dataclass
class SurveyActivity:
    ballots: int = 0  # ballot submissions in the month


def _decisions(estate_ids: list[int], now: datetime, *columns) -> Select:
    """The estate-wide formal decisions of these estates that have opened (other features'
    left out). A building's or a unit's vote says nothing about the estate's participation."""
    query = (
        select(*columns)
        .where(
            Survey.estate_id.in_(estate_ids),
            Survey.kind == SurveyKind.DECISION,
            Survey.building_id.is_(None),
            Survey.opens_at <= now,
            Survey.cancelled_at.is_(None),  # a cancelled vote decided nothing
        )
        .order_by(Survey.id)
    )
    for shown_elsewhere in SHOWN_ELSEWHERE:
        query = query.where(Survey.id.not_in(shown_elsewhere()))
    return query


def _latest(surveys) -> dict:
    """Per estate, the decision closing last among those opened."""
    latest: dict = {}
    for survey in surveys:
        known = latest.get(survey.estate_id)
        if known is None or survey.closes_at > known.closes_at:
            latest[survey.estate_id] = survey
    return latest


def latest_decisions(estate_ids: list[int], now: datetime) -> dict[int, Survey]:
    # Without their items: scope_results reads the item ids it needs as plain rows.
    return _latest(db.session.scalars(_decisions(estate_ids, now, Survey)))


def owners_on_roll(survey_ids: list[int]):
    """A CTE (survey_id, owner_ref): each owner on each survey's roll (survey/roll.py). Surveys
    whose roll is not taken yet have no ballots, so they add nothing to what this is joined to."""
    return (
        select(RollEntry.survey_id.label("survey_id"), RollEntry.owner_ref.label("owner_ref"))
        .where(RollEntry.survey_id.in_(survey_ids))
        .group_by(RollEntry.survey_id, RollEntry.owner_ref)
        .cte("owners")
    )


class SurveyProvider(Provider):
    name = "survey"
    position = 10
    template = "survey/_figures.html"
    columns = 2
    trends = (Trend("participation", N_("Owners who voted in the latest decisions"), "%", 100),)
    sort_keys = {"participation": lambda f: f.heads_rate if f.heads_rate is not None else -1}
    filters = (
        Filter("no_decision", N_("No formal decision yet"), lambda f: f.decision is None, 20),
        Filter(
            "decided",
            N_("Decision approved"),
            lambda f: f.decision is not None and f.decision.outcome in ("approved", "partly"),
            30,
        ),
    )

    def data_version(self, estate_ids, now):
        """The latest decisions and what their counts depend on: ballot submissions (a new or
        changed ballot always adds a revision), roll corrections and the roll's taking. The
        register does not matter: a survey counts its roll."""
        latest = _latest(
            db.session.execute(
                _decisions(
                    estate_ids,
                    now,
                    Survey.id,
                    Survey.estate_id,
                    Survey.closes_at,
                    Survey.roll_frozen_at,
                )
            )
        )
        ids = [survey.id for survey in latest.values()]
        if not ids:
            return ()
        revisions = {
            survey_id: (count, last)
            for survey_id, count, last in db.session.execute(
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
        return tuple(
            (s.id, s.closes_at, s.roll_frozen_at, revisions.get(s.id), corrections.get(s.id))
            for s in sorted(latest.values(), key=lambda s: s.id)
        )

    def estate_figures(self, estate_ids, now):
        figures = {estate_id: SurveyFigures() for estate_id in estate_ids}
        decisions = latest_decisions(estate_ids, now)
        results = scope_results(list(decisions.values()))  # the kept counts, one query
        for estate_id, survey in decisions.items():
            figures[estate_id].decision = Decision(survey, results[survey.id])
        return figures

    def last_activity(self, estate_ids):
        return dict(
            db.session.execute(
                select(Survey.estate_id, func.max(BallotRevision.submitted_at))
                .join(BallotRevision, BallotRevision.survey_id == Survey.id)
                .where(Survey.estate_id.in_(estate_ids))
                .group_by(Survey.estate_id)
            ).all()
        )

    def trend_series(self, estate_ids, ends, now):
        """The share of the owners on the latest decisions' rolls who had voted by each month
        end (percent_points: 1/100 %), replayed from each owner's first ballot."""
        surveys = list(latest_decisions(estate_ids, now).values())
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
        return {
            "participation": [
                percent_points(bisect.bisect_left(first_votes, end), eligible_owners)
                for _label, end in ends
            ]
        }

    def month_activity(self, estate_ids, start, end):
        """Ballots submitted in the month, other features' votes left out (an elevator's
        consent ballots are counted under elevators)."""
        query = (
            select(func.count(BallotRevision.id))
            .join(Survey, Survey.id == BallotRevision.survey_id)
            .where(
                Survey.estate_id.in_(estate_ids),
                BallotRevision.submitted_at >= start,
                BallotRevision.submitted_at < end,
            )
        )
        for shown_elsewhere in SHOWN_ELSEWHERE:
            query = query.where(Survey.id.not_in(shown_elsewhere()))
        return SurveyActivity(ballots=db.session.scalar(query))

    def summary_cells(self, totals, activity, part):
        if part == "month" and activity is not None:
            return [(N_("This month: ballots cast"), str(activity.ballots))]
        return []

    def summary_rows(self, totals, activity, part):
        if part == "month" and activity is not None:
            return [(N_("This month: ballots cast"), activity.ballots)]
        return []

    def sheets(self, rows, labels):
        lines = []
        for row in rows:
            f = row.figures[self.name]
            lines.append(
                [
                    row.estate.name,
                    f.decision.survey.title if f.decision else "",
                    f.heads_percent,
                    f.area_percent,
                    labels(f.decision.outcome_label) if f.decision else "",
                ]
            )
        header = [
            N_("Estate"),
            N_("Latest formal decision"),
            N_("Owners taking part (%)"),
            N_("Area taking part (%)"),
            N_("Outcome"),
        ]
        return [Sheet(N_("Surveys"), header, lines, ["text", "text", "percent", "percent", "text"])]


PROVIDER = SurveyProvider()
