"""Results exports (CSV/XLSX) of more than EXPORT_JOB_ROWS rows are made by a job
(resident_portal/jobs), from the same count and the same export code as the download."""

from flask_babel import lazy_gettext as _l

from resident_portal.access import Permission
from resident_portal.common import N_, OperationError
from resident_portal.extensions import db
from resident_portal.jobs import JobKind, Result
from resident_portal.spreadsheets import MIMETYPES

from . import results
from .models import Survey

NO_SURVEY = N_("This survey no longer exists.")
FORMATS = {"csv": results.export_csv, "xlsx": results.export_xlsx}


def row_count(computed: results.SurveyResults) -> int:
    """The export's rows: one per item per group (whole scope, buildings, units, floors)."""
    groups = [
        computed.overall,
        *computed.by_building.values(),
        *computed.by_unit.values(),
        *computed.by_floor.values(),
    ]
    return sum(len(group.items) for group in groups)


def export(survey: Survey, fmt: str, locale: str, computed=None) -> tuple[bytes, str]:
    """The export file and its name (one code path for the download and the job)."""
    body = FORMATS[fmt](computed or results.compute(survey), locale)
    return body, f"survey-{survey.id}-results.{fmt}"


def run_export(job, progress, _secrets) -> Result:
    survey = db.session.get(Survey, job.params["survey_id"])
    if survey is None or survey.estate_id != job.estate_id:
        raise OperationError(NO_SURVEY)
    progress(0, 2)
    computed = results.compute(survey)
    progress(1, 2)
    fmt = job.params["fmt"]
    body, name = export(survey, fmt, job.params["locale"], computed)
    return Result(body, name, MIMETYPES[fmt])


SURVEY_RESULTS_EXPORT = JobKind(
    "survey_results_export", _l("Survey results export"), Permission.SURVEY_RESULTS, run_export
)
