"""The survey feature's part of the demo estate (`flask --app resident_portal demo`),
registered by create_app as a demo seeder (resident_portal/cli.py)."""

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal.extensions import db
from resident_portal.models import Estate, utcnow

from . import operations, rules
from .catalogue import BY_KEY
from .definition import parse_definition
from .models import Survey, SurveyKind


def demo_surveys(estate: Estate) -> list[str]:
    """An open consultation for the estate, once; the lines `flask demo` prints about it. (The
    elevator consent vote of unit 1-1 belongs to its elevator project: contributions/demo.py.)"""
    surveys = list(db.session.scalars(select(Survey).where(Survey.estate_id == estate.id)))
    if not surveys:
        surveys = _create(estate)
    return [
        "  "
        + _(
            "Open survey %(id)s: %(title)s (%(kind)s)",
            id=s.id,
            title=s.title,
            kind=rules.DECISION if s.kind is SurveyKind.DECISION else rules.CONSULTATION,
        )
        for s in surveys
    ]


def _create(estate: Estate) -> list[Survey]:
    start = (utcnow() - timedelta(hours=1)).isoformat() + "+00:00"
    end = (utcnow() + timedelta(days=30)).isoformat() + "+00:00"

    def items(*keys):
        return [
            {
                "category": BY_KEY[k].category.value,
                "title": BY_KEY[k].title,
                "title_en": BY_KEY[k].title_en,
                "description": BY_KEY[k].description,
                "description_en": BY_KEY[k].description_en,
            }
            for k in keys
        ]

    definitions = [
        {
            "title": "美苑小区改造项目意愿征询",
            "title_en": "Which renovation items do you want?",
            "kind": "consultation",
            "opens_at": start,
            "closes_at": end,
            "max_priorities": 2,
            "allow_suggestion": True,
            "items": items("roof", "exterior_walls", "stairwells", "parking", "canteen"),
        },
    ]
    created = []
    for data in definitions:
        definition, problems = parse_definition(data)
        if problems:  # a mistake in the demo definitions above (an assert would vanish with -O)
            raise RuntimeError(f"demo survey definition is invalid: {problems}")
        created.append(operations.create_survey(estate, definition))
    return created
