"""Door-to-door lists (the not-voted and not-pledged lists): what the features share.

Each feature owns its list and its visit table (survey_visit, campaign_visit, built on
models.VisitRecord); this module reads the latest outcome per household, filters a list by it
and words the filter. Recording a visit and auditing a view of full contacts are in
operations.py. Names and phones are masked unless the viewer holds
Permission.DOOR_TO_DOOR_CONTACTS (the estate's own secretary), and such a view is a POST that
is audited: nothing is written on a GET.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .extensions import db
from .models import VISIT_LABELS, VisitOutcome

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
