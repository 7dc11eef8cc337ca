"""Staff entry of pledges and payments, in batches.

The household picker offers only households to which the action applies, filtered by building,
unit and status (?building=&unit=&status=, kept across entries); the amount starts at the
suggested (pledge) or still owed (payment) amount; the last reason and channel (pledge) or
note, date and channel (payment) are kept in the session for the next entry.
"""

from datetime import date

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from resident_portal import access
from resident_portal.access import Permission, require
from resident_portal.common import OperationError, in_china, plain_yuan
from resident_portal.extensions import db
from resident_portal.forms import form_status
from resident_portal.messages import describe_error
from resident_portal.models import Household, natural_key, utcnow

from .. import operations, tracker
from ..blueprint import bp, campaign_estate
from ..forms import PaymentForm, StaffPledgeForm
from ..models import Campaign, Channel

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
        try:
            operations.pledge(
                campaign,
                household,
                form.amount.fen,
                Channel(form.channel.data),
                form.note.data,
                share_fen=operations.elevator_share(campaign, household),
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
