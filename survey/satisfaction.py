"""What the survey feature does for the renovation's satisfaction survey (满意度测评):
opens it and reads its results through the survey machinery (registered by create_app in
resident_portal/renovation/satisfaction.py, which the ground may call but not import from here).

One answer per owner on the roll (covering their households, like every ballot); the answers
are kept in the three choices (survey/models.py: 满意 as support, 基本满意 as abstain,
不满意 as oppose), so the kept tally, receipts, paper entry and the secrecy rule are the same.
"""

from datetime import datetime

from sqlalchemy import select

from resident_portal.extensions import db
from resident_portal.messages import current_locale
from resident_portal.models import utcnow
from resident_portal.renovation.satisfaction import ItemSatisfaction, SatisfactionResult

from . import operations, results
from .definition import ItemDefinition, SurveyDefinition
from .models import ItemCategory, Survey, SurveyKind, SurveyStatus

TITLE = "{name}满意度测评"
TITLE_EN = "Satisfaction survey: {name}"


class Satisfaction:
    def open(self, project, item_titles: list[str], closes_at: datetime, staff_user) -> int:
        definition = SurveyDefinition(
            title=TITLE.format(name=project.name)[:200],
            title_en=TITLE_EN.format(name=project.name)[:200],
            kind=SurveyKind.SATISFACTION,
            matter=None,
            building=None,
            unit=None,
            opens_at=utcnow(),
            closes_at=closes_at,
            max_priorities=0,
            allow_suggestion=True,  # the optional comment
            items=[ItemDefinition(ItemCategory.BASIC, title[:200]) for title in item_titles],
        )
        return operations.add_survey(project.estate, definition, staff_user=staff_user).id

    def results(self, survey_ids: list[int]) -> dict[int, SatisfactionResult]:
        surveys = db.session.scalars(
            select(Survey).where(Survey.id.in_(survey_ids), Survey.kind == SurveyKind.SATISFACTION)
        ).all()
        found = {}
        locale = current_locale()
        for survey in surveys:
            counted = results.compute(survey)
            overall = counted.overall
            items = []
            if counted.shows():
                titles = {item.id: item.localized_title(locale) for item in survey.items}
                items = [
                    ItemSatisfaction(
                        titles[r.item_id],
                        satisfied=r.support.households,
                        basically_satisfied=r.abstain.households,
                        dissatisfied=r.oppose.households,
                    )
                    for r in overall.items
                ]
            found[survey.id] = SatisfactionResult(
                survey_id=survey.id,
                closes_at=survey.closes_at,
                closed=survey.status() is SurveyStatus.CLOSED,
                households=overall.eligible.households,
                answered=overall.participated.households,
                items=items,
            )
        return found


SATISFACTION = Satisfaction()
