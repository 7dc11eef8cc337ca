"""The console's page of a survey's roll: what changed in the register since opening, the
corrections made, and a new one.

Routes only parse, authorise and render; changes happen in survey/operations.py.
"""

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal import access
from resident_portal.access import Permission, require
from resident_portal.common import OperationError, format_area
from resident_portal.extensions import db
from resident_portal.forms import form_status
from resident_portal.messages import current_locale, describe_error
from resident_portal.registry import AreaError, parse_area

from .. import operations, roll
from ..blueprint import bp, household_in_estate, survey_estate
from ..forms import RollCorrectionForm
from ..models import CorrectionKind, RollCorrection


@bp.route("/console/<estate_code>/surveys/<int:survey_id>/roll", methods=["GET", "POST"])
@require(Permission.SURVEY_ROLL, estate_of=survey_estate)
def console_roll(estate_code, survey_id):
    """What changed in the register since opening, the corrections made, and a new one."""
    survey = g.survey
    form = RollCorrectionForm()
    in_scope = [
        h
        for b in g.estate.sorted_buildings
        for u in b.sorted_units
        for h in u.sorted_households
        if survey.covers(h)
    ]
    form.household.choices = [("", "—")] + [(str(h.id), h.address) for h in in_scope]
    if form.validate_on_submit():
        household = household_in_estate(int(form.household.data))
        area = None
        try:
            if (form.area.data or "").strip():
                area = parse_area(form.area.data)
            operations.correct_roll(
                survey,
                household,
                CorrectionKind(form.kind.data),
                form.reason.data,
                staff_user=access.current_staff(),
                area_centi_m2=area,
                owner_ref=form.owner_ref.data,
            )
        except AreaError as error:
            form.area.errors.append(_(error.message, value=form.area.data))
        except OperationError as error:
            flash(describe_error(error), "error")
        else:
            flash(_("Roll corrected for %(address)s.", address=household.address))
            return redirect(
                url_for("survey.console_roll", estate_code=estate_code, survey_id=survey_id)
            )
    corrections = db.session.scalars(
        select(RollCorrection)
        .where(RollCorrection.survey_id == survey.id)
        .order_by(RollCorrection.id)
    ).all()
    return render_template(
        "survey/console_roll.html",
        estate=g.estate,
        survey=survey,
        form=form,
        changes=roll.register_changes(survey),
        corrections=corrections,
        frozen=roll.is_frozen(survey),
        format_area=format_area,
        locale=current_locale(),
    ), form_status(form, request.method == "POST")
