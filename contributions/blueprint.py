"""Pledge pages for residents; tracker, payments and elevator projects for staff.

Routes only parse, authorise and render; changes happen in contributions/operations.py.
"""

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal import access
from resident_portal.access import Permission, public, require
from resident_portal.blueprint import home_panel
from resident_portal.common import CHINA, format_fen, parse_yuan, to_utc
from resident_portal.extensions import db
from resident_portal.forms import ConfirmForm, parse_scope, scope_choices
from resident_portal.messages import current_locale, describe_error
from resident_portal.models import Estate, Household, Unit, utcnow
from resident_portal.operations import OperationError
from resident_portal.privacy import mask_name, mask_phone
from resident_portal.spreadsheets import download
from survey.models import Survey

from . import operations, sharing, tracker
from .forms import (
    CampaignForm,
    ElevatorForm,
    NewElevatorForm,
    PaymentForm,
    PledgeForm,
    StaffPledgeForm,
    parse_coefficients,
    parse_compensations,
)
from .models import (
    CHANNEL_LABELS,
    Campaign,
    Channel,
    ElevatorProject,
    Payment,
    PledgeEvent,
    SuggestionKind,
)

bp = Blueprint("contributions", __name__)


def campaign_estate(kwargs: dict) -> Estate:
    campaign = db.session.get(Campaign, kwargs["campaign_id"])
    if campaign is None or (
        "estate_code" in kwargs and campaign.estate.code != kwargs["estate_code"]
    ):
        abort(404)
    g.campaign = campaign
    return campaign.estate


def project_estate(kwargs: dict) -> Estate:
    project = db.session.get(ElevatorProject, kwargs["project_id"])
    if project is None or project.unit.building.estate.code != kwargs["estate_code"]:
        abort(404)
    g.project = project
    return project.unit.building.estate


@bp.app_context_processor
def contribution_labels():
    return {
        "CHANNEL_LABELS": CHANNEL_LABELS,
        "format_fen": format_fen,
        "ELEVATOR_STEPS": tracker.ELEVATOR_STEPS,
    }


@home_panel("contributions/_home_panel.html")
def home_campaigns(households: list[Household]) -> dict:
    estate_id = households[0].unit.building.estate_id
    campaigns = [
        c
        for c in db.session.scalars(
            select(Campaign).where(Campaign.estate_id == estate_id).order_by(Campaign.deadline)
        )
        if c.is_open() and any(c.covers(h) for h in households)
    ]
    return {"campaigns": campaigns}


# --- residents -------------------------------------------------------------------------


def _elevator_view(campaign: Campaign, state: tracker.Progress, household: Household) -> dict:
    project = campaign.elevator
    if project is None:
        return {}
    split = operations.elevator_split(project)
    coefficients = {c.floor: c.permille for c in project.coefficients}
    return {
        "project": project,
        "split": split,
        "status": tracker.elevator_status(project, state),
        "coefficient": coefficients.get(household.floor, 0),
        "weight": split.weights.get(household.id, 0),
        "coefficients": coefficients,
    }


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@require(Permission.PLEDGE, estate_of=campaign_estate)
def pledge(campaign_id):
    campaign = g.campaign
    covered = [
        h for h in access.households_of_owner(access.current_household()) if campaign.covers(h)
    ]
    if not covered:
        return render_template(
            "contributions/not_covered.html", campaign=campaign, locale=current_locale()
        )
    chosen = request.args.get("household", type=int)
    household = next((h for h in covered if h.id == chosen), covered[0])
    state = tracker.progress(campaign)
    line = state.line(household.id)
    elevator = _elevator_view(campaign, state, household)
    form = PledgeForm()
    form.channel.choices = [(c.value, c.label) for c in campaign.accepted_channels]
    if request.method == "GET":
        if line.pledge is not None and line.pledge.active:
            form.amount.data = format_fen(line.pledge.amount_fen).replace(",", "")
            form.channel.data = line.pledge.channel.value
            form.note.data = line.pledge.note
        elif line.suggested_fen:
            form.amount.data = format_fen(line.suggested_fen).replace(",", "")
    if form.validate_on_submit():
        try:
            operations.pledge(
                campaign,
                household,
                form.amount.fen,
                Channel(form.channel.data),
                form.note.data,
                share_fen=line.suggested_fen if campaign.elevator else None,
            )
        except OperationError as error:
            flash(describe_error(error), "error")
        else:
            flash(
                _(
                    "Thank you: your pledge of ¥%(amount)s is recorded.",
                    amount=format_fen(form.amount.fen),
                )
            )
            return redirect(
                url_for("contributions.pledge", campaign_id=campaign.id, household=household.id)
            )
    history = db.session.scalars(
        select(PledgeEvent)
        .where(PledgeEvent.campaign_id == campaign.id, PledgeEvent.household_id == household.id)
        .order_by(PledgeEvent.at.desc(), PledgeEvent.id.desc())
    ).all()
    return render_template(
        "contributions/pledge.html",
        campaign=campaign,
        household=household,
        covered=covered,
        line=line,
        state=state,
        form=form,
        history=history,
        elevator=elevator,
        withdraw_form=ConfirmForm(),
        locale=current_locale(),
    ), (400 if form.errors else 200)


@bp.post("/campaigns/<int:campaign_id>/withdraw")
@require(Permission.PLEDGE, estate_of=campaign_estate)
def withdraw(campaign_id):
    covered = [
        h for h in access.households_of_owner(access.current_household()) if g.campaign.covers(h)
    ]
    household = next((h for h in covered if h.id == request.args.get("household", type=int)), None)
    if household is None:
        abort(404)
    try:
        operations.withdraw(g.campaign, household)
    except OperationError as error:
        flash(describe_error(error), "error")
    else:
        flash(_("Your pledge is withdrawn."))
    return redirect(
        url_for("contributions.pledge", campaign_id=campaign_id, household=household.id)
    )


@bp.get("/e/<estate_code>/campaigns/<int:campaign_id>")
@public
def public_totals(estate_code, campaign_id):
    """What anyone may see: the campaign's totals and rates, never who pledged what."""
    campaign_estate({"estate_code": estate_code, "campaign_id": campaign_id})
    state = tracker.progress(g.campaign)
    status = tracker.elevator_status(g.campaign.elevator, state) if g.campaign.elevator else None
    return render_template(
        "contributions/public.html",
        campaign=g.campaign,
        state=state,
        status=status,
        estate=g.campaign.estate,
        locale=current_locale(),
    )


# --- staff ------------------------------------------------------------------------------


@bp.get("/console/<estate_code>/campaigns")
@require(Permission.CAMPAIGN_VIEW)
def console_list(estate_code):
    campaigns = db.session.scalars(
        select(Campaign).where(Campaign.estate_id == g.estate.id).order_by(Campaign.deadline.desc())
    ).all()
    states = {c.id: tracker.progress(c) for c in campaigns}
    statuses = {
        c.id: tracker.elevator_status(c.elevator, states[c.id]) for c in campaigns if c.elevator
    }
    return render_template(
        "contributions/console_list.html",
        estate=g.estate,
        campaigns=campaigns,
        states=states,
        statuses=statuses,
        locale=current_locale(),
    )


@bp.route("/console/<estate_code>/campaigns/new", methods=["GET", "POST"])
@require(Permission.CAMPAIGN_MANAGE)
def console_new(estate_code):
    form = CampaignForm()
    form.scope.choices = scope_choices(g.estate)
    form.survey.choices = [("", "—")] + [
        (str(s.id), s.localized_title(current_locale()))
        for s in db.session.scalars(
            select(Survey).where(Survey.estate_id == g.estate.id).order_by(Survey.id.desc())
        )
    ]
    if form.validate_on_submit():
        building, unit = parse_scope(form.scope.data)
        kind = SuggestionKind(form.suggestion_kind.data)
        fields = operations.CampaignFields(
            title=form.title.data.strip(),
            title_en=(form.title_en.data or "").strip(),
            purpose=(form.purpose.data or "").strip(),
            target_fen=form.target.fen,
            deadline=to_utc(form.deadline.data.replace(tzinfo=CHINA)),
            suggestion_kind=kind,
            flat_fen=(form.flat.fen or 0) if kind is not SuggestionKind.PER_M2 else 0,
            per_m2_fen=(form.per_m2.fen or 0) if kind is not SuggestionKind.FLAT else 0,
            channels=[Channel(c) for c in form.channels.data],
            building=building,
            unit=unit,
            survey_id=int(form.survey.data) if form.survey.data else None,
        )
        try:
            campaign = operations.create_campaign(
                g.estate, fields, staff_user=access.current_staff()
            )
        except OperationError as error:
            flash(describe_error(error), "error")
        else:
            return redirect(
                url_for(
                    "contributions.console_tracker",
                    estate_code=estate_code,
                    campaign_id=campaign.id,
                )
            )
    return render_template("contributions/console_new.html", estate=g.estate, form=form), (
        400 if form.errors else 200
    )


@bp.get("/console/<estate_code>/campaigns/<int:campaign_id>")
@require(Permission.CAMPAIGN_VIEW, estate_of=campaign_estate)
def console_tracker(estate_code, campaign_id):
    state = tracker.progress(g.campaign)
    status = tracker.elevator_status(g.campaign.elevator, state) if g.campaign.elevator else None
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.campaign_id == g.campaign.id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "contributions/console_tracker.html",
        estate=g.estate,
        campaign=g.campaign,
        state=state,
        status=status,
        payments=payments,
        locale=current_locale(),
    )


@bp.get("/console/<estate_code>/campaigns/<int:campaign_id>/not-answered")
@require(Permission.CAMPAIGN_VIEW, estate_of=campaign_estate)
def console_not_answered(estate_code, campaign_id):
    state = tracker.progress(g.campaign)
    groups: dict[tuple, list] = {}
    for line in state.lines:
        if not line.answered:
            h = line.household
            groups.setdefault((h.unit.building.number, h.unit.number), []).append(line)
    return render_template(
        "contributions/console_not_answered.html",
        estate=g.estate,
        campaign=g.campaign,
        groups=groups,
        mask_name=mask_name,
        mask_phone=mask_phone,
        now=utcnow(),
        locale=current_locale(),
    )


@bp.get("/console/<estate_code>/campaigns/<int:campaign_id>/export.<fmt>")
@require(Permission.CAMPAIGN_VIEW, estate_of=campaign_estate)
def console_export(estate_code, campaign_id, fmt):
    state = tracker.progress(g.campaign)
    name = f"campaign-{campaign_id}"
    if fmt == "csv":
        return download(tracker.export_csv(state), f"{name}.csv")
    if fmt == "xlsx":
        return download(tracker.export_xlsx(state), f"{name}.xlsx")
    abort(404)


def _household_choices(campaign: Campaign) -> list[tuple[str, str]]:
    return [("", "—")] + [(str(h.id), h.address) for h in tracker.households_of(campaign)]


@bp.route("/console/<estate_code>/campaigns/<int:campaign_id>/pledge", methods=["GET", "POST"])
@require(Permission.PAYMENTS_RECORD, estate_of=campaign_estate)
def console_pledge(estate_code, campaign_id):
    campaign = g.campaign
    form = StaffPledgeForm()
    form.household.choices = _household_choices(campaign)
    form.channel.choices = [(c.value, c.label) for c in campaign.accepted_channels]
    if form.validate_on_submit():
        household = db.session.get(Household, int(form.household.data))
        share = None
        if campaign.elevator:
            share = operations.elevator_split(campaign.elevator).shares.get(household.id, 0)
        try:
            operations.pledge(
                campaign,
                household,
                form.amount.fen,
                Channel(form.channel.data),
                form.note.data,
                share_fen=share,
                staff_user=access.current_staff(),
                reason=form.reason.data,
            )
        except OperationError as error:
            flash(describe_error(error), "error")
        else:
            flash(_("Pledge recorded for %(address)s.", address=household.address))
            return redirect(
                url_for(
                    "contributions.console_tracker",
                    estate_code=estate_code,
                    campaign_id=campaign_id,
                )
            )
    return render_template(
        "contributions/console_pledge.html", estate=g.estate, campaign=campaign, form=form
    ), (400 if form.errors else 200)


@bp.route("/console/<estate_code>/campaigns/<int:campaign_id>/payment", methods=["GET", "POST"])
@require(Permission.PAYMENTS_RECORD, estate_of=campaign_estate)
def console_payment(estate_code, campaign_id):
    campaign = g.campaign
    form = PaymentForm()
    form.household.choices = _household_choices(campaign)
    if request.method == "GET":
        form.paid_on.data = (utcnow() + timedelta(hours=8)).date()
    if form.validate_on_submit():
        household = db.session.get(Household, int(form.household.data))
        try:
            _payment, overpaid = operations.record_payment(
                campaign,
                household,
                form.amount.fen,
                form.paid_on.data,
                form.receipt_number.data,
                form.note.data,
                staff_user=access.current_staff(),
            )
        except OperationError as error:
            flash(describe_error(error), "error")
        else:
            flash(_("Payment recorded for %(address)s.", address=household.address))
            if overpaid:
                flash(
                    _(
                        "Note: %(address)s has now paid more than it pledged.",
                        address=household.address,
                    ),
                    "error",
                )
            return redirect(
                url_for(
                    "contributions.console_tracker",
                    estate_code=estate_code,
                    campaign_id=campaign_id,
                )
            )
    return render_template(
        "contributions/console_payment.html", estate=g.estate, campaign=campaign, form=form
    ), (400 if form.errors else 200)


# --- elevator projects --------------------------------------------------------------------


def _elevator_fields(form: ElevatorForm) -> operations.ElevatorFields:
    percent = form.subsidy_kind.data == "percent"
    return operations.ElevatorFields(
        equipment_fen=form.equipment.fen,
        installation_fen=form.installation.fen,
        design_fen=form.design.fen or 0,
        pipes_fen=form.pipes.fen or 0,
        other_fen=form.other.fen or 0,
        subsidy_fixed_fen=0 if percent else (form.subsidy_fixed.fen or 0),
        subsidy_basis_points=form.subsidy_percent.basis_points if percent else 0,
        subsidy_cap_fen=form.subsidy_cap.fen if percent else None,
        maintenance_fund_fen=form.maintenance_fund.fen or 0,
    )


@bp.route("/console/<estate_code>/elevators/new", methods=["GET", "POST"])
@require(Permission.CAMPAIGN_MANAGE)
def elevator_new(estate_code):
    form = NewElevatorForm()
    units = [u for b in g.estate.sorted_buildings for u in b.sorted_units]
    form.unit.choices = [("", "—")] + [
        (
            str(u.id),
            _("Building %(building)s, unit %(unit)s", building=u.building.number, unit=u.number),
        )
        for u in units
    ]
    if form.validate_on_submit():
        unit = db.session.get(Unit, int(form.unit.data))
        if unit is None or unit.building.estate_id != g.estate.id:
            abort(404)
        try:
            project = operations.create_elevator_project(
                unit,
                _elevator_fields(form),
                to_utc(form.vote_closes_at.data.replace(tzinfo=CHINA)),
                to_utc(form.pledge_deadline.data.replace(tzinfo=CHINA)),
                staff_user=access.current_staff(),
            )
        except OperationError as error:
            flash(describe_error(error), "error")
        else:
            return redirect(
                url_for("contributions.elevator", estate_code=estate_code, project_id=project.id)
            )
    return render_template("contributions/elevator_new.html", estate=g.estate, form=form), (
        400 if form.errors else 200
    )


def _fill_elevator_form(form: ElevatorForm, project: ElevatorProject) -> None:
    def yuan(fen):
        return format_fen(fen).replace(",", "") if fen else ""

    form.equipment.data = yuan(project.equipment_fen) or "0"
    form.installation.data = yuan(project.installation_fen) or "0"
    form.design.data, form.pipes.data = yuan(project.design_fen), yuan(project.pipes_fen)
    form.other.data = yuan(project.other_fen)
    form.subsidy_kind.data = "percent" if project.subsidy_basis_points else "fixed"
    form.subsidy_fixed.data = yuan(project.subsidy_fixed_fen)
    bp_ = project.subsidy_basis_points
    form.subsidy_percent.data = f"{bp_ // 100}.{bp_ % 100:02d}" if bp_ else ""
    form.subsidy_cap.data = yuan(project.subsidy_cap_fen)
    form.maintenance_fund.data = yuan(project.maintenance_fund_fen)


def _render_elevator(form: ElevatorForm, errors: list[str]):
    project = g.project
    split = operations.elevator_split(project)
    state = tracker.progress(project.campaign)
    running = None
    running_text = request.args.get("running", "").strip()
    if running_text:
        try:
            running = sharing.split(parse_yuan(running_text), split.weights)
        except ValueError:
            errors.append(_("Type the yearly running cost in yuan, such as 12000."))
    return render_template(
        "contributions/elevator.html",
        estate=g.estate,
        project=project,
        form=form,
        split=split,
        households=sorted(project.unit.households, key=lambda h: h.sort_key),
        floors=range(1, project.unit.building.floors + 1),
        state=state,
        errors=errors,
        status=tracker.elevator_status(project, state),
        running=running,
        running_text=running_text,
        coefficients={c.floor: c.permille for c in project.coefficients},
        compensations={c.household_id: c.amount_fen for c in project.compensations},
        locale=current_locale(),
    ), (400 if form.errors or errors else 200)


@bp.get("/console/<estate_code>/elevators/<int:project_id>")
@require(Permission.CAMPAIGN_VIEW, estate_of=project_estate)
def elevator(estate_code, project_id):
    form = ElevatorForm(formdata=None)
    _fill_elevator_form(form, g.project)
    return _render_elevator(form, [])


@bp.post("/console/<estate_code>/elevators/<int:project_id>")
@require(Permission.CAMPAIGN_MANAGE, estate_of=project_estate)
def elevator_edit(estate_code, project_id):
    project = g.project
    form = ElevatorForm()
    errors = []
    if form.validate_on_submit():
        floors = list(range(1, project.unit.building.floors + 1))
        coefficients, errors = parse_coefficients(request.form, floors)
        compensations, more = parse_compensations(
            request.form, [h.id for h in project.unit.households]
        )
        errors += more
        if not errors:
            try:
                operations.update_elevator_project(
                    project,
                    _elevator_fields(form),
                    coefficients,
                    compensations,
                    staff_user=access.current_staff(),
                )
            except OperationError as error:
                errors.append(describe_error(error))
            else:
                flash(_("Saved. Shares are recomputed; residents see the change."))
                return redirect(
                    url_for(
                        "contributions.elevator", estate_code=estate_code, project_id=project.id
                    )
                )
    return _render_elevator(form, errors)
