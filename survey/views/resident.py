"""Survey pages for residents: the ballot and its receipt; for anyone: checking a receipt and the
public notices after closing."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from resident_portal import access
from resident_portal.access import Permission, public, require
from resident_portal.common import OperationError
from resident_portal.estates import estate_or_404
from resident_portal.extensions import db
from resident_portal.forms import form_status
from resident_portal.messages import current_locale, describe_error
from resident_portal.pdf import pdf_response, wants_pdf
from resident_portal.qr import public_url, qr_svg

from .. import operations, results, roll
from ..blueprint import BALLOT_PANELS, COUNTED_BALLOT, ballot_fragments, bp, survey_estate
from ..forms import ballot_form
from ..models import Ballot, BallotRevision, RollCorrection, Survey, SurveyStatus
from ..rules import item_sentence, share
from ..tally import Choice


@bp.route("/surveys/<int:survey_id>", methods=["GET", "POST"])
@require(Permission.VOTE, estate_of=survey_estate)
def ballot(survey_id):
    survey = g.survey
    household = access.current_household()
    owner_ref, owner_parts = roll.owner_and_parts(survey, household)
    status = survey.status()
    if status is SurveyStatus.CLOSED:
        return redirect(
            url_for("survey.notice", estate_code=survey.estate.code, survey_id=survey.id)
        )

    def current_ballot() -> Ballot | None:
        """The owner's counted ballot with its choices, for the page (not for a submission,
        which loads it itself after locking it: see operations.submit_ballot)."""
        counted = {"survey_id": survey.id, "owner_ref": owner_ref}
        return db.session.execute(COUNTED_BALLOT, counted).unique().scalar_one_or_none()

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
    if owner_ref is not None and status is SurveyStatus.OPEN and form.validate_on_submit():
        try:
            receipt = operations.submit_ballot(
                survey,
                household,
                {item.id: Choice(field.data) for item, field in form.item_fields},
                {int(i) for i in form.priorities.data} if survey.max_priorities else set(),
                form.suggestion.data if survey.allow_suggestion else "",
                known_owner=(owner_ref, owner_parts),
            )
        except OperationError as error:
            flash(describe_error(error), "error")
        else:
            # survey_id from the URL: reading survey.id after the commit would reload it.
            return redirect(url_for("survey.receipt", survey_id=survey_id, receipt=receipt))
    if request.method != "GET":
        current = current_ballot()  # the page is shown again: with the ballot that counts
    # the flats this ballot counts for: only for the page (a submission finds them itself)
    covered = roll.covered_households(survey, household, owner_ref, owner_parts)
    panels = [(template, panel(survey, covered)) for template, panel in BALLOT_PANELS]
    return render_template(
        "survey/ballot.html",
        survey=survey,
        fragments=ballot_fragments(survey, form.item_fields[0][1].choices, current_locale()),
        status=status,
        panels=[(template, context) for template, context in panels if context],
        covered=covered,
        current=current,
        form=form,
        locale=current_locale(),
    ), form_status(form)


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
    estate = estate_or_404(estate_code)
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
    estate = estate_or_404(estate_code)
    surveys = db.session.scalars(
        select(Survey).where(Survey.estate_id == estate.id).order_by(Survey.closes_at.desc())
    )
    surveys = list(surveys)
    closed = [s for s in surveys if s.status() is SurveyStatus.CLOSED]
    cancelled = [s for s in surveys if s.status() is SurveyStatus.CANCELLED]
    return render_template(
        "survey/notices.html",
        estate=estate,
        surveys=closed,
        cancelled=cancelled,
        locale=current_locale(),
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
        "extensions": operations.extensions_of(survey),
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
    """The notice on A4, to post in the estate, with a QR code of the online notice;
    `?format=pdf` the same as a PDF."""
    survey = _closed_survey(estate_code, survey_id)
    url = public_url("survey.notice", estate_code=estate_code, survey_id=survey_id)
    html = render_template(
        "survey/notice_print.html", **_notice_context(survey), url=url, qr=qr_svg(url)
    )
    if wants_pdf(request):
        name = f"{estate_code}-survey-{survey_id}-notice.pdf"
        return pdf_response(html, name, request.host_url)
    return html
