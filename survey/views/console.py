"""Survey console pages: the list, a new survey, a survey's progress and results, its items,
exports and who has not voted. The roll and paper ballots are in
console_roll.py and console_paper.py."""

import json

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal import access
from resident_portal.access import Permission, require
from resident_portal.common import OperationError, plain_yuan
from resident_portal.extensions import db
from resident_portal.forms import ConfirmForm, form_status, scope_choices
from resident_portal.messages import current_locale, describe_error, describe_problem
from resident_portal.pdf import pdf_response, wants_pdf
from resident_portal.privacy import mask_name, mask_phone
from resident_portal.spreadsheets import download

from .. import operations, results, roll
from ..blueprint import bp, survey_estate
from ..definition import parse_definition
from ..forms import ItemForm, SurveyForm, definition_from_form, item_definition
from ..models import Survey, SurveyItem


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
    return render_template(
        "survey/console_survey.html",
        estate=g.estate,
        survey=g.survey,
        results=results.compute(g.survey),
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
    computed = results.compute(g.survey)
    name = f"survey-{survey_id}-results"
    if fmt == "json":
        return jsonify(results.as_api(computed, current_locale()))
    if fmt == "csv":
        return download(results.export_csv(computed, current_locale()), f"{name}.csv")
    if fmt == "xlsx":
        return download(results.export_xlsx(computed, current_locale()), f"{name}.xlsx")
    abort(404)


@bp.get("/console/<estate_code>/surveys/<int:survey_id>/not-voted")
@require(Permission.SURVEY_VIEW, estate_of=survey_estate)
def console_not_voted(estate_code, survey_id):
    households = results.households_without_ballot(g.survey)
    groups: dict[tuple, list] = {}
    for h in households:
        groups.setdefault((h.unit.building.number, h.unit.number), []).append(h)
    html = render_template(
        "survey/console_not_voted.html",
        estate=g.estate,
        survey=g.survey,
        groups=groups,
        total=len(households),
        mask_name=mask_name,
        mask_phone=mask_phone,
        locale=current_locale(),
    )
    if wants_pdf(request):
        return pdf_response(
            html, f"{g.estate.code}-survey-{survey_id}-not-voted.pdf", request.host_url
        )
    return html
