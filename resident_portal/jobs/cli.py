"""`flask --app resident_portal worker`: serve the job queue (and its periodic tasks)."""

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from .queue import job_queue


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Jobs run at the same time.")
@click.option("--no-periodic", is_flag=True, help="Leave the periodic tasks to other workers.")
@with_appcontext
def worker(workers: int, no_periodic: bool):
    """Run queued jobs until stopped (Ctrl-C, SIGTERM finishes the current jobs first)."""
    queue = job_queue(current_app)
    # Never the Redis URL itself: it may carry a password.
    where = "Redis" if current_app.config.get("REDIS_URL") else queue.huey.storage.filename
    click.echo(
        _("Serving jobs from %(queue)s with %(workers)s workers.", queue=where, workers=workers)
    )
    queue.consumer(workers=workers, periodic=not no_periodic).run()


@click.command("sweep-jobs")
@with_appcontext
def sweep_jobs():
    """Fail jobs whose worker stopped, delete results past their time (also done every 2 min)."""
    from .operations import sweep

    swept = sweep()
    click.echo(
        _(
            "%(stale)s stopped jobs failed, %(expired)s expired results deleted.",
            stale=swept["stale"],
            expired=swept["expired"],
        )
    )


def init_app(app) -> None:
    app.cli.add_command(worker)
    app.cli.add_command(sweep_jobs)
