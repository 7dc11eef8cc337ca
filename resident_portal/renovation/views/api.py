"""The renovation API: projects, one project, and the districts' bulletin figures, as JSON for
staff tokens (the same tokens and OpenAPI document as the survey results)."""

from flask import abort, g, jsonify, request
from sqlalchemy import select

from ... import access
from ...access import Permission, require
from ...extensions import db
from ...models import utcnow
from ...overview import parse_month
from .. import api, figures
from ..blueprint import bp, project_estate
from ..models import Project


@bp.get("/api/v1/renovation/projects")
@require(Permission.RENOVATION_VIEW)
def api_projects():
    query = select(Project).order_by(Project.id)
    if g.estate is not None:
        query = query.where(Project.estate_id == g.estate.id)
    else:
        estates = access.estates_with(access.current_staff(), Permission.RENOVATION_VIEW)
        if estates is not None:
            query = query.where(Project.estate_id.in_([e.id for e in estates]))
    return jsonify({"projects": [api.project_summary(p) for p in db.session.scalars(query)]})


@bp.get("/api/v1/renovation/projects/<int:renovation_id>")
@require(Permission.RENOVATION_VIEW, estate_of=project_estate)
def api_project(renovation_id):
    return jsonify(api.project_detail(g.project))


@bp.get("/api/v1/renovation/districts")
@require(Permission.OVERVIEW)
def api_districts():
    """The same computation as the monthly report, over the estates the caller may overview:
    today's figures, or with ?month=YYYY-MM those at the end of that month."""
    # Present but empty is not a year or a month either (the OpenAPI document's types).
    typed = request.args.get("year")
    if typed is not None and not (
        typed.isascii() and typed.isdigit() and 2000 <= int(typed) <= 2100
    ):
        abort(404)
    now = utcnow()
    end = now
    if "month" in request.args:
        try:
            end = min(parse_month(request.args["month"])[1], now)
        except ValueError:
            abort(404)
    estates = access.estates_seen(access.current_staff(), Permission.OVERVIEW)
    year = int(typed) if typed else figures.day_before(end).year
    data = figures.facts([e.id for e in estates], year, end)
    return jsonify(api.districts_document(figures.summarise(list(data.values()), year), end))
