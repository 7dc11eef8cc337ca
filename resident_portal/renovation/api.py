"""The renovation's read-only API as JSON (one source for every endpoint; their description is
openapi.py's). Money is integer fen; shares are given exactly as [part, whole] besides a rounded
percentage for reading; no personal data."""

from ..models import utcnow
from . import bulletin, money, record
from .figures import day_before as bulletin_day
from .models import Project


def _share(value) -> dict | None:
    if value is None:
        return None
    return {
        "part": value.numerator,
        "whole": value.denominator,
        "percent": money.percent_text(value).rstrip("%"),
    }


def project_summary(project: Project) -> dict:
    current = project.current_stage
    return {
        "id": project.id,
        "estate": project.estate.code,
        "name": project.name,
        "batch_year": project.batch_year,
        "current_stage": current.value if current else None,
        "updated_at": project.updated_at.isoformat(timespec="seconds") + "Z",
    }


def project_detail(project: Project) -> dict:
    lines = record.funding_lines(project)
    budget = record.budget(lines)
    reports = record.report_summary(project.estate)
    return {
        **project_summary(project),
        "hotline": project.hotline,
        "invested_fen": project.invested_fen,
        "scope": [
            {"title": i.title, "survey_item_id": i.survey_item_id} for i in project.scope_items
        ],
        "parties": [
            {"role": p.role.value, "name": p.name, "contact": p.contact, "phone": p.phone}
            for p in project.parties
        ],
        "stages": [
            {
                "stage": line.stage.value,
                "planned_on": line.planned_on.isoformat() if line.planned_on else None,
                "actual_on": line.actual_on.isoformat() if line.actual_on else None,
                "late_days": line.late_days,
            }
            for line in record.stage_lines(project)
        ],
        "funding": [
            {
                "source": line.source.value,
                "planned_fen": line.planned_fen,
                "received_fen": line.received_fen,
                "pledged_fen": line.pledged_fen,
                "note": line.note,
            }
            for line in lines
        ],
        "funding_totals": {
            "planned_fen": budget.planned,
            "received_fen": budget.received,
            "received_rate": _share(budget.received_rate),
            "residents_share_pledged": _share(budget.residents_share_pledged),
            "residents_share_received": _share(budget.residents_share_received),
        },
        "reports": {
            "open": reports.open,
            "open_safety": reports.open_safety,
            "resolved": reports.resolved,
        },
    }


def district_summary(s: bulletin.Summary) -> dict:
    t = s.targets
    return {
        "district": s.district,
        "projects": s.projects,
        "by_stage": s.by_stage,
        "started": s.started,
        "completed": s.completed,
        "accepted": s.accepted,
        "behind_schedule": s.late,
        "targets": {
            "to_start": t.to_start,
            "to_finish": t.to_finish,
            "to_accept": t.to_accept,
            "investment_fen": t.investment_fen,
        },
        "start_rate": _share(s.start_rate),
        "completion_rate": _share(s.completion_rate),
        "acceptance_rate": _share(s.acceptance_rate),
        "invested_fen": s.invested_fen,
        "planned_fen": s.planned_fen,
        "received_fen": s.received_fen,
        "received_rate": _share(s.received_rate),
        "residents_pledged_fen": s.residents_pledged_fen,
        "residents_share_pledged": _share(s.residents_share_pledged),
        "residents_share_received": _share(s.residents_share_received),
        "satisfaction_surveys": s.surveyed,
        "satisfied": s.satisfied,
        "satisfaction_answers": s.satisfaction_answers,
        "satisfaction_rate": _share(s.satisfaction_rate),
    }


def districts_document(totals, end) -> dict:
    """`end`: the moment the figures stand at (naive UTC); as_of is its China day."""
    return {
        "year": totals.year,
        "as_of": bulletin_day(end).isoformat(),
        "generated_at": utcnow().isoformat(timespec="seconds") + "Z",
        "districts": [district_summary(s) for s in totals.districts],
        "city": district_summary(totals.city),
        "behind_schedule": [s.district for s in totals.behind],
    }
