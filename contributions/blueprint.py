"""The contributions blueprint: its loaders, template helpers and home panel. The views register on
`bp` from contributions/views/ by audience: resident.py (pledges, public totals), console.py
(campaigns), console_door_to_door.py (who has not answered), console_entry.py (pledges and
payments entered by staff), console_elevators.py (elevator projects) and api.py.

Routes only parse, authorise and render; changes happen in contributions/operations.py.
"""

from flask import Blueprint, abort, g, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from resident_portal.blueprint import Task, estate_panel, home_panel, home_task
from resident_portal.common import N_, capital_yuan, format_fen, plain_yuan
from resident_portal.extensions import db
from resident_portal.letters import LetterItem, letter_items
from resident_portal.messages import current_locale
from resident_portal.models import Estate, Household
from resident_portal.privacy import DataSection, data_time, my_data_provider
from survey.blueprint import ballot_panel
from survey.models import Survey

from . import tracker
from .models import CHANNEL_LABELS, Campaign, ElevatorProject, Payment, Pledge
from .operations import elevator_split

bp = Blueprint("contributions", __name__)


def campaign_estate(kwargs: dict) -> Estate:
    campaign = db.session.get(Campaign, kwargs["campaign_id"])
    if campaign is None or (
        "estate_code" in kwargs and campaign.estate.code != kwargs["estate_code"].lower()
    ):
        abort(404)
    g.campaign = campaign
    return campaign.estate


def project_estate(kwargs: dict) -> Estate:
    project = db.session.get(ElevatorProject, kwargs["project_id"])
    if project is None or project.unit.building.estate.code != kwargs["estate_code"].lower():
        abort(404)
    g.project = project
    return project.unit.building.estate


def resident_yuan(fen: int) -> str:
    """An amount as residents read it: "1,234.50元" in Chinese, "¥1,234.50" in English. Staff
    pages and exports keep ¥ and plain numbers, which secretaries copy into ledgers."""
    return _("¥%(amount)s", amount=format_fen(fen))


@bp.app_context_processor
def contribution_labels():
    return {
        "CHANNEL_LABELS": CHANNEL_LABELS,
        "format_fen": format_fen,
        "resident_yuan": resident_yuan,
        "capital_yuan": capital_yuan,
        "ELEVATOR_STEPS": tracker.ELEVATOR_STEPS,
    }


def _open_campaigns(estate_id: int) -> list[Campaign]:
    return [
        c
        for c in db.session.scalars(
            select(Campaign).where(Campaign.estate_id == estate_id).order_by(Campaign.deadline)
        )
        if c.is_open()
    ]


@letter_items
def letter_campaigns(estate: Estate, now) -> list[LetterItem]:
    """Campaigns open for pledges, for the household letters (resident_portal/letters.py)."""
    campaigns = db.session.scalars(
        select(Campaign).where(Campaign.estate_id == estate.id, Campaign.deadline > now)
    )
    return [
        LetterItem(N_("Pledge"), c.localized_title(current_locale()), c.deadline, c.covers)
        for c in campaigns
    ]


@home_panel("contributions/_home_panel.html")
def home_campaigns(households: list[Household]) -> dict:
    estate_id = households[0].unit.building.estate_id
    campaigns = [c for c in _open_campaigns(estate_id) if any(c.covers(h) for h in households)]
    statuses = {}
    for campaign in campaigns:
        state = tracker.progress(campaign)
        statuses[campaign.id] = tracker.owner_status(
            [state.line(h.id).status for h in households if campaign.covers(h)]
        )
    return {"campaigns": campaigns, "statuses": statuses}


@home_task
def pledges_to_answer(households: list[Household]) -> list[Task]:
    panel = home_campaigns(households)
    return [
        Task(
            title=c.localized_title(current_locale()),
            detail=_("Pledges close %(when)s", when=format_datetime(c.deadline, "short")),
            action=_("See your share and pledge") if c.elevator else _("Pledge"),
            url=url_for("contributions.pledge", campaign_id=c.id),
            sort_key=(c.deadline,),
        )
        for c in panel["campaigns"]
        if panel["statuses"][c.id] is tracker.PledgeStatus.NOT_PLEDGED
    ]


@estate_panel("contributions/_estate_panel.html")
def estate_campaigns(estate: Estate) -> dict | None:
    campaigns = _open_campaigns(estate.id)
    return {"campaigns": campaigns} if campaigns else None


# Asked on every ballot page, so built once (building a statement cost as much as running it).
ELEVATOR_OF_SURVEY = select(ElevatorProject).where(
    ElevatorProject.survey_id == bindparam("survey_id")
)


@ballot_panel("contributions/_ballot_share.html")
def elevator_share_on_ballot(survey: Survey, households: list[Household]) -> dict | None:
    """On a unit's elevator consent ballot: what each flat of the voter would pay, and why."""
    if survey.unit_id is None:
        # An elevator project's consent vote is always its unit's (create_elevator_project),
        # and a survey's scope never changes: a survey of a building or of the estate has no
        # project, and its ballot page is spared the query.
        return None
    project = db.session.scalar(ELEVATOR_OF_SURVEY, {"survey_id": survey.id})
    if project is None:
        return None
    split = elevator_split(project)
    coefficients = {c.floor: c.permille for c in project.coefficients}
    compensations = {c.household_id: c.amount_fen for c in project.compensations}
    return {
        "project": project,
        "split": split,
        "flats": [
            {
                "household": h,
                "share_fen": split.shares.get(h.id, 0),
                "coefficient": coefficients.get(h.floor, 0),
                "weight": split.weights.get(h.id, 0),
                "compensation_fen": compensations.get(h.id, 0),
            }
            for h in households
            if h.unit_id == project.unit_id
        ],
    }


# The views register on `bp` (imported last: they import `bp` from here).
from . import dashboard  # noqa: E402, F401  (registers the estate dashboard's panel)
from .views import (  # noqa: E402, F401
    api,
    console,
    console_door_to_door,
    console_elevators,
    console_entry,
    resident,
)


@my_data_provider
def my_pledges_and_payments(households: list[Household]) -> list[DataSection]:
    """The pledges and recorded payments of the owner's households, and nobody else's."""
    ids = [h.id for h in households]
    address = {h.id: f"{h.unit.building.number}-{h.unit.number}-{h.room}" for h in households}

    def when(moment) -> str:
        return data_time(moment)

    pledges = db.session.scalars(
        select(Pledge).where(Pledge.household_id.in_(ids)).order_by(Pledge.updated_at, Pledge.id)
    )
    payments = db.session.scalars(
        select(Payment).where(Payment.household_id.in_(ids)).order_by(Payment.paid_on, Payment.id)
    )
    titles = (
        {
            c.id: c.title
            for c in db.session.scalars(
                select(Campaign).where(Campaign.estate_id == households[0].unit.building.estate_id)
            )
        }
        if ids
        else {}
    )
    return [
        DataSection(
            "pledges",
            _("Pledges"),
            [
                ("household", _("Household")),
                ("campaign", _("Campaign")),
                ("amount_yuan", _("Amount (yuan)")),
                ("channel", _("How")),
                ("entered_by_staff", _("Recorded by staff")),
                ("updated_at", _("Last changed")),
                ("withdrawn_at", _("Withdrawn")),
            ],
            [
                {
                    "household": address[p.household_id],
                    "campaign": titles.get(p.campaign_id, ""),
                    "amount_yuan": plain_yuan(p.amount_fen),
                    "channel": str(CHANNEL_LABELS[p.channel]),
                    "entered_by_staff": _("yes") if p.entered_by_id else "",
                    "updated_at": when(p.updated_at),
                    "withdrawn_at": when(p.withdrawn_at),
                }
                for p in pledges
            ],
        ),
        DataSection(
            "payments",
            _("Payments received"),
            [
                ("household", _("Household")),
                ("campaign", _("Campaign")),
                ("amount_yuan", _("Amount (yuan)")),
                ("paid_on", _("Paid on")),
                ("channel", _("How")),
                ("receipt_number", _("Receipt number")),
                ("note", _("Note")),
            ],
            [
                {
                    "household": address[p.household_id],
                    "campaign": titles.get(p.campaign_id, ""),
                    "amount_yuan": plain_yuan(p.amount_fen),
                    "paid_on": p.paid_on.isoformat(),
                    "channel": str(CHANNEL_LABELS[p.channel]),
                    "receipt_number": p.receipt_number,
                    "note": p.note,
                }
                for p in payments
            ],
        ),
    ]
