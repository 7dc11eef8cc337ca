"""The contributions API for planners' own systems: campaigns and elevator projects per estate
and per district, read-only, with the same tokens as the survey results
(resident_portal/api.py; shapes and schemas in contributions/api.py)."""

from flask import jsonify

from resident_portal.access import Permission, require
from resident_portal.api import requested_estates
from resident_portal.messages import current_locale
from resident_portal.models import utcnow

from .. import api
from ..blueprint import bp


@bp.get("/api/v1/campaigns")
@require(Permission.CAMPAIGN_VIEW)
def api_campaigns():
    estates = requested_estates(Permission.CAMPAIGN_VIEW)
    return jsonify(api.campaigns_json(estates, current_locale(), utcnow()))


@bp.get("/api/v1/elevators")
@require(Permission.CAMPAIGN_VIEW)
def api_elevators():
    return jsonify(api.elevators_json(requested_estates(Permission.CAMPAIGN_VIEW)))
