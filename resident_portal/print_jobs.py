"""The ground package's job kinds: posters and household letters for a whole estate, and the
monthly report of a district or the city. Each renders what its synchronous page renders, from
the same template (letters and posters as PDF through resident_portal/pdf.py).

Everything here runs in the job's request context (jobs/operations.execute), in Chinese for
what residents read.
"""

from dataclasses import dataclass

from flask import render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from . import operations
from .access import Permission
from .common import N_, OperationError
from .extensions import db
from .jobs import JobKind, Result, register_kind
from .letters import letters_for, letters_zip, open_items
from .models import CodeBatch, Estate, utcnow
from .pdf import PDF_MIMETYPE, html_to_pdf
from .qr import public_url, qr_svg
from .spreadsheets import MIMETYPES

# Posters and letters are for residents: always in Chinese, whatever the secretary reads.
RESIDENT_LOCALE = "zh_Hans_CN"

CODES_GONE = N_(
    "These codes can no longer be shown. To print a letter now, issue a new code for the "
    "household: its old code then stops working."
)
NO_ESTATE = N_("No estate has the code %(code)s.")


def poster_sheets(estate: Estate, what: str, unit_id: int | None = None, progress=None):
    """The sheets of the estate poster (`what="estate"`) or of the stairwell posters of every
    unit (or of one): title, subtitle (building, unit), URL and its QR code as SVG."""
    if what == "estate":
        url = public_url("portal.estate", estate_code=estate.code)
        return [{"title": estate.name, "subtitle": None, "url": url, "svg": qr_svg(url)}]
    units = [
        (building, unit)
        for building in estate.sorted_buildings
        for unit in building.sorted_units
        if unit_id is None or unit.id == unit_id
    ]
    sheets = []
    for done, (building, unit) in enumerate(units, start=1):
        url = public_url(
            "portal.unit", estate_code=estate.code, building=building.number, unit=unit.number
        )
        sheets.append(
            {
                "title": estate.name,
                "subtitle": (building.number, unit.number),
                "url": url,
                "svg": qr_svg(url),
            }
        )
        if progress:
            progress(done, len(units) + 1)
    return sheets


def posters_html(estate: Estate, sheets, contact: dict | None = None) -> str:
    """`contact`: the organiser and phone printed on the sheet (console.posters.print_contact)."""
    with force_locale(RESIDENT_LOCALE):
        return render_template(
            "console/poster_print.html",
            estate=estate,
            sheets=sheets,
            privacy_url=public_url("privacy.estate_notice", estate_code=estate.code),
            contact=contact or _estate_contact(estate),
        )


def _estate_contact(estate: Estate) -> dict:
    return {"organiser": estate.organiser or "", "phone": estate.contact or ""}


@dataclass(frozen=True)
class PrintedLetter:
    """A letters.Letter with its QR code made already (so that progress can be counted)."""

    household: object
    code: str
    url: str
    qr_svg: str


def letters_html(
    estate: Estate, letters, available_until, contact=None, issued_at=None, progress=None
) -> str:
    """The household letters (one A4 page each): `contact` as for posters; `issued_at` the
    date of issue printed on them."""
    printed = []
    for done, letter in enumerate(letters, start=1):
        printed.append(PrintedLetter(letter.household, letter.code, letter.url, letter.qr_svg))
        if progress:
            progress(done, 2 * len(letters))
    with force_locale(RESIDENT_LOCALE):
        return render_template(
            "console/letters.html",
            estate=estate,
            estate_url=public_url("portal.estate", estate_code=estate.code),
            privacy_url=public_url("privacy.estate_notice", estate_code=estate.code),
            letters=printed,
            available_until=available_until,
            issued_at=issued_at or utcnow(),
            open_items=open_items(estate, utcnow()),
            contact=contact or _estate_contact(estate),
        )


def _estate(job) -> Estate:
    estate = db.session.get(Estate, job.estate_id) if job.estate_id else None
    if estate is None:
        raise OperationError(NO_ESTATE, code=job.params.get("estate_code", "?"))
    return estate


def run_posters(job, progress, _secrets) -> Result:
    estate = _estate(job)
    sheets = poster_sheets(estate, "units", progress=progress)
    body = html_to_pdf(
        posters_html(estate, sheets, contact=job.params.get("contact")), request.host_url
    )
    progress(len(sheets) + 1, len(sheets) + 1)
    return Result(body, f"{estate.code}-posters.pdf", PDF_MIMETYPE)


def run_letters(job, progress, secrets) -> Result:
    """The letters of codes held for one sign-in (models.CodeBatch), as PDF or ZIP. The key of
    the codes came through the queue only; the batch must still be held for that sign-in."""
    estate = _estate(job)
    batch = db.session.get(CodeBatch, job.params["batch_id"])
    key = secrets.get("key")
    if (
        batch is None
        or key is None
        or batch.estate_id != estate.id
        or batch.auth_session_id != job.auth_session_id
        or batch.expires_at <= utcnow()
    ):
        raise OperationError(CODES_GONE)
    issued, _left_out = operations.held_codes(batch, key)
    letters = letters_for(issued)
    if job.params.get("format") == "zip":
        body = letters_zip(letters, progress=progress)
        return Result(body, f"{estate.code}-household-codes.zip", MIMETYPES["zip"])
    html = letters_html(
        estate,
        letters,
        batch.expires_at,
        contact=job.params.get("contact"),
        issued_at=batch.issued_at,
        progress=progress,
    )
    body = html_to_pdf(html, request.host_url)
    progress(2 * len(letters), 2 * len(letters))
    return Result(body, f"{estate.code}-letters.pdf", PDF_MIMETYPE)


def run_monthly(job, progress, _secrets) -> Result:
    from . import overview

    month, district = job.params["month"], job.district
    estate_ids = job.params["estate_ids"]
    estates = list(
        db.session.scalars(
            select(Estate).where(Estate.id.in_(estate_ids)).order_by(Estate.district, Estate.code)
        )
    )
    progress(0, 2)
    with force_locale(job.params.get("lang") or "zh_Hans_CN"):
        rows, total, activity = overview.monthly_report(month, estates)
        progress(1, 2)
        body = overview.monthly_workbook(rows, total, activity, month, district, _)
    return Result(body, f"monthly-{month}.xlsx", MIMETYPES["xlsx"])


POSTERS = register_kind(
    JobKind("posters", _l("Stairwell posters (PDF)"), Permission.POSTERS_PRINT, run_posters)
)
LETTERS = register_kind(
    JobKind(
        "letters", _l("Household letters"), Permission.CODES_ISSUE, run_letters, owner_only=True
    )
)
MONTHLY = register_kind(
    JobKind("monthly", _l("Monthly progress report"), Permission.OVERVIEW, run_monthly)
)
