"""The contributions blueprint: its loaders, template helpers and home panel. The views register on
`bp` from contributions/views/ by audience: resident.py (pledges, public totals), console.py
(campaigns, pledges and payments entered by staff) and console_elevators.py (elevator projects).

Routes only parse, authorise and render; changes happen in contributions/operations.py.
"""

from flask import Blueprint, abort, g, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal.blueprint import Task, estate_panel, home_panel, home_task
from resident_portal.common import capital_yuan, format_fen
from resident_portal.extensions import db
from resident_portal.messages import current_locale
from resident_portal.models import Estate, Household
from survey.blueprint import ballot_panel
from survey.models import Survey

from . import tracker
from .models import CHANNEL_LABELS, Campaign, ElevatorProject
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


@bp.app_context_processor
def contribution_labels():
    return {
        "CHANNEL_LABELS": CHANNEL_LABELS,
        "format_fen": format_fen,
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


@ballot_panel("contributions/_ballot_share.html")
def elevator_share_on_ballot(survey: Survey, households: list[Household]) -> dict | None:
    """On a unit's elevator consent ballot: what each flat of the voter would pay, and why."""
    project = db.session.scalar(
        select(ElevatorProject).where(ElevatorProject.survey_id == survey.id)
    )
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
from .views import console, console_elevators, resident  # noqa: E402, F401
