"""Campaigns, pledges, payments and elevator projects (docs/domain.md). Money is integer fen."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from resident_portal.extensions import db
from resident_portal.models import (
    Building,
    Estate,
    EstateScope,
    Household,
    StaffUser,
    Unit,
    VisitRecord,
    enum_column,
    utcnow,
)
from survey.models import Survey


class Channel(enum.StrEnum):
    DIRECT = "direct"  # paid directly
    MAINTENANCE_FUND = "maintenance_fund"  # 维修资金
    PROVIDENT_FUND = "provident_fund"  # 公积金 (elevators)
    COMMON_INCOME = "common_income"  # giving up the household's part of common income
    IN_KIND = "in_kind"  # labour or materials

    @property
    def label(self):
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {
    Channel.DIRECT: _l("Direct payment"),
    Channel.MAINTENANCE_FUND: _l("From my maintenance fund account"),
    Channel.PROVIDENT_FUND: _l("From my housing provident fund"),
    Channel.COMMON_INCOME: _l("Give up my share of common income"),
    Channel.IN_KIND: _l("Labour or materials"),
}


class SuggestionKind(enum.StrEnum):
    FLAT = "flat"
    PER_M2 = "per_m2"
    FLAT_PLUS_PER_M2 = "flat_plus_per_m2"


SUGGESTION_LABELS = {
    SuggestionKind.FLAT: _l("The same amount for every household"),
    SuggestionKind.PER_M2: _l("An amount per m² of registered area"),
    SuggestionKind.FLAT_PLUS_PER_M2: _l("A fixed amount plus an amount per m²"),
}


class EntrySource(enum.StrEnum):
    ONLINE = "online"  # the household itself
    STAFF = "staff"  # recorded by a secretary from paper or in person, with a reason


class Campaign(EstateScope, db.Model):
    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("unit_id IS NULL OR building_id IS NOT NULL", name="unit_in_building"),
        CheckConstraint("target_fen >= 0", name="target_not_negative"),
        CheckConstraint("flat_fen >= 0 AND per_m2_fen >= 0", name="suggestion_not_negative"),
        CheckConstraint("length(title) >= 1", name="title_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id"))
    target_fen: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime] = mapped_column(DateTime)
    suggestion_kind: Mapped[SuggestionKind] = mapped_column(
        enum_column(SuggestionKind, "suggestion_kind")
    )
    flat_fen: Mapped[int] = mapped_column(Integer, default=0)
    per_m2_fen: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[list] = mapped_column(JSON)  # accepted Channel values
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    estate: Mapped[Estate] = relationship()
    building: Mapped[Building | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    survey: Mapped[Survey | None] = relationship()
    elevator: Mapped["ElevatorProject | None"] = relationship(back_populates="campaign")

    @property
    def accepted_channels(self) -> list[Channel]:
        return [Channel(c) for c in self.channels]

    def is_open(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) < self.deadline

    def localized_title(self, locale: str) -> str:
        return self.title_en if locale == "en" and self.title_en else self.title


class Pledge(db.Model):
    """A household's current pledge to a campaign; its history is in PledgeEvent."""

    __tablename__ = "pledge"
    __table_args__ = (
        UniqueConstraint("campaign_id", "household_id"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "source = 'online' OR (entered_by_id IS NOT NULL AND length(reason) > 0)",
            name="staff_entry_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    note: Mapped[str] = mapped_column(String(500), default="")
    # The elevator share the household was shown when pledging: a later change of costs or
    # coefficients does not rewrite what was promised.
    share_fen: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[EntrySource] = mapped_column(enum_column(EntrySource, "entry_source"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    household: Mapped[Household] = relationship()

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class PledgeEvent(db.Model):
    """Every pledge, change and withdrawal, kept."""

    __tablename__ = "pledge_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # pledge | withdraw
    amount_fen: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(String(20))
    share_fen: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[EntrySource] = mapped_column(enum_column(EntrySource, "entry_source"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Payment(db.Model):
    """Money received, recorded by a secretary. Corrections are new (negative) entries."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        CheckConstraint("amount_fen > 0 OR length(note) > 0", name="correction_explained"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    # How the money came: the same ways as a pledge's (a household may pledge from its
    # maintenance fund and still hand over cash); the secretary records the one actually used.
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"))
    receipt_number: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    household: Mapped[Household] = relationship()
    recorded_by: Mapped[StaffUser] = relationship()


class ElevatorProject(db.Model):
    """An elevator retrofit of one unit: its costs, subsidy, floor coefficients, consent vote
    and the campaign through which its households pledge their shares."""

    __tablename__ = "elevator_project"
    __table_args__ = (
        CheckConstraint(
            "equipment_fen >= 0 AND installation_fen >= 0 AND design_fen >= 0 "
            "AND pipes_fen >= 0 AND other_fen >= 0 AND maintenance_fund_fen >= 0 "
            "AND subsidy_fixed_fen >= 0",
            name="amounts_not_negative",
        ),
        CheckConstraint("subsidy_basis_points BETWEEN 0 AND 10000", name="subsidy_percentage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), unique=True)
    equipment_fen: Mapped[int] = mapped_column(Integer, default=0)
    installation_fen: Mapped[int] = mapped_column(Integer, default=0)
    design_fen: Mapped[int] = mapped_column(Integer, default=0)
    pipes_fen: Mapped[int] = mapped_column(Integer, default=0)
    other_fen: Mapped[int] = mapped_column(Integer, default=0)
    subsidy_fixed_fen: Mapped[int] = mapped_column(Integer, default=0)
    subsidy_basis_points: Mapped[int] = mapped_column(Integer, default=0)
    subsidy_cap_fen: Mapped[int | None] = mapped_column(Integer)
    maintenance_fund_fen: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    campaign: Mapped[Campaign] = relationship(back_populates="elevator")
    survey: Mapped[Survey] = relationship()
    coefficients: Mapped[list["FloorCoefficient"]] = relationship(
        cascade="all, delete-orphan", order_by="FloorCoefficient.floor"
    )
    compensations: Mapped[list["Compensation"]] = relationship(cascade="all, delete-orphan")


class FloorCoefficient(db.Model):
    __tablename__ = "floor_coefficient"
    __table_args__ = (CheckConstraint("permille BETWEEN 0 AND 10000", name="permille_range"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("elevator_project.id"), primary_key=True)
    floor: Mapped[int] = mapped_column(Integer, primary_key=True)
    permille: Mapped[int] = mapped_column(Integer)  # 1000 = coefficient 1.0


class Compensation(db.Model):
    """Paid out of the pool to an affected (usually low-floor) household."""

    __tablename__ = "compensation"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("elevator_project.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    amount_fen: Mapped[int] = mapped_column(Integer)

    household: Mapped[Household] = relationship()


class CampaignVisit(VisitRecord, db.Model):
    """A door-to-door visit to a household on the campaign's not-answered list (doorstep.py)."""

    __tablename__ = "campaign_visit"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)


__all__ = ["Campaign", "Channel", "ElevatorProject", "Payment", "Pledge"]
