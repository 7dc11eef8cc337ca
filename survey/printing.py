"""Paper ballot sheets for a survey, as the print page and as a PDF, in the request or as a
background job for a whole estate (resident_portal/jobs). One code path for both."""

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from resident_portal.access import Permission
from resident_portal.common import N_, OperationError
from resident_portal.extensions import db
from resident_portal.jobs import JobKind, Result
from resident_portal.messages import current_locale
from resident_portal.models import Household
from resident_portal.pdf import PDF_MIMETYPE, html_to_pdf
from resident_portal.privacy import mask_name
from resident_portal.qr import public_url, qr_svg

from . import results, roll
from .models import Survey

NO_SURVEY = N_("This survey no longer exists.")


def households_on_roll(survey) -> list[Household]:
    ids = [p.household_id for p in roll.parts(survey)]
    households = db.session.scalars(select(Household).where(Household.id.in_(ids))) if ids else []
    return sorted(households, key=lambda h: h.sort_key)


def owners_for_sheets(survey, everyone: bool) -> list[list[Household]]:
    """One list of parts per owner: every owner on the roll, or those who have not voted."""
    households = (
        households_on_roll(survey) if everyone else results.households_without_ballot(survey)
    )
    owners: dict[str, list[Household]] = {}
    owner_of = {p.household_id: p.owner_ref for p in roll.parts(survey)}
    for h in households:
        owners.setdefault(owner_of[h.id], []).append(h)
    return list(owners.values())


def sheets_html(survey, owners, everyone: bool, progress=None) -> str:
    """The sheets, each with a QR code that opens the owner's entry form in the console."""
    sheets = []
    for done, parts in enumerate(owners, start=1):
        sheets.append(
            {
                "households": parts,
                "owner": mask_name(parts[0].owner_name),
                "qr": qr_svg(
                    public_url(
                        "survey.console_paper_household",
                        estate_code=survey.estate.code,
                        survey_id=survey.id,
                        household_id=parts[0].id,
                    )
                ),
            }
        )
        if progress:
            progress(done, len(owners) + 1)
    return render_template(
        "survey/paper_sheets.html",
        estate=survey.estate,
        survey=survey,
        sheets=sheets,
        everyone=everyone,
        locale=current_locale(),
    )


def sync_limit() -> int:
    """Up to this many sheets a PDF is made in the request; more are made by a job."""
    return current_app.config["SYNC_LETTERS_LIMIT"]


def run_paper_sheets(job, progress, _secrets) -> Result:
    survey = db.session.get(Survey, job.params["survey_id"])
    if survey is None or survey.estate_id != job.estate_id:
        raise OperationError(NO_SURVEY)
    everyone = bool(job.params.get("all"))
    owners = owners_for_sheets(survey, everyone)
    body = html_to_pdf(sheets_html(survey, owners, everyone, progress), request.host_url)
    progress(len(owners) + 1, len(owners) + 1)
    return Result(body, f"{survey.estate.code}-survey-{survey.id}-ballot-sheets.pdf", PDF_MIMETYPE)


PAPER_SHEETS = JobKind(
    "paper_sheets", _l("Paper ballot sheets (PDF)"), Permission.SURVEY_PAPER, run_paper_sheets
)
