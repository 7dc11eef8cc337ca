"""Campaigns and elevator projects for planners' own systems: the JSON of /api/v1/campaigns and
/api/v1/elevators (contributions/views/api.py) and their part of the OpenAPI document
(resident_portal/api.py). Aggregates only: no names, no single household's pledge. An elevator's
consent vote follows the secrecy rule of every survey (survey/results.py): support and approval
only once it has closed."""

from datetime import UTC

from sqlalchemy import select

from resident_portal.api import (
    ESTATE_REF,
    FEN,
    LIST_PARAMETERS,
    PERCENT,
    OpenApiPart,
    errors,
    estate_ref,
    json_answer,
)
from resident_portal.common import format_area, format_percent
from resident_portal.extensions import db
from resident_portal.models import Estate
from survey.results import compute as survey_results

from . import tracker
from .models import Campaign
from .operations import elevator_split


def _iso(moment) -> str:
    return moment.replace(tzinfo=UTC).isoformat()


def _money(pledged_fen: int, received_fen: int, target_fen: int) -> dict:
    return {
        "target_fen": target_fen,
        "pledged_fen": pledged_fen,
        "received_fen": received_fen,
        "pledged_percent": format_percent(pledged_fen, target_fen),
        "received_percent": format_percent(received_fen, target_fen),
    }


def _campaigns_of(estates: list[Estate]) -> list[Campaign]:
    if not estates:
        return []
    return list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.estate_id.in_([e.id for e in estates]))
            .order_by(Campaign.estate_id, Campaign.id)
        )
    )


def _money_totals(lines: list[dict], estates: list[Estate], counted: str) -> dict:
    """Totals per estate and per district of the estates asked about (every one of them, even
    without any campaign): {"by_estate": [...], "by_district": [...]}."""
    estates_of: dict = {}
    for estate in estates:
        estates_of.setdefault(estate.district, []).append(estate)

    def total(estate_codes: set, **head) -> dict:
        mine = [line for line in lines if line["estate"]["code"] in estate_codes]
        sums = {
            k: sum(line[k] for line in mine) for k in ("target_fen", "pledged_fen", "received_fen")
        }
        return {
            **head,
            counted: len(mine),
            **_money(sums["pledged_fen"], sums["received_fen"], sums["target_fen"]),
        }

    return {
        "by_estate": [total({e.code}, estate=estate_ref(e)) for e in estates],
        "by_district": [
            total({e.code for e in members}, district=district, estates=len(members))
            for district, members in sorted(estates_of.items(), key=lambda kv: kv[0] or "")
        ],
    }


def campaigns_json(estates: list[Estate], locale: str, now) -> dict:
    lines = []
    for campaign in _campaigns_of(estates):
        state = tracker.progress(campaign)
        lines.append(
            {
                "id": campaign.id,
                "title": campaign.localized_title(locale),
                "estate": estate_ref(campaign.estate),
                "scope": {
                    "building": campaign.building.number if campaign.building else None,
                    "unit": campaign.unit.number if campaign.unit else None,
                },
                "deadline": _iso(campaign.deadline),
                "open": campaign.is_open(now),
                "elevator_project": campaign.elevator.id if campaign.elevator else None,
                "households": state.totals.households,
                "answered": state.totals.answered,
                **_money(state.totals.pledged_fen, state.totals.paid_fen, state.target_fen),
                "by_building": [
                    {
                        "building": building,
                        "households": totals.households,
                        "answered": totals.answered,
                        "pledged_fen": totals.pledged_fen,
                        "received_fen": totals.paid_fen,
                    }
                    for building, totals in state.by_building.items()
                ],
            }
        )
    return {"campaigns": lines, **_money_totals(lines, estates, "campaigns")}


def _count(count) -> dict:
    return {
        "households": count.households,
        "heads": count.heads,
        "area_m2": format_area(count.area),
    }


def elevators_json(estates: list[Estate]) -> dict:
    projects = [c.elevator for c in _campaigns_of(estates) if c.elevator is not None]
    lines = []
    for project in projects:
        state = tracker.progress(project.campaign)
        status = tracker.elevator_status(project, state)
        results = survey_results(project.survey)
        overall, shown = results.overall, results.shows()
        support = overall.items[0].support if overall.items else None
        split = elevator_split(project)
        unit = project.unit
        lines.append(
            {
                "id": project.id,
                "estate": estate_ref(unit.building.estate),
                "building": unit.building.number,
                "unit": unit.number,
                "status": status.value,
                "consent": {
                    "survey_id": project.survey.id,
                    "status": project.survey.status().value,
                    "closes_at": _iso(project.survey.closes_at),
                    "eligible": _count(overall.eligible),
                    "participated": _count(overall.participated),
                    "participated_percent": format_percent(
                        overall.participated.heads, overall.eligible.heads
                    ),
                    "quorum_met": overall.quorum_met,
                    "choices_shown": shown,
                    "support": (
                        {"heads": support.heads, "area_m2": format_area(support.area)}
                        if shown and support is not None
                        else None
                    ),
                    "approved": overall.items[0].approved if shown and overall.items else None,
                },
                "cost_fen": split.cost_fen,
                "subsidy_fen": split.subsidy_fen,
                "maintenance_fund_fen": split.maintenance_fund_fen,
                "households": state.totals.households,
                **_money(state.totals.pledged_fen, state.totals.paid_fen, state.target_fen),
            }
        )

    def counts(estate_codes: set, **head) -> dict:
        mine = [line for line in lines if line["estate"]["code"] in estate_codes]
        by_status = {status.value: 0 for status in tracker.ElevatorStatus}
        for line in mine:
            by_status[line["status"]] += 1
        return {**head, "projects": len(mine), "by_status": by_status}

    estates_of: dict = {}
    for estate in estates:
        estates_of.setdefault(estate.district, []).append(estate)
    return {
        "elevators": lines,
        "by_estate": [counts({e.code}, estate=estate_ref(e)) for e in estates],
        "by_district": [
            counts({e.code for e in members}, district=district, estates=len(members))
            for district, members in sorted(estates_of.items(), key=lambda kv: kv[0] or "")
        ],
    }


# --- the OpenAPI part ---------------------------------------------------------------------

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
