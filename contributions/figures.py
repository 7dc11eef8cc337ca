"""The contributions feature's figures for the planner's overview and the monthly report
(resident_portal/figures.py): per estate pledge targets, pledges, payments and elevator
projects by status; the pledge-rate trend; the month's pledges and payments."""

from dataclasses import dataclass, field

from sqlalchemy import func, select

from resident_portal.common import format_fen, format_percent, percent, percent_points
from resident_portal.extensions import db
from resident_portal.figures import Filter, Provider, Sheet, Trend, rate_permille, yuan
from resident_portal.registry import N_
from survey import figures as survey_figures
from survey.models import BallotRevision

from .models import Campaign, ElevatorProject, Payment, Pledge, PledgeEvent
from .tracker import ElevatorStatus, elevator_status
from .tracker import progress as campaign_progress

ELEVATOR_LABELS = {
    ElevatorStatus.COLLECTING_CONSENT: N_("Collecting consent"),
    ElevatorStatus.NOT_AGREED: N_("Consent not reached"),
    ElevatorStatus.CONSENT_REACHED: N_("Consent reached, collecting pledges"),
    ElevatorStatus.FULLY_PLEDGED: N_("Fully pledged"),
    ElevatorStatus.FULLY_PAID: N_("Fully paid"),
}


def _elevator_consent_votes():
    return select(ElevatorProject.survey_id)


# An elevator's consent vote is one unit's: the overview shows it under elevators by status,
# not as the estate's latest decision.
if _elevator_consent_votes not in survey_figures.SHOWN_ELSEWHERE:
    survey_figures.SHOWN_ELSEWHERE.append(_elevator_consent_votes)


@dataclass
class ContributionFigures:
    """One estate's, or the totals of several."""

    target_fen: int = 0
    pledged_fen: int = 0
    paid_fen: int = 0
    elevators: dict = field(default_factory=dict)  # ElevatorStatus -> count

    @property
    def pledge_rate(self) -> int:  # ‰ of target
        return rate_permille(self.pledged_fen, self.target_fen)

    @property
    def paid_rate(self) -> int:
        return rate_permille(self.paid_fen, self.target_fen)

    # As shown: the one rounding of every page and file (resident_portal.common).
    @property
    def pledge_share(self) -> str:
        return format_percent(self.pledged_fen, self.target_fen)

    @property
    def paid_share(self) -> str:
        return format_percent(self.paid_fen, self.target_fen)


@dataclass
class ContributionActivity:
    pledges: int = 0  # pledges made or changed in the month
    paid_fen: int = 0  # payments recorded in the month
    consent_ballots: int = 0  # ballots in elevator consent votes in the month


def _campaigns_of(estate_ids):
    return select(Campaign.id).where(Campaign.estate_id.in_(estate_ids))


class ContributionsProvider(Provider):
    name = "contributions"
    position = 20
    template = "contributions/_figures.html"
    columns = 5
    trends = (Trend("pledge_rate", N_("Pledged, share of targets"), "%", 100),)
    sort_keys = {"pledge_rate": lambda f: f.pledge_rate, "paid_rate": lambda f: f.paid_rate}
    filters = (Filter("elevators", N_("With elevator projects"), lambda f: bool(f.elevators), 40),)

    def data_version(self, estate_ids, now):
        """Campaigns (and their targets), pledge events, payments, elevator projects and the
        ballots of their consent votes, each as a count and latest id: one query."""
        campaigns = _campaigns_of(estate_ids)
        consent_votes = select(ElevatorProject.survey_id).where(
            ElevatorProject.campaign_id.in_(campaigns)
        )

        def aggregate(*columns, where):
            return select(*columns).where(where).scalar_subquery()

        return tuple(
            db.session.execute(
                select(
                    aggregate(func.count(Campaign.id), where=Campaign.estate_id.in_(estate_ids)),
                    aggregate(func.max(Campaign.id), where=Campaign.estate_id.in_(estate_ids)),
                    aggregate(
                        func.sum(Campaign.target_fen), where=Campaign.estate_id.in_(estate_ids)
                    ),
                    aggregate(
                        func.count(PledgeEvent.id), where=PledgeEvent.campaign_id.in_(campaigns)
                    ),
                    aggregate(
                        func.max(PledgeEvent.id), where=PledgeEvent.campaign_id.in_(campaigns)
                    ),
                    aggregate(func.count(Payment.id), where=Payment.campaign_id.in_(campaigns)),
                    aggregate(func.max(Payment.id), where=Payment.campaign_id.in_(campaigns)),
                    aggregate(
                        func.max(ElevatorProject.id),
                        where=ElevatorProject.campaign_id.in_(campaigns),
                    ),
                    aggregate(
                        func.max(BallotRevision.id),
                        where=BallotRevision.survey_id.in_(consent_votes),
                    ),
                )
            ).one()
        )

    def estate_figures(self, estate_ids, now):
        figures = {estate_id: ContributionFigures() for estate_id in estate_ids}
        for estate_id, target in db.session.execute(
            select(Campaign.estate_id, func.sum(Campaign.target_fen))
            .where(Campaign.estate_id.in_(estate_ids))
            .group_by(Campaign.estate_id)
        ):
            figures[estate_id].target_fen = int(target or 0)
        for estate_id, pledged in db.session.execute(
            select(Campaign.estate_id, func.sum(Pledge.amount_fen))
            .join(Pledge, Pledge.campaign_id == Campaign.id)
            .where(Campaign.estate_id.in_(estate_ids), Pledge.withdrawn_at.is_(None))
            .group_by(Campaign.estate_id)
        ):
            figures[estate_id].pledged_fen = int(pledged or 0)
        for estate_id, paid in db.session.execute(
            select(Campaign.estate_id, func.sum(Payment.amount_fen))
            .join(Payment, Payment.campaign_id == Campaign.id)
            .where(Campaign.estate_id.in_(estate_ids))
            .group_by(Campaign.estate_id)
        ):
            figures[estate_id].paid_fen = int(paid or 0)

        # Elevator projects are few (one per unit that asked): their status uses the estate
        # pages' own computation.
        projects = db.session.scalars(
            select(ElevatorProject)
            .join(Campaign, ElevatorProject.campaign_id == Campaign.id)
            .where(Campaign.estate_id.in_(estate_ids))
        )
        for project in projects:
            status = elevator_status(project, campaign_progress(project.campaign))
            counts = figures[project.campaign.estate_id].elevators
            counts[status] = counts.get(status, 0) + 1
        return figures

    def month_figures(self, estate_ids, now, end):
        """The monthly report's: money pledged and paid as recorded before the month's end
        (`end`), the same as the renovation's residents' money of that month; the campaigns'
        targets and the elevators' status are today's."""
        figures = self.estate_figures(estate_ids, now)
        for estate_id, (pledged, paid) in self.money_at(estate_ids, end).items():
            figures[estate_id].pledged_fen = pledged
            figures[estate_id].paid_fen = paid
        return figures

    def money_at(self, estate_ids, end) -> dict[int, tuple[int, int]]:
        """Per estate: (pledged, paid) fen of its campaigns as recorded before `end` (naive
        UTC): pledges replayed from their events as trend_series does, payments by the moment
        they were recorded. What the renovation's bulletin of an earlier month counts."""
        money = {estate_id: [0, 0] for estate_id in estate_ids}
        pledged: dict[tuple, tuple[int, int]] = {}  # (campaign, household) -> (estate, amount)
        for estate_id, campaign_id, household_id, action, amount in db.session.execute(
            select(
                Campaign.estate_id,
                PledgeEvent.campaign_id,
                PledgeEvent.household_id,
                PledgeEvent.action,
                PledgeEvent.amount_fen,
            )
            .join(Campaign, Campaign.id == PledgeEvent.campaign_id)
            .where(Campaign.estate_id.in_(estate_ids), PledgeEvent.at < end)
            .order_by(PledgeEvent.at, PledgeEvent.id)
        ):
            pledged[(campaign_id, household_id)] = (
                estate_id,
                int(amount or 0) if action == "pledge" else 0,
            )
        for estate_id, amount in pledged.values():
            money[estate_id][0] += amount
        for estate_id, paid in db.session.execute(
            select(Campaign.estate_id, func.sum(Payment.amount_fen))
            .join(Payment, Payment.campaign_id == Campaign.id)
            .where(Campaign.estate_id.in_(estate_ids), Payment.created_at < end)
            .group_by(Campaign.estate_id)
        ):
            money[estate_id][1] = int(paid or 0)
        return {estate_id: (p, q) for estate_id, (p, q) in money.items()}

    def totals(self, figures):
        total = ContributionFigures()
        for f in figures:
            total.target_fen += f.target_fen
            total.pledged_fen += f.pledged_fen
            total.paid_fen += f.paid_fen
            for status, count in f.elevators.items():
                total.elevators[status] = total.elevators.get(status, 0) + count
        return total

    def last_activity(self, estate_ids):
        return dict(
            db.session.execute(
                select(Campaign.estate_id, func.max(PledgeEvent.at))
                .join(PledgeEvent, PledgeEvent.campaign_id == Campaign.id)
                .where(Campaign.estate_id.in_(estate_ids))
                .group_by(Campaign.estate_id)
            ).all()
        )

    def trend_series(self, estate_ids, ends, now):
        """The share of the targets pledged at each month end (percent_points: 1/100 %),
        replayed from the pledge events."""
        target = int(
            db.session.scalar(
                select(func.coalesce(func.sum(Campaign.target_fen), 0)).where(
                    Campaign.estate_id.in_(estate_ids)
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
            .where(Campaign.estate_id.in_(estate_ids))
            .order_by(PledgeEvent.at, PledgeEvent.id)
        ).all()
        series = []
        pledged: dict[tuple, int] = {}  # the current pledge of each household, replayed in order
        pledged_total = 0
        position = 0
        for _label, end in ends:
            while position < len(events) and events[position].at < end:
                campaign_id, household_id, _at, action, amount = events[position]
                new = amount if action == "pledge" else 0
                pledged_total += new - pledged.get((campaign_id, household_id), 0)
                pledged[(campaign_id, household_id)] = new
                position += 1
            series.append(percent_points(pledged_total, target))
        return {"pledge_rate": series}

    def month_activity(self, estate_ids, start, end):
        campaigns = _campaigns_of(estate_ids)
        consent_votes = select(ElevatorProject.survey_id).where(
            ElevatorProject.campaign_id.in_(campaigns)
        )
        return ContributionActivity(
            consent_ballots=db.session.scalar(
                select(func.count(BallotRevision.id)).where(
                    BallotRevision.survey_id.in_(consent_votes),
                    BallotRevision.submitted_at >= start,
                    BallotRevision.submitted_at < end,
                )
            ),
            pledges=db.session.scalar(
                select(func.count(PledgeEvent.id)).where(
                    PledgeEvent.campaign_id.in_(campaigns),
                    PledgeEvent.action == "pledge",
                    PledgeEvent.at >= start,
                    PledgeEvent.at < end,
                )
            ),
            paid_fen=int(
                db.session.scalar(
                    select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
                        Payment.campaign_id.in_(campaigns),
                        Payment.created_at >= start,
                        Payment.created_at < end,
                    )
                )
            ),
        )

    def summary_cells(self, totals, activity, part):
        if part == "totals":
            return [
                (N_("Pledge target (yuan)"), f"¥{format_fen(totals.target_fen)}"),
                (
                    N_("Pledged (yuan)"),
                    f"¥{format_fen(totals.pledged_fen)} ({totals.pledge_share}%)",
                ),
                (N_("Received (yuan)"), f"¥{format_fen(totals.paid_fen)}"),
            ]
        return [
            (N_("This month: pledges"), str(activity.pledges)),
            (N_("This month: received (yuan)"), f"¥{format_fen(activity.paid_fen)}"),
            (N_("This month: elevator consent ballots"), str(activity.consent_ballots)),
        ]

    def summary_rows(self, totals, activity, part):
        if part == "totals":
            return [
                (N_("Pledge target (yuan)"), yuan(totals.target_fen)),
                (N_("Pledged (yuan)"), yuan(totals.pledged_fen)),
                (N_("Received (yuan)"), yuan(totals.paid_fen)),
                (N_("Pledge rate (%)"), percent(totals.pledged_fen, totals.target_fen)),
            ]
        return [
            (N_("This month: pledges"), activity.pledges),
            (N_("This month: received (yuan)"), yuan(activity.paid_fen)),
            (N_("This month: elevator consent ballots"), activity.consent_ballots),
        ]

    def sheets(self, rows, labels):
        figures = [(row.estate.name, row.figures[self.name]) for row in rows]
        pledges = Sheet(
            N_("Pledges"),
            [
                N_("Estate"),
                N_("Target (yuan)"),
                N_("Pledged (yuan)"),
                N_("Received (yuan)"),
                N_("Pledge rate (%)"),
                N_("Paid rate (%)"),
            ],
            [
                [
                    name,
                    yuan(f.target_fen),
                    yuan(f.pledged_fen),
                    yuan(f.paid_fen),
                    percent(f.pledged_fen, f.target_fen),
                    percent(f.paid_fen, f.target_fen),
                ]
                for name, f in figures
            ],
            ["text", "money", "money", "money", "percent", "percent"],
        )
        elevators = Sheet(
            N_("Elevators"),
            [N_("Estate")] + [ELEVATOR_LABELS[s] for s in ElevatorStatus],
            [[name] + [f.elevators.get(s, 0) for s in ElevatorStatus] for name, f in figures],
            ["text"] + ["integer"] * len(ElevatorStatus),
        )
        return [pledges, elevators]


PROVIDER = ContributionsProvider()
