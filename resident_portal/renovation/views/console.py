"""Renovation console pages: an estate's projects and one project's record (its page, details,
parties and scope), with the helpers the project page's other forms share (render_project,
attempt, back_to_project): its progress (console_progress.py), funding (console_funding.py)
and acceptance (console_acceptance.py)."""

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from ... import access
from ...access import Permission, require
from ...common import OperationError
from ...extensions import db
from ...forms import ConfirmForm, form_status
from ...models import utcnow
from .. import money, operations, record, satisfaction
from ..blueprint import bp, describe, project_estate
from ..forms import (
    AcceptForm,
    BudgetForm,
    CompleteForm,
    DetailsForm,
    NewProjectForm,
    NoteForm,
    PartiesForm,
    PlanForm,
    ReopenForm,
    SatisfactionForm,
    ScopeForm,
    SignoffForm,
    fen_of,
    fill_budget,
    fill_details,
    fill_parties,
    fill_plan,
    parties_of,
    scope_choices,
    survey_item_of,
)
from ..models import ScopeItem


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


def render_project(errors=(), **forms):
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


def back_to_project():
    return redirect(
        url_for(
            "renovation.console_project", estate_code=g.estate.code, renovation_id=g.project.id
        ),
        303,
    )


@bp.get("/console/<estate_code>/renovation/<int:renovation_id>")
@require(Permission.RENOVATION_VIEW, estate_of=project_estate)
def console_project(estate_code, renovation_id):
    return render_project()


def attempt(change, form_name, form):
    """Run an operation for a validated form; re-render with the message if refused."""
    if not form.validate_on_submit():
        return render_project(**{form_name: form})
    try:
        change()
    except OperationError as error:
        return render_project([describe(error)], **{form_name: form})
    flash(_("Saved."))
    return back_to_project()


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/details")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_details(estate_code, renovation_id):
    form = DetailsForm()
    return attempt(
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

    return attempt(change, "parties", form)


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/scope")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_scope(estate_code, renovation_id):
    form = _with_choices(ScopeForm(), g.project)
    return attempt(
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
        return back_to_project()  # removed already (a second tap, another tab): nothing left to do
    if item.project_id != g.project.id:
        abort(404)
    operations.remove_scope_item(g.project, item, staff_user=access.current_staff())
    return back_to_project()
