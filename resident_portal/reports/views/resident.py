"""Report pages for residents: filing a report, supporting, confirming or reopening one; for
anyone: the estate's public board and a report's page; photos for the estate's households and
staff."""

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ... import access
from ...access import Permission, public, require
from ...common import OperationError
from ...estates import estate_or_404
from ...extensions import db
from ...forms import ConfirmForm, form_status
from ...messages import describe_error
from ...models import utcnow
from .. import operations
from ..blueprint import bp, may_see_photos, report_estate
from ..forms import ReasonForm, ReportForm, location_of, photos_from, where_choices
from ..models import Category, Report, ReportPhoto, Status
from ..photos import KEY, PhotoError, photo_store


@bp.route("/reports/new", methods=["GET", "POST"])
@require(Permission.REPORT)
def new():
    household = access.current_household()
    estate = household.estate
    form = ReportForm()
    form.where.choices = where_choices(household)
    if request.method == "GET":
        form.category.data = request.args.get("category") or form.category.data
        form.where.data = request.args.get("where") or f"h:{household.id}"
    # Two steps on one page: the kind and the place are asked once (step 1); then the
    # similar open reports and the rest of the form, which carries them along (step 2).
    valid_choice = form.category.data in {c.value for c in Category} and form.where.data in {
        value for value, _label in form.where.choices
    }
    chosen = valid_choice and (
        request.method == "POST" or {"category", "where"} <= set(request.args)
    )
    similar = []
    if valid_choice:
        location = location_of(form.where.data, household, "")
        building = location.building or (
            location.household.unit.building if location.household else None
        )
        similar = operations.similar_open_reports(estate, Category(form.category.data), building)
    errors = []
    if request.method == "POST" and form.validate_on_submit():
        try:
            photos = photos_from(form.photos.data)
            report = operations.submit_report(
                estate,
                Category(form.category.data),
                location_of(form.where.data, household, form.common_area.data or ""),
                form.description.data,
                photos,
                reporter=household,
            )
        except (OperationError, PhotoError) as error:
            errors.append(describe_error(error))
        else:
            flash(_("Thank you: your report is filed. You can follow it here."))
            return redirect(url_for("reports.detail", estate_code=estate.code, report_id=report.id))
    return render_template(
        "reports/new.html",
        form=form,
        estate=estate,
        similar=similar,
        chosen=chosen,
        where_label=dict(form.where.choices).get(form.where.data, ""),
        errors=errors,
        support_form=ConfirmForm(),
    ), form_status(form, errors)


@bp.get("/e/<estate_code>/reports")
@public
def board(estate_code):
    """The estate's public board: no personal data, filterable by status and category."""
    estate = estate_or_404(estate_code)
    query = select(Report).where(Report.estate_id == estate.id, Report.hidden_at.is_(None))
    status, category = request.args.get("status", ""), request.args.get("category", "")
    if status in {s.value for s in Status}:
        query = query.where(Report.status == Status(status))
    if category in {c.value for c in Category}:
        query = query.where(Report.category == Category(category))
    reports = db.session.scalars(query.order_by(Report.created_at.desc()).limit(200)).all()
    return render_template(
        "reports/board.html",
        estate=estate,
        reports=reports,
        status=status,
        category=category,
        now=utcnow(),
    )


@bp.get("/e/<estate_code>/reports/<int:report_id>")
@public
def detail(estate_code, report_id):
    report_estate({"estate_code": estate_code, "report_id": report_id})
    report = g.report
    if report.hidden_at is not None:
        abort(404)
    household = access.current_household()
    return render_template(
        "reports/detail.html",
        report=report,
        estate=report.estate,
        show_photos=may_see_photos(report),
        photos_private=report.inside_a_home and not may_see_photos(report),
        is_reporter=household is not None and household.id == report.reporter_id,
        can_support=household is not None
        and household.estate.id == report.estate_id
        and household.id != report.reporter_id,
        form=ConfirmForm(),
        reason_form=ReasonForm(),
    )


@bp.post("/reports/<int:report_id>/support")
@require(Permission.REPORT, estate_of=report_estate)
def support(report_id):
    try:
        added = operations.support(g.report, access.current_household())
    except OperationError as error:
        flash(describe_error(error), "error")
    else:
        flash(
            _("Thank you: your household is counted on this report.")
            if added
            else _("Your household was already counted on this report.")
        )
    return redirect(
        url_for("reports.detail", estate_code=g.report.estate.code, report_id=report_id)
    )


@bp.post("/reports/<int:report_id>/confirm")
@require(Permission.REPORT, estate_of=report_estate)
def confirm(report_id):
    return _reporter_transition(Status.CONFIRMED, "")


@bp.post("/reports/<int:report_id>/reopen")
@require(Permission.REPORT, estate_of=report_estate)
def reopen(report_id):
    form = ReasonForm()
    return _reporter_transition(Status.REOPENED, form.reason.data or "")


def _reporter_transition(status: Status, note: str):
    try:
        operations.transition(g.report, status, note, household=access.current_household())
    except OperationError as error:
        flash(describe_error(error), "error")
    return redirect(
        url_for("reports.detail", estate_code=g.report.estate.code, report_id=g.report.id)
    )


@bp.get("/e/<estate_code>/photos/<key>.jpg")
@require(Permission.REPORT_PHOTOS)
def photo(estate_code, key):
    """A report photo, only for households and staff of the estate, never from a hidden report
    unless to staff who handle reports."""
    if not KEY.match(key):
        abort(404)
    visible = (
        select(ReportPhoto.id)
        .join(Report)
        .where(ReportPhoto.photo_key == key, Report.estate_id == g.estate.id)
    )
    if not access.may(Permission.REPORTS_HANDLE, g.estate):
        visible = visible.where(Report.hidden_at.is_(None))
        # A photo of the inside of a home: only its reporter (any part of the same owner)
        # besides staff who handle reports (issue 12).
        household = access.current_household()
        own = [h.id for h in access.households_of_owner(household)] if household else []
        visible = visible.where(Report.household_id.is_(None) | Report.reporter_id.in_(own))
    if db.session.scalar(visible.limit(1)) is None:
        abort(404)
    data = photo_store().read(key, thumbnail=request.args.get("size") == "thumb")
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    # A photo of someone's home: never kept in a cache, even the browser's (issue 12).
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = "inline"
    return response
