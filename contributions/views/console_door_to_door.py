"""The campaign's door-to-door list: households it asks that have not answered, with their
latest visit (resident_portal/doorstep.py, shared with the survey's not-voted list)."""

from functools import partial

from flask import g, request

from resident_portal import access, doorstep
from resident_portal.access import Permission, require
from resident_portal.estates import household_in_estate

from .. import operations, tracker
from ..blueprint import bp, campaign_estate
from ..models import CampaignVisit


def _not_answered_page(wanted: str, *, full: bool = False, errors=None, status=200):
    """The door-to-door list: households the campaign asks that have not answered, with their
    latest visit, filtered by it (doorstep.py). Full contacts only when `full`."""
    state = tracker.progress(g.campaign)
    lines = [line for line in state.lines if not line.answered]
    visits = doorstep.latest_visits(
        CampaignVisit,
        CampaignVisit.campaign_id,
        g.campaign.id,
        (line.household.id for line in lines),
    )
    return doorstep.list_page(
        "contributions/console_not_answered.html",
        lines,
        lambda line: line.household,
        visits,
        wanted,
        pdf_name=f"{g.estate.code}-campaign-{g.campaign.id}-not-answered.pdf",
        full=full,
        errors=errors,
        status=status,
        campaign=g.campaign,
    )


@bp.get("/console/<estate_code>/campaigns/<int:campaign_id>/not-answered")
@require(Permission.CAMPAIGN_VIEW, estate_of=campaign_estate)
def console_not_answered(estate_code, campaign_id):
    return _not_answered_page(doorstep.visit_filter(request.args.get("visit")))


@bp.post("/console/<estate_code>/campaigns/<int:campaign_id>/not-answered/contacts")
@require(Permission.DOOR_TO_DOOR_CONTACTS, estate_of=campaign_estate)
def console_not_answered_contacts(estate_code, campaign_id):
    return doorstep.contacts_page(
        _not_answered_page, "campaign.not_answered", campaign=g.campaign.id
    )


@bp.post("/console/<estate_code>/campaigns/<int:campaign_id>/not-answered/<int:household_id>/visit")
@require(Permission.VISITS_RECORD, estate_of=campaign_estate)
def console_visit(estate_code, campaign_id, household_id):
    household = household_in_estate(household_id)
    return doorstep.record_visit_from_list(
        household,
        partial(operations.record_visit, g.campaign, household, staff_user=access.current_staff()),
        _not_answered_page,
        "contributions.console_not_answered",
        estate_code=estate_code,
        campaign_id=campaign_id,
    )
