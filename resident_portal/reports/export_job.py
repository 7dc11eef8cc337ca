"""The problem reports export (CSV/XLSX): downloaded at once, or over EXPORT_JOB_ROWS reports
made by a job (resident_portal/jobs), from the same code. Both write who exported it."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..access import Permission
from ..common import N_, OperationError, in_china
from ..extensions import db
from ..jobs import JobKind, Result
from ..models import Estate, utcnow
from ..operations import audit
from ..spreadsheets import MIMETYPES, Column, Table, csv_bytes, workbook
from .models import Report

NO_ESTATE = N_("This estate no longer exists.")

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


# The workbook's headers and kinds, in the reader's language (the CSV keeps the keys above).
EXPORT_HEADERS = [
    (N_("No."), "integer"),
    (N_("Filed"), "datetime"),
    (N_("Category"), "text"),
    (N_("Status"), "text"),
    (N_("Building"), "text"),
    (N_("Place"), "text"),
    (N_("Supporters"), "integer"),
    (N_("Overdue"), "text"),
    (N_("Days to resolve"), "decimal"),
    (N_("Hidden"), "text"),
    (N_("Description"), "text"),
]


def export_rows(reports, now, readable: bool) -> list[list]:
    """One line per report: machine values for the CSV, or (readable) translated categories
    and statuses, times in China time and yes/no for the workbook."""
    yes = _("yes") if readable else "yes"
    rows = []
    for r in reports:
        days = (
            round((r.resolved_at - r.created_at).total_seconds() / 86400, 1)
            if r.resolved_at
            else ""
        )
        rows.append(
            [
                r.id,
                in_china(r.created_at).replace(tzinfo=None)
                if readable
                else r.created_at.isoformat(timespec="minutes"),
                str(r.category.label) if readable else r.category.value,
                str(r.status.label) if readable else r.status.value,
                r.building.number if r.building else "",
                r.location,
                len(r.supporters),
                yes if r.overdue(now) else "",
                None if readable and days == "" else days,
                yes if r.hidden_at else "",
                r.description,
            ]
        )
    return rows


def estate_reports(estate: Estate) -> list[Report]:
    return list(
        db.session.scalars(select(Report).where(Report.estate_id == estate.id).order_by(Report.id))
    )


def _csv(reports, now) -> bytes:
    return csv_bytes(EXPORT_COLUMNS, export_rows(reports, now, False))


def _xlsx(reports, now) -> bytes:
    headers = [Column(_(label), kind) for label, kind in EXPORT_HEADERS]
    return workbook([Table(_("Problem reports"), headers, export_rows(reports, now, True))])


FORMATS = {"csv": _csv, "xlsx": _xlsx}


def export(fmt: str, reports: list[Report]) -> tuple[bytes, str]:
    """The export file and its name (one code path for the download and the job)."""
    return FORMATS[fmt](reports, utcnow()), f"reports.{fmt}"


def run_export(job, progress, _secrets) -> Result:
    estate = db.session.get(Estate, job.estate_id) if job.estate_id else None
    if estate is None:
        raise OperationError(NO_ESTATE)
    progress(0, 2)
    reports = estate_reports(estate)
    progress(1, 2)
    fmt = job.params["fmt"]
    body, name = export(fmt, reports)
    # Written with the file, in the job's one transaction: no file, no entry (issue 12).
    audit("export.reports", staff_user=job.staff_user, estate=estate, rows=len(reports), job=job.id)
    return Result(body, name, MIMETYPES[fmt])


REPORTS_EXPORT = JobKind(
    "reports_export", _l("Problem reports export"), Permission.REPORTS_VIEW, run_export
)
