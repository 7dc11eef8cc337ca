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

from .. import operations, sharing, tracker
from ..blueprint import bp, campaign_estate
from ..forms import PledgeForm
from ..models import Campaign, Channel, Payment, PledgeEvent


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


def _covered(campaign: Campaign) -> list[Household]:
    """The owner's flats in the campaign's scope, the one signed in from first."""
    signed_in = access.current_household()
    covered = [h for h in access.households_of_owner(signed_in) if campaign.covers(h)]
    return sorted(covered, key=lambda h: h.id != signed_in.id)


def _payments(campaign: Campaign, household: Household) -> list[Payment]:
    return db.session.scalars(
        select(Payment)
        .where(Payment.campaign_id == campaign.id, Payment.household_id == household.id)
        .order_by(Payment.paid_on, Payment.id)
    ).all()


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@require(Permission.PLEDGE, estate_of=campaign_estate)
def pledge(campaign_id):
    campaign = g.campaign
    covered = _covered(campaign)
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
        if (
            sharing.pledge_needs_confirmation(form.amount.fen, line.suggested_fen)
            and request.form.get("confirmed") != "1"
        ):
            # A second screen repeats the amount in figures and in capital numerals; nothing
            # is recorded until the resident confirms it there.
            return render_template(
                "contributions/confirm.html",
                campaign=campaign,
                household=household,
                form=form,
                amount_fen=form.amount.fen,
                suggested_fen=line.suggested_fen,
                withdrawing=False,
                locale=current_locale(),
            )
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
    lines = [state.line(h.id) for h in covered]
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
        payments=_payments(campaign, household),
        lines=lines,
        elevator=elevator,
        locale=current_locale(),
    ), form_status(form)


@bp.route("/campaigns/<int:campaign_id>/withdraw", methods=["GET", "POST"])
@require(Permission.PLEDGE, estate_of=campaign_estate)
def withdraw(campaign_id):
    """GET: the confirmation screen, repeating the amount; POST (from it): the withdrawal."""
    covered = _covered(g.campaign)
    household = next((h for h in covered if h.id == request.args.get("household", type=int)), None)
    if household is None:
        abort(404)
    if request.method == "GET":
        line = tracker.progress(g.campaign).line(household.id)
        if not line.pledged_fen:
            return redirect(
                url_for("contributions.pledge", campaign_id=campaign_id, household=household.id)
            )
        return render_template(
            "contributions/confirm.html",
            campaign=g.campaign,
            household=household,
            form=ConfirmForm(),
            amount_fen=line.pledged_fen,
            paid_fen=line.paid_fen,
            withdrawing=True,
            locale=current_locale(),
        )
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
