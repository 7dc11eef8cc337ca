"""What the survey feature tells the renovation record: the items residents approved, offered as
the project's scope (registered by create_app: resident_portal/renovation/record.py)."""

from sqlalchemy import select

from resident_portal.extensions import db
from resident_portal.messages import current_locale
from resident_portal.models import Estate

from . import results
from .models import Survey, SurveyKind, SurveyStatus


def approved_items(estate: Estate) -> list[tuple[int, str]]:
    """(item id, title) of every item a closed joint decision of the estate approved."""
    found = []
    surveys = db.session.scalars(
        select(Survey)
        .where(Survey.estate_id == estate.id, Survey.kind == SurveyKind.DECISION)
        .order_by(Survey.closes_at)
    )
    for survey in surveys:
        if survey.status() is not SurveyStatus.CLOSED:
            continue
        titles = {item.id: item.localized_title(current_locale()) for item in survey.items}
        for result in results.compute(survey).overall.items:
            if result.approved:
                found.append((result.item_id, titles[result.item_id]))
    return found
