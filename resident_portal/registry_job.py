"""Register imports over REGISTRY_JOB_ROWS rows run as a job (resident_portal/jobs): the same
check and the same import as in the request, committed once with the job's completion, so a
refused register, a cancel or a killed worker writes nothing."""

from flask_babel import lazy_gettext as _l

from . import operations
from .access import Permission
from .common import N_, OperationError
from .extensions import db
from .jobs import JobKind, register_kind
from .models import Estate, PendingImport
from .registry import parse_registry

UPLOAD_GONE = N_("The uploaded register is no longer there. Upload it again.")
IMPORTED = N_("Register imported: %(new)s new, %(updated)s updated, %(unchanged)s unchanged.")


def run_registry_import(job, progress, _secrets) -> None:
    estate = db.session.get(Estate, job.estate_id)
    pending = db.session.get(PendingImport, job.params["pending_id"])
    if estate is None or pending is None or pending.estate_id != estate.id:
        raise OperationError(UPLOAD_GONE)
    progress(0, 3)
    parsed = parse_registry(pending.content, pending.filename)
    progress(1, 3)
    # The rest writes: on SQLite nothing else may write meanwhile, so no progress until done.
    plan = operations.import_registry(estate, parsed, staff_user=job.staff_user, commit=False)
    db.session.delete(pending)
    progress.summary = (
        IMPORTED,
        {"new": len(plan.new), "updated": len(plan.updated), "unchanged": plan.unchanged},
    )
    return None


REGISTRY_IMPORT = register_kind(
    JobKind(
        "registry_import",
        _l("Household register import"),
        Permission.REGISTRY_IMPORT,
        run_registry_import,
    )
)
