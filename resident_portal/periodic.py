"""Periodic tasks, run by the job queue's consumers (jobs/queue.py): the sweep of stale jobs,
the nightly SQLite backup with rotation, and the nightly privacy purge.

Times are UTC (huey's crontab): 19:00 UTC is 03:00 China time, when nobody votes.
"""

import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from .jobs import PeriodicTask, register_periodic

logger = logging.getLogger(__name__)

BACKUP_PATTERN = "resident_portal-*.sqlite3"


def sweep_jobs(app) -> None:
    from .jobs.operations import sweep

    swept = sweep()
    if any(swept.values()):
        logger.info("jobs swept: %s", swept)


def nightly_backup(app, now: datetime | None = None) -> Path | None:
    """Copy the SQLite database into BACKUP_DIR (default instance/backups) with SQLite's online
    backup while the app serves, and keep the newest BACKUP_KEEP copies. On PostgreSQL nothing
    is done here: schedule `pg_dump` instead (README, "Backups")."""
    from .backup import check_database, copy_database

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or not url.database:
        logger.info("nightly backup skipped: not SQLite (use pg_dump)")
        return None
    folder = Path(app.config.get("BACKUP_DIR") or Path(app.instance_path) / "backups")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    target = folder / f"resident_portal-{stamp}.sqlite3"
    partial = target.with_suffix(".partial")
    copy_database(Path(url.database), partial)
    check_database(partial)
    partial.rename(target)  # a copy cut short never looks like a backup
    for old in sorted(folder.glob(BACKUP_PATTERN))[: -app.config["BACKUP_KEEP"]]:
        old.unlink()
    logger.info("nightly backup written to %s", target)
    return target


def privacy_purge(app) -> None:
    """What `flask --app resident_portal purge` does (privacy.PURGE_RULES), every night."""
    from .models import utcnow
    from .privacy import purge

    removed = purge(utcnow())
    logger.info("privacy purge: %s", ", ".join(f"{what}: {count}" for what, count in removed))


SWEEP = register_periodic(PeriodicTask("sweep-jobs", sweep_jobs, minute="*/2"))
BACKUP = register_periodic(PeriodicTask("nightly-backup", nightly_backup, minute="0", hour="19"))
PURGE = register_periodic(PeriodicTask("privacy-purge", privacy_purge, minute="30", hour="19"))
