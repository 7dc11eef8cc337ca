"""Campaigns and elevator projects for planners' own systems: the JSON of /api/v1/campaigns and
/api/v1/elevators (contributions/views/api.py); their part of the OpenAPI document is in
contributions/openapi.py. Aggregates only: no names, no single household's pledge. An elevator's
consent vote follows the secrecy rule of every survey (survey/results.py): support and approval
only once it has closed."""

from datetime import UTC

from sqlalchemy import select

from resident_portal.api import (
    estate_ref,
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
