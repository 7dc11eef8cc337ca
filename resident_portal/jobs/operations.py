"""What changes a job: submit, cancel, run, and the sweep of stale or expired jobs.

A job's work and its move to `done` are one transaction (execute): a refused input, a cancel or
a killed worker leaves nothing written. Progress and the heartbeat are written on connections
of their own, so the page shows them while the work is still uncommitted.
"""

import logging
import threading
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select, update

from ..common import N_, OperationError
from ..extensions import db
from ..models import Estate, Job, JobStatus, StaffUser, utcnow
from ..operations import audit
from . import KINDS, JobCancelled
from .queue import job_queue

logger = logging.getLogger(__name__)

WORKER_STOPPED = N_(
    "The work stopped before it was finished (the server or its worker was restarted). "
    "Nothing was written. Start it again."
)
UNEXPECTED = N_("Something went wrong on our side. Nothing was written. Start it again.")


def submit(
    kind: str,
    *,
    staff_user: StaffUser | None,
    estates: list[Estate],
    estate: Estate | None = None,
    district: str | None = None,
    params: dict | None = None,
    secrets: dict | None = None,
    auth_session_id: int | None = None,
    expires_at: datetime | None = None,
    base_url: str | None = None,
) -> Job:
    """Record a job and queue it. `estates`: every estate whose data the result will hold."""
    job = Job(
        kind=kind,
        staff_user_id=staff_user.id if staff_user else None,
        auth_session_id=auth_session_id,
        estate_id=estate.id if estate else None,
        district=district,
        params={**(params or {}), "estate_ids": sorted(e.id for e in estates)}
        | ({"base_url": base_url} if base_url else {}),
        status=JobStatus.QUEUED,
        expires_at=expires_at,
    )
    db.session.add(job)
    audit(f"job.{kind}", staff_user=staff_user, estate=estate, district=district)
    db.session.commit()
    job_queue().enqueue(job.id, secrets)
    return job


def cancel(job: Job, staff_user: StaffUser | None) -> bool:
    """Cancel a job not finished yet; its worker rolls back at its next progress report."""
    changed = db.session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .values(status=JobStatus.CANCELLED, finished_at=utcnow())
    ).rowcount
    if changed:
        audit("job.cancel", staff_user=staff_user, estate=job.estate, job_id=job.id)
    db.session.commit()
    db.session.refresh(job)
    return bool(changed)


class Progress:
    """progress(done, total): written at most every `interval` seconds (and at the end), on a
    connection of its own; raises JobCancelled once the job was cancelled or given up."""

    def __init__(self, job_id: int, interval: float = 0.5):
        self.job_id = job_id
        self.interval = interval
        self.done = 0
        self.total = 0
        self._last = 0.0
        # What the page says when done: (untranslated msgid, fields), set by the kind.
        self.summary: tuple[str, dict] | None = None

    def __call__(self, done: int, total: int | None = None) -> None:
        import time

        self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        if now - self._last < self.interval and done < self.total:
            return
        self._last = now
        status = _write_aside(
            update(Job)
            .where(Job.id == self.job_id, Job.status == JobStatus.RUNNING)
            .values(done=min(done, self.total), total=self.total, heartbeat_at=utcnow())
            .returning(Job.status)
        )
        if status is False:
            raise JobCancelled()


def _write_aside(statement):
    """Run one statement on its own connection and commit it: True if it changed a row, False
    if not, None if the database was busy (SQLite while the work holds its write lock)."""
    try:
        with db.engine.begin() as connection:
            return connection.execute(statement).first() is not None
    except Exception as error:  # a busy database: progress is best effort
        logger.debug("progress not written: %s", error)
        return None


class Heartbeat:
    """Marks a running job alive every few seconds while its work runs, even through long steps
    without progress (WeasyPrint laying out a PDF). A killed worker stops beating."""

    def __init__(self, app, job_id: int):
        self.app = app
        self.job_id = job_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"job-{job_id}-heartbeat")
        self.thread.daemon = True

    def _beat(self):
        every = self.app.config["JOB_HEARTBEAT_SECONDS"]
        with self.app.app_context():
            while not self.stop.wait(every):
                _write_aside(
                    update(Job)
                    .where(Job.id == self.job_id, Job.status == JobStatus.RUNNING)
                    .values(heartbeat_at=utcnow())
                    .returning(Job.id)
                )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.stop.set()
        self.thread.join()


def execute(job_id: int, secrets: dict) -> None:
    """Run a queued job (called by the queue's worker, in an app context)."""
    now = utcnow()
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now)
    ).rowcount
    db.session.commit()
    if not claimed:
        return  # cancelled before it started, or run already
    job = db.session.get(Job, job_id)
    kind = KINDS.get(job.kind)
    if kind is None:  # queued by a newer version of the app than this worker's
        logger.error("job %s: unknown kind %s", job_id, job.kind)
        fail(job_id, UNEXPECTED, {})
        return
    progress = Progress(job_id)
    app = current_app._get_current_object()
    base_url = job.params.get("base_url") or app.config.get("PUBLIC_BASE_URL") or None
    try:
        with (
            Heartbeat(app, job_id),
            app.test_request_context(base_url=base_url or "http://localhost/"),
        ):
            with force_locale(job.params.get("locale") or app.config["BABEL_DEFAULT_LOCALE"]):
                result = kind.run(job, progress, secrets)
        values = {"status": JobStatus.DONE, "finished_at": utcnow()}
        if progress.total:
            values |= {"done": progress.total, "total": progress.total}
        if progress.summary:
            message, fields = progress.summary
            values["params"] = {**job.params, "summary": {"message": message, "params": fields}}
        if result is not None:
            values |= {
                "result": result.body,
                "result_name": result.filename,
                "result_type": result.mimetype,
            }
        finished = db.session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING).values(**values)
        ).rowcount
        if finished != 1:  # cancelled, or given up by the sweep meanwhile: write nothing
            db.session.rollback()
            return
        db.session.commit()
    except JobCancelled:
        db.session.rollback()
    except OperationError as error:
        db.session.rollback()
        fail(job_id, error.message, error.params)
    except Exception:
        logger.exception("job %s (%s) failed", job_id, job.kind)
        db.session.rollback()
        fail(job_id, UNEXPECTED, {})


def fail(job_id: int, message: str, params: dict) -> None:
    """Mark a job failed with an untranslated reason (translated for each reader)."""
    db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .values(
            status=JobStatus.FAILED,
            failure=message,
            failure_params={k: str(v) for k, v in params.items()},
            finished_at=utcnow(),
        )
    )
    db.session.commit()


def stale_before() -> datetime:
    return utcnow() - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])


def sweep() -> dict:
    """Fail running jobs whose heartbeat stopped (their worker died: their work was never
    committed), and delete results past their expiry (letters: the held codes' lifetime)."""
    now = utcnow()
    stale = db.session.scalars(
        select(Job.id).where(Job.status == JobStatus.RUNNING, Job.heartbeat_at < stale_before())
    ).all()
    for job_id in stale:
        fail(job_id, WORKER_STOPPED, {})
    expired = db.session.execute(
        update(Job).where(Job.expires_at < now, Job.result.is_not(None)).values(result=None)
    ).rowcount
    db.session.commit()
    return {"stale": len(stale), "expired": expired}
