"""Console pages of elevator projects: a new project, its costs, subsidy, floor coefficients and
compensations, and the shares they give.

Routes only parse, authorise and render; changes happen in contributions/operations.py.
"""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from resident_portal import access
from resident_portal.access import Permission, require
from resident_portal.common import OperationError, parse_yuan
from resident_portal.extensions import db
from resident_portal.forms import form_status
from resident_portal.messages import current_locale, describe_error
from resident_portal.models import Unit

from .. import operations, sharing, tracker
from ..blueprint import bp, project_estate
from ..forms import (
    ElevatorForm,
    NewElevatorForm,
    elevator_fields,
    fill_elevator_form,
    new_elevator_deadlines,
    parse_coefficients,
    parse_compensations,
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
                elevator_fields(form),
                *new_elevator_deadlines(form),
                staff_user=access.current_staff(),
            )
        except OperationError as error:
            flash(describe_error(error), "error")
        else:
            return redirect(
                url_for("contributions.elevator", estate_code=estate_code, project_id=project.id)
            )
    return render_template(
        "contributions/elevator_new.html", estate=g.estate, form=form
    ), form_status(form)


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
    ), form_status(form, errors)


@bp.get("/console/<estate_code>/elevators/<int:project_id>")
@require(Permission.CAMPAIGN_VIEW, estate_of=project_estate)
def elevator(estate_code, project_id):
    form = ElevatorForm(formdata=None)
    fill_elevator_form(form, g.project)
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
                    elevator_fields(form),
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
