"""Quality reports, their photos, supporters and timeline; Open311 API keys."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import Building, Estate, Household, StaffUser, Unit, enum_column, utcnow


class Category(enum.StrEnum):
    LEAK = "leak"
    CRACKS = "cracks"
    PIPES = "pipes"
    ELECTRICAL = "electrical"
    FIRE_SAFETY = "fire_safety"
    SITE_SAFETY = "site_safety"
    NOISE = "noise"
    DUST = "dust"
    OTHER = "other"

    @property
    def label(self):
        return CATEGORY_LABELS[self]

    @property
    def overdue_days(self) -> int:
        return OVERDUE_DAYS[self]


CATEGORY_LABELS = {
    Category.LEAK: _l("Leak"),
    Category.CRACKS: _l("Cracks"),
    Category.PIPES: _l("Pipes"),
    Category.ELECTRICAL: _l("Electrical"),
    Category.FIRE_SAFETY: _l("Fire safety"),
    Category.SITE_SAFETY: _l("Site safety"),
    Category.NOISE: _l("Noise"),
    Category.DUST: _l("Dust and debris"),
    Category.OTHER: _l("Other"),
}
# Days after which an unresolved report is flagged overdue: dangers first.
OVERDUE_DAYS = {
    Category.LEAK: 3,
    Category.CRACKS: 7,
    Category.PIPES: 3,
    Category.ELECTRICAL: 2,
    Category.FIRE_SAFETY: 1,
    Category.SITE_SAFETY: 1,
    Category.NOISE: 3,
    Category.DUST: 3,
    Category.OTHER: 7,
}


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"  # the reporter confirmed the fix
    REOPENED = "reopened"  # the reporter says it is not fixed

    @property
    def label(self):
        return STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CONFIRMED)


STATUS_LABELS = {
    Status.SUBMITTED: _l("Submitted"),
    Status.ACKNOWLEDGED: _l("Acknowledged"),
    Status.IN_PROGRESS: _l("In progress"),
    Status.RESOLVED: _l("Resolved"),
    Status.CONFIRMED: _l("Fix confirmed"),
    Status.REOPENED: _l("Reopened"),
}
# Who may move a report where: staff handle it, the reporter confirms or reopens.
STAFF_TRANSITIONS = {
    Status.SUBMITTED: {Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED},
    Status.ACKNOWLEDGED: {Status.IN_PROGRESS, Status.RESOLVED},
    Status.IN_PROGRESS: {Status.RESOLVED},
    Status.REOPENED: {Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED},
    Status.RESOLVED: set(),
    Status.CONFIRMED: set(),
}
REPORTER_TRANSITIONS = {Status.RESOLVED: {Status.CONFIRMED, Status.REOPENED}}


class Report(db.Model):
    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint("length(description) >= 1", name="description_not_empty"),
        CheckConstraint("unit_id IS NULL OR building_id IS NOT NULL", name="unit_in_building"),
        CheckConstraint("hidden_at IS NULL OR length(hidden_reason) > 0", name="hiding_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    category: Mapped[Category] = mapped_column(enum_column(Category, "report_category"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))  # location
    common_area: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[Status] = mapped_column(enum_column(Status, "report_status"))
    status_notes: Mapped[str] = mapped_column(String(1000), default="")
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    source: Mapped[str] = mapped_column(String(20), default="resident")  # resident | open311
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_reason: Mapped[str | None] = mapped_column(String(500))

    estate: Mapped[Estate] = relationship()
    building: Mapped[Building | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    household: Mapped[Household | None] = relationship(foreign_keys=[household_id])
    reporter: Mapped[Household | None] = relationship(foreign_keys=[reporter_id])
    photos: Mapped[list["ReportPhoto"]] = relationship(order_by="ReportPhoto.id")
    supporters: Mapped[list["ReportSupport"]] = relationship()
    events: Mapped[list["ReportEvent"]] = relationship(order_by="ReportEvent.id")

    def overdue(self, now: datetime | None = None) -> bool:
        if not self.status.is_open:
            return False
        return ((now or utcnow()) - self.created_at).days >= self.category.overdue_days

    @property
    def inside_a_home(self) -> bool:
        """Placed at a household ("my home"): about the inside of the reporter's home."""
        return self.household_id is not None

    @property
    def location(self) -> str:
        """Building-unit-room or the common area, for staff who handle reports."""
        if self.household is not None:
            return self.household.address
        return self.public_location

    @property
    def public_location(self) -> str:
        """Building and unit, never the room (issue 12): for the public board, a report's page,
        residents' lists and Open311's address."""
        parts = []
        if self.unit is not None:
            parts.append(
                str(
                    _l(
                        "Building %(building)s, unit %(unit)s",
                        building=self.building.number,
                        unit=self.unit.number,
                    )
                )
            )
        elif self.building is not None:
            parts.append(str(_l("Building %(number)s", number=self.building.number)))
        if self.common_area:
            parts.append(self.common_area)
        return " · ".join(parts)


class ReportSupport(db.Model):
    """ "Me too": a household has the same problem; counted instead of a duplicate report."""

    __tablename__ = "report_support"

    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReportEvent(db.Model):
    """The timeline: submission, every change of status (who, when, note), support, hiding."""

    __tablename__ = "report_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(20))  # submit | status | support | hide
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(1000), default="")
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))

    staff_user: Mapped[StaffUser | None] = relationship()


class ReportPhoto(db.Model):
    """A re-encoded photo, stored by content hash outside the static folder."""

    __tablename__ = "report_photo"
    __table_args__ = (UniqueConstraint("report_id", "photo_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_event.id"))
    photo_key: Mapped[str] = mapped_column(String(64), index=True)  # SHA-256 of the JPEG
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StoredPhoto(db.Model):
    """A photo's bytes, when photos are kept in the database (on PostgreSQL, so that every app
    server reads what any of them stored; photos.DatabasePhotoStore). Keyed by content hash:
    the same picture is stored once, and a row is never changed."""

    __tablename__ = "stored_photo"
    __table_args__ = (
        CheckConstraint("length(photo_key) = 64", name="key_is_sha256"),
        CheckConstraint("length(jpeg) > 0 AND length(thumbnail) > 0", name="not_empty"),
    )

    photo_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Open311Key(db.Model):
    """An API key with which a city system files reports for one estate (Open311 POST)."""

    __tablename__ = "open311_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
