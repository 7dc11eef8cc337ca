"""Survey definitions as JSON, so a district can reuse one standard list across estates.

    {"title": "…", "title_en": "…", "kind": "decision", "matter": "renovate",
     "scope": {"building": "3", "unit": "2"},            # both optional: estate-wide
     "opens_at": "2026-12-01T09:00:00+08:00", "closes_at": "2026-12-15T18:00:00+08:00",
     "max_priorities": 3, "allow_suggestion": true,
     "items": [{"category": "basic", "title": "…", "title_en": "…", "description": "…",
                "description_en": "…", "estimated_cost_fen": 12000000}]}

Times without a zone are China Standard Time. Pure: reads and checks, writes nothing.
"""

from dataclasses import dataclass, field
from datetime import datetime

from resident_portal.common import N_, in_china, to_utc
from resident_portal.registry import Problem

from .models import ItemCategory, Matter, Survey, SurveyKind

MAX_ITEMS = 60


@dataclass(frozen=True)
class ItemDefinition:
    category: ItemCategory
    title: str
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    estimated_cost_fen: int | None = None


@dataclass(frozen=True)
class SurveyDefinition:
    title: str
    title_en: str
    kind: SurveyKind
    matter: Matter | None
    building: str | None
    unit: str | None
    opens_at: datetime  # naive UTC
    closes_at: datetime  # naive UTC
    max_priorities: int
    allow_suggestion: bool
    items: list[ItemDefinition] = field(default_factory=list)
    organiser: str = ""  # who calls the vote (业主大会/居委会/街道), printed on the notice
    contact: str = ""  # how owners reach the organiser


def _text(data: dict, key: str, limit: int, problems: list, required=False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems.append(Problem(0, N_("%(key)s must be text."), {"key": key}))
        return ""
    value = value.strip()
    if required and not value:
        problems.append(Problem(0, N_("%(key)s is required."), {"key": key}))
    if len(value) > limit:
        problems.append(
            Problem(
                0, N_("%(key)s is longer than %(limit)s characters."), {"key": key, "limit": limit}
            )
        )
    return value


def _moment(data: dict, key: str, problems: list) -> datetime | None:
    value = data.get(key)
    if isinstance(value, datetime):
        return to_utc(value)
    try:
        return to_utc(datetime.fromisoformat(str(value)))
    except (TypeError, ValueError):
        problems.append(
            Problem(
                0,
                N_("%(key)s must be a date and time such as 2026-12-01T09:00:00+08:00."),
                {"key": key},
            )
        )
        return None


def _enum(enum_class, value, key: str, problems: list):
    try:
        return enum_class(value)
    except ValueError:
        problems.append(
            Problem(
                0,
                N_("%(key)s must be one of: %(allowed)s."),
                {"key": key, "allowed": ", ".join(m.value for m in enum_class)},
            )
        )
        return None


def parse_definition(data) -> tuple[SurveyDefinition | None, list[Problem]]:
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, [Problem(0, N_("A survey definition must be a JSON object."))]
    title = _text(data, "title", 200, problems, required=True)
    title_en = _text(data, "title_en", 200, problems)
    organiser = _text(data, "organiser", 200, problems)
    contact = _text(data, "contact", 100, problems)
    kind = _enum(SurveyKind, data.get("kind"), "kind", problems)
    matter = None
    if kind is SurveyKind.DECISION:
        matter = _enum(Matter, data.get("matter"), "matter", problems)
    elif kind is SurveyKind.CONSULTATION and data.get("matter"):
        problems.append(Problem(0, N_("A consultation has no Art. 278 matter.")))
    elif kind is SurveyKind.SATISFACTION:
        problems.append(
            Problem(0, N_("A satisfaction survey is opened from its renovation project."))
        )
    scope = data.get("scope") or {}
    if not isinstance(scope, dict):
        problems.append(Problem(0, N_("scope must be an object with building and unit.")))
        scope = {}
    building = str(scope["building"]).strip() if scope.get("building") not in (None, "") else None
    unit = str(scope["unit"]).strip() if scope.get("unit") not in (None, "") else None
    if unit and not building:
        problems.append(Problem(0, N_("A unit scope needs its building.")))
    opens_at = _moment(data, "opens_at", problems)
    closes_at = _moment(data, "closes_at", problems)
    if opens_at and closes_at and closes_at <= opens_at:
        problems.append(Problem(0, N_("The survey must close after it opens.")))
    max_priorities = data.get("max_priorities", 0)
    if (
        not isinstance(max_priorities, int)
        or isinstance(max_priorities, bool)
        or not (0 <= max_priorities <= MAX_ITEMS)
    ):
        problems.append(Problem(0, N_("max_priorities must be a whole number from 0 to 60.")))
        max_priorities = 0
    if kind is SurveyKind.DECISION and max_priorities:
        problems.append(Problem(0, N_("Priority picks belong to consultations, not decisions.")))
    allow_suggestion = data.get("allow_suggestion", kind is SurveyKind.CONSULTATION)
    if not isinstance(allow_suggestion, bool):
        problems.append(Problem(0, N_("allow_suggestion must be true or false.")))

    items = []
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        problems.append(Problem(0, N_("A survey needs at least one item.")))
        raw_items = []
    if len(raw_items) > MAX_ITEMS:
        problems.append(Problem(0, N_("A survey has at most 60 items.")))
    for number, raw in enumerate(raw_items[:MAX_ITEMS], start=1):
        item, item_problems = parse_item(raw)
        problems.extend(
            Problem(0, N_("Item %(number)s: %(problem)s"), {"number": number, "problem": p})
            for p in item_problems
        )
        if item:
            items.append(item)
    if problems:
        return None, problems
    return SurveyDefinition(
        title=title,
        title_en=title_en,
        kind=kind,
        matter=matter,
        building=building,
        unit=unit,
        opens_at=opens_at,
        closes_at=closes_at,
        max_priorities=max_priorities,
        allow_suggestion=allow_suggestion,
        items=items,
        organiser=organiser,
        contact=contact,
    ), []


def parse_item(raw) -> tuple[ItemDefinition | None, list[Problem]]:
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        return None, [Problem(0, N_("an item must be an object."))]
    category = _enum(ItemCategory, raw.get("category"), "category", problems)
    title = _text(raw, "title", 200, problems, required=True)
    title_en = _text(raw, "title_en", 200, problems)
    description = _text(raw, "description", 2000, problems)
    description_en = _text(raw, "description_en", 2000, problems)
    cost = raw.get("estimated_cost_fen")
    if cost is not None and (not isinstance(cost, int) or isinstance(cost, bool) or cost < 0):
        problems.append(Problem(0, N_("estimated_cost_fen must be a whole number of fen.")))
    if problems:
        return None, problems
    return ItemDefinition(category, title, title_en, description, description_en, cost), []


def to_definition(survey: Survey) -> dict:
    """The JSON definition of an existing survey (the inverse of parse_definition)."""

    def china(moment: datetime) -> str:
        return in_china(moment).isoformat()

    return {
        "title": survey.title,
        "title_en": survey.title_en,
        "organiser": survey.organiser,
        "contact": survey.contact,
        "kind": survey.kind.value,
        "matter": survey.matter.value if survey.matter else None,
        "scope": {
            "building": survey.building.number if survey.building else None,
            "unit": survey.unit.number if survey.unit else None,
        },
        "opens_at": china(survey.opens_at),
        "closes_at": china(survey.closes_at),
        "max_priorities": survey.max_priorities,
        "allow_suggestion": survey.allow_suggestion,
        "items": [
            {
                "category": item.category.value,
                "title": item.title,
                "title_en": item.title_en,
                "description": item.description,
                "description_en": item.description_en,
                "estimated_cost_fen": item.estimated_cost_fen,
            }
            for item in survey.items
        ],
    }
