"""The reports API for planners' own systems: counts per estate and per district, read-only,
with the same tokens as the survey results (resident_portal/api.py; shapes in reports/api.py)."""

from flask import jsonify

from ...access import Permission, require
from ...api import requested_estates
from ...models import utcnow
from .. import api
from ..blueprint import bp


@bp.get("/api/v1/reports/summary")
@require(Permission.REPORTS_VIEW)
def api_summary():
    return jsonify(api.summary_json(requested_estates(Permission.REPORTS_VIEW), utcnow()))
