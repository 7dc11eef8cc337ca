"""The renovation's read-only API as JSON (one source for every endpoint) and its part of the
OpenAPI document (PART, registered with resident_portal.api.register_openapi). Money is integer
fen; shares are given exactly as [part, whole] besides a rounded percentage for reading; no
personal data."""

from ..api import OpenApiPart
from ..models import utcnow
from . import bulletin, money, record
from .figures import day_before as bulletin_day
from .models import STAGES, FundingSource, PartyRole, Project


def _share(value) -> dict | None:
    if value is None:
        return None
    return {
        "part": value.numerator,
        "whole": value.denominator,
        "percent": money.percent_text(value).rstrip("%"),
    }


def project_summary(project: Project) -> dict:
    current = project.current_stage
    return {
        "id": project.id,
        "estate": project.estate.code,
        "name": project.name,
        "batch_year": project.batch_year,
        "current_stage": current.value if current else None,
        "updated_at": project.updated_at.isoformat(timespec="seconds") + "Z",
    }


def project_detail(project: Project) -> dict:
    lines = record.funding_lines(project)
    budget = record.budget(lines)
    reports = record.report_summary(project.estate)
    return {
        **project_summary(project),
        "hotline": project.hotline,
        "invested_fen": project.invested_fen,
        "scope": [
            {"title": i.title, "survey_item_id": i.survey_item_id} for i in project.scope_items
        ],
        "parties": [
            {"role": p.role.value, "name": p.name, "contact": p.contact, "phone": p.phone}
            for p in project.parties
        ],
        "stages": [
            {
                "stage": line.stage.value,
                "planned_on": line.planned_on.isoformat() if line.planned_on else None,
                "actual_on": line.actual_on.isoformat() if line.actual_on else None,
                "late_days": line.late_days,
            }
            for line in record.stage_lines(project)
        ],
        "funding": [
            {
                "source": line.source.value,
                "planned_fen": line.planned_fen,
                "received_fen": line.received_fen,
                "pledged_fen": line.pledged_fen,
                "note": line.note,
            }
            for line in lines
        ],
        "funding_totals": {
            "planned_fen": budget.planned,
            "received_fen": budget.received,
            "received_rate": _share(budget.received_rate),
            "residents_share_pledged": _share(budget.residents_share_pledged),
            "residents_share_received": _share(budget.residents_share_received),
        },
        "reports": {
            "open": reports.open,
            "open_safety": reports.open_safety,
            "resolved": reports.resolved,
        },
    }


def district_summary(s: bulletin.Summary) -> dict:
    t = s.targets
    return {
        "district": s.district,
        "projects": s.projects,
        "by_stage": s.by_stage,
        "started": s.started,
        "completed": s.completed,
        "accepted": s.accepted,
        "behind_schedule": s.late,
        "targets": {
            "to_start": t.to_start,
            "to_finish": t.to_finish,
            "to_accept": t.to_accept,
            "investment_fen": t.investment_fen,
        },
        "start_rate": _share(s.start_rate),
        "completion_rate": _share(s.completion_rate),
        "acceptance_rate": _share(s.acceptance_rate),
        "invested_fen": s.invested_fen,
        "planned_fen": s.planned_fen,
        "received_fen": s.received_fen,
        "received_rate": _share(s.received_rate),
        "residents_pledged_fen": s.residents_pledged_fen,
        "residents_share_pledged": _share(s.residents_share_pledged),
        "residents_share_received": _share(s.residents_share_received),
        "satisfaction_surveys": s.surveyed,
        "satisfied": s.satisfied,
        "satisfaction_answers": s.satisfaction_answers,
        "satisfaction_rate": _share(s.satisfaction_rate),
    }


def districts_document(totals, end) -> dict:
    """`end`: the moment the figures stand at (naive UTC); as_of is its China day."""
    return {
        "year": totals.year,
        "as_of": bulletin_day(end).isoformat(),
        "generated_at": utcnow().isoformat(timespec="seconds") + "Z",
        "districts": [district_summary(s) for s in totals.districts],
        "city": district_summary(totals.city),
        "behind_schedule": [s.district for s in totals.behind],
    }


# --- the OpenAPI part -------------------------------------------------------------------------

SHARE = {
    "oneOf": [
        {
            "type": "object",
            "required": ["part", "whole", "percent"],
            "properties": {
                "part": {"type": "integer"},
                "whole": {"type": "integer", "minimum": 1},
                "percent": {
                    "type": "string",
                    "description": "part/whole in %, rounded half up to two decimals, for reading",
                },
            },
        },
        {"type": "null", "description": "nothing to share (no target, no money)"},
    ]
}
STAGE_ENUM = {"type": "string", "enum": [s.value for s in STAGES]}
SOURCE_ENUM = {"type": "string", "enum": [s.value for s in FundingSource]}
PROJECT = {
    "type": "object",
    "required": ["id", "estate", "name", "batch_year", "current_stage"],
    "properties": {
        "id": {"type": "integer"},
        "estate": {"type": "string", "description": "estate code"},
        "name": {"type": "string"},
        "batch_year": {"type": "integer"},
        "current_stage": {
            "oneOf": [STAGE_ENUM, {"type": "null"}],
            "description": "the first stage not completed (null: all completed)",
        },
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
PROJECT_DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/RenovationProject"},
        {
            "type": "object",
            "properties": {
                "hotline": {"type": "string"},
                "invested_fen": {"type": "integer", "minimum": 0},
                "scope": {"type": "array", "items": {"type": "object"}},
                "parties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "role": {"type": "string", "enum": [r.value for r in PartyRole]},
                            "name": {"type": "string"},
                            "contact": {"type": "string"},
                            "phone": {"type": "string"},
                        },
                    },
                },
                "stages": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "stage": STAGE_ENUM,
                            "planned_on": {"type": ["string", "null"], "format": "date"},
                            "actual_on": {"type": ["string", "null"], "format": "date"},
                            "late_days": {"type": "integer", "minimum": 0},
                        },
                    },
                },
                "funding": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "source": SOURCE_ENUM,
                            "planned_fen": {"type": "integer", "minimum": 0},
                            "received_fen": {"type": "integer", "minimum": 0},
                            "pledged_fen": {
                                "type": ["integer", "null"],
                                "description": "residents only: pledged in the estate's "
                                "campaigns (their received_fen is the campaigns' payments)",
                            },
                            "note": {"type": "string"},
                        },
                    },
                },
                "funding_totals": {"type": "object"},
                "reports": {
                    "type": "object",
                    "description": "the estate's quality reports (counts only)",
                },
            },
        },
    ]
}
DISTRICT = {
    "type": "object",
    "description": "projects of the year's batch; rates against the district's targets",
    "properties": {
        "district": {"type": ["string", "null"], "description": "null: the whole city"},
        "projects": {"type": "integer"},
        "started": {"type": "integer"},
        "completed": {"type": "integer"},
        "accepted": {"type": "integer"},
        "behind_schedule": {"type": "integer"},
        "start_rate": SHARE,
        "completion_rate": SHARE,
        "acceptance_rate": SHARE,
        "received_rate": SHARE,
        "residents_share_pledged": SHARE,
        "residents_share_received": SHARE,
        "satisfaction_surveys": {
            "type": "integer",
            "description": "projects whose satisfaction survey (满意度测评) has closed",
        },
        "satisfied": {
            "type": "integer",
            "description": "answers 满意 (satisfied) or 基本满意 (basically satisfied), every "
            "item of those surveys together",
        },
        "satisfaction_answers": {"type": "integer", "description": "all their answers"},
        "satisfaction_rate": SHARE,
    },
}


def _get(summary: str, schema: str, parameters=()) -> dict:
    return {
        "get": {
            "summary": summary,
            "parameters": list(parameters),
            "responses": {
                "200": {
                    "description": summary,
                    "content": {"application/json": {"schema": {"$ref": schema}}},
                },
                "401": {"description": "no valid token or session"},
                "403": {"description": "not allowed"},
                "404": {"description": "no such project or estate"},
            },
        }
    }


ESTATE_PARAMETER = {
    "name": "estate",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "estate code",
}
OPENAPI_PATHS = {
    "/renovation/projects": {
        "get": {
            **_get("Renovation projects of the estates the caller may read", "")["get"],
            "parameters": [ESTATE_PARAMETER],
            "responses": {
                "200": {
                    "description": "projects",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "projects": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/RenovationProject"},
                                    }
                                },
                            }
                        }
                    },
                },
                "401": {"description": "no valid token or session"},
                "403": {"description": "not allowed for this estate"},
                "404": {"description": "no such estate"},
            },
        }
    },
    "/renovation/projects/{renovation_id}": _get(
        "One renovation project: stages, parties, scope, funding by source",
        "#/components/schemas/RenovationProjectDetail",
        [{"name": "renovation_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    ),
    "/renovation/districts": _get(
        "The monthly bulletin's renovation figures per district and for the city",
        "#/components/schemas/RenovationDistricts",
        [
            {
                "name": "year",
                "in": "query",
                "required": False,
                "schema": {"type": "integer"},
                "description": "batch year (default: the year of the month, or this year)",
            },
            {
                "name": "month",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{1,2}$"},
                "description": "YYYY-MM: the figures as they stood at the end of that month "
                "(China time), as in that month's bulletin: stages completed by then, funds and "
                "investment recorded by then, satisfaction surveys closed by then, behind "
                "schedule judged on that day (default: today)",
            },
        ],
    ),
}
OPENAPI_SCHEMAS = {
    "RenovationProject": PROJECT,
    "RenovationProjectDetail": PROJECT_DETAIL,
    "RenovationDistrict": DISTRICT,
    "RenovationDistricts": {
        "type": "object",
        "properties": {
            "year": {"type": "integer"},
            "as_of": {
                "type": "string",
                "format": "date",
                "description": "the day the figures stand at: the month's last day, or today",
            },
            "districts": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/RenovationDistrict"},
            },
            "city": {"$ref": "#/components/schemas/RenovationDistrict"},
            "behind_schedule": {
                "type": "array",
                "items": {"type": "string"},
                "description": "districts with projects behind schedule, most late first",
            },
        },
    },
}


# The renovation's part of the API's one document (/api/v1/openapi.json), after the others.
PART = OpenApiPart(
    name="renovation",
    position=40,
    paths=lambda: OPENAPI_PATHS,
    schemas=lambda: OPENAPI_SCHEMAS,
    description="Renovation projects, their stages and funding, and the districts' bulletin: "
    "no personal data.",
)
