"""Renovation console: completion acceptance (竣工验收): the representatives' sign-off typed by
the secretary, the planner passing it, and the satisfaction survey opened at 完工."""

from flask import g

from ... import access
from ...access import Permission, require
from .. import operations
from ..blueprint import bp, project_estate
from ..forms import AcceptForm, SatisfactionForm, SignoffForm
from .console import attempt


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/signoff")
@require(Permission.RENOVATION_SIGNOFF, estate_of=project_estate)
def console_signoff(estate_code, renovation_id):
    form = SignoffForm()
    return attempt(
        lambda: operations.record_signoff(
            g.project,
            form.representatives.data,
            form.signed_on.data,
            staff_user=access.current_staff(),
        ),
        "signoff",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/accept")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_accept(estate_code, renovation_id):
    form = AcceptForm()
    return attempt(
        lambda: operations.pass_acceptance(
            g.project,
            form.on.data,
            form.override_reason.data or "",
            staff_user=access.current_staff(),
        ),
        "accept",
        form,
    )


@bp.post("/console/<estate_code>/renovation/<int:renovation_id>/satisfaction")
@require(Permission.RENOVATION_MANAGE, estate_of=project_estate)
def console_satisfaction(estate_code, renovation_id):
    form = SatisfactionForm()
    return attempt(
        lambda: operations.open_satisfaction(
            g.project, form.closes_on.data, staff_user=access.current_staff()
        ),
        "satisfaction",
        form,
    )
