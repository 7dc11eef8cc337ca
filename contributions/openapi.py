"""The campaigns' and elevator projects' part of the OpenAPI document (/api/v1/openapi.json,
put together by resident_portal/api.py): the paths of contributions/views/api.py and the
schemas of the JSON that contributions/api.py makes."""

from resident_portal.api import (
    ESTATE_REF,
    FEN,
    LIST_PARAMETERS,
    PERCENT,
    OpenApiPart,
    errors,
    json_answer,
)

from . import tracker

MONEY = {
    "target_fen": FEN,
    "pledged_fen": {**FEN, "description": "pledges not withdrawn, in fen"},
    "received_fen": {**FEN, "description": "payments recorded, in fen"},
    "pledged_percent": PERCENT,
    "received_percent": PERCENT,
}
COUNT_REF = {"$ref": "#/components/schemas/Count"}
STATUSES = [s.value for s in tracker.ElevatorStatus]
DISTRICT = {"type": ["string", "null"]}
CAMPAIGN = {
    "type": "object",
    "required": [
        "id",
        "title",
        "estate",
        "scope",
        "deadline",
        "open",
        "elevator_project",
        "households",
        "answered",
        *MONEY,
        "by_building",
    ],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "estate": {"$ref": "#/components/schemas/EstateRef"},
        "scope": {
            "type": "object",
            "required": ["building", "unit"],
            "properties": {
                "building": {"type": ["string", "null"]},
                "unit": {"type": ["string", "null"]},
            },
        },
        "deadline": {"type": "string", "format": "date-time"},
        "open": {"type": "boolean", "description": "pledges accepted (before the deadline)"},
        "elevator_project": {"type": ["integer", "null"]},
        "households": {"type": "integer", "minimum": 0},
        "answered": {
            "type": "integer",
            "minimum": 0,
            "description": "households that have answered: a pledge, or one withdrawn",
        },
        **MONEY,
        "by_building": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["building", "households", "answered", "pledged_fen", "received_fen"],
                "properties": {
                    "building": {"type": "string"},
                    "households": {"type": "integer", "minimum": 0},
                    "answered": {"type": "integer", "minimum": 0},
                    "pledged_fen": FEN,
                    "received_fen": FEN,
                },
            },
        },
    },
}
CAMPAIGN_ESTATE = {
    "type": "object",
    "required": ["estate", "campaigns", *MONEY],
    "properties": {
        "estate": {"$ref": "#/components/schemas/EstateRef"},
        "campaigns": {"type": "integer", "minimum": 0},
        **MONEY,
    },
}
CAMPAIGN_DISTRICT = {
    "type": "object",
    "required": ["district", "estates", "campaigns", *MONEY],
    "properties": {
        "district": DISTRICT,
        "estates": {"type": "integer", "minimum": 0},
        "campaigns": {"type": "integer", "minimum": 0},
        **MONEY,
    },
}
ELEVATOR = {
    "type": "object",
    "required": [
        "id",
        "estate",
        "building",
        "unit",
        "status",
        "consent",
        "cost_fen",
        "subsidy_fen",
        "maintenance_fund_fen",
        "households",
        *MONEY,
    ],
    "properties": {
        "id": {"type": "integer"},
        "estate": {"$ref": "#/components/schemas/EstateRef"},
        "building": {"type": "string"},
        "unit": {"type": "string"},
        "status": {"type": "string", "enum": STATUSES},
        "consent": {
            "type": "object",
            "required": [
                "survey_id",
                "status",
                "closes_at",
                "eligible",
                "participated",
                "participated_percent",
                "quorum_met",
                "choices_shown",
                "support",
                "approved",
            ],
            "properties": {
                "survey_id": {"type": "integer"},
                "status": {"type": "string", "enum": ["draft", "open", "closed"]},
                "closes_at": {"type": "string", "format": "date-time"},
                "eligible": COUNT_REF,
                "participated": COUNT_REF,
                "participated_percent": PERCENT,
                "quorum_met": {"type": ["boolean", "null"]},
                "choices_shown": {
                    "type": "boolean",
                    "description": "false while the vote "
                    "is open: support and approval are then null",
                },
                "support": {"oneOf": [{"$ref": "#/components/schemas/Choice"}, {"type": "null"}]},
                "approved": {"type": ["boolean", "null"]},
            },
        },
        "cost_fen": FEN,
        "subsidy_fen": FEN,
        "maintenance_fund_fen": FEN,
        "households": {"type": "integer", "minimum": 0},
        **MONEY,
        "target_fen": {
            **FEN,
            "description": "the amount the unit's households share (cost "
            "less subsidy and maintenance fund, plus compensation), in fen",
        },
    },
}
BY_STATUS = {
    "type": "object",
    "required": STATUSES,
    "properties": {s: {"type": "integer", "minimum": 0} for s in STATUSES},
}
ELEVATOR_ESTATE = {
    "type": "object",
    "required": ["estate", "projects", "by_status"],
    "properties": {
        "estate": {"$ref": "#/components/schemas/EstateRef"},
        "projects": {"type": "integer", "minimum": 0},
        "by_status": BY_STATUS,
    },
}
ELEVATOR_DISTRICT = {
    "type": "object",
    "required": ["district", "estates", "projects", "by_status"],
    "properties": {
        "district": DISTRICT,
        "estates": {"type": "integer", "minimum": 0},
        "projects": {"type": "integer", "minimum": 0},
        "by_status": BY_STATUS,
    },
}


def _list(name: str, item: str, estate: str, district: str) -> dict:
    return {
        "type": "object",
        "required": [name, "by_estate", "by_district"],
        "properties": {
            name: {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "by_estate": {"type": "array", "items": {"$ref": f"#/components/schemas/{estate}"}},
            "by_district": {
                "type": "array",
                "items": {"$ref": f"#/components/schemas/{district}"},
            },
        },
    }


def _paths() -> dict:
    return {
        "/campaigns": {
            "get": {
                "summary": "Pledge campaigns: target, pledged and received, by building; "
                "totals per district",
                "parameters": LIST_PARAMETERS,
                "responses": {
                    "200": json_answer(
                        "campaigns",
                        _list("campaigns", "Campaign", "CampaignEstate", "CampaignDistrict"),
                    ),
                    **errors(401, 403, 404),
                },
            }
        },
        "/elevators": {
            "get": {
                "summary": "Elevator projects: status, consent vote, pledged against the "
                "amount to share; projects by status per district",
                "parameters": LIST_PARAMETERS,
                "responses": {
                    "200": json_answer(
                        "elevator projects",
                        _list("elevators", "Elevator", "ElevatorEstate", "ElevatorDistrict"),
                    ),
                    **errors(401, 403, 404),
                },
            }
        },
    }


def _schemas() -> dict:
    return {
        "EstateRef": ESTATE_REF,
        "Campaign": CAMPAIGN,
        "CampaignEstate": CAMPAIGN_ESTATE,
        "CampaignDistrict": CAMPAIGN_DISTRICT,
        "Elevator": ELEVATOR,
        "ElevatorEstate": ELEVATOR_ESTATE,
        "ElevatorDistrict": ELEVATOR_DISTRICT,
    }


PART = OpenApiPart(
    name="contributions",
    position=20,
    paths=_paths,
    schemas=_schemas,
    description="Pledge campaigns and elevator projects (money in integer fen): totals, "
    "by building and per district, never a single household's pledge.",
)
