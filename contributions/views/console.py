"""Contribution console pages: campaigns, their tracker and exports, who has not answered, and
pledges and payments entered by staff. Elevator projects are in console_elevators.py."""

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal import access
from resident_portal.access import Permission, require
from resident_portal.common import OperationError, in_china
from resident_portal.extensions import db
from resident_portal.forms import ConfirmForm, form_status, scope_choices
from resident_portal.jobs import operations as job_operations
from resident_portal.messages import current_locale, describe_error
from resident_portal.models import Household, utcnow
from resident_portal.pdf import pdf_response, wants_pdf
from resident_portal.privacy import mask_name, mask_phone
from resident_portal.spreadsheets import download
from survey.models import Survey

from .. import export_job, operations, tracker
from ..blueprint import bp, campaign_estate
from ..forms import CampaignForm, PaymentForm, StaffPledgeForm, campaign_fields
from ..models import Campaign, Channel, Payment


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


@bp.get("/console/<estate_code>/campaigns/<int:campaign_id>/not-answered")
@require(Permission.CAMPAIGN_VIEW, estate_of=campaign_estate)
def console_not_answered(estate_code, campaign_id):
    state = tracker.progress(g.campaign)
    groups: dict[tuple, list] = {}
    for line in state.lines:
        if not line.answered:
            h = line.household
            groups.setdefault((h.unit.building.number, h.unit.number), []).append(line)
    html = render_template(
        "contributions/console_not_answered.html",
        estate=g.estate,
        campaign=g.campaign,
        groups=groups,
        mask_name=mask_name,
        mask_phone=mask_phone,
        now=utcnow(),
        locale=current_locale(),
    )
    if wants_pdf(request):
        return pdf_response(
            html, f"{g.estate.code}-campaign-{campaign_id}-not-answered.pdf", request.host_url
        )
    return html


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
    ), form_status(form)


@bp.route("/console/<estate_code>/campaigns/<int:campaign_id>/payment", methods=["GET", "POST"])
@require(Permission.PAYMENTS_RECORD, estate_of=campaign_estate)
def console_payment(estate_code, campaign_id):
    campaign = g.campaign
    form = PaymentForm()
    form.household.choices = _household_choices(campaign)
    if request.method == "GET":
        form.paid_on.data = in_china(utcnow()).date()
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
    ), form_status(form)
