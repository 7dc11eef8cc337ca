"""Command-line tools: `flask --app resident_portal estate|registry|codes|staff|demo …`."""

import secrets
import sys
from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from . import operations
from .estates import estate_by_code
from .extensions import db
from .letters import codes_csv, letters_for
from .messages import describe_error, describe_problem
from .models import Estate, Role, utcnow
from .privacy import purge as run_purge
from .privacy import write_private
from .registry import ParsedRegistry, parse_registry

estate_cli = AppGroup("estate", help="Create and list estates.")
registry_cli = AppGroup("registry", help="Import a household register.")
codes_cli = AppGroup("codes", help="Issue household access codes.")
staff_cli = AppGroup("staff", help="Manage staff accounts.")
report_cli = AppGroup("report", help="Reports for renovation offices.")

DEMO_ESTATE = "meiyuan"
# Features add their demo content (surveys, campaigns…) to the demo estate: each seeder gets the
# estate, adds what it has not added yet and returns lines to print. create_app registers them.
DEMO_SEEDERS: list[Callable[[Estate], list[str]]] = []
DEMO_REGISTER = Path(__file__).parent / "demo" / "meiyuan_registry.csv"


def _estate(code: str) -> Estate:
    estate = estate_by_code(code.lower())
    if estate is None:
        raise click.ClickException(_("No estate has the code %(code)s.", code=code))
    return estate


def _report(parsed: ParsedRegistry, plan=None) -> None:
    for problem in parsed.problems:
        click.echo(describe_problem(problem), err=True)
    if plan is not None:
        click.echo(
            _(
                "%(new)s new, %(updated)s updated, %(unchanged)s unchanged, %(missing)s in the "
                "database but not in the file (kept).",
                new=len(plan.new),
                updated=len(plan.updated),
                unchanged=plan.unchanged,
                missing=len(plan.not_in_file),
            )
        )
        for household in plan.owner_changes:
            click.echo(
                _(
                    "%(address)s has a new owner: its access code was withdrawn.",
                    address=household.address,
                )
            )


@estate_cli.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--district", default=None, help="区/县")
@click.option("--street", default=None, help="街道")
@click.option("--organiser", default="", help="Who keeps residents' data (privacy notice).")
@click.option("--contact", default="", help="How residents reach the organiser.")
def estate_create(code, name, district, street, organiser, contact):
    try:
        estate = operations.create_estate(code, name, district, street)
        if organiser or contact:
            operations.set_estate_organiser(estate, organiser, contact)
    except operations.OperationError as error:
        raise click.ClickException(describe_error(error)) from None
    click.echo(_("Estate %(code)s created: %(name)s", code=estate.code, name=estate.name))


@estate_cli.command("organiser")
@click.argument("code")
@click.option("--name", "organiser", required=True, help="e.g. 某某街道社区居委会")
@click.option("--contact", required=True, help="A phone number or an address.")
def estate_organiser(code, organiser, contact):
    """Set who collects and keeps the estate's residents' data, named in its privacy notice."""
    estate = _estate(code)
    try:
        operations.set_estate_organiser(estate, organiser, contact)
    except operations.OperationError as error:
        raise click.ClickException(describe_error(error)) from None
    click.echo(
        _(
            "Organiser of %(code)s: %(organiser)s, %(contact)s",
            code=estate.code,
            organiser=organiser,
            contact=contact,
        )
    )


@estate_cli.command("list")
def estate_list():
    for estate in db.session.scalars(select(Estate).order_by(Estate.code)):
        click.echo(f"{estate.code}\t{estate.name}\t{estate.district or ''}")


@registry_cli.command("import")
@click.argument("code")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change.")
def registry_import(code, file, dry_run):
    estate = _estate(code)
    # On stderr, so that what the command prints (and a script reads) stays the same.
    label = _("Checking the register") if dry_run else _("Checking and importing the register")
    with click.progressbar(length=0, label=label, file=sys.stderr) as bar:

        def progress(done, total):
            # One step more than the rows for the writing, done in one transaction at the end.
            bar.length = total + (0 if dry_run else 1)
            bar.update(done - bar.pos)

        parsed = parse_registry(file.read_bytes(), file.name, progress=progress)
        if parsed.ok and not dry_run:
            plan = operations.import_registry(estate, parsed)
            bar.update(1)
    if not parsed.ok:
        _report(parsed)
        click.echo(_("The register was rejected; nothing was imported."), err=True)
        sys.exit(1)
    if dry_run:
        _report(parsed, operations.plan_import(estate, parsed))
        click.echo(_("Dry run: nothing was written."))
        return
    _report(parsed, plan)
    click.echo(_("Imported %(count)s households.", count=len(parsed.rows)))


def _write_codes(estate: Estate, out: Path, reissue: bool) -> int:
    base_url = current_app.config.get("PUBLIC_BASE_URL")
    if not base_url:
        raise click.ClickException(
            _(
                "Set PUBLIC_BASE_URL to the address residents' phones use, e.g. https://portal.example.cn"
            )
        )
    with (
        current_app.test_request_context("/", base_url=base_url),
        click.progressbar(length=0, label=_("Issuing codes"), file=sys.stderr) as bar,
    ):

        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)

        issued = operations.issue_codes(estate, reissue=reissue, progress=progress)
        # Access codes in clear: readable by their owner only, and the export audited (issue 12).
        write_private(out, codes_csv(letters_for(issued)))
        operations.record_personal_data_access(
            "export.codes_csv",
            staff_user=None,
            estate=estate,
            file=str(out),
            households=len(issued),
        )
    return len(issued)


@codes_cli.command("issue")
@click.argument("code")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--all",
    "reissue",
    is_flag=True,
    help="Re-issue every household's code (old letters and their sessions stop working).",
)
def codes_issue(code, out, reissue):
    count = _write_codes(_estate(code), out, reissue)
    click.echo(_("Issued %(count)s codes, written to %(file)s.", count=count, file=str(out)))


@staff_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--estate", "estate_code", default=None, help="Estate code.")
@click.option("--district", default=None, help="Every estate of this district (区/县).")
@click.option("--password", default=None, help="Default: a random password, printed once.")
def staff_create(username, role, estate_code, district, password):
    """Grant a role in one estate (--estate), a district (--district) or, for admin, everywhere."""
    estate = _estate(estate_code) if estate_code else None
    try:
        _user, new_password = operations.grant_staff_role(
            username, Role(role), estate, password, district=district
        )
    except operations.OperationError as error:
        raise click.ClickException(describe_error(error)) from None
    click.echo(_("%(username)s is now %(role)s.", username=username, role=Role(role).label))
    if new_password and not password:
        click.echo(_("Password: %(password)s", password=new_password))


@staff_cli.command("reset-2fa")
@click.argument("username")
def staff_reset_2fa(username):
    """Remove an account's second factor (a lost phone and lost recovery codes). Every session
    and API token of the account ends; it sets up a new second factor at its next sign-in."""
    try:
        sessions, tokens = operations.reset_second_factor(username)
    except operations.OperationError as error:
        raise click.ClickException(describe_error(error)) from None
    click.echo(
        _(
            "Two-step sign-in of %(username)s was reset: %(sessions)s sessions ended, "
            "%(tokens)s API tokens revoked.",
            username=username,
            sessions=sessions,
            tokens=tokens,
        )
    )


def demo_seeder(seed: Callable[[Estate], list[str]]) -> Callable[[Estate], list[str]]:
    if seed not in DEMO_SEEDERS:
        DEMO_SEEDERS.append(seed)
    return seed


@click.command("demo")
def demo():
    """Build the demo estate from the sample register and print how to sign in."""
    base_url = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    current_app.config["PUBLIC_BASE_URL"] = base_url
    estate = estate_by_code(DEMO_ESTATE)
    if estate is None:
        estate = operations.create_estate(DEMO_ESTATE, "美苑小区", "示范街道")
    parsed = parse_registry(DEMO_REGISTER.read_bytes(), DEMO_REGISTER.name)
    operations.import_registry(estate, parsed)
    codes_file = Path(current_app.instance_path) / "demo-household-codes.csv"
    with current_app.test_request_context("/", base_url=base_url):
        letters = letters_for(operations.issue_codes(estate, reissue=True))
    write_private(codes_file, codes_csv(letters))
    seeded = [line for seed in DEMO_SEEDERS for line in seed(estate)]
    first = letters[0]
    click.echo("")
    click.echo(
        _(
            "Demo estate %(name)s (%(code)s): %(count)s households",
            name=estate.name,
            code=estate.code,
            count=len(letters),
        )
    )
    click.echo("  " + _("Estate QR landing page: %(url)s", url=f"{base_url}/e/{estate.code}"))
    click.echo(
        "  "
        + _(
            "Household %(household)s: access code %(code)s",
            household=first.file_stem,
            code=first.code,
        )
    )
    click.echo("    " + _("Personal sign-in link: %(url)s", url=first.url))
    click.echo("  " + _("All household codes: %(file)s", file=str(codes_file)))
    for line in seeded:
        click.echo(line)
    click.echo("  " + _("Staff sign-in: %(url)s", url=f"{base_url}/console/sign-in"))
    for role in Role:
        username = f"demo-{role.value}"
        password = secrets.token_urlsafe(9)
        operations.grant_staff_role(
            username, role, None if role == Role.ADMIN else estate, password
        )
        click.echo(
            "    "
            + _(
                "%(role)s: username %(username)s, password %(password)s",
                role=role.label,
                username=username,
                password=password,
            )
        )
    click.echo("")


@click.command("purge")
def purge():
    """Delete personal data past its retention (docs/domain.md); safe to run from cron."""
    for what, removed in run_purge(utcnow()):
        click.echo(_("%(what)s: %(count)s removed", what=_(what), count=removed))


@report_cli.command("monthly")
@click.option("--district", default=None, help="District (区/县); default: every estate.")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--lang",
    type=click.Choice(["zh_Hans_CN", "en"]),
    default=None,
    help="Default: the configured language (DEFAULT_LANGUAGE).",
)
def report_monthly(district, month, out, lang):
    """The monthly progress report (月通报) as an XLSX workbook, as the console makes it."""
    from flask_babel import force_locale

    from . import overview

    try:
        overview.parse_month(month)
    except ValueError:
        raise click.ClickException(_("The month must look like 2026-11.")) from None
    query = select(Estate).order_by(Estate.district, Estate.code)
    if district:
        query = query.where(Estate.district == district)
    estates = list(db.session.scalars(query))
    if district and not estates:
        raise click.ClickException(
            _("No estate is in the district %(district)s.", district=district)
        )
    label = _("Counting the estates' figures")
    with (
        force_locale(lang or current_app.config["BABEL_DEFAULT_LOCALE"]),
        # On stderr, in the operator's language like the other messages (not the report's).
        click.progressbar(length=0, label=label, file=sys.stderr) as bar,
    ):

        def progress(done, total):
            bar.length = total + 1  # and the workbook
            bar.update(done - bar.pos)

        rows, total, activity = overview.monthly_report(month, estates, progress=progress)
        write_private(out, overview.monthly_workbook(rows, total, activity, month, district, _))
        bar.update(1)
    click.echo(
        _(
            "Monthly report for %(count)s estates written to %(file)s.",
            count=len(estates),
            file=str(out),
        )
    )


def init_app(app) -> None:
    for group in (estate_cli, registry_cli, codes_cli, staff_cli, report_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo)
    app.cli.add_command(purge)
    from . import backup

    backup.init_app(app)
