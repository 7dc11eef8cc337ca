"""The survey API: surveys and their results as JSON for staff tokens, and the OpenAPI document."""

from flask import g, jsonify
from sqlalchemy import select

from resident_portal import access
from resident_portal.access import Permission, public, require
from resident_portal.extensions import db
from resident_portal.messages import current_locale

from .. import results
from ..blueprint import bp, survey_estate
from ..models import Survey


@bp.get("/api/v1/surveys")
@require(Permission.SURVEY_RESULTS)
def api_surveys():
    query = select(Survey).order_by(Survey.id)
    if g.estate is not None:
        query = query.where(Survey.estate_id == g.estate.id)
    else:
        estates = access.estates_with(access.current_staff(), Permission.SURVEY_RESULTS)
        if estates is not None:
            query = query.where(Survey.estate_id.in_([e.id for e in estates]))
    return jsonify(
        {
            "surveys": [
                results.survey_summary(s, current_locale()) for s in db.session.scalars(query)
            ]
        }
    )


@bp.get("/api/v1/surveys/<int:survey_id>/results")
@require(Permission.SURVEY_RESULTS, estate_of=survey_estate)
def api_results(survey_id):
    return jsonify(results.as_api(results.compute(g.survey), current_locale()))


@bp.get("/api/v1/openapi.json")
@public
def openapi():
    from ..openapi import document

    return jsonify(document())
