"""How the law is stated: the one source of every sentence that shows a voting rule.

Civil Code Art. 278 (民法典第二百七十八条), as survey/tally.py counts it:

- Quorum: owners holding ≥ 2/3 of the exclusive area AND making up ≥ 2/3 of all owners take
  part (参与表决).
- Items 6–8 (raising maintenance funds, rebuilding or renovating the buildings and their
  ancillary facilities, changing the use of common parts or using them for business): support
  of ≥ 3/4 of the participating area AND ≥ 3/4 of the participating owners ("以上" includes
  the boundary).
- Every other matter: support of more than half (过半数, strictly) of the participating area
  AND of the participating owners.

Ballots, notices and the console (survey/_rule.html), results, the elevator project and its
pledges, the exports and the API description all take their sentences from here, so that pages,
print and exports cannot disagree. Terms (issue 11): a binding vote is a 业主共同决定 / 表决,
never 正式决定 or 征求意见; a non-binding survey is a 意愿征询; the area of the law is the
专有部分面积 (as registered), never 建筑面积 outside the register's import column.

No imports from the models: survey/models.py takes its matter labels and rules from here.
"""

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from resident_portal.common import format_percent

from .tally import Rule

# --- the kinds of survey ------------------------------------------------------------------

DECISION = _l("Joint decision of the owners (Civil Code Art. 278)")
CONSULTATION = _l("Consultation (not binding)")
CONSULTATION_NOTE = _l("Consultation: your views guide the plan; it is not a binding vote.")
# 满意度测评: after construction finishes, how satisfied the households are with each item of
# the works. Not a joint decision: no quorum, no threshold; the satisfaction rate is
# (satisfied + basically satisfied) ÷ answers (resident_portal/renovation/bulletin.py).
SATISFACTION = _l("Satisfaction survey of the renovation (not a vote)")
SATISFACTION_NOTE = _l(
    "Satisfaction survey: tell us how satisfied you are with each part of the finished works. "
    "It is not a vote; the results go to the acceptance of the works and the city's reports."
)

# --- the matters of Art. 278, keyed by survey.models.Matter values ---------------------------

MATTER_LABELS = {
    "rules": _l("Rules of procedure or the management statute"),
    "committee": _l("Electing or changing the owners' committee"),
    "property_service": _l("Hiring or dismissing the property service company"),
    "use_maintenance_fund": _l(
        "Using the maintenance fund of the buildings and their ancillary facilities"
    ),
    "raise_maintenance_fund": _l(
        "Raising the maintenance fund of the buildings and their ancillary facilities"
    ),
    "renovate": _l("Rebuilding or renovating the buildings and their ancillary facilities"),
    "common_parts": _l(
        "Changing the use of common parts, or using common parts for business activities"
    ),
    "other": _l("Another major matter of common ownership"),
}
# Art. 278 items 6–8: the matters decided by three quarters.
THREE_QUARTER_MATTERS = ("raise_maintenance_fund", "renovate", "common_parts")

# --- the sentences ----------------------------------------------------------------------------

QUORUM = _l(
    "The vote is valid only if owners holding at least two thirds of the exclusive area, and "
    "making up at least two thirds of all owners, take part."
)
APPROVAL = {
    Rule.MAJORITY: _l(
        "It is approved with the support of owners holding more than half of the participating "
        "exclusive area and making up more than half of the participating owners."
    ),
    Rule.THREE_QUARTERS: _l(
        "It is approved with the support of owners holding at least three quarters of the "
        "participating exclusive area and making up at least three quarters of the "
        "participating owners."
    ),
}
MATTERS_SUMMARY = _l(
    "Raising the maintenance fund, rebuilding or renovating the buildings and their ancillary "
    "facilities, and changing the use of common parts or using them for business activities "
    "need the support of at least three quarters of the participating owners, by count and by "
    "exclusive area; every other matter needs more than half of the participating owners, by "
    "count and by exclusive area."
)

# --- labels of the results ----------------------------------------------------------------------

QUORUM_LABEL = _l("Quorum (two thirds of the owners and of the area)")
EXCLUSIVE_AREA = _l("Exclusive area")
EXCLUSIVE_AREA_M2 = _l("Exclusive area (m²)")

# --- the elevator: a joint decision on renovating the unit (Art. 278 item 7) -----------------

ELEVATOR_RULE = Rule.THREE_QUARTERS


def approval(rule: Rule | str) -> str:
    """The approval sentence of a rule, in the current language."""
    return str(APPROVAL[Rule(rule)])


def full(rule: Rule | str) -> str:
    """Approval and quorum: the whole rule of a joint decision, as every page states it."""
    return f"{approval(rule)} {QUORUM}"


def elevator() -> str:
    """The rule of an elevator vote (item 7: renovating the buildings and their facilities)."""
    return full(ELEVATOR_RULE)


def both_languages(text_of) -> str:
    """For texts that are not localized per request (the API description): Chinese, then
    English, each from the same lazy strings as the pages."""
    texts = []
    for locale in ("zh_Hans_CN", "en"):
        with force_locale(locale):
            texts.append(str(text_of()))
    return " / ".join(texts)


def rows(survey) -> list[list[str]]:
    """The rule of a survey for an export's "rule" sheet, in the current language."""
    if survey.kind.value == "satisfaction":
        return [[str(SATISFACTION)], [str(SATISFACTION_NOTE)]]
    if survey.kind.value != "decision":
        return [[str(CONSULTATION)], [str(CONSULTATION_NOTE)]]
    return [
        [str(DECISION)],
        [str(MATTER_LABELS[survey.matter.value])],
        [approval(survey.rule)],
        [str(QUORUM)],
    ]


# --- the public notice: shares for display, one sentence per item ------------------------------
# Shares are printed to two decimals, computed with Decimal so that the printed figure is the
# exact ratio rounded half-up; whether an item passes is still decided by the integer tally
# (survey/tally.py), never from these figures.


def share(part: int, whole: int) -> str:
    """part/whole as a percentage with two decimals ("66.67"); "0.00" when whole is 0: the
    one rounding of every page and file (resident_portal.common.format_percent)."""
    return format_percent(part, whole)


def item_sentence(survey, overall, result) -> str:
    """Whether this item meets Art. 278's thresholds, in one sentence for the notice."""
    if survey.kind.value == "satisfaction":
        # 满意 is kept as support, 基本满意 as abstain (survey/models.py); counted in households.
        answers = result.support.households + result.abstain.households + result.oppose.households
        return _(
            "Not a vote: %(rate)s%% of the households answering are satisfied or basically "
            "satisfied with this item.",
            rate=share(result.support.households + result.abstain.households, answers),
        )
    heads = share(result.support.heads, overall.participated.heads)
    area = share(result.support.area, overall.participated.area)
    if survey.rule is None:
        return _(
            "A consultation, not a vote: %(heads)s%% of the owners taking part, holding "
            "%(area)s%% of their area, support this item.",
            heads=heads,
            area=area,
        )
    if not overall.quorum_met:
        return _(
            "Fewer than two thirds of the owners, or of the exclusive area, took part: "
            "the vote is not valid and this item is not approved."
        )
    if survey.rule is Rule.THREE_QUARTERS:
        if result.approved:
            return _(
                "Supported by %(heads)s%% of the owners taking part, holding %(area)s%% of "
                "their exclusive area: at least three quarters of both, as Art. 278 requires. "
                "Approved.",
                heads=heads,
                area=area,
            )
        return _(
            "Supported by %(heads)s%% of the owners taking part, holding %(area)s%% of their "
            "exclusive area: Art. 278 requires at least three quarters of both. Not approved.",
            heads=heads,
            area=area,
        )
    if result.approved:
        return _(
            "Supported by %(heads)s%% of the owners taking part, holding %(area)s%% of their "
            "exclusive area: more than half of both, as Art. 278 requires. Approved.",
            heads=heads,
            area=area,
        )
    return _(
        "Supported by %(heads)s%% of the owners taking part, holding %(area)s%% of their "
        "exclusive area: Art. 278 requires more than half of both. Not approved.",
        heads=heads,
        area=area,
    )
