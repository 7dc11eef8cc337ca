"""Door-to-door lists (the not-voted and not-pledged lists): what the features share.

Each feature owns its list and its visit table (survey_visit, campaign_visit, built on
models.VisitRecord); this module reads the latest outcome per household, filters a list by it
and words the filter, answers the list, and answers a visit recorded from it. Recording a
visit and auditing a view of full contacts are in operations.py. Names and phones are masked
unless the viewer holds Permission.DOOR_TO_DOOR_CONTACTS (the estate's own secretary), and
such a view is a POST that is audited: nothing is written on a GET.
"""

from flask import flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from . import access, operations
from .blueprint import no_store
from .common import OperationError
from .extensions import db
from .forms import VisitForm
from .messages import current_locale, describe_error
from .models import VISIT_LABELS, VisitOutcome, utcnow
from .pdf import pdf_response, wants_pdf
from .privacy import mask_name, mask_phone

NOT_VISITED = "none"  # the filter value for households without any recorded visit

VISIT_FILTERS = [("", _l("Everyone on the list")), (NOT_VISITED, _l("Not visited yet"))] + [
    (outcome.value, label) for outcome, label in VISIT_LABELS.items()
]


def latest_visits(model, owner_column, owner_id: int, household_ids) -> dict:
    """Per household id, its latest visit record (model rows whose owner_column is owner_id)."""
    household_ids = list(household_ids)
    if not household_ids:
        return {}
    latest = (
        select(func.max(model.id))
        .where(owner_column == owner_id, model.household_id.in_(household_ids))
        .group_by(model.household_id)
    )
    rows = db.session.scalars(select(model).where(model.id.in_(latest)))
    return {row.household_id: row for row in rows}


def visit_filter(value: str | None) -> str:
    """The ?visit= value if it is one of the filters, else "" (everyone)."""
    value = value or ""
    return value if value in dict(VISIT_FILTERS) else ""


def keeps(wanted: str, visit) -> bool:
    """Whether a household whose latest visit is `visit` (or None) passes the filter."""
    if not wanted:
        return True
    if wanted == NOT_VISITED:
        return visit is None
    return visit is not None and visit.outcome is VisitOutcome(wanted)


def list_page(
    template: str,
    entries: list,
    household_of,
    visits: dict,
    wanted: str,
    *,
    pdf_name: str,
    full: bool = False,
    errors=None,
    status: int = 200,
    **context,
):
    """A feature's door-to-door list answered: `entries` (households, or lines that name one
    through `household_of`) grouped by building and unit and filtered by the latest visit;
    names and phones masked unless `full`; `?format=pdf` as a PDF (masked lists only); a list
    with full contacts is never cached."""
    groups: dict[tuple, list] = {}
    shown = 0
    for entry in entries:
        h = household_of(entry)
        if keeps(wanted, visits.get(h.id)):
            groups.setdefault((h.unit.building.number, h.unit.number), []).append(entry)
            shown += 1
    page = render_template(
        template,
        estate=g.estate,
        groups=groups,
        visits=visits,
        total=len(entries),
        shown=shown,
        wanted=wanted,
        filters=VISIT_FILTERS,
        full=full,
        errors=errors or {},
        name=(lambda x: x or "") if full else mask_name,
        phone=(lambda x: x or "") if full else mask_phone,
        now=utcnow(),
        locale=current_locale(),
        **context,
    )
    if wants_pdf(request) and not full:
        return pdf_response(page, pdf_name, request.host_url)
    response = make_response(page, status)
    return no_store(response) if full else response


def contacts_page(list_page, list_name: str, **about):
    """The list with full names and phones, for the estate's own secretary (the route requires
    Permission.DOOR_TO_DOOR_CONTACTS): a POST, because every such view is written in the audit
    log, with the list's name, the filter and `about` (which survey or campaign)."""
    wanted = visit_filter(request.form.get("visit"))
    operations.audit_contacts_view(
        staff_user=access.current_staff(),
        estate=g.estate,
        list_name=list_name,
        filter=wanted,
        **about,
    )
    return list_page(wanted, full=True)


def record_visit_from_list(household, record, list_page, list_endpoint: str, **list_args):
    """A visit recorded from a line of a door-to-door list (VisitForm, with the list's ?visit=
    filter). `record(outcome, note)` is the feature's operation, which checks the household is
    on its list; then a 303 back to `list_endpoint` (with `list_args` and the filter). A refused
    visit shows the list again, `list_page(wanted, errors=..., status=422)`, with the message
    beside the household."""
    wanted = visit_filter(request.form.get("visit"))
    form = VisitForm()
    if form.validate_on_submit():
        try:
            record(form.outcome.data, form.note.data)
        except OperationError as error:
            message = describe_error(error)
        else:
            outcome = VisitOutcome(form.outcome.data).label
            flash(_("%(address)s: %(outcome)s.", address=household.address, outcome=outcome))
            return redirect(url_for(list_endpoint, **list_args, visit=wanted or None), code=303)
    else:
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
    return list_page(wanted, errors={household.id: message}, status=422)
