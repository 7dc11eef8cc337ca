"""Console pages for the paper side of a vote: paper ballot sheets, paper ballots with their
evidence. The roll's corrections are in console_roll.py.

Routes only parse, authorise and render; changes happen in survey/operations.py.
"""

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal import access, doorstep
from resident_portal.access import Permission, require
from resident_portal.common import OperationError
from resident_portal.extensions import db
from resident_portal.forms import ConfirmForm, form_status
from resident_portal.jobs import operations as job_operations
from resident_portal.messages import current_locale, describe_error
from resident_portal.models import Household, natural_key
from resident_portal.operations import record_personal_data_access
from resident_portal.pdf import pdf_response, wants_pdf
from resident_portal.reports.photos import KEY, PhotoError, photo_store, reencode

from .. import operations, printing, results, roll
from ..blueprint import bp, household_in_estate, survey_estate
from ..forms import ballot_form
from ..models import (
    Ballot,
    BallotRevision,
    BallotSource,
    SurveyStatus,
    SurveyVisit,
)
from ..tally import Choice

# --- paper ballots -----------------------------------------------------------------------


def _paper_form(survey, household: Household | None):
    form = ballot_form(survey, current_locale(), paper=True)
    if household is not None:
        form.household.choices = [(str(household.id), household.address)]
        form.household.data = str(household.id)
    else:
        waiting = results.households_without_ballot(survey)
        form.household.choices = [("", "—")] + [
            (str(h.id), h.address) for h in _picked(survey, waiting)
        ]
    return form


def _picked(survey, waiting: list[Household]) -> list[Household]:
    """The entry list narrowed by ?building=&unit= and ?visit= (the door-to-door outcome, such
    as "paper": those who said they would vote on paper)."""
    building = request.args.get("building", "")
    unit = request.args.get("unit", "") if building else ""
    wanted = doorstep.visit_filter(request.args.get("visit"))
    visits = doorstep.latest_visits(
        SurveyVisit, SurveyVisit.survey_id, survey.id, (h.id for h in waiting)
    )
    return [
        h
        for h in waiting
        if (not building or h.unit.building.number == building)
        and (not unit or h.unit.number == unit)
        and doorstep.keeps(wanted, visits.get(h.id))
    ]


def _picker_filter(survey) -> dict:
    buildings: dict[str, list[str]] = {}
    for h in results.households_without_ballot(survey):
        units = buildings.setdefault(h.unit.building.number, [])
        if h.unit.number not in units:
            units.append(h.unit.number)
    building = request.args.get("building", "")
    return {
        "buildings": sorted(buildings, key=natural_key),
        "units": sorted(buildings.get(building, []), key=natural_key),
        "building": building,
        "unit": request.args.get("unit", "") if building else "",
        "visit": doorstep.visit_filter(request.args.get("visit")),
        "filters": doorstep.VISIT_FILTERS,
    }


def _record_paper_ballot(survey, form, household: Household):
    """Submit the form's paper ballot and say so; return the receipt, or None after saying
    why not."""
    try:
        upload = form.evidence.data
        evidence = reencode(upload.read()) if upload and upload.filename else None
        receipt = operations.submit_ballot(
            survey,
            household,
            {item.id: Choice(field.data) for item, field in form.item_fields},
            {int(i) for i in form.priorities.data} if survey.max_priorities else set(),
            form.suggestion.data if survey.allow_suggestion else "",
            staff_user=access.current_staff(),
            paper_reason=form.reason.data,
            evidence=evidence,
        )
    except PhotoError as error:
        form.evidence.errors.append(_(error.message))
    except OperationError as error:
        flash(describe_error(error), "error")
    else:
        flash(
            _(
                "Paper ballot recorded for %(address)s. Receipt: %(receipt)s",
                address=household.address,
                receipt=receipt,
            )
        )
        return receipt
    return None


def _paper_page(survey, form, household: Household | None):
    counted = None
    if household is not None:
        owner_ref = roll.owner_on_roll(survey, household)
        counted = db.session.scalar(
            select(Ballot).where(Ballot.survey_id == survey.id, Ballot.owner_ref == owner_ref)
        )
    paper = db.session.scalars(
        select(Ballot)
        .where(Ballot.survey_id == survey.id, Ballot.source == BallotSource.PAPER)
        .order_by(Ballot.submitted_at.desc())
    ).all()
    return render_template(
        "survey/console_paper.html",
        estate=g.estate,
        survey=survey,
        form=form,
        household=household,
        counted=counted,
        paper_ballots=paper,
        open=survey.status() is SurveyStatus.OPEN,
        picker=_picker_filter(survey) if household is None else None,
        locale=current_locale(),
    ), form_status(form, request.method == "POST")


@bp.route("/console/<estate_code>/surveys/<int:survey_id>/paper", methods=["GET", "POST"])
@require(Permission.SURVEY_PAPER, estate_of=survey_estate)
def console_paper(estate_code, survey_id):
    """Paper ballots: the list of those entered, and entry by picking a household that has not
    voted (scanning a sheet's QR code opens console_paper_household instead)."""
    survey = g.survey
    form = _paper_form(survey, None)
    if form.validate_on_submit():
        household = household_in_estate(int(form.household.data))
        if _record_paper_ballot(survey, form, household):
            # The next entry, from the same part of the list.
            kept = {k: v for k in ("building", "unit", "visit") if (v := request.args.get(k))}
            return redirect(
                url_for(
                    "survey.console_paper", estate_code=estate_code, survey_id=survey_id, **kept
                )
            )
    return _paper_page(survey, form, None)


@bp.route(
    "/console/<estate_code>/surveys/<int:survey_id>/paper/<int:household_id>",
    methods=["GET", "POST"],
)
@require(Permission.SURVEY_PAPER, estate_of=survey_estate)
def console_paper_household(estate_code, survey_id, household_id):
    """The entry form of one household: what the QR code on its paper ballot sheet opens."""
    survey = g.survey
    household = household_in_estate(household_id)
    if roll.owner_on_roll(survey, household) is None:
        abort(404)
    form = _paper_form(survey, household)
    if form.validate_on_submit():
        if _record_paper_ballot(survey, form, household):
            return redirect(
                url_for("survey.console_paper", estate_code=estate_code, survey_id=survey_id)
            )
    return _paper_page(survey, form, household)


@bp.get("/console/<estate_code>/surveys/<int:survey_id>/paper/sheets")
@require(Permission.SURVEY_PAPER, estate_of=survey_estate)
def console_paper_sheets(estate_code, survey_id):
    """Printable paper ballot sheets: one A4 per owner (all their parts on the roll), with a QR
    code that opens the owner's entry form in the console. Only owners who have not voted,
    unless ?all=1. `?format=pdf`: the same as a PDF, up to printing.sync_limit() sheets (more
    are made by console_paper_sheets_job)."""
    survey = g.survey
    everyone = request.args.get("all") == "1"
    owners = printing.owners_for_sheets(survey, everyone)
    pdf = wants_pdf(request)
    if pdf and len(owners) > printing.sync_limit():
        abort(404)
    # Addresses and owners, to print: who printed them is written down (issue 12).
    record_personal_data_access(
        "export.paper_sheets",
        staff_user=access.current_staff(),
        estate=g.estate,
        survey=survey_id,
        sheets=len(owners),
    )
    html = printing.sheets_html(survey, owners, everyone)
    if pdf:
        name = f"{g.estate.code}-survey-{survey.id}-ballot-sheets.pdf"
        return pdf_response(html, name, request.host_url)
    return html


@bp.post("/console/<estate_code>/surveys/<int:survey_id>/paper/sheets/job")
@require(Permission.SURVEY_PAPER, estate_of=survey_estate)
def console_paper_sheets_job(estate_code, survey_id):
    """Every sheet of the estate as one PDF, made in the background."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = job_operations.submit(
        printing.PAPER_SHEETS.name,
        staff_user=access.current_staff(),
        estates=[g.estate],
        estate=g.estate,
        params={"survey_id": g.survey.id, "all": request.form.get("all") == "1"},
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)


@bp.get("/console/<estate_code>/surveys/<int:survey_id>/paper/evidence/<key>.jpg")
@require(Permission.SURVEY_PAPER, estate_of=survey_estate)
def console_paper_evidence(estate_code, survey_id, key):
    """A photo of a signed paper sheet: only to staff of the estate who handle ballots."""
    if not KEY.match(key):
        abort(404)
    attached = db.session.scalar(
        select(BallotRevision.id)
        .where(BallotRevision.survey_id == g.survey.id, BallotRevision.evidence_key == key)
        .limit(1)
    )
    data = photo_store().read(key, thumbnail=request.args.get("size") == "thumb")
    if attached is None or data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = "inline"
    return response
