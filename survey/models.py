"""Surveys, their items and the owners' ballots (docs/domain.md)."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
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
    Role,
    StaffUser,
    Unit,
    VisitRecord,
    enum_column,
    utcnow,
)

from . import rules
from .tally import Choice, Rule


class SurveyKind(enum.StrEnum):
    CONSULTATION = "consultation"  # 意愿征询: not binding, shows support shares
    DECISION = "decision"  # 业主共同决定: counted under Civil Code Art. 278
    # 满意度测评 of a finished renovation: not a vote, no Art. 278 threshold (survey/rules.py).
    SATISFACTION = "satisfaction"


class Matter(enum.StrEnum):
    """What a formal decision is about: the items of Civil Code Art. 278, which fix the rule."""

    RULES = "rules"  # (一)(二) rules of procedure, management statute
    COMMITTEE = "committee"  # (三) electing or changing the owners' committee
    PROPERTY_SERVICE = "property_service"  # (四) hiring or dismissing the property company
    USE_MAINTENANCE_FUND = "use_maintenance_fund"  # (五)
    RAISE_MAINTENANCE_FUND = "raise_maintenance_fund"  # (六)
    RENOVATE = "renovate"  # (七) rebuilding or renovating buildings and their facilities
    COMMON_PARTS = "common_parts"  # (八) changing the use of common parts, commercial use
    OTHER = "other"  # (九) other major matters

    @property
    def rule(self) -> Rule:
        return MATTER_RULES[self]

    @property
    def label(self):
        return MATTER_LABELS[self]


MATTER_RULES = {
    m: Rule.THREE_QUARTERS if m.value in rules.THREE_QUARTER_MATTERS else Rule.MAJORITY
    for m in Matter
}
# The texts of the law live in survey/rules.py: these are views of them.
MATTER_LABELS = {m: rules.MATTER_LABELS[m.value] for m in Matter}
RULE_LABELS = rules.APPROVAL
KIND_LABELS = {
    SurveyKind.CONSULTATION: rules.CONSULTATION,
    SurveyKind.DECISION: rules.DECISION,
    SurveyKind.SATISFACTION: rules.SATISFACTION,
}


class ItemCategory(enum.StrEnum):
    BASIC = "basic"  # 基础类
    IMPROVEMENT = "improvement"  # 完善类
    UPGRADE = "upgrade"  # 提升类

    @property
    def label(self):
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    ItemCategory.BASIC: _l("Basic"),
    ItemCategory.IMPROVEMENT: _l("Improvement"),
    ItemCategory.UPGRADE: _l("Upgrade"),
}
CHOICE_LABELS = {
    Choice.SUPPORT: _l("Support"),
    Choice.OPPOSE: _l("Oppose"),
    Choice.ABSTAIN: _l("Abstain"),
}
# A satisfaction survey keeps its answers in the same three choices, so that the kept tally,
# receipts, paper entry and the secrecy rule serve it unchanged: 满意 is kept as support,
# 基本满意 as abstain, 不满意 as oppose (every item must be answered, so no abstention is an
# unanswered item). In the order the ballot offers them.
SATISFIED, BASICALLY_SATISFIED, DISSATISFIED = Choice.SUPPORT, Choice.ABSTAIN, Choice.OPPOSE
SATISFACTION_LABELS = {
    SATISFIED: _l("Satisfied"),
    BASICALLY_SATISFIED: _l("Basically satisfied"),
    DISSATISFIED: _l("Dissatisfied"),
}


def choice_labels(survey) -> dict:
    """The answers a survey's ballot offers, with their labels, in order."""
    if survey.kind is SurveyKind.SATISFACTION:
        return SATISFACTION_LABELS
    return CHOICE_LABELS


class SurveyStatus(enum.StrEnum):
    DRAFT = "draft"  # before it opens: staff may still edit it
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"  # called off before anyone voted: never opens or counts again

    @property
    def label(self):
        return STATUS_LABELS[self]


STATUS_LABELS = {
    SurveyStatus.DRAFT: _l("Not open yet"),
    SurveyStatus.OPEN: _l("Open"),
    SurveyStatus.CLOSED: _l("Closed"),
    SurveyStatus.CANCELLED: _l("Cancelled"),
}


class BallotSource(enum.StrEnum):
    ONLINE = "online"
    PAPER = "paper"  # entered by a secretary, with a reason


class Survey(EstateScope, db.Model):
    __tablename__ = "survey"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'consultation' AND matter IS NULL) "
            "OR (kind = 'decision' AND matter IS NOT NULL) "
            "OR (kind = 'satisfaction' AND matter IS NULL)",
            name="matter_for_decisions",
        ),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("max_priorities >= 0", name="max_priorities_not_negative"),
        CheckConstraint("unit_id IS NULL OR building_id IS NOT NULL", name="unit_in_building"),
        CheckConstraint("length(title) >= 1", name="title_not_empty"),
        # Only a survey that has not closed can be cancelled, and always with a reason.
        CheckConstraint(
            "cancelled_at IS NULL OR (cancelled_at < closes_at AND length(cancel_reason) >= 1)",
            name="cancelled_before_closing",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[SurveyKind] = mapped_column(enum_column(SurveyKind, "survey_kind"))
    matter: Mapped[Matter | None] = mapped_column(enum_column(Matter, "matter", length=30))
    opens_at: Mapped[datetime] = mapped_column(DateTime)
    closes_at: Mapped[datetime] = mapped_column(DateTime)
    max_priorities: Mapped[int] = mapped_column(Integer, default=0)
    allow_suggestion: Mapped[bool] = mapped_column(Boolean, default=True)
    organiser: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When the roll (RollEntry) was taken: at the latest by the first ballot or register change
    # after opens_at, so it is the register as it stood when the survey opened (survey/roll.py).
    roll_frozen_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Called off before closing and before any ballot (survey/operations.cancel_survey).
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    estate: Mapped[Estate] = relationship()
    building: Mapped[Building | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    items: Mapped[list["SurveyItem"]] = relationship(
        back_populates="survey", order_by="SurveyItem.position", cascade="all, delete-orphan"
    )

    @property
    def rule(self) -> Rule | None:
        return self.matter.rule if self.matter else None

    def status(self, now: datetime | None = None) -> SurveyStatus:
        if self.cancelled_at is not None:
            return SurveyStatus.CANCELLED
        now = now or utcnow()
        if now < self.opens_at:
            return SurveyStatus.DRAFT
        return SurveyStatus.OPEN if now < self.closes_at else SurveyStatus.CLOSED

    def localized_title(self, locale: str) -> str:
        return self.title_en if locale == "en" and self.title_en else self.title


class SurveyExtension(db.Model):
    """A later closing time, set before the survey closed, with a reason; on the notice.

    The checks are the schema's half of "a closed survey never reopens": an extension made at
    or after the closing time it replaces, or one that does not move it later, is refused."""

    __tablename__ = "survey_extension"
    __table_args__ = (
        CheckConstraint("new_closes_at > previous_closes_at", name="later"),
        CheckConstraint("made_at < previous_closes_at", name="before_closing"),
        CheckConstraint("length(reason) >= 1", name="reason_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    previous_closes_at: Mapped[datetime] = mapped_column(DateTime)
    new_closes_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(500))
    # None when made on the command line (the audit entry says so too).
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    made_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    staff_user: Mapped[StaffUser | None] = relationship()


class SurveyItem(db.Model):
    __tablename__ = "survey_item"
    __table_args__ = (
        UniqueConstraint("survey_id", "position"),
        CheckConstraint("estimated_cost_fen IS NULL OR estimated_cost_fen >= 0", name="cost_fen"),
        CheckConstraint("length(title) >= 1", name="title_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[ItemCategory] = mapped_column(enum_column(ItemCategory, "item_category"))
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    estimated_cost_fen: Mapped[int | None] = mapped_column(Integer)  # money is integer fen

    survey: Mapped[Survey] = relationship(back_populates="items")

    def localized_title(self, locale: str) -> str:
        return self.title_en if locale == "en" and self.title_en else self.title

    def localized_description(self, locale: str) -> str:
        return self.description_en if locale == "en" and self.description_en else self.description


class Ballot(db.Model):
    """The ballot that counts: one per owner per survey, covering all their households."""

    __tablename__ = "ballot"
    __table_args__ = (
        UniqueConstraint("survey_id", "owner_ref"),
        CheckConstraint(
            "source = 'online' OR (entered_by_id IS NOT NULL AND length(paper_reason) > 0)",
            name="paper_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    owner_ref: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    source: Mapped[BallotSource] = mapped_column(enum_column(BallotSource, "ballot_source"))
    receipt: Mapped[str] = mapped_column(String(16), unique=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    suggestion: Mapped[str] = mapped_column(Text, default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    paper_reason: Mapped[str | None] = mapped_column(String(500))
    # The role the staff member entered it as, kept as it was then (the household is told).
    entered_as: Mapped[Role | None] = mapped_column(enum_column(Role, "role"))
    # A photo or scan of the signed paper sheet (the photo pipeline's content key).
    evidence_key: Mapped[str | None] = mapped_column(String(64))

    survey: Mapped[Survey] = relationship()
    household: Mapped[Household] = relationship()
    entered_by: Mapped[StaffUser | None] = relationship()
    # The receipt, new with every submission, is the row's version: an UPDATE carries the one
    # it read in its WHERE, so a submission that read a ballot another has replaced since fails
    # (StaleDataError) and is tried again, instead of moving the kept tally from stale choices.
    __mapper_args__ = {"version_id_col": receipt, "version_id_generator": False}
    choices: Mapped[list["BallotChoice"]] = relationship(
        back_populates="ballot", cascade="all, delete-orphan"
    )


class BallotChoice(db.Model):
    __tablename__ = "ballot_choice"

    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("survey_item.id"), primary_key=True)
    choice: Mapped[Choice] = mapped_column(enum_column(Choice, "choice"))
    priority: Mapped[bool] = mapped_column(Boolean, default=False)

    ballot: Mapped[Ballot] = relationship(back_populates="choices")


class BallotRevision(db.Model):
    """Every submission, kept: the history behind each counted ballot and its receipt."""

    __tablename__ = "ballot_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))  # indexed below
    owner_ref: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    source: Mapped[BallotSource] = mapped_column(enum_column(BallotSource, "ballot_source"))
    receipt: Mapped[str] = mapped_column(String(16), unique=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # {"choices": {item_id: choice}, "priorities": [item_id], "suggestion": "..."}
    content: Mapped[dict] = mapped_column(JSON)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    paper_reason: Mapped[str | None] = mapped_column(String(500))
    entered_as: Mapped[Role | None] = mapped_column(enum_column(Role, "role"))
    evidence_key: Mapped[str | None] = mapped_column(String(64))

    entered_by: Mapped[StaffUser | None] = relationship()


class RollEntry(db.Model):
    """One exclusive part on a survey's roll: the register as it stood when the survey opened,
    changed afterwards only by audited roll corrections. Every count reads this, never the
    live register, so a re-import while the vote is open changes nothing in it."""

    __tablename__ = "roll_entry"
    __table_args__ = (
        CheckConstraint("area_centi_m2 > 0", name="area_positive"),
        CheckConstraint("length(owner_ref) >= 1", name="owner_ref_not_empty"),
    )

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    owner_ref: Mapped[str] = mapped_column(String(64))
    area_centi_m2: Mapped[int] = mapped_column(Integer)
    building: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(20))
    floor: Mapped[int] = mapped_column(Integer)

    household: Mapped[Household] = relationship()


Index("ix_roll_entry_survey_owner", RollEntry.survey_id, RollEntry.owner_ref)
# A survey's revisions by time: the overview's latest ballot per estate reads the index only
# (and every lookup by survey alone uses its first column).
Index("ix_ballot_revision_survey_submitted", BallotRevision.survey_id, BallotRevision.submitted_at)


class CorrectionKind(enum.StrEnum):
    AREA = "area"  # the registered area was wrong
    OWNER = "owner"  # ownership was transferred
    ADDED = "added"  # a part in scope was missing from the register
    REMOVED = "removed"  # a part on the roll is not an exclusive part in scope

    @property
    def label(self):
        return CORRECTION_LABELS[self]


CORRECTION_LABELS = {
    CorrectionKind.AREA: _l("Area corrected"),
    CorrectionKind.OWNER: _l("Ownership transferred"),
    CorrectionKind.ADDED: _l("Part added to the roll"),
    CorrectionKind.REMOVED: _l("Part removed from the roll"),
}


class RollCorrection(db.Model):
    """An audited change to a survey's roll before it closes; listed on the public notice."""

    __tablename__ = "roll_correction"
    __table_args__ = (
        CheckConstraint("length(reason) >= 1", name="reason_not_empty"),
        CheckConstraint("new_area_centi_m2 IS NULL OR new_area_centi_m2 > 0", name="area"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    kind: Mapped[CorrectionKind] = mapped_column(enum_column(CorrectionKind, "correction_kind"))
    old_owner_ref: Mapped[str | None] = mapped_column(String(64))
    new_owner_ref: Mapped[str | None] = mapped_column(String(64))
    old_area_centi_m2: Mapped[int | None] = mapped_column(Integer)
    new_area_centi_m2: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    made_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    household: Mapped[Household] = relationship()
    staff_user: Mapped[StaffUser] = relationship()


class KeptCount(db.Model):
    """The survey's tally, kept current in the transaction of every ballot and correction
    (survey/counting.py), so that reading results never scans ballots.

    One row per group (the scope, each building, unit and floor), item and measure. item_id 0
    holds the group's own measures: "eligible" (the roll) and "participated"; for an item the
    measure is a choice, or "priority" (picks, counted in heads).
    """

    __tablename__ = "kept_count"
    __table_args__ = (
        CheckConstraint("households >= 0 AND heads >= 0 AND area >= 0", name="not_negative"),
    )

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), primary_key=True)
    grp: Mapped[str] = mapped_column(String(10), primary_key=True)  # scope building unit floor
    building: Mapped[str] = mapped_column(String(20), primary_key=True, default="")
    unit: Mapped[str] = mapped_column(String(20), primary_key=True, default="")
    floor: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure: Mapped[str] = mapped_column(String(12), primary_key=True)
    households: Mapped[int] = mapped_column(Integer, default=0)
    heads: Mapped[int] = mapped_column(Integer, default=0)
    area: Mapped[int] = mapped_column(BigInteger, default=0)


class SurveyVisit(VisitRecord, db.Model):
    """A door-to-door visit to a household on the survey's not-voted list (doorstep.py)."""

    __tablename__ = "survey_visit"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
