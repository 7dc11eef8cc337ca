"""The reports blueprint: its loader, template helpers and home panel. The views register on `bp`
from reports/views/ by audience: resident.py (filing, the public board, supporting, photos) and
console.py (the inbox, answering, summaries, Open311 keys). The Open311 API is open311.py.

Routes only parse, authorise and render; changes happen in reports/operations.py.
"""

from flask import Blueprint, abort, g, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..blueprint import Task, estate_panel, home_panel, home_task
from ..extensions import db
from ..models import Estate, Household
from .models import CATEGORY_LABELS, STATUS_LABELS, Report, Status

bp = Blueprint("reports", __name__)


def report_estate(kwargs: dict) -> Estate:
    report = db.session.get(Report, kwargs["report_id"])
    if report is None or (
        "estate_code" in kwargs and report.estate.code != kwargs["estate_code"].lower()
    ):
        abort(404)
    g.report = report
    return report.estate


@home_panel("reports/_home_panel.html")
def home_reports(households: list[Household]) -> dict:
    mine = db.session.scalar(
        select(func.count(Report.id)).where(
            Report.reporter_id.in_([h.id for h in households]),
            Report.status.not_in([Status.RESOLVED, Status.CONFIRMED]),
        )
    )
    return {"mine": mine}


@home_task
def fixes_to_confirm(households: list[Household]) -> list[Task]:
    """The household's reports marked fixed: only the reporter can say whether they are."""
    reports = db.session.scalars(
        select(Report)
        .where(
            Report.reporter_id.in_([h.id for h in households]),
            Report.status == Status.RESOLVED,
        )
        .order_by(Report.id)
    )
    return [
        Task(
            title=_("Your report: %(kind)s", kind=CATEGORY_LABELS[r.category]),
            detail=_("Marked as fixed. Is it really fixed?"),
            action=_("Confirm or reopen"),
            url=url_for("reports.detail", estate_code=r.estate.code, report_id=r.id),
            sort_key=(r.created_at,),
        )
        for r in reports
    ]


@estate_panel("reports/_estate_panel.html")
def estate_reports(estate: Estate) -> dict:
    open_count = db.session.scalar(
        select(func.count(Report.id)).where(
            Report.estate_id == estate.id,
            Report.status.not_in([Status.RESOLVED, Status.CONFIRMED]),
        )
    )
    return {"open_count": open_count}


@bp.app_context_processor
def report_labels():
    return {"REPORT_CATEGORY_LABELS": CATEGORY_LABELS, "REPORT_STATUS_LABELS": STATUS_LABELS}


# The views register on `bp` (imported last: they import `bp` from here).
from .views import console, resident  # noqa: E402, F401
