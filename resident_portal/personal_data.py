"""Residents' personal data under PIPL (issue 12, point 7): the privacy notice and its one-time
acknowledgement, the household's "my data" page with its downloads and correction requests. The
secretary's queue of those requests and the estate's organiser are in personal_data_console.py,
on the same blueprint.

What each feature keeps about a household comes from the providers registered in
privacy.MY_DATA_PROVIDERS; this module contributes the register entry and the correction
requests. Routes only parse, authorise and render; changes happen in operations.py.
"""

import csv
import io
import json

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from . import access, operations
from .access import Permission, public, require
from .common import OperationError
from .estates import estate_or_404
from .extensions import db
from .forms import ConfirmForm, CorrectionForm
from .messages import describe_error
from .models import CorrectionRequest, Household
from .privacy import DataSection, data_time, my_data, my_data_provider
from .spreadsheets import download, safe

bp = Blueprint("privacy", __name__)


# --- the privacy notice ---------------------------------------------------------------------


@bp.app_context_processor
def notice_facts() -> dict:
    return {"session_days": current_app.config["HOUSEHOLD_SESSION_LIFETIME"].days}


@bp.get("/privacy")
@public
def notice():
    household = access.current_household()
    estate = household.estate if household is not None else None
    return render_template("privacy/notice.html", estate=estate, ack_form=ConfirmForm())


@bp.get("/e/<estate_code>/privacy")
@public
def estate_notice(estate_code):
    estate = estate_or_404(estate_code)
    return render_template("privacy/notice.html", estate=estate, ack_form=ConfirmForm())


@bp.post("/privacy/acknowledge")
@require(Permission.HOUSEHOLD_HOME)
def acknowledge():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    operations.acknowledge_privacy_notice(access.current_household())
    flash(_("Thank you. You can read the privacy notice again from the foot of every page."))
    return redirect(url_for("portal.home"), code=303)


# --- my data ------------------------------------------------------------------------------


@my_data_provider
def register_sections(households: list[Household]) -> list[DataSection]:
    """The register entry of each of the owner's households, and their correction requests."""
    register = DataSection(
        "register",
        _("Register entry"),
        [
            ("building", _("Building")),
            ("unit", _("Unit")),
            ("room", _("Room")),
            ("floor", _("Floor")),
            ("area_m2", _("Registered area (m²)")),
            ("owner_ref", _("Owner number")),
            ("owner_name", _("Owner")),
            ("phone", _("Phone")),
            ("code_issued_at", _("Access code issued")),
            ("privacy_acknowledged_at", _("Privacy notice read")),
        ],
        [
            {
                "building": h.unit.building.number,
                "unit": h.unit.number,
                "room": h.room,
                "floor": h.floor,
                "area_m2": h.area_m2,
                "owner_ref": h.owner_ref,
                "owner_name": h.owner_name,
                "phone": h.phone or "",
                "code_issued_at": data_time(h.code_issued_at),
                "privacy_acknowledged_at": data_time(h.privacy_acknowledged_at),
            }
            for h in households
        ],
    )
    requests = db.session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.household_id.in_([h.id for h in households]))
        .order_by(CorrectionRequest.created_at, CorrectionRequest.id)
    )
    corrections = DataSection(
        "correction_requests",
        _("Correction requests"),
        [
            ("sent_at", _("Sent")),
            ("text", _("Request")),
            ("handled_at", _("Handled")),
            ("note", _("Note")),
        ],
        [
            {
                "sent_at": data_time(r.created_at),
                "text": r.text,
                "handled_at": data_time(r.handled_at),
                "note": r.handled_note or "",
            }
            for r in requests
        ],
    )
    return [register, corrections]


def _my_sections() -> tuple[Household, list[DataSection]]:
    household = access.current_household()
    return household, my_data(access.households_of_owner(household))


@bp.route("/my-data", methods=["GET"])
@require(Permission.HOUSEHOLD_HOME)
def my_data_page():
    household, sections = _my_sections()
    return _my_data_page(household, sections, CorrectionForm(), 200)


def _my_data_page(household, sections, form, status):
    return render_template(
        "privacy/my_data.html",
        household=household,
        estate=household.estate,
        sections=sections,
        form=form,
    ), status


@bp.post("/my-data/correction")
@require(Permission.HOUSEHOLD_HOME)
def request_correction():
    household = access.current_household()
    form = CorrectionForm()
    if form.validate_on_submit():
        try:
            operations.request_correction(household, form.text.data)
        except OperationError as error:
            form.text.errors.append(describe_error(error))
        else:
            flash(_("Your request has been sent to the estate's secretary."))
            return redirect(url_for("privacy.my_data_page"), code=303)
    _household, sections = _my_sections()
    return _my_data_page(household, sections, form, 422)


def sections_json(sections: list[DataSection]) -> bytes:
    document = {
        section.key: [
            {key: row.get(key) for key, _title in section.columns} for row in section.rows
        ]
        for section in sections
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def sections_csv(sections: list[DataSection]) -> bytes:
    """One file for Excel: each section under its title, with its own heading row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for number, section in enumerate(sections):
        if number:
            writer.writerow([])
        writer.writerow([safe(section.title)])
        writer.writerow([safe(title) for _key, title in section.columns])
        for row in section.rows:
            writer.writerow([safe(row.get(key, "")) for key, _title in section.columns])
    return out.getvalue().encode("utf-8-sig")


@bp.get("/my-data.<fmt>")
@require(Permission.HOUSEHOLD_HOME)
def my_data_download(fmt):
    household, sections = _my_sections()
    if fmt == "json":
        body = sections_json(sections)
    elif fmt == "csv":
        body = sections_csv(sections)
    else:
        abort(404)
    response = download(body, f"my-data-{household.id}.{fmt}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# The secretary's pages (the queue of correction requests, the organiser) register on bp too.
from . import personal_data_console  # noqa: E402, F401
