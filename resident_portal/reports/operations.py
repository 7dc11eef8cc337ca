"""State changes of quality reports: one transaction each, every change on the timeline."""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import monitoring
from ..common import N_, OperationError
from ..extensions import db
from ..models import Building, Estate, Household, StaffUser, Unit, utcnow
from ..operations import audit
from .models import (
    REPORTER_TRANSITIONS,
    STAFF_TRANSITIONS,
    Category,
    Open311Key,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportSupport,
    Status,
)
from .photos import Photo, photo_store

MAX_PHOTOS = 3
MAX_DESCRIPTION = 2000


@dataclass(frozen=True)
class Location:
    """Where: the reporter's own household, a building or unit, and/or a common area."""

    household: Household | None = None
    building: Building | None = None
    unit: Unit | None = None
    common_area: str = ""


def similar_open_reports(estate: Estate, category: Category, building: Building | None):
    """Open reports of the same category in the same building: offered before a duplicate."""
    if building is None:
        return []
    return list(
        db.session.scalars(
            select(Report)
            .where(
                Report.estate_id == estate.id,
                Report.category == category,
                Report.building_id == building.id,
                Report.hidden_at.is_(None),
                Report.status.not_in([Status.RESOLVED, Status.CONFIRMED]),
            )
            .order_by(Report.created_at.desc())
        )
    )


def _attach(report: Report, photos: list[Photo], event: ReportEvent | None = None) -> None:
    store = photo_store()
    for photo in photos:
        store.put(photo)  # content-addressed: a failed transaction leaves only a harmless file
        if not any(p.photo_key == photo.key for p in report.photos):
            report.photos.append(
                ReportPhoto(photo_key=photo.key, event_id=event.id if event else None)
            )


def submit_report(
    estate: Estate,
    category: Category,
    location: Location,
    description: str,
    photos: list[Photo],
    *,
    reporter: Household | None,
    source: str = "resident",
) -> Report:
    description = (description or "").strip()
    if not description:
        raise OperationError(N_("Describe the problem."))
    if len(description) > MAX_DESCRIPTION:
        raise OperationError(
            N_("The description is longer than %(limit)s characters."), limit=MAX_DESCRIPTION
        )
    if len(photos) > MAX_PHOTOS:
        raise OperationError(N_("Attach at most 3 photos."))
    building = location.building or (
        location.household.unit.building if location.household else None
    )
    unit = location.unit or (location.household.unit if location.household else None)
    if building is not None and building.estate_id != estate.id:
        raise OperationError(N_("That place is not in this estate."))
    if building is None and not location.common_area.strip():
        raise OperationError(N_("Say where the problem is."))
    report = Report(
        estate_id=estate.id,
        category=category,
        building=building,
        unit=unit,
        household=location.household,
        common_area=location.common_area.strip()[:200],
        description=description,
        status=Status.SUBMITTED,
        reporter=reporter,
        source=source,
    )
    db.session.add(report)
    db.session.flush()
    event = ReportEvent(
        report_id=report.id,
        action="submit",
        to_status=Status.SUBMITTED.value,
        household_id=reporter.id if reporter else None,
    )
    db.session.add(event)
    db.session.flush()
    _attach(report, photos, event)
    db.session.commit()
    monitoring.REPORTS.labels(source).inc()
    return report


def support(report: Report, household: Household) -> bool:
    """Add the household's "me too"; False if it had already supported the report."""
    if report.estate_id != household.unit.building.estate_id or report.hidden_at:
        raise OperationError(N_("That report is not open to support."))
    if report.reporter_id == household.id:
        return False
    try:
        db.session.add(ReportSupport(report_id=report.id, household_id=household.id))
        db.session.add(
            ReportEvent(report_id=report.id, action="support", household_id=household.id)
        )
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
        return False


def transition(
    report: Report,
    to_status: Status,
    note: str = "",
    photos: list[Photo] = (),
    *,
    staff_user: StaffUser | None = None,
    household: Household | None = None,
) -> Report:
    """Move a report along its workflow. Staff acknowledge, work on and resolve it; only the
    reporter confirms a fix or reopens it (with a reason). Anything else is refused."""
    note = (note or "").strip()[:1000]
    if staff_user is not None:
        allowed = STAFF_TRANSITIONS.get(report.status, set())
    elif household is not None and household.id == report.reporter_id:
        allowed = REPORTER_TRANSITIONS.get(report.status, set())
    else:
        allowed = set()
    if to_status not in allowed:
        raise OperationError(
            N_("A report that is %(current)s cannot become %(target)s."),
            current=report.status.value,
            target=to_status.value,
        )
    if to_status is Status.REOPENED and not note:
        raise OperationError(N_("Say what is still wrong."))
    if to_status is Status.RESOLVED and not note:
        raise OperationError(N_("Say what was done."))
    event = ReportEvent(
        report_id=report.id,
        action="status",
        from_status=report.status.value,
        to_status=to_status.value,
        note=note,
        staff_user_id=staff_user.id if staff_user else None,
        household_id=household.id if household else None,
    )
    db.session.add(event)
    db.session.flush()
    report.status = to_status
    report.updated_at = utcnow()
    if note and staff_user is not None:
        report.status_notes = note
    if to_status is Status.RESOLVED:
        report.resolved_at = report.updated_at
    _attach(report, list(photos), event)
    if staff_user is not None:
        audit(
            "report.status",
            staff_user=staff_user,
            estate=report.estate,
            report=report.id,
            to=to_status.value,
        )
    db.session.commit()
    return report


def hide(report: Report, reason: str, *, staff_user: StaffUser) -> None:
    """Take an abusive report off the board: kept, with the reason, never deleted."""
    reason = (reason or "").strip()[:500]
    if not reason:
        raise OperationError(N_("Give the reason for hiding the report."))
    report.hidden_at = utcnow()
    report.hidden_reason = reason
    db.session.add(
        ReportEvent(report_id=report.id, action="hide", note=reason, staff_user_id=staff_user.id)
    )
    audit(
        "report.hide", staff_user=staff_user, estate=report.estate, report=report.id, reason=reason
    )
    db.session.commit()


# --- Open311 ---------------------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_open311_key(estate: Estate, name: str, *, staff_user: StaffUser) -> str:
    key = "o311_" + secrets.token_urlsafe(24)
    record = Open311Key(estate_id=estate.id, name=name.strip()[:100], key_hash=_key_hash(key))
    db.session.add(record)
    db.session.flush()
    audit(
        "open311_key.create", staff_user=staff_user, estate=estate, key=record.id, name=record.name
    )
    db.session.commit()
    return key


def revoke_open311_key(record: Open311Key, *, staff_user: StaffUser) -> None:
    record.revoked_at = utcnow()
    audit(
        "open311_key.revoke",
        staff_user=staff_user,
        estate=db.session.get(Estate, record.estate_id),
        key=record.id,
    )
    db.session.commit()


def open311_key_valid(estate: Estate, key: str) -> bool:
    return (
        db.session.scalar(
            select(Open311Key.id).where(
                Open311Key.estate_id == estate.id,
                Open311Key.key_hash == _key_hash(key or ""),
                Open311Key.revoked_at.is_(None),
            )
        )
        is not None
    )
