"""Quality reports: residents file and follow them; contractors and planners answer them.

Routes only parse, authorise and render; changes happen in reports/operations.py.
"""

import statistics

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import access
from ..access import Permission, public, require
from ..blueprint import home_panel
from ..extensions import db
from ..forms import ConfirmForm
from ..messages import describe_error
from ..models import Building, Estate, Household, Unit, utcnow
from ..operations import OperationError
from ..spreadsheets import csv_bytes, download, xlsx_bytes
from . import operations
from .forms import KeyForm, ReasonForm, ReportForm, StatusForm
from .models import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    Category,
    Open311Key,
    Report,
    ReportPhoto,
    Status,
)
from .photos import KEY, PhotoError, photo_store, reencode

bp = Blueprint("reports", __name__)


def report_estate(kwargs: dict) -> Estate:
    report = db.session.get(Report, kwargs["report_id"])
    if report is None or ("estate_code" in kwargs and report.estate.code != kwargs["estate_code"]):
        abort(404)
    g.report = report
    return report.estate


def estate_or_404(code: str) -> Estate:
    return db.first_or_404(select(Estate).where(Estate.code == code))


@home_panel("reports/_home_panel.html")
def home_reports(households: list[Household]) -> dict:
    mine = db.session.scalar(
        select(func.count(Report.id)).where(
            Report.reporter_id.in_([h.id for h in households]),
            Report.status.not_in([Status.RESOLVED, Status.CONFIRMED]),
        )
    )
    return {"mine": mine}


@bp.app_context_processor
def report_labels():
    return {"REPORT_CATEGORY_LABELS": CATEGORY_LABELS, "REPORT_STATUS_LABELS": STATUS_LABELS}


def _where_choices(household: Household) -> list[tuple[str, str]]:
    """The reporter's households, every building and unit of the estate, or a common area."""
    choices = [
        (f"h:{h.id}", _("My home: %(address)s", address=h.address))
        for h in access.households_of_owner(household)
    ]
    for building in household.estate.sorted_buildings:
        choices.append(
            (f"b:{building.id}", _("Building %(number)s (common parts)", number=building.number))
        )
        for unit in building.sorted_units:
            choices.append(
                (
                    f"u:{unit.id}",
                    _(
                        "Building %(building)s, unit %(unit)s (stairwell)",
                        building=building.number,
                        unit=unit.number,
                    ),
                )
            )
    choices.append(("c", _("Elsewhere in the estate (describe below)")))
    return choices


def _id(text: str) -> int:
    """The id in a "where" value ("h:12"). It also arrives from the query string, unchecked:
    400 unless it is a number that fits the id columns."""
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        abort(400)
    return int(text)


def _location(where: str, household: Household, common_area: str) -> operations.Location:
    kind, _sep, ident = where.partition(":")
    if kind == "h":
        own = {h.id: h for h in access.households_of_owner(household)}
        if _id(ident) not in own:
            abort(400)
        return operations.Location(household=own[int(ident)], common_area=common_area)
    if kind == "b":
        return operations.Location(
            building=db.get_or_404(Building, _id(ident)), common_area=common_area
        )
    if kind == "u":
        unit = db.get_or_404(Unit, _id(ident))
        return operations.Location(building=unit.building, unit=unit, common_area=common_area)
    return operations.Location(common_area=common_area)


def _photos(files) -> list:
    """Re-encode uploaded photos; a refused photo raises PhotoError with a clear message."""
    chosen = [f for f in files or [] if f and f.filename]
    if len(chosen) > operations.MAX_PHOTOS:
        raise PhotoError("Attach at most 3 photos.")
    return [reencode(f.read()) for f in chosen]


@bp.route("/reports/new", methods=["GET", "POST"])
@require(Permission.REPORT)
def new():
    household = access.current_household()
    estate = household.estate
    form = ReportForm()
    form.where.choices = _where_choices(household)
    if request.method == "GET":
        form.category.data = request.args.get("category") or form.category.data
        form.where.data = request.args.get("where") or f"h:{household.id}"
    similar = []
    if form.category.data in {c.value for c in Category} and form.where.data:
        location = _location(form.where.data, household, "")
        building = location.building or (
            location.household.unit.building if location.household else None
        )
        similar = operations.similar_open_reports(estate, Category(form.category.data), building)
    errors = []
    if request.method == "POST" and form.validate_on_submit():
        try:
            photos = _photos(form.photos.data)
            report = operations.submit_report(
                estate,
                Category(form.category.data),
                _location(form.where.data, household, form.common_area.data or ""),
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
        errors=errors,
        support_form=ConfirmForm(),
    ), (400 if form.errors or errors else 200)


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
        show_photos=access.may(Permission.REPORT_PHOTOS, report.estate),
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


# --- staff ------------------------------------------------------------------------------


@bp.get("/console/<estate_code>/reports")
@require(Permission.REPORTS_VIEW)
def inbox(estate_code):
    query = select(Report).where(Report.estate_id == g.estate.id)
    status, category = request.args.get("status", "open"), request.args.get("category", "")
    if status == "open":
        query = query.where(Report.status.not_in([Status.RESOLVED, Status.CONFIRMED]))
    elif status in {s.value for s in Status}:
        query = query.where(Report.status == Status(status))
    if category in {c.value for c in Category}:
        query = query.where(Report.category == Category(category))
    reports = db.session.scalars(query.order_by(Report.created_at)).all()
    return render_template(
        "reports/inbox.html",
        estate=g.estate,
        reports=reports,
        status=status,
        category=category,
        now=utcnow(),
    )


@bp.get("/console/<estate_code>/reports/<int:report_id>")
@require(Permission.REPORTS_VIEW, estate_of=report_estate)
def handle(estate_code, report_id):
    return _render_handle(StatusForm(), ReasonForm(), [])


def _render_handle(status_form, hide_form, errors):
    report = g.report
    status_form.status.choices = [
        (s.value, s.label) for s in sorted(operations.STAFF_TRANSITIONS[report.status])
    ]
    return render_template(
        "reports/handle.html",
        estate=g.estate,
        report=report,
        status_form=status_form,
        hide_form=hide_form,
        errors=errors,
        now=utcnow(),
    ), (400 if errors else 200)


@bp.post("/console/<estate_code>/reports/<int:report_id>/status")
@require(Permission.REPORTS_HANDLE, estate_of=report_estate)
def change_status(estate_code, report_id):
    form = StatusForm()
    form.status.choices = [(s.value, s.label) for s in Status]
    errors = []
    if form.validate_on_submit():
        try:
            photos = _photos([form.photo.data] if form.photo.data else [])
            operations.transition(
                g.report,
                Status(form.status.data),
                form.note.data or "",
                photos,
                staff_user=access.current_staff(),
            )
        except (OperationError, PhotoError) as error:
            errors.append(describe_error(error))
        else:
            return redirect(url_for("reports.handle", estate_code=estate_code, report_id=report_id))
    else:
        errors.append(_("Choose the new status."))
    return _render_handle(form, ReasonForm(), errors)


@bp.post("/console/<estate_code>/reports/<int:report_id>/hide")
@require(Permission.REPORTS_HANDLE, estate_of=report_estate)
def hide(estate_code, report_id):
    form = ReasonForm()
    try:
        operations.hide(g.report, form.reason.data or "", staff_user=access.current_staff())
    except OperationError as error:
        return _render_handle(StatusForm(), form, [describe_error(error)])
    flash(_("The report is hidden from the board; it is kept with the reason."))
    return redirect(url_for("reports.handle", estate_code=estate_code, report_id=report_id))


def _summary(estate: Estate) -> dict:
    reports = db.session.scalars(select(Report).where(Report.estate_id == estate.id)).all()
    now = utcnow()
    days = [
        (r.resolved_at - r.created_at).total_seconds() / 86400 for r in reports if r.resolved_at
    ]
    by = {"status": {}, "category": {}, "building": {}}
    for r in reports:
        by["status"][r.status] = by["status"].get(r.status, 0) + 1
        by["category"][r.category] = by["category"].get(r.category, 0) + 1
        key = r.building.number if r.building else "—"
        by["building"][key] = by["building"].get(key, 0) + 1
    return {
        "reports": reports,
        "by": by,
        "total": len(reports),
        "median_days": statistics.median(days) if days else None,
        "overdue": [r for r in reports if r.overdue(now) and not r.hidden_at],
    }


@bp.get("/console/<estate_code>/reports/summary")
@require(Permission.REPORTS_VIEW)
def summary(estate_code):
    return render_template(
        "reports/summary.html", estate=g.estate, s=_summary(g.estate), now=utcnow()
    )


EXPORT_COLUMNS = [
    "id",
    "created_at",
    "category",
    "status",
    "building",
    "location",
    "supporters",
    "overdue",
    "days_to_resolve",
    "hidden",
    "description",
]


@bp.get("/console/<estate_code>/reports/export.<fmt>")
@require(Permission.REPORTS_VIEW)
def export(estate_code, fmt):
    now = utcnow()
    rows = [
        [
            r.id,
            r.created_at.isoformat(timespec="minutes"),
            r.category.value,
            r.status.value,
            r.building.number if r.building else "",
            r.location,
            len(r.supporters),
            "yes" if r.overdue(now) else "",
            round((r.resolved_at - r.created_at).total_seconds() / 86400, 1)
            if r.resolved_at
            else "",
            "yes" if r.hidden_at else "",
            r.description,
        ]
        for r in _summary(g.estate)["reports"]
    ]
    if fmt == "csv":
        return download(csv_bytes(EXPORT_COLUMNS, rows), "reports.csv")
    if fmt == "xlsx":
        return download(xlsx_bytes(EXPORT_COLUMNS, rows, "reports"), "reports.xlsx")
    abort(404)


@bp.route("/console/<estate_code>/open311-keys", methods=["GET", "POST"])
@require(Permission.OPEN311_KEYS)
def open311_keys(estate_code):
    form = KeyForm()
    new_key = None
    if form.validate_on_submit():
        new_key = operations.create_open311_key(
            g.estate, form.name.data, staff_user=access.current_staff()
        )
    keys = db.session.scalars(
        select(Open311Key).where(Open311Key.estate_id == g.estate.id).order_by(Open311Key.id.desc())
    ).all()
    response = Response(
        render_template(
            "reports/open311_keys.html",
            estate=g.estate,
            form=form,
            keys=keys,
            new_key=new_key,
            revoke_form=ConfirmForm(),
        ),
        status=400 if form.errors else 200,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/console/<estate_code>/open311-keys/<int:key_id>/revoke")
@require(Permission.OPEN311_KEYS)
def revoke_open311_key(estate_code, key_id):
    record = db.get_or_404(Open311Key, key_id)
    if record.estate_id != g.estate.id:
        abort(404)
    operations.revoke_open311_key(record, staff_user=access.current_staff())
    return redirect(url_for("reports.open311_keys", estate_code=estate_code))
