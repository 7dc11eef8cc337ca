"""The secretary's side of residents' personal data: the queue of correction requests sent from
"my data" (personal_data.py, whose blueprint these pages share) and the estate's organiser whom
the privacy notice names. Changes happen in operations.py."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from . import access, operations
from .access import Permission, require
from .common import OperationError
from .extensions import db
from .forms import HandledForm, OrganiserForm, form_status
from .messages import describe_error
from .models import CorrectionRequest
from .personal_data import bp

# --- the secretary's queue ----------------------------------------------------------------


@bp.get("/console/<estate_code>/corrections")
@require(Permission.REGISTRY_CONTACTS)
def corrections(estate_code):
    return _corrections_page(None, HandledForm(), 200)


def _corrections_page(failed_id, failed_form, status):
    requests = db.session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.estate_id == g.estate.id)
        .order_by(CorrectionRequest.handled_at.is_not(None), CorrectionRequest.created_at.desc())
        .limit(200)
    ).all()
    return render_template(
        "privacy/corrections.html",
        estate=g.estate,
        open_requests=[r for r in requests if r.handled_at is None],
        handled=[r for r in requests if r.handled_at is not None][:50],
        failed_id=failed_id,
        failed_form=failed_form,
        form=HandledForm(formdata=None),
    ), status


@bp.post("/console/<estate_code>/corrections/<int:correction_id>/handled")
@require(Permission.REGISTRY_CONTACTS)
def correction_handled(estate_code, correction_id):
    correction = db.get_or_404(CorrectionRequest, correction_id)
    if correction.estate_id != g.estate.id:
        abort(404)
    form = HandledForm()
    if form.validate_on_submit():
        try:
            operations.handle_correction(
                correction, form.note.data, staff_user=access.current_staff()
            )
        except OperationError as error:
            form.note.errors.append(describe_error(error))
        else:
            flash(_("Marked as handled."))
            return redirect(url_for("privacy.corrections", estate_code=g.estate.code), code=303)
    return _corrections_page(correction.id, form, 422)


# --- the estate's organiser -----------------------------------------------------------------


@bp.route("/console/<estate_code>/organiser", methods=["GET", "POST"])
@require(Permission.REGISTRY_IMPORT)
def organiser(estate_code):
    """Who collects and keeps the estate's residents' data, as its privacy notice names them."""
    form = OrganiserForm()
    if request.method == "GET":
        form.organiser.data, form.contact.data = g.estate.organiser, g.estate.contact
    elif form.validate_on_submit():
        try:
            operations.set_estate_organiser(
                g.estate, form.organiser.data, form.contact.data, staff_user=access.current_staff()
            )
        except OperationError as error:
            form.organiser.errors.append(describe_error(error))
        else:
            flash(_("Saved. The privacy notice now names them."))
            return redirect(url_for("console.estate", estate_code=g.estate.code), code=303)
    return render_template("privacy/organiser.html", estate=g.estate, form=form), form_status(form)
