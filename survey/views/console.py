"""Survey console pages: the list, a new survey, a survey's progress and results, its items,
exports and who has not voted. The roll and paper ballots are in
console_roll.py and console_paper.py."""

import json
from functools import partial

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal import access, doorstep
from resident_portal.access import Permission, require
from resident_portal.common import OperationError, plain_yuan
from resident_portal.extensions import db
from resident_portal.forms import ConfirmForm, form_status, scope_choices
from resident_portal.jobs import operations as job_operations
from resident_portal.messages import current_locale, describe_error, describe_problem
from resident_portal.spreadsheets import download

from .. import export_job, operations, results, roll
from ..blueprint import bp, household_in_estate, survey_estate
from ..definition import parse_definition
from ..forms import ItemForm, SurveyForm, definition_from_form, item_definition
from ..models import Survey, SurveyItem, SurveyVisit


@bp.get("/console/<estate_code>/surveys")
@require(Permission.SURVEY_VIEW)
def console_list(estate_code):
    surveys = list(
        db.session.scalars(
            select(Survey).where(Survey.estate_id == g.estate.id).order_by(Survey.opens_at.desc())
        )
    )
    progress = {s.id: results.compute(s).overall for s in surveys}
    return render_template(
        "survey/console_list.html",
        estate=g.estate,
        surveys=surveys,
        progress=progress,
        locale=current_locale(),
    )


@bp.route("/console/<estate_code>/surveys/new", methods=["GET", "POST"])
@require(Permission.SURVEY_MANAGE)
def console_new(estate_code):
    form = SurveyForm()
    form.scope.choices = scope_choices(g.estate)
    if request.method == "GET":
        # The estate's organiser and contact (its privacy notice names them) as the default.
        form.organiser.data = form.organiser.data or g.estate.organiser
        form.contact.data = form.contact.data or g.estate.contact
    problems = []
    if form.validate_on_submit():
        definition, problems = parse_definition(definition_from_form(form))
        if definition:
            try:
                survey = operations.create_survey(
                    g.estate, definition, staff_user=access.current_staff()
                )
            except OperationError as error:
                problems = []
                flash(describe_error(error), "error")
            else:
                flash(_("Survey created. Check its items before it opens."))
                return redirect(
                    url_for("survey.console_survey", estate_code=estate_code, survey_id=survey.id)
                )
    return render_template(
        "survey/console_new.html",
        estate=g.estate,
        form=form,
        problems=[describe_problem(p) for p in problems],
    ), form_status(form, problems)


@bp.get("/console/<estate_code>/surveys/<int:survey_id>")
@require(Permission.SURVEY_RESULTS, estate_of=survey_estate)
def console_survey(estate_code, survey_id):
    computed = results.compute(g.survey)
    return render_template(
        "survey/console_survey.html",
        estate=g.estate,
        survey=g.survey,
        results=computed,
        ranking=results.priority_ranking(computed),
        suggestions=results.suggestions(computed),
        register_changes=roll.register_changes(g.survey),
        locale=current_locale(),
        form=ConfirmForm(),
    )


@bp.route(
    "/console/<estate_code>/surveys/<int:survey_id>/items/new",
    methods=["GET", "POST"],
    defaults={"item_id": None},
)
@bp.route(
    "/console/<estate_code>/surveys/<int:survey_id>/items/<int:item_id>", methods=["GET", "POST"]
)
@require(Permission.SURVEY_MANAGE, estate_of=survey_estate)
def console_item(estate_code, survey_id, item_id):
    survey = g.survey
    item = None
    if item_id is not None:
        item = db.get_or_404(SurveyItem, item_id)
        if item.survey_id != survey.id:
            abort(404)
    form = ItemForm(obj=item)
    if request.method == "GET" and item is not None and item.estimated_cost_fen is not None:
        form.estimated_cost.data = plain_yuan(item.estimated_cost_fen)
    if form.validate_on_submit():
        fields = item_definition(form)
        if fields is not None:
            try:
                operations.save_item(survey, item, fields, staff_user=access.current_staff())
            except OperationError as error:
                flash(describe_error(error), "error")
            else:
                return redirect(
                    url_for("survey.console_survey", estate_code=estate_code, survey_id=survey.id)
                )
    return render_template(
        "survey/console_item.html", estate=g.estate, survey=survey, item=item, form=form
    ), form_status(form)


@bp.post("/console/<estate_code>/surveys/<int:survey_id>/items/<int:item_id>/remove")
@require(Permission.SURVEY_MANAGE, estate_of=survey_estate)
def console_item_remove(estate_code, survey_id, item_id):
    item = db.get_or_404(SurveyItem, item_id)
    if item.survey_id != g.survey.id:
        abort(404)
    try:
        operations.remove_item(g.survey, item, staff_user=access.current_staff())
    except OperationError as error:
        flash(describe_error(error), "error")
    return redirect(url_for("survey.console_survey", estate_code=estate_code, survey_id=survey_id))


@bp.get("/console/<estate_code>/surveys/<int:survey_id>/definition.json")
@require(Permission.SURVEY_VIEW, estate_of=survey_estate)
def console_definition(estate_code, survey_id):
    from ..definition import to_definition

    body = json.dumps(to_definition(g.survey), ensure_ascii=False, indent=2)
    return download(body, f"survey-{survey_id}.json")


@bp.get("/console/<estate_code>/surveys/<int:survey_id>/results.<fmt>")
@require(Permission.SURVEY_RESULTS, estate_of=survey_estate)
def console_export(estate_code, survey_id, fmt):
    """The results; a CSV/XLSX over EXPORT_JOB_ROWS rows is offered as a job (a GET starts
    nothing)."""
    computed = results.compute(g.survey)
    if fmt == "json":
        return jsonify(results.as_api(computed, current_locale()))
    if fmt not in export_job.FORMATS:
        abort(404)
    rows = export_job.row_count(computed)
    if rows > current_app.config["EXPORT_JOB_ROWS"]:
        return render_template(
            "jobs/too_big.html",
            estate=g.estate,
            rows=rows,
            action=url_for(
                "survey.console_export_job", estate_code=estate_code, survey_id=survey_id, fmt=fmt
            ),
        )
    return download(*export_job.export(g.survey, fmt, current_locale(), computed))


@bp.post("/console/<estate_code>/surveys/<int:survey_id>/results.<fmt>/job")
@require(Permission.SURVEY_RESULTS, estate_of=survey_estate)
def console_export_job(estate_code, survey_id, fmt):
    if fmt not in export_job.FORMATS:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = job_operations.submit(
        export_job.SURVEY_RESULTS_EXPORT.name,
        staff_user=access.current_staff(),
        estates=[g.estate],
        estate=g.estate,
        params={"survey_id": g.survey.id, "fmt": fmt, "locale": current_locale()},
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)


@bp.get("/console/<estate_code>/surveys/<int:survey_id>/suggestions.csv")
@require(Permission.SURVEY_RESULTS, estate_of=survey_estate)
def console_suggestions(estate_code, survey_id):
    """The written suggestions alone (masked, no ballot's choices beside them)."""
    body = results.suggestions_csv(results.compute(g.survey))
    return download(body, f"survey-{survey_id}-suggestions.csv")


def _not_voted_page(wanted: str, *, full: bool = False, errors=None, status=200):
    """The door-to-door list: households without a ballot, grouped by building and unit, with
    their latest visit, filtered by it (doorstep.py). Full contacts only when `full`."""
    households = results.households_without_ballot(g.survey)
    visits = doorstep.latest_visits(
        SurveyVisit, SurveyVisit.survey_id, g.survey.id, (h.id for h in households)
    )
    return doorstep.list_page(
        "survey/console_not_voted.html",
        households,
        lambda h: h,
        visits,
        wanted,
        pdf_name=f"{g.estate.code}-survey-{g.survey.id}-not-voted.pdf",
        full=full,
        errors=errors,
        status=status,
        survey=g.survey,
    )


@bp.get("/console/<estate_code>/surveys/<int:survey_id>/not-voted")
@require(Permission.SURVEY_VIEW, estate_of=survey_estate)
def console_not_voted(estate_code, survey_id):
    return _not_voted_page(doorstep.visit_filter(request.args.get("visit")))


@bp.post("/console/<estate_code>/surveys/<int:survey_id>/not-voted/contacts")
@require(Permission.DOOR_TO_DOOR_CONTACTS, estate_of=survey_estate)
def console_not_voted_contacts(estate_code, survey_id):
    return doorstep.contacts_page(_not_voted_page, "survey.not_voted", survey=g.survey.id)


@bp.post("/console/<estate_code>/surveys/<int:survey_id>/not-voted/<int:household_id>/visit")
@require(Permission.VISITS_RECORD, estate_of=survey_estate)
def console_visit(estate_code, survey_id, household_id):
    household = household_in_estate(household_id)
    return doorstep.record_visit_from_list(
        household,
        partial(operations.record_visit, g.survey, household, staff_user=access.current_staff()),
        _not_voted_page,
        "survey.console_not_voted",
        estate_code=estate_code,
        survey_id=survey_id,
    )
