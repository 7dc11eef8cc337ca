"""`flask --app resident_portal renovation import FILE.xlsx [--dry-run]`: the planner's
spreadsheet from the command line, through the same parser and rules as the console's upload
(all rows or none). create_app registers the group: the ground's cli.py does not import it."""

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from . import operations
from .blueprint import describe
from .spreadsheet import parse_projects

renovation_cli = AppGroup("renovation", help="Renovation projects: the planner's spreadsheet.")


@renovation_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file through every rule; write nothing.")
def import_projects(file, dry_run):
    """Create or update the projects of FILE (XLSX or CSV, headers in Chinese), every row or
    none. Exits 1 when the file is refused, with its problems by line."""
    parsed = parse_projects(file.read_bytes(), file.name)
    # The command line is the operator's: every estate may be named (no staff member's scope).
    result, problems = operations.import_projects(
        parsed, staff_user=None, may_manage=lambda estate: True, dry_run=dry_run
    )
    if problems:
        for problem in problems:
            click.echo(describe(problem), err=True)
        click.echo(_("The file was refused; nothing was imported."), err=True)
        sys.exit(1)
    created, updated = result
    if dry_run:
        click.echo(
            _(
                "Dry run: %(created)s new projects and %(updated)s updated would be imported; "
                "nothing was written.",
                created=created,
                updated=updated,
            )
        )
        return
    click.echo(
        _(
            "Imported: %(created)s new projects, %(updated)s updated.",
            created=created,
            updated=updated,
        )
    )


def init_app(app) -> None:
    app.cli.add_command(renovation_cli)
