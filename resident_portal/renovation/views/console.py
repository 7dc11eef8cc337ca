"""Renovation console pages: an estate's projects, one project's record (details, parties,
scope, stages, budget, progress notes) and the planner's spreadsheet import."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import SelectChoice

from ... import access
from ...access import Permission, require
from ...common import OperationError
from ...extensions import db
from ...forms import ConfirmForm, form_status
from ...models import Estate, utcnow
from ...reports.forms import photos_from
from ...reports.photos import PhotoError
from .. import money, operations, record, satisfaction
from ..blueprint import bp, describe, project_estate
from ..forms import (
    AcceptForm,
    BudgetForm,
    CompleteForm,
    DetailsForm,
    ImportForm,
    NewProjectForm,
    NoteForm,
    PartiesForm,
    PlanForm,
    ReopenForm,
    SatisfactionForm,
    ScopeForm,
    SignoffForm,
    TargetForm,
    budget_of,
    fen_of,
    fill_budget,
    fill_details,
    fill_parties,
    fill_plan,
    parties_of,
    plan_of,
    scope_choices,
    survey_item_of,
)
from ..models import DistrictTarget, ScopeItem, Stage
from ..spreadsheet import HEADERS, parse_projects


@bp.get("/console/<estate_code>/renovation")
@require(Permission.RENOVATION_VIEW)
def console_list(estate_code):
    return _render_list(NewProjectForm(formdata=None), [])


def _render_list(form, errors):
    projects = record.projects_of(g.estate)
    return render_template(
        "renovation/console_list.html",
        estate=g.estate,
        projects=projects,
        stages=record.stage_of([p.id for p in projects]),
        form=form,
        errors=errors,
    ), form_status(form, errors)


@bp.post("/console/<estate_code>/renovation/new")
@require(Permission.RENOVATION_MANAGE)
def console_new(estate_code):
    form = NewProjectForm()
    errors = []
    if form.validate_on_submit():
        try:
            project = operations.create_project(
                g.estate,
                form.name.data,
                form.batch_year.data,
                form.hotline.data or "",
                staff_user=access.current_staff(),
            )
        except OperationError as error:
            errors.append(describe(error))
        else:
            return redirect(
                url_for(
                    "renovation.console_project", estate_code=estate_code, renovation_id=project.id
                ),
                303,
            )
    return _render_list(form, errors)


def _render_project(errors=(), **forms):
    project = g.project
    defaults = {
        "details": DetailsForm(formdata=None),
        "parties": PartiesForm(formdata=None),
        "plan": PlanForm(formdata=None),
        "budget_form": BudgetForm(formdata=None),
    }
    fill_details(defaults["details"], project)
    fill_parties(defaults["parties"], project)
    fill_plan(defaults["plan"], project)
    fill_budget(defaults["budget_form"], project)
    defaults.update({k: v for k, v in forms.items() if k in defaults})
    lines = record.funding_lines(project)
    current = project.current_stage
    complete = forms.get("complete") or CompleteForm(formdata=None)
    if current is not None and "complete" not in forms:
        complete.stage.data = current.value
    return render_template(
        "renovation/console_project.html",
        estate=g.estate,
        project=project,
        stages=record.stage_lines(project),
        lines=lines,
        budget=record.budget(lines),
        percent=money.percent_text,
        complete=complete,
        reopen=forms.get("reopen") or ReopenForm(formdata=None),
        scope=_with_choices(forms.get("scope") or ScopeForm(formdata=None), project),
        note=forms.get("note") or NoteForm(formdata=None),
        signoff=forms.get("signoff") or _signoff_defaults(project),
        accept=forms.get("accept") or AcceptForm(formdata=None),
        satisfaction_form=forms.get("satisfaction") or SatisfactionForm(formdata=None),
        satisfaction=satisfaction.results_of([project.satisfaction_survey_id]).get(
            project.satisfaction_survey_id
        ),
        reports=record.report_summary(g.estate),
        remove_form=ConfirmForm(),
        errors=list(errors),
        now=utcnow(),
        **defaults,
    ), form_status(None, errors, *(f.errors for f in forms.values()))


def _with_choices(form, project):
    form.survey_item.choices = scope_choices(record.approved_items(project.estate))
    return form


def _signoff_defaults(project):
    form = SignoffForm(formdata=None)
    if project.acceptance is not None:
        form.representatives.data = project.acceptance.representatives
        form.signed_on.data = project.acceptance.signed_on
    return form


def _back():
    return redirect(
        url_for(
            "renovation.console_project", estate_code=g.estate.code, renovation_id=g.project.id
        ),
        303,
    )


@bp.get("/console/<estate_code>/renovation/<int:renovation_id>")
@require(Permission.RENOVATION_VIEW, estate_of=project_estate)
def console_project(estate_code, renovation_id):
    return _render_project()


def _attempt(change, form_name, form):
    """Run an operation for a validated form; re-render with the message if refused."""
    if not form.validate_on_submit():
        return _render_project(**{form_name: form})
    try:
        change()
    except OperationError as error:
        return _render_project([describe(error)], **{form_name: form})
    flash(_("Saved."))
    return _back()


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/details")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_details(estate_code, renovation_id):
    form = DetailsForm()
    return _attempt(
        lambda: operations.update_details(
            g.project,
            form.name.data,
            form.batch_year.data,
            form.hotline.data or "",
            fen_of(form.invested.data),
            staff_user=access.current_staff(),
        ),
        "details",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/parties")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_parties(estate_code, renovation_id):
    form = PartiesForm()

    def change():
        for role, (name, contact, phone) in parties_of(form).items():
            operations.set_party(
                g.project, role, name, contact, phone, staff_user=access.current_staff()
            )

    return _attempt(change, "parties", form)


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/plan")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_plan(estate_code, renovation_id):
    form = PlanForm()
    return _attempt(
        lambda: operations.plan_stages(g.project, plan_of(form), staff_user=access.current_staff()),
        "plan",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/complete")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_complete(estate_code, renovation_id):
    form = CompleteForm()
    return _attempt(
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
    return _attempt(
        lambda: operations.reopen_stage(
            g.project, Stage(form.stage.data), form.reason.data, staff_user=access.current_staff()
        ),
        "reopen",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/budget")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_budget(estate_code, renovation_id):
    form = BudgetForm()
    return _attempt(
        lambda: operations.set_budget(
            g.project, budget_of(form, g.project), staff_user=access.current_staff()
        ),
        "budget_form",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/scope")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_scope(estate_code, renovation_id):
    form = _with_choices(ScopeForm(), g.project)
    return _attempt(
        lambda: operations.add_scope_item(
            g.project,
            form.title.data or "",
            survey_item_of(form),
            staff_user=access.current_staff(),
        ),
        "scope",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/scope/<int:scope_item_id>/remove")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_scope_remove(estate_code, renovation_id, scope_item_id):
    item = db.session.get(ScopeItem, scope_item_id)
    if item is None:
        return _back()  # removed already (a second tap, another tab): nothing left to do
    if item.project_id != g.project.id:
        abort(404)
    operations.remove_scope_item(g.project, item, staff_user=access.current_staff())
    return _back()


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/notes")
@require(Permission.RENOVATION_PROGRESS, estate_of=project_estate)
def console_note(estate_code, renovation_id):
    form = NoteForm()
    if not form.validate_on_submit():
        return _render_project(note=form)
    try:
        photos = photos_from(form.photos.data)
        operations.add_note(g.project, form.text.data, photos, staff_user=access.current_staff())
    except OperationError as error:
        return _render_project([describe(error)], note=form)
    except PhotoError as error:
        return _render_project([_(error.message)], note=form)
    flash(_("Saved."))
    return _back()


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
    estates = access.estates_with(user, Permission.RENOVATION_TARGETS)
    if estates is None:
        estates = db.session.scalars(select(Estate)).all()
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


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/signoff")
@require(Permission.RENOVATION_SIGNOFF, estate_of=project_estate)
def console_signoff(estate_code, renovation_id):
    form = SignoffForm()
    return _attempt(
        lambda: operations.record_signoff(
            g.project,
            form.representatives.data,
            form.signed_on.data,
            staff_user=access.current_staff(),
        ),
        "signoff",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/accept")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_accept(estate_code, renovation_id):
    form = AcceptForm()
    return _attempt(
        lambda: operations.pass_acceptance(
            g.project,
            form.on.data,
            form.override_reason.data or "",
            staff_user=access.current_staff(),
        ),
        "accept",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/satisfaction")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_satisfaction(estate_code, renovation_id):
    form = SatisfactionForm()
    return _attempt(
        lambda: operations.open_satisfaction(
            g.project, form.closes_on.data, staff_user=access.current_staff()
        ),
        "satisfaction",
        form,
    )
