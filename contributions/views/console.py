"""Contribution console pages: campaigns, their tracker and exports. Who has not answered is in
console_door_to_door.py, pledges and payments entered by staff in console_entry.py, elevator
projects in console_elevators.py."""

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from resident_portal import access
from resident_portal.access import Permission, require
from resident_portal.common import OperationError
from resident_portal.extensions import db
from resident_portal.forms import ConfirmForm, form_status, scope_choices
from resident_portal.jobs import operations as job_operations
from resident_portal.messages import current_locale, describe_error
from resident_portal.operations import record_personal_data_access
from resident_portal.spreadsheets import download
from survey.models import Survey

from .. import export_job, operations, tracker
from ..blueprint import bp, campaign_estate
from ..forms import CampaignForm, campaign_fields
from ..models import Campaign, Payment


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
