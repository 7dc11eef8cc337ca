"""The renovation's part of the API's OpenAPI document (PART, registered by create_app with
resident_portal.api.register_openapi): the paths and schemas of the JSON that api.py makes."""

from ..api import OpenApiPart
from .models import STAGES, FundingSource, PartyRole

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
