"""The huey queue of one app: Redis when REDIS_URL is set, else SQLite in the instance folder.

`init_app` makes the queue and its one task, `run_job(job_id, secrets)`; `secrets` travel only
in the queue (never in the database), e.g. the key of held access codes for the letters.
"""

import logging
import threading
from datetime import datetime
from pathlib import Path

from flask import current_app
from huey import RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from ..monitoring import queue_depth_source
from . import PERIODIC

logger = logging.getLogger(__name__)
EXTENSION = "resident_portal.jobs"


class JobQueue:
    def __init__(self, app):
        self.app = app
        config = app.config
        name = f"{config['RATE_LIMIT_PREFIX']}-jobs"
        # Immediate (tests): run in the caller, on huey's in-memory storage.
        immediate = bool(config["JOBS_IMMEDIATE"])
        if config.get("REDIS_URL"):
            self.huey = RedisHuey(name, url=config["REDIS_URL"], results=False, immediate=immediate)
            self.embedded = False
        else:
            path = config.get("JOBS_SQLITE_PATH") or str(Path(app.instance_path) / "jobs.sqlite3")
            self.huey = SqliteHuey(name, filename=path, results=False, immediate=immediate)
            self.embedded = config["JOBS_EMBEDDED_WORKER"]
        self._consumer = None
        self._lock = threading.Lock()
        self._claims: dict[str, str] = {}  # the last minute each periodic task was claimed

        @self.huey.task(name="run_job")
        def run_job(job_id: int, secrets: dict | None = None):
            from .operations import execute

            with app.app_context():
                execute(job_id, secrets or {})

        self.run_job = run_job

        self.periodic = {task.name: self._schedule(task) for task in PERIODIC.values()}

    def _schedule(self, task):
        huey = self.huey

        @huey.periodic_task(crontab(minute=task.minute, hour=task.hour), name=task.name)
        def periodic():
            # Every consumer (each gunicorn worker's thread, each `flask worker`) schedules
            # periodic tasks: the first to claim this minute runs it, the others skip.
            key = f"periodic:{task.name}:{datetime.now():%Y%m%d%H%M}"
            claimed = huey.put_if_empty(key, b"1")
            # The previous minute's claim is of no use any more: read it out (deleting it), so
            # the claims do not pile up in the queue's storage.
            previous = self._claims.get(task.name)
            if previous and previous != key:
                huey.get(previous, peek=False)
            self._claims[task.name] = key
            if not claimed:
                return
            with self.app.app_context():
                task.run(self.app)

        return periodic

    def enqueue(self, job_id: int, secrets: dict | None = None) -> None:
        self.start_embedded_worker()
        self.run_job(job_id, secrets)

    def depth(self) -> int:
        """Tasks waiting in the queue (for the metrics gauge)."""
        if self.huey.immediate:
            return 0
        return self.huey.pending_count()

    def consumer(self, workers: int = 1, periodic: bool = True) -> Consumer:
        return self.huey.create_consumer(
            workers=workers, worker_type="thread", periodic=periodic, check_worker_health=False
        )

    def start_embedded_worker(self) -> None:
        """Without Redis, each app process serves the queue with one thread of its own."""
        if not self.embedded or self.huey.immediate or self._consumer is not None:
            return
        with self._lock:
            if self._consumer is None:
                consumer = EmbeddedConsumer(
                    self.huey, workers=1, worker_type="thread", periodic=True
                )
                consumer.start()
                self._consumer = consumer
                logger.info("embedded job worker started")

    def stop_embedded_worker(self) -> None:
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None


class EmbeddedConsumer(Consumer):
    """A consumer inside a web server process: the server owns the signals."""

    def _set_signal_handlers(self):
        pass


def init_app(app) -> None:
    queue = JobQueue(app)
    app.extensions[EXTENSION] = queue
    from . import cli

    cli.init_app(app)
    if queue.embedded:
        app.before_request(queue.start_embedded_worker)


def job_queue(app=None) -> JobQueue:
    return (app or current_app).extensions[EXTENSION]


@queue_depth_source("jobs")
def queue_depth(app=None) -> int:
    """How many jobs wait in the queue: the job-queue-depth gauge of /metrics."""
    return job_queue(app).depth()
