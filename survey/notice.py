"""The public notice (公示) in the form cities publish: shares for display, one sentence per item.

Shares are printed to two decimals and computed here for display only, with Decimal so that the
printed figure is the exact ratio rounded half-up; whether an item passes is still decided by
the integer tally (survey/tally.py), never from these figures.
"""

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _

from . import tally
from .models import Survey


def share(part: int, whole: int) -> str:
    """part/whole as a percentage with two decimals ("66.67"); "0.00" when whole is 0."""
    if not whole:
        return "0.00"
    return str((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def item_sentence(survey: Survey, overall: tally.Tally, result: tally.ItemResult) -> str:
    """Whether this item meets Art. 278's thresholds, in one sentence for the notice."""
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
    if survey.rule is tally.Rule.THREE_QUARTERS:
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
