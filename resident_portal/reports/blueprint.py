"""The reports blueprint: its loader, template helpers and home panel. The views register on `bp`
from reports/views/ by audience: resident.py (filing, the public board, supporting, photos) and
console.py (the inbox, answering, summaries, Open311 keys). The Open311 API is open311.py.

Routes only parse, authorise and render; changes happen in reports/operations.py.
"""

from flask import Blueprint, abort, g, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import access
from ..access import Permission
from ..blueprint import Task, estate_panel, home_panel, home_task
from ..extensions import db
from ..models import Estate, Household
from ..privacy import DataSection, data_time, my_data_provider
from .models import CATEGORY_LABELS, STATUS_LABELS, Report, ReportSupport, Status

bp = Blueprint("reports", __name__)


def report_estate(kwargs: dict) -> Estate:
    report = db.session.get(Report, kwargs["report_id"])
    if report is None or (
        "estate_code" in kwargs and report.estate.code != kwargs["estate_code"].lower()
    ):
        abort(404)
    g.report = report
    return report.estate


def reporter_households(report: Report) -> set[int]:
    """The reporter's households: the owner may have filed it from another of their parts."""
    if report.reporter is None:
        return set()
    return {h.id for h in access.households_of_owner(report.reporter)}


def may_see_photos(report: Report) -> bool:
    """Photos of a report are for households and staff of its estate; photos of the inside of
    a home only for the reporter and staff who handle reports (issue 12)."""
    if not access.may(Permission.REPORT_PHOTOS, report.estate):
        return False
    if not report.inside_a_home or access.may(Permission.REPORTS_HANDLE, report.estate):
        return True
    household = access.current_household()
    return household is not None and household.id in reporter_households(report)


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


@my_data_provider
def my_reports(households: list[Household]) -> list[DataSection]:
    """Reports the owner's households filed, and those they said "me too" to."""
    ids = [h.id for h in households]
    filed = db.session.scalars(
        select(Report).where(Report.reporter_id.in_(ids)).order_by(Report.created_at, Report.id)
    ).all()
    supported = db.session.scalars(
        select(Report)
        .join(ReportSupport, ReportSupport.report_id == Report.id)
        .where(ReportSupport.household_id.in_(ids))
        .order_by(Report.created_at, Report.id)
    ).all()
    rows = [
        {
            "report": report.id,
            "created_at": data_time(report.created_at),
            "role": role,
            "category": str(report.category.label),
            "place": report.location if role == _("filed") else report.public_location,
            "status": str(report.status.label),
            "description": report.description if role == _("filed") else "",
            "photos": len(report.photos) if role == _("filed") else "",
        }
        for role, reports in ((_("filed"), filed), (_("me too"), supported))
        for report in reports
    ]
    return [
        DataSection(
            "reports",
            _("Problem reports"),
            [
                ("report", _("Report")),
                ("created_at", _("Reported")),
                ("role", _("Your part")),
                ("category", _("Kind")),
                ("place", _("Where")),
                ("status", _("Status")),
                ("description", _("What is wrong")),
                ("photos", _("Photos")),
            ],
            rows,
        )
    ]


# The views register on `bp` (imported last: they import `bp` from here).
from .views import api, console, resident  # noqa: E402, F401
