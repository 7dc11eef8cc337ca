"""Results of a survey, read from the database and counted by survey/tally.py.

One source for every screen and export: the planner's page, the public notice, the JSON API,
CSV and XLSX all come from SurveyResults.
"""

from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import select

from resident_portal.extensions import db
from resident_portal.models import Building, Household, Unit, format_area, natural_key
from resident_portal.spreadsheets import csv_bytes, safe, xlsx_bytes

from . import rules, tally
from .models import Ballot, BallotChoice, Survey


@dataclass
class SurveyResults:
    survey: Survey
    overall: tally.Tally
    by_building: dict[str, tally.Tally]
    by_unit: dict[tuple[str, str], tally.Tally]
    by_floor: dict[int, tally.Tally]


def parts_in_scope(survey: Survey) -> list[tally.Part]:
    query = (
        select(
            Household.id,
            Household.owner_ref,
            Building.number,
            Unit.number,
            Household.floor,
            Household.area_centi_m2,
        )
        .join(Unit, Household.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .where(Building.estate_id == survey.estate_id)
    )
    if survey.building_id:
        query = query.where(Building.id == survey.building_id)
    if survey.unit_id:
        query = query.where(Unit.id == survey.unit_id)
    # Columns, not Household objects: only these six are counted.
    return [tally.Part(*row) for row in db.session.execute(query)]


def current_ballots(survey: Survey) -> list[tally.Ballot]:
    """The counted ballot of each owner, read as plain rows (one per choice) rather than ORM
    objects: a big estate's survey has thousands of choices, and building an object for each
    was most of the time of its results page (bench/tally.py)."""
    ballots: dict[int, tuple[str, dict, set]] = {}
    rows = db.session.execute(
        select(
            Ballot.id,
            Ballot.owner_ref,
            BallotChoice.item_id,
            BallotChoice.choice,
            BallotChoice.priority,
        )
        .outerjoin(BallotChoice, BallotChoice.ballot_id == Ballot.id)  # a ballot may be empty
        .where(Ballot.survey_id == survey.id)
    )
    for ballot_id, owner_ref, item_id, choice, priority in rows:
        _owner, choices, priorities = ballots.setdefault(ballot_id, (owner_ref, {}, set()))
        if item_id is not None:
            choices[item_id] = choice
            if priority:
                priorities.add(item_id)
    return [
        tally.Ballot(owner_ref=owner_ref, choices=choices, priorities=frozenset(priorities))
        for owner_ref, choices, priorities in ballots.values()
    ]


def compute(survey: Survey) -> SurveyResults:
    parts = parts_in_scope(survey)
    ballots = current_ballots(survey)
    item_ids = [item.id for item in survey.items]
    return SurveyResults(
        survey=survey,
        overall=tally.tally(parts, ballots, item_ids, survey.rule),
        by_building=_sorted(
            tally.breakdown(parts, ballots, item_ids, lambda p: p.building), natural_key
        ),
        by_unit=_sorted(
            tally.breakdown(parts, ballots, item_ids, lambda p: (p.building, p.unit)),
            lambda k: (natural_key(k[0]), natural_key(k[1])),
        ),
        by_floor=_sorted(tally.breakdown(parts, ballots, item_ids, lambda p: p.floor), int),
    )


def _sorted(groups: dict, key) -> dict:
    return dict(sorted(groups.items(), key=lambda kv: key(kv[0])))


def households_without_ballot(survey: Survey) -> list[Household]:
    """The door-to-door list: households whose owner has not voted yet."""
    voted = set(db.session.scalars(select(Ballot.owner_ref).where(Ballot.survey_id == survey.id)))
    ids = [p.household_id for p in parts_in_scope(survey) if p.owner_ref not in voted]
    households = db.session.scalars(select(Household).where(Household.id.in_(ids))) if ids else []
    return sorted(households, key=lambda h: h.sort_key)


# --- the JSON shape of the API (issue: "others depend on this shape") --------------------


def _count(count: tally.Count) -> dict:
    return {
        "households": count.households,
        "heads": count.heads,
        "area_m2": format_area(count.area),
    }


def _choice(count: tally.Count) -> dict:
    return {"heads": count.heads, "area_m2": format_area(count.area)}


def _iso(moment) -> str:
    return moment.replace(tzinfo=UTC).isoformat()


def _items(survey: Survey, result: tally.Tally, locale: str) -> list[dict]:
    items = {item.id: item for item in survey.items}
    return [
        {
            "id": r.item_id,
            "title": items[r.item_id].localized_title(locale),
            "category": items[r.item_id].category.value,
            "support": _choice(r.support),
            "oppose": _choice(r.oppose),
            "abstain": _choice(r.abstain),
            "priority_picks": r.priority_picks,
            "approved": r.approved,
        }
        for r in result.items
    ]


def survey_summary(survey: Survey, locale: str = "zh_Hans_CN") -> dict:
    return {
        "id": survey.id,
        "title": survey.localized_title(locale),
        "kind": survey.kind.value,
        "rule": survey.rule.value if survey.rule else None,
        "scope": {
            "estate": survey.estate.code,
            "building": survey.building.number if survey.building else None,
            "unit": survey.unit.number if survey.unit else None,
        },
        "status": survey.status().value,
        "opens_at": _iso(survey.opens_at),
        "closes_at": _iso(survey.closes_at),
    }


def as_api(results: SurveyResults, locale: str = "zh_Hans_CN") -> dict:
    survey, overall = results.survey, results.overall
    return {
        "survey": survey_summary(survey, locale),
        "eligible": _count(overall.eligible),
        "participated": _count(overall.participated),
        "quorum_met": overall.quorum_met,
        "items": _items(survey, overall, locale),
        "by_building": [
            {
                "building": building,
                "eligible": _count(group.eligible),
                "participated": _count(group.participated),
                "items": _items(survey, group, locale),
            }
            for building, group in results.by_building.items()
        ],
    }


# --- exports ---------------------------------------------------------------------------


EXPORT_COLUMNS = [
    "group",
    "building",
    "unit",
    "floor",
    "item_id",
    "item",
    "category",
    "eligible_heads",
    "eligible_area_m2",
    "participated_heads",
    "participated_area_m2",
    "support_heads",
    "support_area_m2",
    "oppose_heads",
    "oppose_area_m2",
    "abstain_heads",
    "abstain_area_m2",
    "priority_picks",
    "approved",
]


def export_rows(results: SurveyResults, locale: str = "zh_Hans_CN") -> list[list]:
    """One row per item per group (the whole scope, each building, unit and floor)."""
    survey = results.survey
    items = {item.id: item for item in survey.items}
    groups = [("scope", "", "", "", results.overall)]
    groups += [("building", b, "", "", t) for b, t in results.by_building.items()]
    groups += [("unit", b, u, "", t) for (b, u), t in results.by_unit.items()]
    groups += [("floor", "", "", f, t) for f, t in results.by_floor.items()]
    rows = []
    for group, building, unit, floor, result in groups:
        for r in result.items:
            item = items[r.item_id]
            rows.append(
                [
                    group,
                    building,
                    unit,
                    floor,
                    r.item_id,
                    safe(item.localized_title(locale)),
                    item.category.value,
                    result.eligible.heads,
                    format_area(result.eligible.area),
                    result.participated.heads,
                    format_area(result.participated.area),
                    r.support.heads,
                    format_area(r.support.area),
                    r.oppose.heads,
                    format_area(r.oppose.area),
                    r.abstain.heads,
                    format_area(r.abstain.area),
                    r.priority_picks,
                    "" if r.approved is None else str(r.approved).lower(),
                ]
            )
    return rows


def export_csv(results: SurveyResults, locale: str = "zh_Hans_CN") -> bytes:
    return csv_bytes(EXPORT_COLUMNS, export_rows(results, locale))


def export_xlsx(results: SurveyResults, locale: str = "zh_Hans_CN") -> bytes:
    notes = rules.rows(results.survey)  # the rule, as the pages state it (survey/rules.py)
    return xlsx_bytes(EXPORT_COLUMNS, export_rows(results, locale), "results", notes, "rule")
