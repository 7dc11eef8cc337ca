"""The renovation blueprint: its loaders and message wording. The views register on `bp` from
renovation/views/ by audience: public.py (the notice board), console*.py (staff: the project
record, its progress, funding and acceptance, the planners' import and targets), api.py.

Routes only parse, authorise and render; changes happen in renovation/operations.py.
"""

from flask import Blueprint, abort, g
from flask_babel import gettext as _

from ..common import format_fen
from ..extensions import db
from ..models import Estate
from .models import FUNDING_LABELS, PARTY_LABELS, STAGE_LABELS, FundingSource, Project, Stage
from .money import percent_text

bp = Blueprint("renovation", __name__)


def project_estate(kwargs: dict) -> Estate:
    """The estate of the project a URL names (404 if it names another estate's project)."""
    project = db.session.get(Project, kwargs["renovation_id"])
    if project is None or (
        "estate_code" in kwargs and project.estate.code != kwargs["estate_code"].lower()
    ):
        abort(404)
    g.project = project
    return project.estate


def describe(error) -> str:
    """A refused change (or a spreadsheet problem) in the reader's language, its stage, source
    and field names too; a problem on a line says which."""
    params = dict(error.params)
    for key in ("stage", "earlier"):
        if params.get(key) in {s.value for s in Stage}:
            params[key] = str(STAGE_LABELS[Stage(params[key])])
    if params.get("source") in {s.value for s in FundingSource}:
        params["source"] = str(FUNDING_LABELS[FundingSource(params["source"])])
    for key in ("field", "which"):
        if key in params:
            params[key] = _(params[key])
    text = _(error.message, **params)
    if getattr(error, "line", 0):
        return _("Line %(line)s: %(problem)s", line=error.line, problem=text)
    return text


@bp.app_context_processor
def renovation_labels():
    return {
        "RENOVATION_STAGE_LABELS": STAGE_LABELS,
        "RENOVATION_PARTY_LABELS": PARTY_LABELS,
        "RENOVATION_FUNDING_LABELS": FUNDING_LABELS,
        "format_fen": format_fen,
        "renovation_percent": percent_text,
    }


# The views register on `bp` (imported last: they import `bp` from here).
from .views import (  # noqa: E402, F401
    api,
    console,
    console_acceptance,
    console_funding,
    console_planning,
    console_progress,
    public,
)
