"""The console's estate page as a dashboard: what stands open and what to do next.

A registration point like blueprint.HOME_PANELS, so that this package does not import the
features: each feature registers a panel (survey/dashboard.py, contributions/dashboard.py; the
quality reports' panel is here, reports being part of this package). A panel function gets the
estate and the moment and returns its template's context, or None to show nothing; the context's
"tasks" (a list of Task) are gathered into the page's "What to do next" list, urgent ones first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _

from .models import Estate

PANELS: list[tuple[int, str, Callable[[Estate, datetime], dict | None]]] = []


@dataclass(frozen=True)
class Task:
    text: str  # in the reader's language
    url: str
    urgent: bool = False


def dashboard_panel(template: str, position: int):
    def register(function):
        if not any(t == template for _p, t, _f in PANELS):  # one per template, app after app
            PANELS.append((position, template, function))
            PANELS.sort(key=lambda panel: panel[0])
        return function

    return register


def panels(estate: Estate, now: datetime) -> tuple[list[tuple[str, dict]], list[Task]]:
    """The panels to show, with their contexts, and every task, urgent ones first."""
    shown, tasks = [], []
    for _position, template, function in PANELS:
        context = function(estate, now)
        if context is None:
            continue
        shown.append((template, context))
        tasks.extend(context.get("tasks", []))
    return shown, urgent_first(tasks)


def urgent_first(tasks: list[Task]) -> list[Task]:
    return sorted(tasks, key=lambda task: not task.urgent)  # stable: panels keep their order


@dashboard_panel("console/_dashboard_reports.html", 30)
def reports_panel(estate: Estate, now: datetime) -> dict | None:
    from .access import Permission, may
    from .reports.figures import ReportsProvider

    if not may(Permission.REPORTS_VIEW, estate):
        return None
    figures = ReportsProvider().estate_figures([estate.id], now)[estate.id]
    tasks = []
    if figures.reports_overdue:
        tasks.append(
            Task(
                _(
                    "%(count)s problem reports are overdue: see that someone answers them.",
                    count=figures.reports_overdue,
                ),
                url_for("reports.inbox", estate_code=estate.code),
                urgent=True,
            )
        )
    return {"figures": figures, "tasks": tasks}
