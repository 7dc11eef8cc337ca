"""The pledges' panel of the console's estate dashboard (resident_portal/dashboard.py): each
open campaign's pledges and payments against its target, and what to do next."""

from datetime import datetime, timedelta

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from resident_portal.access import Permission, may
from resident_portal.common import format_fen
from resident_portal.dashboard import Task, dashboard_panel
from resident_portal.extensions import db
from resident_portal.messages import current_locale
from resident_portal.models import Estate

from . import tracker
from .models import Campaign

SOON = timedelta(days=7)  # a deadline this close makes the door-to-door list urgent


@dashboard_panel("contributions/_dashboard.html", 20)
def campaigns_panel(estate: Estate, now: datetime) -> dict | None:
    if not may(Permission.CAMPAIGN_VIEW, estate):
        return None
    campaigns = db.session.scalars(
        select(Campaign)
        .where(Campaign.estate_id == estate.id, Campaign.deadline > now)
        .order_by(Campaign.deadline)
    ).all()
    states, tasks = [], []
    for campaign in campaigns:
        state = tracker.progress(campaign)
        states.append(state)
        title = campaign.localized_title(current_locale())
        not_answered = state.totals.households - state.totals.answered
        if not_answered:
            tasks.append(
                Task(
                    _(
                        "%(title)s: %(count)s households have not answered; the deadline is "
                        "%(time)s.",
                        title=title,
                        count=not_answered,
                        time=format_datetime(campaign.deadline, "short"),
                    ),
                    url_for(
                        "contributions.console_not_answered",
                        estate_code=estate.code,
                        campaign_id=campaign.id,
                    ),
                    urgent=campaign.deadline - now <= SOON,
                )
            )
        owed = sum(max(0, line.pledged_fen - line.paid_fen) for line in state.lines)
        if owed and may(Permission.PAYMENTS_RECORD, estate):
            tasks.append(
                Task(
                    _(
                        "%(title)s: ¥%(amount)s pledged but not yet received; record payments "
                        "as they come in.",
                        title=title,
                        amount=format_fen(owed),
                    ),
                    url_for(
                        "contributions.console_payment",
                        estate_code=estate.code,
                        campaign_id=campaign.id,
                    ),
                )
            )
    return {"states": states, "tasks": tasks}
