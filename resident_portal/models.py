"""Registry, staff and sign-in tables (docs/domain.md, §2).

Times are stored as naive UTC; areas as integer 0.01 m² units so that tallies stay exact.
"""

import enum
import re
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from .common import format_area
from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def natural_key(label: str) -> tuple:
    """Sort "2" before "10" and "2-1" before "2-10", as people number buildings and rooms."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", label))


class Role(enum.StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"
    SECRETARY = "secretary"
    CONTRACTOR = "contractor"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.PLANNER: _l("Planner"),
    Role.SECRETARY: _l("Party-branch secretary"),
    Role.CONTRACTOR: _l("Contractor"),
}


def enum_column(enum_class, name, length=20):
    """A string column whose values the schema itself checks (no native enum: same on SQLite
    and PostgreSQL, and new values need no ALTER TYPE)."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class EstateScope:
    """Columns and rule of anything addressed to an estate, one of its buildings or one unit
    (surveys, campaigns). The unit_in_building check goes in each table's __table_args__."""

    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))

    def covers(self, household: "Household") -> bool:
        unit = household.unit
        return (
            unit.building.estate_id == self.estate_id
            and (self.building_id is None or unit.building_id == self.building_id)
            and (self.unit_id is None or unit.id == self.unit_id)
        )


class Estate(db.Model):
    __tablename__ = "estate"
    __table_args__ = (
        CheckConstraint("length(code) >= 2", name="code_length"),
        CheckConstraint("length(name) >= 1", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    district: Mapped[str | None] = mapped_column(String(100), index=True)  # 区/县
    street: Mapped[str | None] = mapped_column(String(100))  # 街道
    # Who collects and keeps residents' data here, and how to reach them: the privacy notice
    # names them (PIPL), and a survey's notice falls back on them (issue 12).
    organiser: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    buildings: Mapped[list["Building"]] = relationship(back_populates="estate")

    @property
    def sorted_buildings(self) -> list["Building"]:
        return sorted(self.buildings, key=lambda b: natural_key(b.number))


class Building(db.Model):
    __tablename__ = "building"
    __table_args__ = (
        UniqueConstraint("estate_id", "number"),
        CheckConstraint("floors >= 1", name="floors_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    floors: Mapped[int] = mapped_column(Integer)
    has_elevator: Mapped[bool] = mapped_column(Boolean, default=False)

    estate: Mapped[Estate] = relationship(back_populates="buildings")
    units: Mapped[list["Unit"]] = relationship(back_populates="building")

    @property
    def sorted_units(self) -> list["Unit"]:
        return sorted(self.units, key=lambda u: natural_key(u.number))


class Unit(db.Model):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("building_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))

    building: Mapped[Building] = relationship(back_populates="units")
    households: Mapped[list["Household"]] = relationship(back_populates="unit")

    @property
    def sorted_households(self) -> list["Household"]:
        return sorted(self.households, key=lambda h: h.sort_key)


class Household(db.Model):
    """One exclusive part (专有部分): the unit of sign-in, voting and pledging."""

    __tablename__ = "household"
    __table_args__ = (
        UniqueConstraint("unit_id", "room"),
        CheckConstraint("floor BETWEEN 1 AND 99", name="floor_range"),
        CheckConstraint("area_centi_m2 > 0", name="area_positive"),
        CheckConstraint("length(owner_ref) >= 1", name="owner_ref_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    room: Mapped[str] = mapped_column(String(20))
    floor: Mapped[int] = mapped_column(Integer)
    area_centi_m2: Mapped[int] = mapped_column(Integer)
    owner_ref: Mapped[str] = mapped_column(String(64), index=True)
    owner_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    # The access code itself is never stored: only its salted hash (docs/domain.md).
    access_code_hash: Mapped[str | None] = mapped_column(String(255))
    code_issued_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the household acknowledged the privacy notice, shown at its first sign-in.
    privacy_acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The code a reissue replaced (its salted hash) and when: someone who comes back with the
    # old letter is told it was replaced, and whom to ask, instead of "wrong code".
    replaced_code_hash: Mapped[str | None] = mapped_column(String(255))
    code_replaced_at: Mapped[datetime | None] = mapped_column(DateTime)

    unit: Mapped[Unit] = relationship(back_populates="households")

    @property
    def building(self) -> Building:
        return self.unit.building

    @property
    def estate(self) -> Estate:
        return self.unit.building.estate

    @property
    def sort_key(self) -> tuple:
        """Building, unit, floor, room: the order of the register and of printed letters."""
        return (
            natural_key(self.unit.building.number),
            natural_key(self.unit.number),
            self.floor,
            natural_key(self.room),
        )

    @property
    def area_m2(self) -> str:
        return format_area(self.area_centi_m2)

    @property
    def address(self) -> str:
        return str(
            _l(
                "Building %(building)s, unit %(unit)s, room %(room)s",
                building=self.unit.building.number,
                unit=self.unit.number,
                room=self.room,
            )
        )


class StaffUser(db.Model):
    __tablename__ = "staff_user"
    __table_args__ = (
        CheckConstraint(
            "totp_enabled_at IS NULL OR totp_secret IS NOT NULL", name="totp_enabled_has_secret"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The second factor (two_factor.py): the TOTP secret (base32) once confirmed with a code,
    # and the 30-second step of the last code accepted, so that no code is accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    @property
    def has_second_factor(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def needs_second_factor(self) -> bool:
        """Administrators and secretaries must use a second factor; others may."""
        return any(g.role in SECOND_FACTOR_ROLES for g in [*self.grants, *self.district_grants])

    grants: Mapped[list["RoleGrant"]] = relationship(
        back_populates="staff_user", cascade="all, delete-orphan"
    )
    district_grants: Mapped[list["DistrictGrant"]] = relationship(cascade="all, delete-orphan")


# Roles that may not sign in without a second factor (issue 12): they see personal data and
# issue access codes.
SECOND_FACTOR_ROLES = frozenset({Role.ADMIN, Role.SECRETARY})


class RecoveryCode(db.Model):
    """One of a staff member's single-use recovery codes, for a lost phone: only its hash."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class RoleGrant(db.Model):
    """A staff role in one estate; only an administrator may hold a role for every estate."""

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("staff_user_id", "role", "estate_id"),
        CheckConstraint("role = 'admin' OR estate_id IS NOT NULL", name="scoped_to_estate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)

    staff_user: Mapped[StaffUser] = relationship(back_populates="grants")
    estate: Mapped[Estate | None] = relationship()


class DistrictGrant(db.Model):
    """A staff role in every estate of a district (区/县), present and future: how city and
    district renovation offices follow dozens of estates."""

    __tablename__ = "district_grant"
    __table_args__ = (
        UniqueConstraint("staff_user_id", "role", "district"),
        CheckConstraint("length(district) >= 1", name="district_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    district: Mapped[str] = mapped_column(String(100))


class AuthSession(db.Model):
    """A server-side sign-in, so that it can be revoked (re-issued code, sign-out everywhere)."""

    __tablename__ = "auth_session"
    __table_args__ = (
        CheckConstraint("(household_id IS NULL) <> (staff_user_id IS NULL)", name="one_principal"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the random token kept in the cookie: a copy of the table signs nobody in.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    client_address: Mapped[str] = mapped_column(String(64), default="")
    # Written at most once a minute (operations.record_last_use): not a write per request.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The approximate device, e.g. "iPhone · WeChat" (devices.device_label), never the whole
    # user agent.
    device: Mapped[str] = mapped_column(String(100), default="")

    household: Mapped[Household | None] = relationship()
    staff_user: Mapped[StaffUser | None] = relationship()

    @classmethod
    def live(cls, now: datetime | None = None):
        """The condition on sessions still signed in at `now` (default: this moment): neither
        ended (signed out, revoked) nor expired."""
        return and_(cls.revoked_at.is_(None), cls.expires_at > (now or utcnow()))


class CodeBatch(db.Model):
    """Access codes just issued, held for the letters of the staff sign-in that issued them.

    No code is stored here, in clear or hashed: each is derived (access.held_access_code) from
    `salt` and a key that only that staff member's session cookie holds, so neither the
    database nor the cookie alone can make a code again. The batch serves its own sign-in and
    estate until `expires_at`; expired batches are deleted when codes are next issued.
    """

    __tablename__ = "code_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    auth_session_id: Mapped[int] = mapped_column(ForeignKey("auth_session.id"), index=True)
    salt: Mapped[str] = mapped_column(String(64))
    # In letter order. A household whose code_issued_at differs from issued_at has had a newer
    # code since: its letter is left out.
    household_ids: Mapped[list] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    reissue: Mapped[bool] = mapped_column(Boolean, default=False)
    sessions_ended: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(db.Model):
    """Every staff action that changes something, with who, when and on what."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    staff_user: Mapped[StaffUser | None] = relationship()


class PendingImport(db.Model):
    """An uploaded register waiting for the secretary to confirm its preview."""

    __tablename__ = "pending_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CorrectionRequest(db.Model):
    """A household asks for its data to be corrected (PIPL); the secretary's queue lists the
    open ones until a secretary marks one handled, with a note."""

    __tablename__ = "correction_request"
    __table_args__ = (
        CheckConstraint("length(text) >= 1", name="text_not_empty"),
        CheckConstraint(
            "(handled_at IS NULL) = (handled_by_id IS NULL)", name="handled_by_someone"
        ),
        CheckConstraint(
            "handled_at IS NULL OR length(handled_note) >= 1", name="handled_with_note"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    text: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    handled_note: Mapped[str | None] = mapped_column(String(1000))

    household: Mapped[Household] = relationship()
    handled_by: Mapped[StaffUser | None] = relationship()


__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuthSession",
    "Building",
    "CodeBatch",
    "CorrectionRequest",
    "DistrictGrant",
    "Estate",
    "Household",
    "Job",
    "JobStatus",
    "PendingImport",
    "RecoveryCode",
    "Role",
    "RoleGrant",
    "StaffUser",
    "Unit",
]


class ApiToken(db.Model):
    """A staff user's token for the read-only JSON API; acts with that user's permissions."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, never the token
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    # Written at most once a minute (operations.touch_api_token).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)

    staff_user: Mapped[StaffUser] = relationship()
    # The estates the token may read; none listed: every estate its owner may read.
    estates: Mapped[list[Estate]] = relationship(
        secondary=lambda: api_token_estate, order_by=lambda: Estate.code
    )

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


api_token_estate = db.Table(
    "api_token_estate",
    db.Column("api_token_id", ForeignKey("api_token.id"), primary_key=True),
    db.Column("estate_id", ForeignKey("estate.id"), primary_key=True, index=True),
)


# --- door-to-door visits ------------------------------------------------------------------


class VisitOutcome(enum.StrEnum):
    """What came of a secretary's visit to a household on a door-to-door list."""

    VISITED = "visited"  # met the household
    NOT_AT_HOME = "not_at_home"
    DECLINED = "declined"
    PAPER = "paper"  # will answer on paper (a paper ballot, a paper pledge)

    @property
    def label(self):
        return VISIT_LABELS[self]


VISIT_LABELS = {
    VisitOutcome.VISITED: _l("Visited"),
    VisitOutcome.NOT_AT_HOME: _l("Not at home"),
    VisitOutcome.DECLINED: _l("Declined"),
    VisitOutcome.PAPER: _l("Will answer on paper"),
}


class VisitRecord:
    """Columns of one recorded visit; each feature's list has its own table (survey_visit,
    campaign_visit) with a foreign key to what the list is about. Records are only added: the
    latest per household is its outcome, the earlier ones its history."""

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    outcome: Mapped[VisitOutcome] = mapped_column(enum_column(VisitOutcome, "visit_outcome"))
    note: Mapped[str] = mapped_column(String(200), default="")
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @declared_attr
    def staff_user(cls) -> Mapped[StaffUser]:
        return relationship()


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def label(self):
        return JOB_STATUS_LABELS[self]


JOB_STATUS_LABELS = {
    JobStatus.QUEUED: _l("Waiting to start"),
    JobStatus.RUNNING: _l("Working"),
    JobStatus.DONE: _l("Done"),
    JobStatus.FAILED: _l("Failed"),
    JobStatus.CANCELLED: _l("Cancelled"),
}


class Job(db.Model):
    """Long work done in the background (resident_portal/jobs.py), visible from every server.

    The work of a job and its move to `done` are one transaction, so a job is never done
    without its rows, nor its rows written without it being done. A running job whose
    heartbeat stops (its worker was killed) is failed by the next sweep."""

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint("done >= 0 AND total >= 0", name="progress_not_negative"),
        CheckConstraint("total = 0 OR done <= total", name="done_within_total"),
        # A failure always says why; nothing else carries a reason.
        CheckConstraint(
            "(status = 'failed') = (failure IS NOT NULL)", name="failure_reason_iff_failed"
        ),
        CheckConstraint("status = 'done' OR result IS NULL", name="result_only_when_done"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # Who queued it (none for periodic tasks); the sign-in, for results that serve only it.
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    auth_session_id: Mapped[int | None] = mapped_column(ForeignKey("auth_session.id"))
    # Scope: one estate, or a district (estate_id empty), or the whole city (both empty).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    district: Mapped[str | None] = mapped_column(String(100))
    # What the kind needs to run, and `estate_ids`: every estate whose data the result holds.
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "job_status"), default=JobStatus.QUEUED, index=True
    )
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    # An untranslated msgid and its fields, translated for whoever reads the page.
    failure: Mapped[str | None] = mapped_column(String(500))
    failure_params: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[bytes | None] = mapped_column(LargeBinary)
    result_name: Mapped[str | None] = mapped_column(String(200))
    result_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Results holding access codes are deleted then (the held codes' lifetime).
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)

    estate: Mapped[Estate | None] = relationship()
    staff_user: Mapped[StaffUser | None] = relationship()
