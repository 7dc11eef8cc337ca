"""The contributions blueprint: its loaders, template helpers and home panel. The views register on
`bp` from contributions/views/ by audience: resident.py (pledges, public totals), console.py
(campaigns, pledges and payments entered by staff) and console_elevators.py (elevator projects).

Routes only parse, authorise and render; changes happen in contributions/operations.py.
"""

from flask import Blueprint, abort, g
from sqlalchemy import select

from resident_portal.blueprint import home_panel
from resident_portal.common import N_, format_fen
from resident_portal.extensions import db
from resident_portal.letters import LetterItem, letter_items
from resident_portal.models import Estate, Household

from . import tracker
from .models import CHANNEL_LABELS, Campaign, ElevatorProject

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
        "ELEVATOR_STEPS": tracker.ELEVATOR_STEPS,
    }


@letter_items
def letter_campaigns(estate: Estate, now) -> list[LetterItem]:
    """Campaigns open for pledges, for the household letters (resident_portal/letters.py)."""
    from resident_portal.messages import current_locale

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
    campaigns = [
        c
        for c in db.session.scalars(
            select(Campaign).where(Campaign.estate_id == estate_id).order_by(Campaign.deadline)
        )
        if c.is_open() and any(c.covers(h) for h in households)
    ]
    return {"campaigns": campaigns}


# The views register on `bp` (imported last: they import `bp` from here).
from . import dashboard  # noqa: E402, F401  (registers the estate dashboard's panel)
from .views import console, console_elevators, resident  # noqa: E402, F401
