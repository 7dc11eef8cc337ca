"""Background jobs: long work (letters, posters and ballot sheets for a whole estate, the
monthly report of a district, …) runs outside the request, with progress, cancel and a result
to download from any server.

The queue is huey: with REDIS_URL set, a RedisHuey served by `flask --app resident_portal
worker` processes on any machine; without it, a SqliteHuey in the instance folder, served by a
thread each app process starts on its first request, so that a street office running only
`flask run` or gunicorn still gets its jobs done. What a job is, how far it got and its result
live in the database (models.Job), so every server shows the same page.

Registration points: features add job kinds (`register_kind`) and periodic tasks
(`register_periodic`), as they add overview providers; create_app registers them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..access import Permission


@dataclass(frozen=True)
class Result:
    body: bytes
    filename: str
    mimetype: str


@dataclass(frozen=True)
class JobKind:
    """A kind of job. `run(job, progress, secrets)` does the work inside a request context
    (url_for and templates work) and returns its Result, or None; it writes nothing itself
    that is not committed with the job (jobs/operations.execute commits once at the end).
    `progress(done, total)` reports how far it got and raises JobCancelled when cancelled.
    The result is shown to staff holding `permission` over every estate the job covers
    (params["estate_ids"]), like the synchronous page; with `owner_only`, to the sign-in that
    queued it alone (letters carry access codes)."""

    name: str
    title: Any  # a lazy translated string
    permission: Permission
    run: Callable
    owner_only: bool = False


@dataclass(frozen=True)
class PeriodicTask:
    """Work done on a schedule (`minute`/`hour` as in crontab, e.g. "0", "3"); `run(app)`."""

    name: str
    run: Callable
    minute: str = "0"
    hour: str = "*"


KINDS: dict[str, JobKind] = {}
PERIODIC: dict[str, PeriodicTask] = {}


def register_kind(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


def register_periodic(task: PeriodicTask) -> PeriodicTask:
    """Later registrations under the same name replace earlier ones, so the lead can wire a
    real task (the privacy purge) in place of its placeholder."""
    PERIODIC[task.name] = task
    return task


class JobCancelled(Exception):
    """Raised by progress() when the job was cancelled: the work is rolled back."""
