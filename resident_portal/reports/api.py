"""Quality reports for planners' own systems: the JSON of /api/v1/reports/summary
(reports/views/api.py) and its part of the OpenAPI document (resident_portal/api.py). Counts
only, never a report's text, photo or reporter; hidden reports (spam, personal data) are left
out, as on the overview."""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from ..api import LIST_PARAMETERS, OpenApiPart, errors, estate_ref, json_answer
from ..extensions import db
from ..models import Estate
from .figures import overdue
from .models import Category, Report, Status


def _zero() -> dict:
    return {
        "total": 0,
        "open": 0,
        "overdue": 0,
        "by_status": {s.value: 0 for s in Status},
        "by_category": {c.value: 0 for c in Category},
        "overdue_by_category": {c.value: 0 for c in Category},
    }


def _add(counts: dict, category: Category, status: Status, is_overdue: bool) -> None:
    counts["total"] += 1
    counts["open"] += status.is_open
    counts["overdue"] += is_overdue
    counts["by_status"][status.value] += 1
    counts["by_category"][category.value] += 1
    counts["overdue_by_category"][category.value] += is_overdue


def summary_json(estates: list[Estate], now: datetime) -> dict:
    per_estate = {e.id: _zero() for e in estates}
    per_district: dict = defaultdict(_zero)
    district_estates: dict = defaultdict(int)
    for e in estates:
        district_estates[e.district] += 1
        per_district[e.district]  # every district asked about, even without reports
    if estates:
        district_of = {e.id: e.district for e in estates}
        for estate_id, category, status, created_at in db.session.execute(
            select(Report.estate_id, Report.category, Report.status, Report.created_at).where(
                Report.estate_id.in_(list(per_estate)), Report.hidden_at.is_(None)
            )
        ):
            late = overdue(category, status, created_at, now)
            _add(per_estate[estate_id], category, status, late)
            _add(per_district[district_of[estate_id]], category, status, late)
    return {
        "estates": [{"estate": estate_ref(e), **per_estate[e.id]} for e in estates],
        "by_district": [
            {"district": d, "estates": district_estates[d], **per_district[d]}
            for d in sorted(per_district, key=lambda d: d or "")
        ],
    }


# --- the OpenAPI part ---------------------------------------------------------------------

STATUSES = [s.value for s in Status]
CATEGORIES = [c.value for c in Category]


def _counts(keys: list[str]) -> dict:
    return {
        "type": "object",
        "required": keys,
        "properties": {k: {"type": "integer", "minimum": 0} for k in keys},
    }


COUNTS = {
    "total": {"type": "integer", "minimum": 0, "description": "reports filed (not hidden)"},
    "open": {"type": "integer", "minimum": 0, "description": "not resolved or confirmed"},
    "overdue": {
        "type": "integer",
        "minimum": 0,
        "description": "open longer than their category allows (1 day for fire and site "
        "safety, up to 7 for cracks)",
    },
    "by_status": _counts(STATUSES),
    "by_category": _counts(CATEGORIES),
    "overdue_by_category": _counts(CATEGORIES),
}
ESTATE_REPORTS = {
    "type": "object",
    "required": ["estate", *COUNTS],
    "properties": {"estate": {"$ref": "#/components/schemas/EstateRef"}, **COUNTS},
}
DISTRICT_REPORTS = {
    "type": "object",
    "required": ["district", "estates", *COUNTS],
    "properties": {
        "district": {"type": ["string", "null"]},
        "estates": {"type": "integer", "minimum": 0},
        **COUNTS,
    },
}


def _paths() -> dict:
    schema = {
        "type": "object",
        "required": ["estates", "by_district"],
        "properties": {
            "estates": {"type": "array", "items": {"$ref": "#/components/schemas/EstateReports"}},
            "by_district": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/DistrictReports"},
            },
        },
    }
    return {
        "/reports/summary": {
            "get": {
                "summary": "Problem reports: counts by status and category, open and overdue, "
                "per estate and per district",
                "parameters": LIST_PARAMETERS,
                "responses": {
                    "200": json_answer("report counts", schema),
                    **errors(401, 403, 404),
                },
            }
        }
    }


def _schemas() -> dict:
    return {"EstateReports": ESTATE_REPORTS, "DistrictReports": DISTRICT_REPORTS}


PART = OpenApiPart(
    name="reports",
    position=30,
    paths=_paths,
    schemas=_schemas,
    description="Problem reports: counts only, never a report's text, photo or reporter.",
)
