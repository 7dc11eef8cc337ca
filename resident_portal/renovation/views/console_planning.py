"""Renovation console for planners across estates: the spreadsheet import and each district's
yearly targets."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import SelectChoice

from ... import access
from ...access import Permission, require
from ...common import OperationError
from ...extensions import db
from ...forms import form_status
from .. import operations
from ..blueprint import bp, describe
from ..forms import ImportForm, TargetForm, fen_of
from ..models import DistrictTarget
from ..spreadsheet import HEADERS, parse_projects


@bp.route("/console/renovation/import", methods=["GET", "POST"])
@require(Permission.RENOVATION_MANAGE)
def console_import():
    """The planner's spreadsheet: every row applied, or none (problems listed by line)."""
    form = ImportForm()
    problems, result = [], None
    if form.validate_on_submit():
        upload = form.workbook.data
        parsed = parse_projects(upload.read(), upload.filename or "projects.xlsx")
        user = access.current_staff()
        result, found = operations.import_projects(
            parsed,
            staff_user=user,
            may_manage=lambda estate: access.staff_may(user, Permission.RENOVATION_MANAGE, estate),
        )
        problems = [describe(p) for p in found]
    return render_template(
        "renovation/console_import.html",
        estate=None,
        form=form,
        problems=problems,
        result=result,
        headers=HEADERS,
    ), form_status(form, problems)


def _target_districts(user) -> list[str]:
    """Districts of the estates in which the user may set targets (every district: admins)."""
    estates = access.estates_seen(user, Permission.RENOVATION_TARGETS)
    return sorted({e.district for e in estates if e.district})


@bp.route("/console/renovation/targets", methods=["GET", "POST"])
@require(Permission.RENOVATION_TARGETS)
def console_targets():
    """Each district's yearly targets: projects to start, finish and accept; investment."""
    user = access.current_staff()
    districts = _target_districts(user)
    form = TargetForm()
    form.district.choices = [SelectChoice(d, d) for d in districts]
    if request.method == "GET":
        form.year.data = form.year.data or operations.today_in_china().year
    errors = []
    if form.validate_on_submit():
        try:
            operations.set_target(
                form.district.data,
                form.year.data,
                form.to_start.data or 0,
                form.to_finish.data or 0,
                form.to_accept.data or 0,
                fen_of(form.investment.data),
                staff_user=user,
            )
        except OperationError as error:
            errors.append(describe(error))
        else:
            flash(_("Saved."))
            return redirect(url_for("renovation.console_targets"), 303)
    targets = db.session.scalars(
        select(DistrictTarget)
        .where(DistrictTarget.district.in_(districts))
        .order_by(DistrictTarget.year.desc(), DistrictTarget.district)
    ).all()
    return render_template(
        "renovation/console_targets.html",
        estate=None,
        form=form,
        errors=errors,
        targets=targets,
    ), form_status(form, errors)
