"""Contribution pages for residents: pledging and withdrawing; for anyone: a campaign's totals."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal import access
from resident_portal.access import Permission, public, require
from resident_portal.common import OperationError, format_fen, plain_yuan
from resident_portal.extensions import db
from resident_portal.forms import ConfirmForm, form_status
from resident_portal.messages import current_locale, describe_error
from resident_portal.models import Household

from .. import operations, tracker
from ..blueprint import bp, campaign_estate
from ..forms import PledgeForm
from ..models import Campaign, Channel, PledgeEvent


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
            form.amount.data = plain_yuan(line.pledge.amount_fen)
            form.channel.data = line.pledge.channel.value
            form.note.data = line.pledge.note
        elif line.suggested_fen:
            form.amount.data = plain_yuan(line.suggested_fen)
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
    ), form_status(form)


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
