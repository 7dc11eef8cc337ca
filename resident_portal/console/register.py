"""The estates: the list, an estate's dashboard, its households and the register import."""

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import access, dashboard, operations
from ..access import Permission, require
from ..estates import household_in_estate
from ..extensions import db
from ..forms import ConfirmForm, RegistryUploadForm, form_status
from ..jobs import operations as job_operations
from ..messages import current_locale, describe_error, describe_problem
from ..models import Estate, PendingImport, utcnow
from ..privacy import mask_name, mask_phone
from ..registry import parse_registry
from . import bp
from .codes import household_counts


@bp.get("/")
@require(Permission.CONSOLE)
def index():
    estates = access.estates_seen(access.current_staff(), Permission.CONSOLE, Estate.code)
    return render_template("console/index.html", estates=estates, form=ConfirmForm())


@bp.get("/<estate_code>")
@require(Permission.CONSOLE)
def estate(estate_code):
    """The estate's dashboard: open votes against the quorum, pledges against target, open and
    overdue reports, and what to do next (panels registered by the features, dashboard.py)."""
    estate, now = g.estate, utcnow()
    counts = household_counts(estate)
    panels, tasks = dashboard.panels(estate, now)
    return render_template(
        "console/estate.html",
        estate=estate,
        counts=counts,
        panels=panels,  # (template, its context as `panel`)
        tasks=dashboard.urgent_first(_register_tasks(estate, counts) + tasks),
        locale=current_locale(),
    )


def _register_tasks(estate, counts) -> list:
    """The ground's own next steps: a register to import, codes to issue."""
    if counts["households"] == 0 and access.may(Permission.REGISTRY_IMPORT, estate):
        url = url_for("console.registry_import", estate_code=estate.code)
        return [dashboard.Task(_("Import the household register."), url, urgent=True)]
    missing = counts["households"] - counts["with_code"]
    if missing and access.may(Permission.CODES_ISSUE, estate):
        url = url_for("console.issue_codes", estate_code=estate.code)
        text = _(
            "%(count)s households have no access code yet: print their letters.", count=missing
        )
        return [dashboard.Task(text, url)]
    return []


@bp.get("/<estate_code>/households")
@require(Permission.REGISTRY_VIEW)
def households(estate_code):
    estate = g.estate
    rows = [
        (building, unit, household)
        for building in estate.sorted_buildings
        for unit in building.sorted_units
        for household in unit.sorted_households
    ]
    return render_template(
        "console/households.html",
        estate=estate,
        rows=rows,
        mask_name=mask_name,
        mask_phone=mask_phone,
    )


@bp.get("/<estate_code>/households/<int:household_id>")
@require(Permission.REGISTRY_CONTACTS)
def household(estate_code, household_id):
    household = household_in_estate(household_id)
    # A full record (name, phone): who looked is written down (issue 12).
    operations.record_personal_data_access(
        "household.view", staff_user=access.current_staff(), estate=g.estate, household=household.id
    )
    return render_template(
        "console/household.html",
        estate=g.estate,
        household=household,
        others=[h for h in access.households_of_owner(household) if h.id != household.id],
        form=ConfirmForm(),
    )


@bp.route("/<estate_code>/registry", methods=["GET", "POST"])
@require(Permission.REGISTRY_IMPORT)
def registry_import(estate_code):
    estate = g.estate
    form = RegistryUploadForm()
    if not form.validate_on_submit():
        return render_template(
            "console/registry_upload.html", estate=estate, form=form
        ), form_status(form)
    upload = form.register.data
    content = upload.read()
    parsed = parse_registry(content, upload.filename or "")
    pending = None
    plan = None
    if parsed.ok:
        plan = operations.plan_import(estate, parsed)
        pending = operations.hold_upload(estate, access.current_staff(), upload.filename, content)
    return render_template(
        "console/registry_preview.html",
        estate=estate,
        parsed=parsed,
        plan=plan,
        pending=pending,
        form=ConfirmForm(),
        describe_problem=describe_problem,
    ), (200 if parsed.ok else 422)


@bp.post("/<estate_code>/registry/<int:pending_id>")
@require(Permission.REGISTRY_IMPORT)
def registry_confirm(estate_code, pending_id):
    pending = db.get_or_404(PendingImport, pending_id)
    if pending.estate_id != g.estate.id or pending.staff_user_id != access.current_staff().id:
        abort(404)
    parsed = parse_registry(pending.content, pending.filename)
    if len(parsed.rows) > current_app.config["REGISTRY_JOB_ROWS"]:
        # A big register is written by a job (registry_job.py): same check, same import.
        job = job_operations.submit(
            "registry_import",
            staff_user=access.current_staff(),
            estates=[g.estate],
            estate=g.estate,
            params={"pending_id": pending.id},
            base_url=request.host_url,
        )
        return redirect(url_for("jobs.page", job_id=job.id), code=303)
    try:
        plan = operations.import_registry(g.estate, parsed, staff_user=access.current_staff())
    except operations.OperationError as error:
        flash(describe_error(error), "error")
        return redirect(url_for("console.registry_import", estate_code=g.estate.code))
    operations.discard_upload(pending)
    flash(
        _(
            "Register imported: %(new)s new, %(updated)s updated, %(unchanged)s unchanged.",
            new=len(plan.new),
            updated=len(plan.updated),
            unchanged=plan.unchanged,
        )
    )
    return redirect(url_for("console.households", estate_code=g.estate.code))
