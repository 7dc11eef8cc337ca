"""Results of a survey, read from the database and counted by survey/tally.py.

One source for every screen and export: the planner's page, the public notice, the JSON API,
CSV and XLSX all come from SurveyResults.
"""

from dataclasses import dataclass, field
from datetime import UTC

from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal.common import N_, area_m2, format_area
from resident_portal.extensions import db
from resident_portal.models import Household, natural_key
from resident_portal.privacy import mask_phone_numbers
from resident_portal.spreadsheets import Column, Table, csv_bytes, safe, workbook

from . import counting, roll, rules, tally
from .models import (
    CATEGORY_LABELS,
    Ballot,
    KeptCount,
    Survey,
    SurveyItem,
    SurveyStatus,
    choice_keys,
)


@dataclass
class SurveyResults:
    """A survey's counts, and which of them may be shown (the secrecy rule, docs/domain.md).

    Choice figures (support, oppose, abstain, priority picks, approval) are shown only after
    closing: a live count would let staff difference it before and after one household votes.
    After closing the scope's own result, the legal one, is always shown; a breakdown group
    only where survey/tally.py's `withheld` allows (at least 5 participating owners, also by
    subtraction). Participation is always shown.
    """

    survey: Survey
    overall: tally.Tally
    by_building: dict[str, tally.Tally]
    by_unit: dict[tuple[str, str], tally.Tally]
    by_floor: dict[int, tally.Tally]
    closed: bool = False
    hidden: set = field(default_factory=set)  # ("building", "3"), ("unit", ("3", "1")), ...

    def shows(self, kind: str = "scope", key=None) -> bool:
        """Whether the choice figures of this group may be shown."""
        return self.closed and (kind == "scope" or (kind, key) not in self.hidden)

    @property
    def withheld_groups(self) -> int:
        return len(self.hidden)


def _withheld(by_building: dict, by_unit: dict, by_floor: dict) -> set:
    hidden = {("building", key) for key in tally.withheld(by_building)}
    hidden |= {("floor", key) for key in tally.withheld(by_floor)}
    units_of: dict[str, dict] = {}
    for (building, unit), group in by_unit.items():
        units_of.setdefault(building, {})[(building, unit)] = group
    for building, units in units_of.items():
        if ("building", building) in hidden:
            # Its units would give the building's figures back: withheld with it.
            hidden |= {("unit", key) for key in units}
        else:
            hidden |= {("unit", key) for key in tally.withheld(units)}
    return hidden


def compute(survey: Survey) -> SurveyResults:
    item_ids = [item.id for item in survey.items]
    if roll.is_frozen(survey):
        groups = counting.tallies(counting.stored(survey), item_ids, survey.rule)
    else:
        # Not opened, or opened without a ballot or register change since: nobody has voted,
        # and the register is what the roll will be.
        parts = roll.live_parts(survey)
        groups = {}
        for key in (
            lambda p: counting.SCOPE,
            lambda p: ("building", p.building, "", 0),
            lambda p: ("unit", p.building, p.unit, 0),
            lambda p: ("floor", "", "", p.floor),
        ):
            groups.update(tally.breakdown(parts, [], item_ids, key))
        groups[counting.SCOPE] = tally.tally(parts, [], item_ids, survey.rule)
    by_building = {b: t for (kind, b, _u, _f), t in groups.items() if kind == "building"}
    by_unit = {(b, u): t for (kind, b, u, _f), t in groups.items() if kind == "unit"}
    by_floor = {f: t for (kind, _b, _u, f), t in groups.items() if kind == "floor"}
    by_building = _sorted(by_building, natural_key)
    by_unit = _sorted(by_unit, lambda k: (natural_key(k[0]), natural_key(k[1])))
    by_floor = _sorted(by_floor, int)
    closed = survey.status() is SurveyStatus.CLOSED
    return SurveyResults(
        survey=survey,
        overall=groups[counting.SCOPE],
        by_building=by_building,
        by_unit=by_unit,
        by_floor=by_floor,
        closed=closed,
        hidden=_withheld(by_building, by_unit, by_floor) if closed else set(),
    )


def scope_results(surveys: list[Survey]) -> dict[int, tally.Tally]:
    """The scope's tally of many surveys at once (the planners' overview), from the kept
    counts in one query. Not secret-filtered: callers show choice figures of closed surveys
    only (survey.status())."""
    frozen = [s for s in surveys if roll.is_frozen(s)]
    counts: dict[int, counting.Counts] = {s.id: {} for s in frozen}
    if frozen:
        rows = db.session.connection().execute(  # plain rows, as counting.stored reads them
            select(
                KeptCount.survey_id,
                KeptCount.item_id,
                KeptCount.measure,
                KeptCount.households,
                KeptCount.heads,
                KeptCount.area,
            ).where(KeptCount.survey_id.in_(counts), KeptCount.grp == "scope")
        )
        for survey_id, item_id, measure, households, heads, area in rows:
            counts[survey_id][(*counting.SCOPE, item_id, measure)] = [households, heads, area]
    # The item ids as plain rows, in the items' order: loading every survey's items as ORM
    # objects was a third of the overview's time, and nothing here needs more than the ids.
    items_of: dict[int, list[int]] = {s.id: [] for s in surveys}
    if surveys:
        for survey_id, item_id in db.session.execute(
            select(SurveyItem.survey_id, SurveyItem.id)
            .where(SurveyItem.survey_id.in_(items_of))
            .order_by(SurveyItem.survey_id, SurveyItem.position)
        ):
            items_of[survey_id].append(item_id)
    result = {}
    for survey in surveys:
        item_ids = items_of[survey.id]
        if survey.id in counts:
            groups = counting.tallies(counts[survey.id], item_ids, survey.rule)
            result[survey.id] = groups[counting.SCOPE]
        else:
            result[survey.id] = tally.tally(roll.live_parts(survey), [], item_ids, survey.rule)
    return result


def suggestions(results: SurveyResults) -> list[str]:
    """The written suggestions of the counted ballots, for staff, with phone numbers masked.

    Only once the survey has closed, like the choice figures: a list that grows while voting
    goes on would let staff tie a new suggestion to the household they just visited. Never
    beside the ballot's choices, and in an order that says nothing about who wrote what or when
    (by their text), so that a suggestion cannot be matched to a ballot, a receipt or a time."""
    if not results.closed:
        return []
    texts = db.session.scalars(
        select(Ballot.suggestion).where(
            Ballot.survey_id == results.survey.id, Ballot.suggestion != ""
        )
    )
    return sorted(mask_phone_numbers(text.strip()) for text in texts if text and text.strip())


def priority_ranking(results: SurveyResults) -> list:
    """The items by the owners who picked them as a priority, most first (ties in the
    survey's order); empty while the figures are secret or when no picks were asked for."""
    if not results.shows() or not results.survey.max_priorities:
        return []
    position = {item.id: n for n, item in enumerate(results.survey.items)}
    return sorted(results.overall.items, key=lambda r: (-r.priority_picks, position[r.item_id]))


def _sorted(groups: dict, key) -> dict:
    return dict(sorted(groups.items(), key=lambda kv: key(kv[0])))


def households_without_ballot(survey: Survey) -> list[Household]:
    """The door-to-door list: households on the roll whose owner has not voted yet."""
    voted = set(db.session.scalars(select(Ballot.owner_ref).where(Ballot.survey_id == survey.id)))
    ids = [p.household_id for p in roll.parts(survey) if p.owner_ref not in voted]
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


def _items(survey: Survey, result: tally.Tally, locale: str, shown: bool) -> list[dict]:
    """Items with their choice figures, or with nulls where the secrecy rule withholds them
    (the keys stay, so that clients read one shape)."""
    items = {item.id: item for item in survey.items}
    keys = choice_keys(survey)  # support/oppose/abstain; satisfied/… for a satisfaction survey
    return [
        {
            "id": r.item_id,
            "title": items[r.item_id].localized_title(locale),
            "category": items[r.item_id].category.value,
            **{
                key: _choice(getattr(r, choice.value)) if shown else None
                for choice, key in keys.items()
            },
            "priority_picks": r.priority_picks if shown else None,
            "approved": r.approved if shown else None,
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
        "choices_shown": results.shows(),
        "items": _items(survey, overall, locale, results.shows()),
        "by_building": [
            {
                "building": building,
                "eligible": _count(group.eligible),
                "participated": _count(group.participated),
                "choices_shown": results.shows("building", building),
                "items": _items(survey, group, locale, results.shows("building", building)),
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
    "choices_shown",
]
CHOICE_COLUMNS = slice(11, 17)  # each choice's heads and area, in the ballot's order


def export_columns(survey: Survey) -> list[str]:
    """The CSV's column keys; a satisfaction survey's choices by their own keys."""
    columns = list(EXPORT_COLUMNS)
    columns[CHOICE_COLUMNS] = [
        f"{key}_{measure}"
        for key in choice_keys(survey).values()
        for measure in ("heads", "area_m2")
    ]
    return columns


def export_rows(
    results: SurveyResults, locale: str = "zh_Hans_CN", readable: bool = False
) -> list[list]:
    """One row per item per group (the whole scope, each building, unit and floor); choice
    cells are empty where the secrecy rule withholds them (choices_shown = false).

    For the CSV (machines) groups, categories and booleans are keys and areas text with two
    decimals; `readable` (the workbook) gives them in the reader's language, areas as exact
    numbers and absent cells as None."""
    survey = results.survey
    items = {item.id: item for item in survey.items}
    groups = [("scope", "", "", "", results.overall, results.shows())]
    groups += [
        ("building", b, "", "", t, results.shows("building", b))
        for b, t in results.by_building.items()
    ]
    groups += [
        ("unit", b, u, "", t, results.shows("unit", (b, u)))
        for (b, u), t in results.by_unit.items()
    ]
    groups += [
        ("floor", "", "", f, t, results.shows("floor", f)) for f, t in results.by_floor.items()
    ]
    area = area_m2 if readable else format_area
    empty = None if readable else ""

    def flag(value):
        if value is None:
            return empty
        if readable:
            return _("yes") if value else _("no")
        return str(value).lower()

    rows = []
    order = list(choice_keys(survey))
    for group, building, unit, floor, result, shown in groups:
        for r in result.items:
            item = items[r.item_id]
            counts = [getattr(r, choice.value) for choice in order]
            choices = [
                *(value for count in counts for value in (count.heads, area(count.area))),
                r.priority_picks,
                flag(r.approved),
            ]
            rows.append(
                [
                    _(GROUP_LABELS[group]) if readable else group,
                    building,
                    unit,
                    empty if floor == "" else floor,
                    r.item_id,
                    safe(item.localized_title(locale)),
                    str(CATEGORY_LABELS[item.category]) if readable else item.category.value,
                    result.eligible.heads,
                    area(result.eligible.area),
                    result.participated.heads,
                    area(result.participated.area),
                    # Withheld figures are empty cells, never zeros that could be misread.
                    *(choices if shown else [empty] * len(choices)),
                    flag(shown),
                ]
            )
    return rows


def export_csv(results: SurveyResults, locale: str = "zh_Hans_CN") -> bytes:
    return csv_bytes(export_columns(results.survey), export_rows(results, locale))


# The workbook's columns, in the reader's language (the CSV keeps EXPORT_COLUMNS' keys).
EXPORT_HEADERS = [
    (N_("Group"), "text"),
    (N_("Building"), "text"),
    (N_("Unit"), "text"),
    (N_("Floor"), "integer"),
    (N_("Item no."), "integer"),
    (N_("Item"), "text"),
    (N_("Category"), "text"),
    (N_("Owners on the roll"), "integer"),
    (N_("Area on the roll (m²)"), "area"),
    (N_("Owners taking part"), "integer"),
    (N_("Area taking part (m²)"), "area"),
    (N_("Owners supporting"), "integer"),
    (N_("Area supporting (m²)"), "area"),
    (N_("Owners opposing"), "integer"),
    (N_("Area opposing (m²)"), "area"),
    (N_("Owners abstaining"), "integer"),
    (N_("Area abstaining (m²)"), "area"),
    (N_("Priority picks"), "integer"),
    (N_("Approved"), "text"),
    (N_("Choices shown"), "text"),
]
# The choice columns' headers by the choice's key (models.choice_names): a satisfaction
# survey's replace EXPORT_HEADERS' supporting … abstaining.
CHOICE_HEADERS = {
    "support": (N_("Owners supporting"), N_("Area supporting (m²)")),
    "oppose": (N_("Owners opposing"), N_("Area opposing (m²)")),
    "abstain": (N_("Owners abstaining"), N_("Area abstaining (m²)")),
    "satisfied": (N_("Owners satisfied"), N_("Area satisfied (m²)")),
    "basically_satisfied": (N_("Owners basically satisfied"), N_("Area basically satisfied (m²)")),
    "unsatisfied": (N_("Owners dissatisfied"), N_("Area dissatisfied (m²)")),
}
GROUP_LABELS = {
    "scope": N_("Whole scope"),
    "building": N_("Building"),
    "unit": N_("Unit"),
    "floor": N_("Floor"),
}


def export_table(results: SurveyResults, locale: str = "zh_Hans_CN") -> Table:
    """The results for the workbook: translated headers, groups and categories, areas as
    numbers."""
    labels = list(EXPORT_HEADERS)
    labels[CHOICE_COLUMNS] = [
        (label, kind)
        for key in choice_keys(results.survey).values()
        for label, kind in zip(CHOICE_HEADERS[key], ("integer", "area"), strict=True)
    ]
    headers = [Column(_(label), kind) for label, kind in labels]
    return Table(_("Results"), headers, export_rows(results, locale, readable=True))


def suggestions_table(results: SurveyResults) -> Table:
    return Table(
        _("Suggestions"), [Column(_("Written suggestion"))], [[t] for t in suggestions(results)]
    )


def suggestions_csv(results: SurveyResults) -> bytes:
    return csv_bytes(["suggestion"], [[t] for t in suggestions(results)])


def export_xlsx(results: SurveyResults, locale: str = "zh_Hans_CN") -> bytes:
    notes = rules.rows(results.survey)  # the rule, as the pages state it (survey/rules.py)
    tables = [export_table(results, locale)]
    tables.append(
        Table(_("Counting rule"), [Column(str(r[0])) for r in notes[:1]], notes[1:], filter=False)
    )
    if results.closed:
        tables.append(suggestions_table(results))
    return workbook(tables)
