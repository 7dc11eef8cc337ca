"""`flask --app resident_portal backup FILE` and `restore FILE`.

SQLite: the online backup API copies a consistent snapshot while the app keeps serving (writers
wait a moment, nobody stops). PostgreSQL: its own tools do this better than we could —
`pg_dump --format=custom --file FILE DBNAME` and `pg_restore --clean --dbname DBNAME FILE`;
the commands say so instead of half-doing it. Photos live in PHOTO_DIR: copy that folder too.
"""

import sqlite3
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy.engine import make_url

from .extensions import db
from .privacy import create_private


def _sqlite_path() -> Path:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or not url.database:
        raise click.ClickException(
            _(
                "This database is not SQLite. Use PostgreSQL's own tools: pg_dump --format=custom "
                "--file FILE DBNAME, and pg_restore --clean --dbname DBNAME FILE."
            )
        )
    return Path(url.database)


def copy_database(source: Path, target: Path) -> int:
    """Copy one SQLite database into another, page by page, consistently; return the pages."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.execute("PRAGMA busy_timeout=5000")
        src.backup(dst, pages=256)  # in steps, so writers are never blocked for long
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
    src.close()
    dst.close()
    return pages


def check_database(path: Path) -> None:
    try:
        with sqlite3.connect(path) as connection:
            result = connection.execute("PRAGMA integrity_check").fetchone()[0]
            version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        connection.close()
    except sqlite3.DatabaseError:
        result, version = None, None
    if result != "ok" or version is None:
        raise click.ClickException(
            _("%(file)s is not a sound backup of this application.", file=str(path))
        )


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(file: Path):
    """Copy the database to FILE while the app keeps serving."""
    if file.exists():
        raise click.ClickException(_("%(file)s exists already: choose a new name.", file=str(file)))
    # The whole register and every ballot: readable by its owner only (issue 12).
    create_private(file)
    pages = copy_database(_sqlite_path(), file)
    check_database(file)
    click.echo(_("Backup written to %(file)s (%(pages)s pages).", file=str(file), pages=pages))


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore(file: Path, yes: bool):
    """Replace the database with the backup FILE (stop the app first)."""
    check_database(file)
    target = _sqlite_path()
    if not yes:
        click.confirm(
            _("Replace %(target)s with %(file)s?", target=str(target), file=str(file)), abort=True
        )
    db.engine.dispose()
    copy_database(file, target)
    click.echo(_("Restored %(file)s.", file=str(file)))


def init_app(app) -> None:
    app.cli.add_command(backup)
    app.cli.add_command(restore)
