"""Renovation console: a project's budget by funding source, planned and received (到位).
The residents' line has only its plan: its money comes from the estate's campaigns."""

from flask import g

from ... import access
from ...access import Permission, require
from .. import operations
from ..blueprint import bp, project_estate
from ..forms import BudgetForm, budget_of
from .console import attempt


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/budget")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_budget(estate_code, renovation_id):
    form = BudgetForm()
    return attempt(
        lambda: operations.set_budget(
            g.project, budget_of(form, g.project), staff_user=access.current_staff()
        ),
        "budget_form",
        form,
    )
