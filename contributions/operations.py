"""State changes of campaigns, pledges, payments and elevator projects; staff changes audited."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from resident_portal import monitoring
from resident_portal.common import N_, OperationError, format_fen
from resident_portal.extensions import db
from resident_portal.models import Estate, Household, StaffUser, Unit, utcnow
from resident_portal.operations import audit, retry_on_conflict
from survey import operations as survey_operations
from survey.catalogue import BY_KEY
from survey.definition import ItemDefinition, SurveyDefinition
from survey.models import Matter, Survey, SurveyKind

from . import sharing
from .models import (
    Campaign,
    Channel,
    Compensation,
    ElevatorProject,
    EntrySource,
    FloorCoefficient,
    Payment,
    Pledge,
    PledgeEvent,
    SuggestionKind,
)


@dataclass(frozen=True)
class CampaignFields:
    title: str
    title_en: str
    purpose: str
    target_fen: int
    deadline: datetime  # naive UTC
    suggestion_kind: SuggestionKind
    flat_fen: int
    per_m2_fen: int
    channels: list[Channel]
    building: str | None = None
    unit: str | None = None
    survey_id: int | None = None


def create_campaign(estate: Estate, fields: CampaignFields, *, staff_user=None) -> Campaign:
    if not fields.channels:
        raise OperationError(N_("Accept at least one way to contribute."))
    if fields.deadline <= utcnow():
        raise OperationError(N_("The deadline must be in the future."))
    building, unit = survey_operations.resolve_scope(estate, fields.building, fields.unit)
    if fields.survey_id is not None:
        survey = db.session.get(Survey, fields.survey_id)
        if survey is None or survey.estate_id != estate.id:
            raise OperationError(N_("That survey is not one of this estate's."))
    campaign = Campaign(
        estate_id=estate.id,
        building=building,
        unit=unit,
        title=fields.title,
        title_en=fields.title_en,
        purpose=fields.purpose,
        survey_id=fields.survey_id,
        target_fen=fields.target_fen,
        deadline=fields.deadline,
        suggestion_kind=fields.suggestion_kind,
        flat_fen=fields.flat_fen,
        per_m2_fen=fields.per_m2_fen,
        channels=[c.value for c in fields.channels],
    )
    db.session.add(campaign)
    db.session.flush()
    audit(
        "campaign.create",
        staff_user=staff_user,
        estate=estate,
        campaign=campaign.id,
        title=campaign.title,
        target_fen=campaign.target_fen,
    )
    db.session.commit()
    return campaign


# --- pledges ------------------------------------------------------------------------------


def pledge(
    campaign: Campaign,
    household: Household,
    amount_fen: int,
    channel: Channel,
    note: str = "",
    *,
    share_fen: int | None = None,
    staff_user: StaffUser | None = None,
    reason: str | None = None,
) -> Pledge:
    """Record the household's pledge (a new one, or a change of its current one).

    A secretary's entry (staff_user + reason) never replaces the household's own online pledge.
    Two submissions of one household at once: the unique (campaign, household) constraint lets
    one insert win and the other retries as a change, so exactly one pledge stands.
    """
    source = EntrySource.STAFF if staff_user else EntrySource.ONLINE
    if not campaign.is_open():
        raise OperationError(N_("The campaign has closed; pledges can no longer change."))
    if not campaign.covers(household):
        raise OperationError(N_("This household is not part of the campaign."))
    if amount_fen <= 0:
        raise OperationError(N_("Pledge an amount above zero, or withdraw the pledge."))
    if channel not in campaign.accepted_channels:
        raise OperationError(N_("This campaign does not accept that way of contributing."))
    if source is EntrySource.STAFF and not (reason or "").strip():
        raise OperationError(N_("Give the reason for recording this pledge."))
    note = (note or "").strip()[:500]
    if source is EntrySource.ONLINE:
        # Money already handed over is not undone by a tap on a phone: lowering a pledge
        # below it goes through the secretary, who records the refund as a payment.
        paid = paid_fen(campaign, household)
        if amount_fen < paid:
            raise OperationError(
                N_(
                    "¥%(paid)s has already been received for this pledge, so it cannot be "
                    "lowered below that. Please contact your party-branch secretary."
                ),
                paid=format_fen(paid),
            )

    def attempt() -> Pledge:
        current = db.session.scalar(
            select(Pledge)
            .where(Pledge.campaign_id == campaign.id, Pledge.household_id == household.id)
            .with_for_update()
        )
        if current is None:
            current = Pledge(campaign_id=campaign.id, household_id=household.id)
            db.session.add(current)
        elif (
            source is EntrySource.STAFF and current.source is EntrySource.ONLINE and current.active
        ):
            raise OperationError(
                N_("The household has pledged online itself; a recorded pledge cannot replace it.")
            )
        current.amount_fen = amount_fen
        current.channel = channel
        current.note = note
        current.share_fen = share_fen
        current.source = source
        current.entered_by_id = staff_user.id if staff_user else None
        current.reason = reason.strip() if reason else None
        current.withdrawn_at = None
        current.updated_at = utcnow()
        _event(campaign, household, "pledge", current, staff_user)
        if staff_user:
            audit(
                "pledge.record",
                staff_user=staff_user,
                estate=campaign.estate,
                campaign=campaign.id,
                household=household.id,
                amount_fen=amount_fen,
                reason=current.reason,
            )
        db.session.commit()
        monitoring.PLEDGES.labels(source.value).inc()
        return current

    return retry_on_conflict(attempt)


def withdraw(campaign: Campaign, household: Household) -> None:
    if not campaign.is_open():
        raise OperationError(N_("The campaign has closed; pledges can no longer change."))
    current = db.session.scalar(
        select(Pledge)
        .where(Pledge.campaign_id == campaign.id, Pledge.household_id == household.id)
        .with_for_update()
    )
    if current is None or not current.active:
        raise OperationError(N_("There is no pledge to withdraw."))
    paid = paid_fen(campaign, household)
    if paid > 0:
        raise OperationError(
            N_(
                "¥%(paid)s has already been received for this pledge, so it cannot be withdrawn. "
                "Please contact your party-branch secretary."
            ),
            paid=format_fen(paid),
        )
    current.withdrawn_at = utcnow()
    current.source = EntrySource.ONLINE
    current.entered_by_id = None
    current.reason = None
    _event(campaign, household, "withdraw", current, None)
    db.session.commit()


def paid_fen(campaign: Campaign, household: Household) -> int:
    """What the secretary has recorded as received from the household (corrections included)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
            Payment.campaign_id == campaign.id, Payment.household_id == household.id
        )
    )


def _event(campaign, household, action, current: Pledge, staff_user) -> None:
    db.session.add(
        PledgeEvent(
            campaign_id=campaign.id,
            household_id=household.id,
            action=action,
            amount_fen=current.amount_fen,
            channel=current.channel.value,
            share_fen=current.share_fen,
            source=current.source,
            entered_by_id=staff_user.id if staff_user else None,
            reason=current.reason,
        )
    )


# --- payments -----------------------------------------------------------------------------


def record_payment(
    campaign: Campaign,
    household: Household,
    amount_fen: int,
    paid_on: date,
    receipt_number: str,
    note: str,
    *,
    staff_user: StaffUser,
    channel: Channel | None = None,
) -> tuple[Payment, bool]:
    """Append a payment (never an edit: a correction is a negative entry with a note).
    Without a channel the payment came the way the household pledged (direct without a
    pledge), as migration 0015 assumed for the payments recorded before channels.
    Returns the payment and whether the household has now paid more than it pledged."""
    if not campaign.covers(household):
        raise OperationError(N_("This household is not part of the campaign."))
    current = db.session.scalar(
        select(Pledge).where(Pledge.campaign_id == campaign.id, Pledge.household_id == household.id)
    )
    if channel is None:
        channel = current.channel if current is not None else Channel.DIRECT
    elif channel not in campaign.accepted_channels:
        raise OperationError(N_("This campaign does not accept that way of contributing."))
    if amount_fen == 0:
        raise OperationError(N_("The amount cannot be zero."))
    if amount_fen < 0 and not (note or "").strip():
        raise OperationError(N_("A correction (a negative amount) needs a note saying why."))
    if paid_on > utcnow().date() + timedelta(days=1):
        raise OperationError(N_("The payment date is in the future."))
    payment = Payment(
        campaign_id=campaign.id,
        household_id=household.id,
        amount_fen=amount_fen,
        paid_on=paid_on,
        channel=channel,
        receipt_number=(receipt_number or "").strip()[:64],
        note=(note or "").strip()[:500],
        recorded_by_id=staff_user.id,
    )
    db.session.add(payment)
    db.session.flush()
    paid = db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
            Payment.campaign_id == campaign.id, Payment.household_id == household.id
        )
    )
    pledged = current.amount_fen if current is not None and current.active else 0
    audit(
        "payment.record",
        staff_user=staff_user,
        estate=campaign.estate,
        campaign=campaign.id,
        household=household.id,
        amount_fen=amount_fen,
        channel=channel.value,
        receipt=payment.receipt_number,
    )
    db.session.commit()
    return payment, paid > pledged


# --- elevator projects --------------------------------------------------------------------


@dataclass(frozen=True)
class ElevatorFields:
    equipment_fen: int
    installation_fen: int
    design_fen: int
    pipes_fen: int
    other_fen: int
    subsidy_fixed_fen: int
    subsidy_basis_points: int
    subsidy_cap_fen: int | None
    maintenance_fund_fen: int


def create_elevator_project(
    unit: Unit,
    fields: ElevatorFields,
    vote_closes_at: datetime,
    pledge_deadline: datetime,
    *,
    staff_user=None,
) -> ElevatorProject:
    """The project, its consent vote (a formal decision of the unit, ≥ 3/4) and its campaign."""
    if db.session.scalar(select(ElevatorProject).where(ElevatorProject.unit_id == unit.id)):
        raise OperationError(N_("This unit already has an elevator project."))
    building, estate = unit.building, unit.building.estate
    if pledge_deadline <= vote_closes_at:
        raise OperationError(N_("Pledges must stay open after the consent vote closes."))
    elevator = BY_KEY["elevators"]
    title = f"{building.number}栋{unit.number}单元加装电梯"
    survey = survey_operations.add_survey(
        estate,
        SurveyDefinition(
            title=title + "表决",
            title_en=f"Elevator for building {building.number}, unit {unit.number}: consent",
            kind=SurveyKind.DECISION,
            matter=Matter.RENOVATE,
            building=building.number,
            unit=unit.number,
            opens_at=utcnow(),
            closes_at=vote_closes_at,
            max_priorities=0,
            allow_suggestion=False,
            items=[
                ItemDefinition(
                    elevator.category,
                    elevator.title,
                    elevator.title_en,
                    elevator.description,
                    elevator.description_en,
                )
            ],
        ),
        staff_user=staff_user,
    )
    campaign = Campaign(
        estate_id=estate.id,
        building=building,
        unit=unit,
        title=title,
        title_en=f"Elevator for building {building.number}, unit {unit.number}",
        purpose="",
        survey_id=survey.id,
        target_fen=0,
        deadline=pledge_deadline,
        suggestion_kind=SuggestionKind.FLAT,
        flat_fen=0,
        per_m2_fen=0,
        channels=[
            Channel.DIRECT.value,
            Channel.PROVIDENT_FUND.value,
            Channel.MAINTENANCE_FUND.value,
        ],
    )
    project = ElevatorProject(unit=unit, campaign=campaign, survey=survey, **vars(fields))
    project.coefficients = [
        FloorCoefficient(floor=f, permille=c)
        for f, c in sharing.default_coefficients(building.floors).items()
    ]
    db.session.add(project)
    db.session.flush()
    campaign.target_fen = _split_or_refuse(project).rest_fen
    audit(
        "elevator.create",
        staff_user=staff_user,
        estate=estate,
        project=project.id,
        unit=unit.id,
        rest_fen=campaign.target_fen,
    )
    db.session.commit()
    return project


def update_elevator_project(
    project: ElevatorProject,
    fields: ElevatorFields,
    coefficients: dict[int, int],
    compensations: dict[int, int],
    *,
    staff_user,
) -> sharing.ElevatorSplit:
    """Change costs, subsidy, coefficients or compensation. Shares are recomputed; pledges keep
    the share they were made against, so residents whose share changed are shown both."""
    before = elevator_split(project)
    for name, value in vars(fields).items():
        setattr(project, name, value)
    unit_households = {h.id for h in project.unit.households}
    if not set(compensations) <= unit_households:
        raise OperationError(N_("Compensation can only go to households of this unit."))
    project.coefficients = [
        FloorCoefficient(floor=f, permille=p) for f, p in sorted(coefficients.items())
    ]
    project.compensations = [
        Compensation(household_id=h, amount_fen=a)
        for h, a in sorted(compensations.items())
        if a > 0
    ]
    project.updated_at = utcnow()
    db.session.flush()
    after = _split_or_refuse(project)
    project.campaign.target_fen = after.rest_fen
    changed = sorted(k for k in after.shares if after.shares[k] != before.shares.get(k))
    audit(
        "elevator.update",
        staff_user=staff_user,
        estate=project.unit.building.estate,
        project=project.id,
        rest_before=before.rest_fen,
        rest_after=after.rest_fen,
        shares_changed=changed[:50],
    )
    db.session.commit()
    return after


def _split_or_refuse(project: ElevatorProject) -> sharing.ElevatorSplit:
    """The split, or a refusal (and nothing written) when no floor carries any weight."""
    try:
        return elevator_split(project)
    except ValueError:
        db.session.rollback()
        raise OperationError(
            N_("With these coefficients nobody pays: give some floor a coefficient above zero.")
        ) from None


def elevator_split(project: ElevatorProject) -> sharing.ElevatorSplit:
    return sharing.elevator_split(
        sharing.Costs(
            project.equipment_fen,
            project.installation_fen,
            project.design_fen,
            project.pipes_fen,
            project.other_fen,
        ),
        sharing.Subsidy(
            project.subsidy_fixed_fen, project.subsidy_basis_points, project.subsidy_cap_fen
        ),
        project.maintenance_fund_fen,
        [sharing.Household(h.id, h.floor, h.area_centi_m2) for h in project.unit.households],
        {c.floor: c.permille for c in project.coefficients},
        {c.household_id: c.amount_fen for c in project.compensations},
    )


def elevator_share(campaign: Campaign, household: Household) -> int | None:
    """The household's share of the campaign's elevator, which its pledge is recorded beside
    (Pledge.share_fen); None for a campaign without an elevator."""
    if campaign.elevator is None:
        return None
    return elevator_split(campaign.elevator).shares.get(household.id, 0)


def record_visit(campaign: Campaign, household: Household, outcome, note: str, *, staff_user):
    """A door-to-door visit to a household the campaign asks (resident_portal/doorstep.py)."""
    from resident_portal.operations import record_visit as add_visit

    from .models import CampaignVisit

    if not campaign.covers(household):
        raise OperationError(N_("This household is not part of the campaign."))
    return add_visit(
        CampaignVisit,
        household,
        outcome,
        note,
        staff_user=staff_user,
        estate=campaign.estate,
        list_name="campaign.not_answered",
        campaign_id=campaign.id,
    )
