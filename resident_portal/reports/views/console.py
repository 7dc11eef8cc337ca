"""Report console pages: the inbox, answering and hiding a report, the summary and its export,
and the estate's Open311 API keys."""

import statistics

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from ... import access
from ...access import Permission, require
from ...common import OperationError
from ...extensions import db
from ...forms import ConfirmForm, form_status
from ...jobs import operations as job_operations
from ...messages import current_locale, describe_error
from ...models import Estate, utcnow
from ...operations import record_personal_data_access
from ...spreadsheets import download
from .. import export_job as exports
from .. import operations
from ..blueprint import bp, may_see_photos, report_estate
from ..forms import KeyForm, ReasonForm, StatusForm, photos_from
from ..models import Category, Open311Key, Report, Status
from ..photos import PhotoError


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
        show_photos=may_see_photos(report),
        now=utcnow(),
    ), form_status(None, errors)


@bp.post("/console/<estate_code>/reports/<int:report_id>/status")
@require(Permission.REPORTS_HANDLE, estate_of=report_estate)
def change_status(estate_code, report_id):
    form = StatusForm()
    form.status.choices = [(s.value, s.label) for s in Status]
    errors = []
    if form.validate_on_submit():
        try:
            photos = photos_from([form.photo.data] if form.photo.data else [])
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


@bp.get("/console/<estate_code>/reports/export.<fmt>")
@require(Permission.REPORTS_VIEW)
def export(estate_code, fmt):
    """The export; over EXPORT_JOB_ROWS reports, a page that offers to make it as a job
    (a GET starts nothing)."""
    if fmt not in exports.FORMATS:
        abort(404)
    reports = exports.estate_reports(g.estate)
    if len(reports) > current_app.config["EXPORT_JOB_ROWS"]:
        return render_template(
            "jobs/too_big.html",
            estate=g.estate,
            rows=len(reports),
            action=url_for("reports.export_job", estate_code=estate_code, fmt=fmt),
        )
    # Rooms and residents' own words: who exported them is written down (issue 12).
    record_personal_data_access(
        "export.reports", staff_user=access.current_staff(), estate=g.estate, rows=len(reports)
    )
    return download(*exports.export(fmt, reports))


@bp.post("/console/<estate_code>/reports/export.<fmt>/job")
@require(Permission.REPORTS_VIEW)
def export_job(estate_code, fmt):
    if fmt not in exports.FORMATS:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = job_operations.submit(
        exports.REPORTS_EXPORT.name,
        staff_user=access.current_staff(),
        estates=[g.estate],
        estate=g.estate,
        params={"fmt": fmt, "locale": current_locale()},
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)


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
        status=form_status(form),
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
