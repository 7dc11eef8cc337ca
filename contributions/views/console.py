"""Contribution console pages: campaigns, their tracker and exports, who has not answered, and
pledges and payments entered by staff. Elevator projects are in console_elevators.py."""

from datetime import date
from functools import partial

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal import access, doorstep
from resident_portal import operations as resident_operations
from resident_portal.access import Permission, require
from resident_portal.common import OperationError, in_china, plain_yuan
from resident_portal.estates import household_in_estate
from resident_portal.extensions import db
from resident_portal.forms import ConfirmForm, form_status, scope_choices
from resident_portal.jobs import operations as job_operations
from resident_portal.messages import current_locale, describe_error
from resident_portal.models import Household, natural_key, utcnow
from resident_portal.operations import record_personal_data_access
from resident_portal.spreadsheets import download
from survey.models import Survey

from .. import export_job, operations, tracker
from ..blueprint import bp, campaign_estate
from ..forms import CampaignForm, PaymentForm, StaffPledgeForm, campaign_fields
from ..models import Campaign, CampaignVisit, Channel, Payment


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
        fields = campaign_fields(form)
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
    return render_template(
        "contributions/console_new.html", estate=g.estate, form=form
    ), form_status(form)


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


def _not_answered_page(wanted: str, *, full: bool = False, errors=None, status=200):
    """The door-to-door list: households the campaign asks that have not answered, with their
    latest visit, filtered by it (doorstep.py). Full contacts only when `full`."""
    state = tracker.progress(g.campaign)
    lines = [line for line in state.lines if not line.answered]
    visits = doorstep.latest_visits(
        CampaignVisit,
        CampaignVisit.campaign_id,
        g.campaign.id,
        (line.household.id for line in lines),
    )
    return doorstep.list_page(
        "contributions/console_not_answered.html",
        lines,
        lambda line: line.household,
        visits,
        wanted,
        pdf_name=f"{g.estate.code}-campaign-{g.campaign.id}-not-answered.pdf",
        full=full,
        errors=errors,
        status=status,
        campaign=g.campaign,
    )


@bp.get("/console/<estate_code>/campaigns/<int:campaign_id>/not-answered")
@require(Permission.CAMPAIGN_VIEW, estate_of=campaign_estate)
def console_not_answered(estate_code, campaign_id):
    return _not_answered_page(doorstep.visit_filter(request.args.get("visit")))


@bp.post("/console/<estate_code>/campaigns/<int:campaign_id>/not-answered/contacts")
@require(Permission.DOOR_TO_DOOR_CONTACTS, estate_of=campaign_estate)
def console_not_answered_contacts(estate_code, campaign_id):
    """The list with full names and phones, for the estate's own secretary: a POST, because
    every such view is written in the audit log."""
    wanted = doorstep.visit_filter(request.form.get("visit"))
    resident_operations.audit_contacts_view(
        staff_user=access.current_staff(),
        estate=g.estate,
        list_name="campaign.not_answered",
        campaign=g.campaign.id,
        filter=wanted,
    )
    return _not_answered_page(wanted, full=True)


@bp.post("/console/<estate_code>/campaigns/<int:campaign_id>/not-answered/<int:household_id>/visit")
@require(Permission.VISITS_RECORD, estate_of=campaign_estate)
def console_visit(estate_code, campaign_id, household_id):
    household = household_in_estate(household_id)
    return doorstep.record_visit_from_list(
        household,
        partial(operations.record_visit, g.campaign, household, staff_user=access.current_staff()),
        _not_answered_page,
        "contributions.console_not_answered",
        estate_code=estate_code,
        campaign_id=campaign_id,
    )


@bp.get("/console/<estate_code>/campaigns/<int:campaign_id>/export.<fmt>")
@require(Permission.CAMPAIGN_VIEW, estate_of=campaign_estate)
def console_export(estate_code, campaign_id, fmt):
    """The export; over EXPORT_JOB_ROWS households, a page that offers to make it as a job
    (a GET starts nothing)."""
    if fmt not in export_job.FORMATS:
        abort(404)
    state = tracker.progress(g.campaign)
    if len(state.lines) > current_app.config["EXPORT_JOB_ROWS"]:
        return render_template(
            "jobs/too_big.html",
            estate=g.estate,
            rows=len(state.lines),
            action=url_for(
                "contributions.console_export_job",
                estate_code=estate_code,
                campaign_id=campaign_id,
                fmt=fmt,
            ),
        )
    # Every household's address and pledge: who exported them is written down (issue 12).
    record_personal_data_access(
        "export.pledges",
        staff_user=access.current_staff(),
        estate=g.estate,
        campaign=campaign_id,
        format=fmt,
    )
    return download(*export_job.export(g.campaign, fmt, state))


@bp.post("/console/<estate_code>/campaigns/<int:campaign_id>/export.<fmt>/job")
@require(Permission.CAMPAIGN_VIEW, estate_of=campaign_estate)
def console_export_job(estate_code, campaign_id, fmt):
    if fmt not in export_job.FORMATS:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = job_operations.submit(
        export_job.CAMPAIGN_EXPORT.name,
        staff_user=access.current_staff(),
        estates=[g.estate],
        estate=g.estate,
        params={"campaign_id": g.campaign.id, "fmt": fmt},
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)


# --- staff entry: pledges and payments, in batches -------------------------------------------
# The household picker offers only households to which the action applies, filtered by
# building, unit and status (?building=&unit=&status=, kept across entries); the amount starts
# at the suggested (pledge) or still owed (payment) amount; the last reason and channel (pledge)
# or note, date and channel (payment) are kept in the session for the next entry.

ENTRY_SESSION_KEY = "entry.{action}"


def _picker(campaign: Campaign, action: str, form) -> dict:
    state = tracker.progress(campaign)
    statuses = tracker.PICKER_STATUSES[action]
    building = request.args.get("building", "")
    unit = request.args.get("unit", "") if building else ""
    status = request.args.get("status", tracker.DEFAULT_STATUS[action])
    status = status if status in statuses else ""
    lines = tracker.picker_lines(state, action, building, unit, status)
    # The form accepts any household to which the action applies; the filters only narrow
    # what the list shows.
    form.household.choices = [("", "—")] + [
        (str(line.household.id), line.household.address)
        for line in tracker.picker_lines(state, action)
    ]
    units = sorted(
        {(h.unit.building.number, h.unit.number) for h in (x.household for x in state.lines)},
        key=lambda key: (natural_key(key[0]), natural_key(key[1])),
    )
    return {
        "lines": lines,
        "amounts": {
            line.household.id: plain_yuan(tracker.prefilled_fen(action, line)) for line in lines
        },
        "statuses": statuses,
        "line_status": {line.household.id: tracker.picker_status(action, line) for line in lines},
        "buildings": sorted({b for b, _u in units}, key=natural_key),
        "units": [u for b, u in units if b == building],
        "building": building,
        "unit": unit,
        "status": status,
        "filter_args": {
            k: v for k, v in (("building", building), ("unit", unit), ("status", status)) if v
        },
    }


def _prefill(action: str, form, picker: dict) -> None:
    """A GET: the household named by ?household= with its amount, and the kept fields."""
    kept = session.get(ENTRY_SESSION_KEY.format(action=action), {})
    for name, value in kept.items():
        field = getattr(form, name, None)
        if field is not None and value:
            field.data = date.fromisoformat(value) if name == "paid_on" else value
    chosen = request.args.get("household", type=int)
    if chosen in picker["amounts"]:
        form.household.data = str(chosen)
        form.amount.data = picker["amounts"][chosen]


def _keep(action: str, **fields) -> None:
    session[ENTRY_SESSION_KEY.format(action=action)] = fields


def _next_entry(endpoint: str, picker: dict):
    return redirect(
        url_for(
            endpoint,
            estate_code=g.estate.code,
            campaign_id=g.campaign.id,
            **picker["filter_args"],
        ),
        code=303,
    )


@bp.route("/console/<estate_code>/campaigns/<int:campaign_id>/pledge", methods=["GET", "POST"])
@require(Permission.PAYMENTS_RECORD, estate_of=campaign_estate)
def console_pledge(estate_code, campaign_id):
    campaign = g.campaign
    form = StaffPledgeForm()
    picker = _picker(campaign, "pledge", form)
    form.channel.choices = [(c.value, c.label) for c in campaign.accepted_channels]
    if request.method == "GET":
        _prefill("pledge", form, picker)
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
            form.household.errors.append(describe_error(error))
        else:
            _keep("pledge", channel=form.channel.data, reason=form.reason.data.strip())
            flash(_("Pledge recorded for %(address)s.", address=household.address))
            return _next_entry("contributions.console_pledge", picker)
    return render_template(
        "contributions/console_pledge.html",
        estate=g.estate,
        campaign=campaign,
        form=form,
        picker=picker,
        action="pledge",
    ), form_status(form)


@bp.route("/console/<estate_code>/campaigns/<int:campaign_id>/payment", methods=["GET", "POST"])
@require(Permission.PAYMENTS_RECORD, estate_of=campaign_estate)
def console_payment(estate_code, campaign_id):
    campaign = g.campaign
    form = PaymentForm()
    picker = _picker(campaign, "payment", form)
    form.channel.choices = [(c.value, c.label) for c in campaign.accepted_channels]
    if request.method == "GET":
        form.paid_on.data = in_china(utcnow()).date()
        _prefill("payment", form, picker)
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
                channel=Channel(form.channel.data),
            )
        except OperationError as error:
            form.amount.errors.append(describe_error(error))
        else:
            _keep(
                "payment",
                note=(form.note.data or "").strip(),
                paid_on=form.paid_on.data.isoformat(),
                channel=form.channel.data,
            )
            flash(_("Payment recorded for %(address)s.", address=household.address))
            if overpaid:
                flash(
                    _(
                        "Note: %(address)s has now paid more than it pledged.",
                        address=household.address,
                    ),
                    "error",
                )
            return _next_entry("contributions.console_payment", picker)
    return render_template(
        "contributions/console_payment.html",
        estate=g.estate,
        campaign=campaign,
        form=form,
        picker=picker,
        action="payment",
    ), form_status(form)
