"""Pledge exports of more than EXPORT_JOB_ROWS households are made by a job
(resident_portal/jobs), from the same tracker and the same export code as the download."""

from flask_babel import lazy_gettext as _l

from resident_portal.access import Permission
from resident_portal.common import N_, OperationError
from resident_portal.extensions import db
from resident_portal.jobs import JobKind, Result
from resident_portal.operations import audit
from resident_portal.spreadsheets import MIMETYPES

from . import tracker
from .models import Campaign

NO_CAMPAIGN = N_("This pledge campaign no longer exists.")
FORMATS = {"csv": tracker.export_csv, "xlsx": tracker.export_xlsx}


def export(campaign: Campaign, fmt: str, state=None) -> tuple[bytes, str]:
    """The export file and its name (one code path for the download and the job)."""
    body = FORMATS[fmt](state or tracker.progress(campaign))
    return body, f"campaign-{campaign.id}.{fmt}"


def run_export(job, progress, _secrets) -> Result:
    campaign = db.session.get(Campaign, job.params["campaign_id"])
    if campaign is None or campaign.estate_id != job.estate_id:
        raise OperationError(NO_CAMPAIGN)
    progress(0, 2)
    state = tracker.progress(campaign)
    progress(1, 2)
    fmt = job.params["fmt"]
    body, name = export(campaign, fmt, state)
    # Every household's address and pledge: written with the file, in the job's one
    # transaction, as the download writes it (issue 12).
    audit(
        "export.pledges",
        staff_user=job.staff_user,
        estate=campaign.estate,
        campaign=campaign.id,
        format=fmt,
        job=job.id,
    )
    return Result(body, name, MIMETYPES[fmt])


CAMPAIGN_EXPORT = JobKind(
    "campaign_export", _l("Pledge export"), Permission.CAMPAIGN_VIEW, run_export
)
