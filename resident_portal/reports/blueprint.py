"""The reports blueprint: its loader, template helpers and home panel. The views register on `bp`
from reports/views/ by audience: resident.py (filing, the public board, supporting, photos) and
console.py (the inbox, answering, summaries, Open311 keys). The Open311 API is open311.py.

Routes only parse, authorise and render; changes happen in reports/operations.py.
"""

from flask import Blueprint, abort, g
from sqlalchemy import func, select

from ..blueprint import home_panel
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


@bp.app_context_processor
def report_labels():
    return {"REPORT_CATEGORY_LABELS": CATEGORY_LABELS, "REPORT_STATUS_LABELS": STATUS_LABELS}


# The views register on `bp` (imported last: they import `bp` from here).
from .views import api, console, resident  # noqa: E402, F401
