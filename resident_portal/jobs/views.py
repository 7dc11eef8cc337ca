"""The job pages: /console/jobs (mine), /console/jobs/<id> with progress, cancel, download."""

from flask import Blueprint, Response, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import access
from ..access import Permission, require
from ..extensions import db
from ..forms import ConfirmForm
from ..models import Job, JobStatus
from . import KINDS
from . import operations as job_operations

bp = Blueprint("jobs", __name__, url_prefix="/console/jobs")

# While a job is not finished its page reloads itself (the HTTP Refresh header: no script).
REFRESH_SECONDS = 3


def may_see(job: Job) -> bool:
    """Staff who hold the kind's permission over every estate the result covers, as on the
    synchronous page; results with access codes only for the sign-in that queued them."""
    staff = access.current_staff()
    kind = KINDS.get(job.kind)
    if staff is None or kind is None:
        return False
    if kind.owner_only:
        record = access.current_session()
        return record is not None and job.auth_session_id == record.id
    if not access.staff_may(staff, kind.permission, None):
        return False
    estates = access.estates_with(staff, kind.permission)
    if estates is None:
        return True
    return set(job.params.get("estate_ids", [])) <= {e.id for e in estates}


def visible_job_or_abort(job_id: int) -> Job:
    job = db.get_or_404(Job, job_id)
    if not may_see(job):
        # Letters are private to one sign-in: others are told nothing exists (as held codes).
        abort(404 if KINDS.get(job.kind) and KINDS[job.kind].owner_only else 403)
    return job


def shown_status(job: Job) -> tuple[JobStatus, str | None, dict]:
    """The status as the page shows it: a running job whose heartbeat stopped is failed (the
    sweep records it; a GET writes nothing)."""
    if job.status == JobStatus.RUNNING and (
        job.heartbeat_at is None or job.heartbeat_at < job_operations.stale_before()
    ):
        return JobStatus.FAILED, job_operations.WORKER_STOPPED, {}
    return job.status, job.failure, job.failure_params or {}


@bp.get("/")
@require(Permission.CONSOLE)
def mine():
    jobs = db.session.scalars(
        select(Job)
        .where(Job.staff_user_id == access.current_staff().id)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(50)
    )
    return render_template("jobs/list.html", jobs=list(jobs), kinds=KINDS, shown=shown_status)


@bp.get("/<int:job_id>")
@require(Permission.CONSOLE)
def page(job_id):
    job = visible_job_or_abort(job_id)
    status, failure, failure_params = shown_status(job)
    summary = job.params.get("summary") if status == JobStatus.DONE else None
    response = Response(
        render_template(
            "jobs/job.html",
            job=job,
            kind=KINDS[job.kind],
            status=status,
            failure=_(failure, **failure_params) if failure else None,
            summary=_(summary["message"], **summary["params"]) if summary else None,
            form=ConfirmForm(),
        )
    )
    if not status.finished:
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


@bp.post("/<int:job_id>/cancel")
@require(Permission.CONSOLE)
def cancel(job_id):
    job = visible_job_or_abort(job_id)
    if ConfirmForm().validate_on_submit():
        # The page then says it was cancelled and that nothing was written: no flash too.
        job_operations.cancel(job, access.current_staff())
    return redirect(url_for("jobs.page", job_id=job.id), code=303)


@bp.get("/<int:job_id>/download")
@require(Permission.CONSOLE)
def download(job_id):
    job = visible_job_or_abort(job_id)
    if job.status != JobStatus.DONE or job.result is None:
        abort(404)
    return Response(
        job.result,
        mimetype=job.result_type,
        headers={
            "Content-Disposition": f'attachment; filename="{job.result_name}"',
            "Cache-Control": "private, no-store",
        },
    )
