"""Survey pages: residents vote; staff create surveys, follow progress, read results; the API.

Routes only parse, authorise and render; changes happen in survey/operations.py.
"""

import json

from flask import (
    Blueprint,
    abort,
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
from sqlalchemy.orm import joinedload

from resident_portal import access
from resident_portal.access import Permission, estate_from_url, public, require
from resident_portal.blueprint import home_panel
from resident_portal.common import CHINA, format_area, format_fen, parse_yuan
from resident_portal.extensions import db
from resident_portal.forms import ConfirmForm, parse_scope, scope_choices
from resident_portal.messages import current_locale, describe_error, describe_problem
from resident_portal.models import Estate, Household, utcnow
from resident_portal.operations import OperationError
from resident_portal.privacy import mask_name, mask_phone
from resident_portal.qr import public_url, qr_svg
from resident_portal.spreadsheets import download

from . import operations, results, roll
from .catalogue import BY_KEY
from .definition import ItemDefinition, parse_definition
from .forms import ItemForm, SurveyForm, ballot_form
from .models import (
    CATEGORY_LABELS,
    CHOICE_LABELS,
    KIND_LABELS,
    RULE_LABELS,
    Ballot,
    BallotRevision,
    ItemCategory,
    RollCorrection,
    Survey,
    SurveyItem,
    SurveyKind,
    SurveyStatus,
)
from .rules import item_sentence, share
from .tally import Choice

bp = Blueprint("survey", __name__)


# The survey with its estate and items in one query: every survey page uses all three.
SURVEY_WITH_ESTATE_AND_ITEMS = (joinedload(Survey.estate), joinedload(Survey.items))
BALLOT_CHOICES = joinedload(Ballot.choices)


# Ids are INTEGER columns: a larger number in a URL is no survey (not "integer out of range").
MAX_ID = 2**31 - 1


def survey_estate(kwargs: dict) -> Estate:
    """The estate of the survey in the URL (404 if none, or if the URL names another estate)."""
    if kwargs["survey_id"] > MAX_ID:
        abort(404)
    survey = db.session.get(Survey, kwargs["survey_id"], options=SURVEY_WITH_ESTATE_AND_ITEMS)
    if survey is None:
        abort(404)
    if "estate_code" in kwargs and survey.estate.code != kwargs["estate_code"]:
        abort(404)
    g.survey = survey
    return survey.estate


@bp.app_template_filter("percent")
def percent(part: int, whole: int) -> float:
    """For drawing bars only; decisions are made in survey/tally.py with integers."""
    return round(100 * part / whole, 1) if whole else 0.0


@bp.app_context_processor
def survey_labels():
    return {
        "CATEGORY_LABELS": CATEGORY_LABELS,
        "CHOICE_LABELS": CHOICE_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "RULE_LABELS": RULE_LABELS,
        "format_fen": format_fen,
        "format_area": format_area,
        "SurveyStatus": SurveyStatus,
        "now": utcnow(),
    }


def _surveys_for(households: list[Household]) -> list[Survey]:
    if not households:
        return []
    estate_id = households[0].unit.building.estate_id
    surveys = db.session.scalars(
        select(Survey).where(Survey.estate_id == estate_id).order_by(Survey.closes_at)
    )
    return [s for s in surveys if any(roll.owner_on_roll(s, h) for h in households)]


@home_panel("survey/_home_panel.html")
def home_surveys(households: list[Household]) -> dict:
    surveys = [s for s in _surveys_for(households) if s.status() is SurveyStatus.OPEN]
    voted = {
        s.id
        for s in surveys
        if db.session.scalar(
            select(Ballot.id).where(
                Ballot.survey_id == s.id, Ballot.owner_ref == roll.owner_on_roll(s, households[0])
            )
        )
    }
    return {"surveys": surveys, "voted": voted}


# --- residents -------------------------------------------------------------------------


@bp.route("/surveys/<int:survey_id>", methods=["GET", "POST"])
@require(Permission.VOTE, estate_of=survey_estate)
def ballot(survey_id):
    survey = g.survey
    household = access.current_household()
    covered = roll.covered_households(survey, household)
    owner_ref = roll.owner_on_roll(survey, household)
    status = survey.status()
    if status is SurveyStatus.CLOSED:
        return redirect(
            url_for("survey.notice", estate_code=survey.estate.code, survey_id=survey.id)
        )

    def current_ballot() -> Ballot | None:
        """The owner's counted ballot with its choices, for the page (not for a submission,
        which loads it itself after locking it: see operations.submit_ballot)."""
        query = select(Ballot).where(Ballot.survey_id == survey.id, Ballot.owner_ref == owner_ref)
        return db.session.execute(query.options(BALLOT_CHOICES)).unique().scalar_one_or_none()

    form = ballot_form(survey, current_locale())
    current = current_ballot() if request.method == "GET" else None
    if current is not None:
        for item, field in form.item_fields:
            field.data = next(
                (c.choice.value for c in current.choices if c.item_id == item.id), None
            )
        if survey.max_priorities:
            form.priorities.data = [str(c.item_id) for c in current.choices if c.priority]
        if survey.allow_suggestion:
            form.suggestion.data = current.suggestion
    if covered and status is SurveyStatus.OPEN and form.validate_on_submit():
        try:
            receipt = operations.submit_ballot(
                survey,
                household,
                {item.id: Choice(field.data) for item, field in form.item_fields},
                {int(i) for i in form.priorities.data} if survey.max_priorities else set(),
                form.suggestion.data if survey.allow_suggestion else "",
            )
        except OperationError as error:
            flash(describe_error(error), "error")
        else:
            # survey_id from the URL: reading survey.id after the commit would reload it.
            return redirect(url_for("survey.receipt", survey_id=survey_id, receipt=receipt))
    if request.method != "GET":
        current = current_ballot()  # the page is shown again: with the ballot that counts
    return render_template(
        "survey/ballot.html",
        survey=survey,
        status=status,
        covered=covered,
        current=current,
        form=form,
        locale=current_locale(),
    ), (400 if form.errors else 200)


@bp.get("/surveys/<int:survey_id>/receipt/<receipt>")
@require(Permission.VOTE, estate_of=survey_estate)
def receipt(survey_id, receipt):
    household = access.current_household()
    revision = db.first_or_404(
        select(BallotRevision).where(
            BallotRevision.survey_id == g.survey.id,
            BallotRevision.receipt == receipt,
            BallotRevision.owner_ref == roll.owner_on_roll(g.survey, household),
        )
    )
    counted = db.session.scalar(select(Ballot.id).where(Ballot.receipt == receipt)) is not None
    return render_template(
        "survey/receipt.html",
        survey=g.survey,
        revision=revision,
        counted=counted,
        locale=current_locale(),
    )


@bp.get("/e/<estate_code>/receipt")
@public
def check_receipt(estate_code):
    estate = db.first_or_404(select(Estate).where(Estate.code == estate_code))
    code = request.args.get("code", "").strip()
    found = operations.find_receipt(estate, code) if code else None
    survey = db.session.get(Survey, found[0].survey_id) if found else None
    return render_template(
        "survey/check_receipt.html",
        estate=estate,
        code=code,
        found=found,
        survey=survey,
        locale=current_locale(),
    )


@bp.get("/e/<estate_code>/results")
@public
def notices(estate_code):
    estate = db.first_or_404(select(Estate).where(Estate.code == estate_code))
    surveys = db.session.scalars(
        select(Survey).where(Survey.estate_id == estate.id).order_by(Survey.closes_at.desc())
    )
    closed = [s for s in surveys if s.status() is SurveyStatus.CLOSED]
    return render_template(
        "survey/notices.html", estate=estate, surveys=closed, locale=current_locale()
    )


def _closed_survey(estate_code: str, survey_id: int):
    survey_estate({"estate_code": estate_code, "survey_id": survey_id})
    if g.survey.status() is not SurveyStatus.CLOSED:
        abort(404)
    return g.survey


def _notice_context(survey) -> dict:
    corrections = db.session.scalars(
        select(RollCorrection)
        .where(RollCorrection.survey_id == survey.id)
        .order_by(RollCorrection.id)
    ).all()
    return {
        "survey": survey,
        "estate": survey.estate,
        "results": results.compute(survey),
        "corrections": corrections,
        "share": share,
        "item_sentence": item_sentence,
        "locale": current_locale(),
    }


@bp.get("/e/<estate_code>/results/<int:survey_id>")
@public
def notice(estate_code, survey_id):
    """The public notice (公示) after closing: aggregates only, never names or single ballots."""
    survey = _closed_survey(estate_code, survey_id)
    return render_template("survey/notice.html", **_notice_context(survey))


@bp.get("/e/<estate_code>/results/<int:survey_id>/print")
@public
def notice_print(estate_code, survey_id):
    """The notice on A4, to post in the estate, with a QR code of the online notice."""
    survey = _closed_survey(estate_code, survey_id)
    url = public_url("survey.notice", estate_code=estate_code, survey_id=survey_id)
    return render_template(
        "survey/notice_print.html", **_notice_context(survey), url=url, qr=qr_svg(url)
    )


# --- staff ------------------------------------------------------------------------------


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


def _definition_from_form(form: SurveyForm) -> dict:
    building, unit = parse_scope(form.scope.data)
    scope = {"building": building, "unit": unit}
    picked = [BY_KEY[key] for key in form.items.data if key in BY_KEY]
    return {
        "title": form.title.data,
        "title_en": form.title_en.data or "",
        "organiser": form.organiser.data or "",
        "contact": form.contact.data or "",
        "kind": form.kind.data,
        "matter": form.matter.data or None,
        "scope": scope,
        "opens_at": form.opens_at.data.replace(tzinfo=CHINA),
        "closes_at": form.closes_at.data.replace(tzinfo=CHINA),
        "max_priorities": form.max_priorities.data or 0,
        "allow_suggestion": bool(form.allow_suggestion.data),
        "items": [
            {
                "category": i.category.value,
                "title": i.title,
                "title_en": i.title_en,
                "description": i.description,
                "description_en": i.description_en,
            }
            for i in picked
        ],
    }


@bp.route("/console/<estate_code>/surveys/new", methods=["GET", "POST"])
@require(Permission.SURVEY_MANAGE)
def console_new(estate_code):
    form = SurveyForm()
    form.scope.choices = scope_choices(g.estate)
    problems = []
    if form.validate_on_submit():
        definition, problems = parse_definition(_definition_from_form(form))
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
    ), (400 if form.errors or problems else 200)


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


def _item_definition(form: ItemForm) -> ItemDefinition | None:
    cost = None
    if form.estimated_cost.data:
        try:
            cost = parse_yuan(form.estimated_cost.data)
        except ValueError:
            form.estimated_cost.errors.append(_("Type an amount in yuan, such as 120000 or 99.50."))
            return None
    return ItemDefinition(
        category=ItemCategory(form.category.data),
        title=form.title.data.strip(),
        title_en=(form.title_en.data or "").strip(),
        description=(form.description.data or "").strip(),
        description_en=(form.description_en.data or "").strip(),
        estimated_cost_fen=cost,
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
        form.estimated_cost.data = format_fen(item.estimated_cost_fen).replace(",", "")
    if form.validate_on_submit():
        fields = _item_definition(form)
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
    ), (400 if form.errors else 200)


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
    from .definition import to_definition

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
    return render_template(
        "survey/console_not_voted.html",
        estate=g.estate,
        survey=g.survey,
        groups=groups,
        total=len(households),
        mask_name=mask_name,
        mask_phone=mask_phone,
        locale=current_locale(),
    )


# --- API -------------------------------------------------------------------------------


@bp.get("/api/v1/surveys")
@require(Permission.SURVEY_RESULTS)
def api_surveys():
    query = select(Survey).order_by(Survey.id)
    if g.estate is not None:
        query = query.where(Survey.estate_id == g.estate.id)
    else:
        estates = access.estates_with(access.current_staff(), Permission.SURVEY_RESULTS)
        if estates is not None:
            query = query.where(Survey.estate_id.in_([e.id for e in estates]))
    return jsonify(
        {
            "surveys": [
                results.survey_summary(s, current_locale()) for s in db.session.scalars(query)
            ]
        }
    )


@bp.get("/api/v1/surveys/<int:survey_id>/results")
@require(Permission.SURVEY_RESULTS, estate_of=survey_estate)
def api_results(survey_id):
    return jsonify(results.as_api(results.compute(g.survey), current_locale()))


@bp.get("/api/v1/openapi.json")
@public
def openapi():
    from .openapi import document

    return jsonify(document())


# The console's pages for the roll and the paper side register on `bp` too.
from . import console_views  # noqa: E402, F401

__all__ = ["bp", "estate_from_url", "SurveyKind"]
