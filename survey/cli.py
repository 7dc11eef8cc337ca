"""`flask --app resident_portal survey create ESTATE FILE.json`, `survey export ID`,
`survey recount ID [--repair]`, `survey extend ID --until … --reason …` and
`survey cancel ID --reason …`."""

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from resident_portal.common import OperationError, in_china, to_utc
from resident_portal.estates import estate_by_code
from resident_portal.extensions import db
from resident_portal.messages import describe_error, describe_problem

from . import counting, operations
from .definition import parse_definition, to_definition
from .models import Survey

survey_cli = AppGroup(
    "survey", help="Create surveys from JSON definitions, export them, recount their tallies."
)


@survey_cli.command("create")
@click.argument("estate_code")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def create(estate_code, file):
    estate = estate_by_code(estate_code.lower())
    if estate is None:
        raise click.ClickException(_("No estate has the code %(code)s.", code=estate_code))
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        message = _("The file is not valid JSON: %(error)s", error=str(error))
        raise click.ClickException(message) from None
    definition, problems = parse_definition(data)
    if problems:
        for problem in problems:
            click.echo(describe_problem(problem), err=True)
        sys.exit(1)
    try:
        survey = operations.create_survey(estate, definition)
    except OperationError as error:
        raise click.ClickException(describe_error(error)) from None
    click.echo(
        _("Survey %(id)s created with %(count)s items.", id=survey.id, count=len(survey.items))
    )


@survey_cli.command("export")
@click.argument("survey_id", type=int)
def export(survey_id):
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        raise click.ClickException(_("No survey has the number %(id)s.", id=survey_id))
    click.echo(json.dumps(to_definition(survey), ensure_ascii=False, indent=2))


@survey_cli.command("recount")
@click.argument("survey_id", type=int)
@click.option("--repair", is_flag=True, help="Replace the kept tally by the recount.")
def recount(survey_id, repair):
    """Count the survey again from its roll and ballots and compare with the kept tally.

    Exits 0 when they agree (or after --repair), 1 when they differ and were left alone.
    """
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        raise click.ClickException(_("No survey has the number %(id)s.", id=survey_id))
    differences = counting.compare(survey)
    for d in differences:
        click.echo(
            _(
                "%(group)s, item %(item)s, %(measure)s: kept %(kept)s, recounted %(counted)s",
                group=" ".join(str(part) for part in d.key[:4] if part not in ("", 0)),
                item=d.key[4],
                measure=d.key[5],
                kept="/".join(map(str, d.kept)),
                counted="/".join(map(str, d.counted)),
            )
        )
    if not differences:
        click.echo(_("The kept tally equals a full recount."))
        return
    if repair:
        operations.repair_tally(survey)
        click.echo(_("%(count)s differences repaired.", count=len(differences)))
        return
    click.echo(_("%(count)s differences; run again with --repair to fix.", count=len(differences)))
    sys.exit(1)


def _survey_or_fail(survey_id: int) -> Survey:
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        raise click.ClickException(_("No survey has the number %(id)s.", id=survey_id))
    return survey


@survey_cli.command("extend")
@click.argument("survey_id", type=int)
@click.option(
    "--until",
    required=True,
    help="The new closing time, e.g. 2026-12-20T18:00 (Beijing time unless a zone is given).",
)
@click.option("--reason", required=True, help="Why; printed on the public notice.")
def extend(survey_id, until, reason):
    """Move an open (or not yet open) survey's closing time later, as the console page does."""
    from datetime import datetime

    survey = _survey_or_fail(survey_id)
    try:
        moment = to_utc(datetime.fromisoformat(until.strip()))
    except ValueError:
        raise click.ClickException(
            _("--until: %(value)s is not a time such as 2026-12-20T18:00.", value=until)
        ) from None
    try:
        operations.extend_survey(survey, moment, reason, staff_user=None)
    except OperationError as error:
        raise click.ClickException(describe_error(error)) from None
    click.echo(
        _(
            "Survey %(id)s now closes at %(time)s (Beijing time).",
            id=survey.id,
            time=in_china(survey.closes_at).strftime("%Y-%m-%d %H:%M"),
        )
    )


@survey_cli.command("cancel")
@click.argument("survey_id", type=int)
@click.option("--reason", required=True, help="Why; shown with the cancelled survey.")
def cancel(survey_id, reason):
    """Cancel a survey nobody has voted in yet, as the console page does."""
    survey = _survey_or_fail(survey_id)
    try:
        operations.cancel_survey(survey, reason, staff_user=None)
    except OperationError as error:
        raise click.ClickException(describe_error(error)) from None
    click.echo(_("Survey %(id)s is cancelled.", id=survey.id))


def init_app(app) -> None:
    app.cli.add_command(survey_cli)
