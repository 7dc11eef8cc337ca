"""The surveys' panel of the console's estate dashboard (resident_portal/dashboard.py):
participation of open votes against the quorum and what to do next. Participation only: choice
figures stay secret until closing, here as everywhere."""

from datetime import datetime, timedelta

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal.access import Permission, may
from resident_portal.common import format_area
from resident_portal.dashboard import Task, dashboard_panel
from resident_portal.extensions import db
from resident_portal.messages import current_locale
from resident_portal.models import Estate

from . import results, tally
from .models import Survey, SurveyKind, SurveyStatus

SOON = timedelta(days=3)  # a vote closing this soon, or opening, is worth a reminder
RECENTLY = timedelta(days=30)  # a notice to post, for this long after closing


def _url(endpoint: str, survey: Survey) -> str:
    return url_for(endpoint, estate_code=survey.estate.code, survey_id=survey.id)


@dashboard_panel("survey/_dashboard.html", 10)
def surveys_panel(estate: Estate, now: datetime) -> dict | None:
    if not may(Permission.SURVEY_VIEW, estate):
        return None
    surveys = list(
        db.session.scalars(
            select(Survey).where(Survey.estate_id == estate.id).order_by(Survey.closes_at)
        )
    )
    open_votes, tasks = [], []
    for survey in surveys:
        status = survey.status(now)
        if status is SurveyStatus.OPEN:
            overall = results.compute(survey).overall
            decision = survey.kind is SurveyKind.DECISION
            heads, area = tally.quorum_shortfall(overall.eligible, overall.participated)
            open_votes.append(
                {"survey": survey, "overall": overall, "decision": decision, "short": (heads, area)}
            )
            closing = format_datetime(survey.closes_at, "short")
            if decision and not overall.quorum_met:
                tasks.append(
                    Task(
                        _(
                            "%(title)s closes %(time)s: at least %(owners)s more owners and "
                            "%(area)s m² more must take part for the vote to be valid. Visit "
                            "those who have not voted.",
                            title=survey.localized_title(current_locale()),
                            time=closing,
                            owners=heads,
                            area=format_area(area),
                        ),
                        _url("survey.console_not_voted", survey),
                        urgent=survey.closes_at - now <= SOON,
                    )
                )
            elif not decision and overall.participated.heads < overall.eligible.heads:
                tasks.append(
                    Task(
                        _(
                            "%(title)s closes %(time)s: %(count)s households have not answered.",
                            title=survey.localized_title(current_locale()),
                            time=closing,
                            count=overall.eligible.heads - overall.participated.heads,
                        ),
                        _url("survey.console_not_voted", survey),
                    )
                )
        elif status is SurveyStatus.DRAFT and survey.opens_at - now <= SOON:
            tasks.append(
                Task(
                    _(
                        "%(title)s opens %(time)s: check its items and print the paper ballots.",
                        title=survey.localized_title(current_locale()),
                        time=format_datetime(survey.opens_at, "short"),
                    ),
                    _url("survey.console_survey", survey),
                )
            )
        elif status is SurveyStatus.CLOSED and now - survey.closes_at <= RECENTLY:
            tasks.append(
                Task(
                    _(
                        "%(title)s has closed: print and post its public notice.",
                        title=survey.localized_title(current_locale()),
                    ),
                    _url("survey.notice_print", survey),
                )
            )
    return {"open_votes": open_votes, "tasks": tasks}
