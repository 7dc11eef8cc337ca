"""For planners: the overview across estates and the monthly report (月通报) as a page, an XLSX
and a job (the figures: resident_portal/overview.py)."""

from flask import abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import access, figures, overview
from ..access import Permission, require
from ..forms import ConfirmForm
from ..jobs import operations as job_operations
from ..models import Estate
from ..spreadsheets import download
from . import bp


def _overview_estates(district: str | None) -> list[Estate]:
    estates = access.estates_seen(access.current_staff(), Permission.OVERVIEW)
    if district:
        estates = [e for e in estates if e.district == district]
    return estates


def _districts() -> list[str]:
    estates = access.estates_seen(access.current_staff(), Permission.OVERVIEW)
    return sorted({e.district for e in estates if e.district})


@bp.get("/overview")
@require(Permission.OVERVIEW)
def overview_page():
    district = request.args.get("district") or None
    show = request.args.get("show", "")
    sort = request.args.get("sort", "estate")
    descending = request.args.get("desc") == "1"
    estates = _overview_estates(district)
    rows = overview.filter_rows(overview.estate_rows(estates), show)
    rows.sort(key=overview.sort_key(sort), reverse=descending)
    return render_template(
        "console/overview.html",
        providers=figures.providers(),
        filter_choices=overview.filters(),
        rows=rows,
        total=overview.totals(rows),
        trend_points=overview.trends(estates, months=12),
        districts=_districts(),
        district=district,
        show=show,
        sort=sort,
        descending=descending,
        month=overview.this_month(),
    )


def _monthly_from_request():
    """?district=&month=YYYY-MM (default: this month) → (district, month, report); 404 if the
    month is not a month."""
    district = request.args.get("district") or None
    month = request.args.get("month") or overview.this_month()
    try:
        overview.parse_month(month)
    except ValueError:
        abort(404)
    return district, month, overview.monthly_report(month, _overview_estates(district))


@bp.get("/overview/monthly")
@require(Permission.OVERVIEW)
def monthly_page():
    district, month, (rows, total, activity) = _monthly_from_request()
    estates = [row.estate for row in rows]
    return render_template(
        "console/monthly.html",
        providers=figures.providers(),
        rows=rows,
        total=total,
        summary=overview.summary_cells(total, activity),
        trend_points=overview.trends(estates, months=12, now=overview.month_end(month)),
        districts=_districts(),
        month=month,
        this_month=overview.this_month(),
        district=district,
    )


@bp.get("/overview/monthly.xlsx")
@require(Permission.OVERVIEW)
def monthly_xlsx():
    district, month, (rows, total, activity) = _monthly_from_request()
    body = overview.monthly_workbook(rows, total, activity, month, district, _)
    return download(body, f"monthly-{month}.xlsx")


@bp.post("/overview/monthly/job")
@require(Permission.OVERVIEW)
def monthly_job():
    """The monthly workbook of a district or the city, made in the background. It covers the
    estates this planner sees, and only staff who see all of them may open it."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    district = request.form.get("district") or None
    month = request.form.get("month") or overview.this_month()
    lang = request.form.get("lang") if request.form.get("lang") in ("zh_Hans_CN", "en") else None
    try:
        overview.parse_month(month)
    except ValueError:
        abort(400)
    job = job_operations.submit(
        "monthly",
        staff_user=access.current_staff(),
        estates=_overview_estates(district),
        district=district,
        params={"month": month, "lang": lang or str(get_locale())},
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)
