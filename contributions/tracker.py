"""Where a campaign stands: totals, rates, by building and unit, who has not answered.

One source for the resident's page, the public totals, the secretary's tracker and the exports.
"""

import enum
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from resident_portal.common import N_, area_m2, format_area, plain_yuan, yuan
from resident_portal.extensions import db
from resident_portal.models import Building, Household, Unit, natural_key
from resident_portal.privacy import mask_name
from resident_portal.spreadsheets import Column, Table, csv_bytes, workbook
from survey.models import SurveyStatus
from survey.results import compute as survey_results

from . import sharing
from .models import Campaign, ElevatorProject, Payment, Pledge
from .operations import elevator_split


class PledgeStatus(enum.StrEnum):
    """Where one household stands in a campaign, as its cards and rows say it."""

    NOT_PLEDGED = "not_pledged"  # no pledge, or withdrawn
    PLEDGED = "pledged"
    PAID = "paid"  # received at least what was pledged

    @property
    def label(self):
        return PLEDGE_STATUS_LABELS[self]


PLEDGE_STATUS_LABELS = {
    PledgeStatus.NOT_PLEDGED: _l("Not pledged"),
    PledgeStatus.PLEDGED: _l("Pledged"),
    PledgeStatus.PAID: _l("Paid in full"),
}


def owner_status(statuses: list[PledgeStatus]) -> PledgeStatus:
    """One status for an owner's flats: not pledged while any flat is, paid when all are."""
    if not statuses or PledgeStatus.NOT_PLEDGED in statuses:
        return PledgeStatus.NOT_PLEDGED
    if all(s is PledgeStatus.PAID for s in statuses):
        return PledgeStatus.PAID
    return PledgeStatus.PLEDGED


@dataclass
class HouseholdLine:
    household: Household
    suggested_fen: int
    pledge: Pledge | None
    paid_fen: int

    @property
    def pledged_fen(self) -> int:
        return self.pledge.amount_fen if self.pledge is not None and self.pledge.active else 0

    @property
    def answered(self) -> bool:
        return self.pledge is not None  # a withdrawal is an answer too

    @property
    def overpaid(self) -> bool:
        return self.paid_fen > self.pledged_fen

    @property
    def status(self) -> PledgeStatus:
        if not self.pledged_fen:
            return PledgeStatus.NOT_PLEDGED
        return PledgeStatus.PAID if self.paid_fen >= self.pledged_fen else PledgeStatus.PLEDGED


@dataclass
class Totals:
    households: int = 0
    answered: int = 0
    pledged_households: int = 0
    pledged_fen: int = 0
    paid_fen: int = 0

    def add(self, line: HouseholdLine) -> None:
        self.households += 1
        self.answered += line.answered
        self.pledged_households += line.pledged_fen > 0
        self.pledged_fen += line.pledged_fen
        self.paid_fen += line.paid_fen


@dataclass
class Progress:
    campaign: Campaign
    target_fen: int
    lines: list[HouseholdLine]
    totals: Totals = field(default_factory=Totals)
    by_building: dict = field(default_factory=dict)
    by_unit: dict = field(default_factory=dict)

    @property
    def pledged_rate(self) -> int:  # ‰ of the target
        return sharing.rate_permille(self.totals.pledged_fen, self.target_fen)

    @property
    def paid_rate(self) -> int:
        return sharing.rate_permille(self.totals.paid_fen, self.target_fen)

    @property
    def answer_rate(self) -> int:
        return sharing.rate_permille(self.totals.answered, self.totals.households)

    def line(self, household_id: int) -> HouseholdLine | None:
        return next((x for x in self.lines if x.household.id == household_id), None)


def households_of(campaign: Campaign) -> list[Household]:
    query = (
        select(Household).join(Unit).join(Building).where(Building.estate_id == campaign.estate_id)
    )
    if campaign.building_id:
        query = query.where(Building.id == campaign.building_id)
    if campaign.unit_id:
        query = query.where(Unit.id == campaign.unit_id)
    return sorted(db.session.scalars(query), key=lambda h: h.sort_key)


def suggestions(campaign: Campaign, households: list[Household]) -> dict[int, int]:
    """Each household's suggested amount: its elevator share, or the campaign's formula."""
    if campaign.elevator is not None:
        shares = elevator_split(campaign.elevator).shares
        return {h.id: shares.get(h.id, 0) for h in households}
    return {
        h.id: sharing.suggested_amount(campaign.flat_fen, campaign.per_m2_fen, h.area_centi_m2)
        for h in households
    }


def progress(campaign: Campaign) -> Progress:
    households = households_of(campaign)
    suggested = suggestions(campaign, households)
    pledges = {
        p.household_id: p
        for p in db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign.id))
    }
    paid = dict(
        db.session.execute(
            select(Payment.household_id, func.sum(Payment.amount_fen))
            .where(Payment.campaign_id == campaign.id)
            .group_by(Payment.household_id)
        ).all()
    )
    result = Progress(campaign=campaign, target_fen=campaign.target_fen, lines=[])
    for h in households:
        line = HouseholdLine(h, suggested[h.id], pledges.get(h.id), int(paid.get(h.id, 0)))
        result.lines.append(line)
        result.totals.add(line)
        result.by_building.setdefault(h.unit.building.number, Totals()).add(line)
        result.by_unit.setdefault((h.unit.building.number, h.unit.number), Totals()).add(line)
    result.by_building = dict(sorted(result.by_building.items(), key=lambda kv: natural_key(kv[0])))
    result.by_unit = dict(
        sorted(
            result.by_unit.items(), key=lambda kv: (natural_key(kv[0][0]), natural_key(kv[0][1]))
        )
    )
    return result


# --- household pickers of the staff entry forms --------------------------------------------
# A picker offers only the households to which the action applies, filtered by building, unit
# and status, so that a secretary entering a pile of paper slips finds each one quickly.

PICKER_STATUSES = {
    # recording a pledge: households without one of their own (a staff entry never replaces
    # a household's online pledge)
    "pledge": {
        "none": _l("Not answered"),
        "withdrawn": _l("Withdrawn"),
        "recorded": _l("Recorded by staff"),
    },
    # recording a payment: households that pledged, or paid (a correction is a payment too)
    "payment": {
        "owing": _l("Still owing"),
        "paid": _l("Paid in full"),
    },
}
DEFAULT_STATUS = {"pledge": "", "payment": "owing"}


def picker_status(action: str, line: HouseholdLine) -> str | None:
    """The line's status for the action's picker, or None when the action does not apply."""
    pledge = line.pledge
    if action == "pledge":
        if pledge is None:
            return "none"
        if not pledge.active:
            return "withdrawn"
        return "recorded" if pledge.source.value == "staff" else None
    if line.pledged_fen == 0 and line.paid_fen == 0:
        return None
    return "owing" if line.paid_fen < line.pledged_fen else "paid"


def picker_lines(
    state: Progress, action: str, building: str = "", unit: str = "", status: str = ""
) -> list[HouseholdLine]:
    """The lines a picker offers: the action applies, in the building and unit, of the status
    (empty strings: any)."""
    chosen = []
    for line in state.lines:
        h = line.household
        line_status = picker_status(action, line)
        if line_status is None:
            continue
        if building and h.unit.building.number != building:
            continue
        if unit and h.unit.number != unit:
            continue
        if status and line_status != status:
            continue
        chosen.append(line)
    return chosen


def prefilled_fen(action: str, line: HouseholdLine) -> int:
    """What the amount field starts with: the suggested amount for a pledge, what is still
    owed (at first the whole pledged amount) for a payment."""
    if action == "pledge":
        return line.suggested_fen
    return max(0, line.pledged_fen - line.paid_fen)


# --- elevator status ----------------------------------------------------------------------


class ElevatorStatus(enum.StrEnum):
    COLLECTING_CONSENT = "collecting_consent"
    NOT_AGREED = "not_agreed"
    CONSENT_REACHED = "consent_reached"
    FULLY_PLEDGED = "fully_pledged"
    FULLY_PAID = "fully_paid"

    @property
    def label(self):
        return ELEVATOR_STATUS_LABELS[self]


ELEVATOR_STATUS_LABELS = {
    ElevatorStatus.COLLECTING_CONSENT: _l("Collecting consent"),
    ElevatorStatus.NOT_AGREED: _l("Consent not reached"),
    ElevatorStatus.CONSENT_REACHED: _l("Consent reached, collecting pledges"),
    ElevatorStatus.FULLY_PLEDGED: _l("Fully pledged"),
    ElevatorStatus.FULLY_PAID: _l("Fully paid"),
}
ELEVATOR_STEPS = [
    ElevatorStatus.COLLECTING_CONSENT,
    ElevatorStatus.CONSENT_REACHED,
    ElevatorStatus.FULLY_PLEDGED,
    ElevatorStatus.FULLY_PAID,
]


def elevator_status(project: ElevatorProject, state: Progress) -> ElevatorStatus:
    """The unit moves collecting consent → consent reached → fully pledged → fully paid; the
    consent is the unit's formal decision (≥ 3/4), decided when its vote closes."""
    if project.survey.status() is not SurveyStatus.CLOSED:
        return ElevatorStatus.COLLECTING_CONSENT
    if not survey_results(project.survey).overall.items[0].approved:
        return ElevatorStatus.NOT_AGREED
    if state.target_fen and state.totals.paid_fen >= state.target_fen:
        return ElevatorStatus.FULLY_PAID
    if state.target_fen and state.totals.pledged_fen >= state.target_fen:
        return ElevatorStatus.FULLY_PLEDGED
    return ElevatorStatus.CONSENT_REACHED


# --- exports ------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "building",
    "unit",
    "room",
    "floor",
    "area_m2",
    "owner",
    "suggested_yuan",
    "pledged_yuan",
    "channel",
    "entered_by",
    "withdrawn",
    "paid_yuan",
    "overpaid",
    "payment_channels",
    "receipt_numbers",
]


def payments_by_household(campaign: Campaign) -> dict[int, list[Payment]]:
    """Each household's payments in the order received: the exports list their channels and
    receipt numbers beside the household's totals."""
    result: dict[int, list[Payment]] = {}
    for payment in db.session.scalars(
        select(Payment)
        .where(Payment.campaign_id == campaign.id)
        .order_by(Payment.paid_on, Payment.id)
    ):
        result.setdefault(payment.household_id, []).append(payment)
    return result


def _distinct(values) -> list:
    return list(dict.fromkeys(v for v in values if v))


def export_rows(state: Progress) -> list[list]:
    rows = []
    payments = payments_by_household(state.campaign)
    for line in state.lines:
        h, p = line.household, line.pledge
        paid = payments.get(h.id, [])
        rows.append(
            [
                h.unit.building.number,
                h.unit.number,
                h.room,
                h.floor,
                format_area(h.area_centi_m2),
                mask_name(h.owner_name),
                plain_yuan(line.suggested_fen),
                plain_yuan(line.pledged_fen),
                p.channel.value if p else "",
                "staff" if p is not None and p.entered_by_id else ("household" if p else ""),
                "yes" if p is not None and not p.active else "",
                plain_yuan(line.paid_fen),
                "yes" if line.overpaid else "",
                "; ".join(_distinct(x.channel.value for x in paid)),
                "; ".join(_distinct(x.receipt_number for x in paid)),
            ]
        )
    return rows


def export_csv(state: Progress) -> bytes:
    return csv_bytes(EXPORT_COLUMNS, export_rows(state))


# The workbook's headers and kinds, in the reader's language (the CSV keeps the keys above).
EXPORT_HEADERS = [
    (N_("Building"), "text"),
    (N_("Unit"), "text"),
    (N_("Room"), "text"),
    (N_("Floor"), "integer"),
    (N_("Area (m²)"), "area"),
    (N_("Owner"), "text"),
    (N_("Suggested (yuan)"), "money"),
    (N_("Pledged (yuan)"), "money"),
    (N_("Channel"), "text"),
    (N_("Entered by"), "text"),
    (N_("Withdrawn"), "text"),
    (N_("Received (yuan)"), "money"),
    (N_("Paid more than pledged"), "text"),
    (N_("Paid by"), "text"),
    (N_("Receipt numbers"), "text"),
]


def export_table(state: Progress) -> Table:
    """export_rows for the workbook: areas and money as numbers, channels and flags in the
    reader's language."""
    rows = []
    payments = payments_by_household(state.campaign)
    for line in state.lines:
        h, p = line.household, line.pledge
        paid = payments.get(h.id, [])
        rows.append(
            [
                h.unit.building.number,
                h.unit.number,
                h.room,
                h.floor,
                area_m2(h.area_centi_m2),
                mask_name(h.owner_name),
                yuan(line.suggested_fen),
                yuan(line.pledged_fen),
                str(p.channel.label) if p else "",
                (_("staff") if p.entered_by_id else _("household")) if p is not None else "",
                _("yes") if p is not None and not p.active else "",
                yuan(line.paid_fen),
                _("yes") if line.overpaid else "",
                "; ".join(_distinct(str(x.channel.label) for x in paid)),
                "; ".join(_distinct(x.receipt_number for x in paid)),
            ]
        )
    headers = [Column(_(label), kind) for label, kind in EXPORT_HEADERS]
    return Table(_("Pledges"), headers, rows)


def export_xlsx(state: Progress) -> bytes:
    return workbook([export_table(state)])
