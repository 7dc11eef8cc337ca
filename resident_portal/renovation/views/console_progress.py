"""Renovation console: a project's progress, its stages (planned dates, completing one, going
back with a reason) and the progress notes with photos of its timeline. The page itself and
its shared helpers are console.py's."""

from flask import flash, g
from flask_babel import gettext as _

from ... import access
from ...access import Permission, require
from ...common import OperationError
from ...reports.forms import photos_from
from ...reports.photos import PhotoError
from .. import operations
from ..blueprint import bp, describe, project_estate
from ..forms import CompleteForm, NoteForm, PlanForm, ReopenForm, plan_of
from ..models import Stage
from .console import attempt, back_to_project, render_project


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/plan")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_plan(estate_code, renovation_id):
    form = PlanForm()
    return attempt(
        lambda: operations.plan_stages(g.project, plan_of(form), staff_user=access.current_staff()),
        "plan",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/complete")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_complete(estate_code, renovation_id):
    form = CompleteForm()
    return attempt(
        lambda: operations.complete_stage(
            g.project, Stage(form.stage.data), form.on.data, staff_user=access.current_staff()
        ),
        "complete",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/reopen")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_reopen(estate_code, renovation_id):
    form = ReopenForm()
    return attempt(
        lambda: operations.reopen_stage(
            g.project, Stage(form.stage.data), form.reason.data, staff_user=access.current_staff()
        ),
        "reopen",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/notes")
@require(Permission.RENOVATION_PROGRESS, estate_of=project_estate)
def console_note(estate_code, renovation_id):
    form = NoteForm()
    if not form.validate_on_submit():
        return render_project(note=form)
    try:
        photos = photos_from(form.photos.data)
        operations.add_note(g.project, form.text.data, photos, staff_user=access.current_staff())
    except OperationError as error:
        return render_project([describe(error)], note=form)
    except PhotoError as error:
        return render_project([_(error.message)], note=form)
    flash(_("Saved."))
    return back_to_project()
