"""Surveys, their items and the owners' ballots (DESIGN.md §3)."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
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
    enum_column,
    utcnow,
)

from . import rules
from .tally import Choice, Rule


class SurveyKind(enum.StrEnum):
    CONSULTATION = "consultation"  # 意愿征询: not binding, shows support shares
    DECISION = "decision"  # 业主共同决定: counted under Civil Code Art. 278


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


class SurveyStatus(enum.StrEnum):
    DRAFT = "draft"  # before it opens: staff may still edit it
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self):
        return STATUS_LABELS[self]


STATUS_LABELS = {
    SurveyStatus.DRAFT: _l("Not open yet"),
    SurveyStatus.OPEN: _l("Open"),
    SurveyStatus.CLOSED: _l("Closed"),
}


class BallotSource(enum.StrEnum):
    ONLINE = "online"
    PAPER = "paper"  # entered by a secretary, with a reason


class Survey(EstateScope, db.Model):
    __tablename__ = "survey"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'consultation' AND matter IS NULL) "
            "OR (kind = 'decision' AND matter IS NOT NULL)",
            name="matter_for_decisions",
        ),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("max_priorities >= 0", name="max_priorities_not_negative"),
        CheckConstraint("unit_id IS NULL OR building_id IS NOT NULL", name="unit_in_building"),
        CheckConstraint("length(title) >= 1", name="title_not_empty"),
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
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

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
        now = now or utcnow()
        if now < self.opens_at:
            return SurveyStatus.DRAFT
        return SurveyStatus.OPEN if now < self.closes_at else SurveyStatus.CLOSED

    def localized_title(self, locale: str) -> str:
        return self.title_en if locale == "en" and self.title_en else self.title


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

    survey: Mapped[Survey] = relationship()
    household: Mapped[Household] = relationship()
    entered_by: Mapped[StaffUser | None] = relationship()
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
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    owner_ref: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    source: Mapped[BallotSource] = mapped_column(enum_column(BallotSource, "ballot_source"))
    receipt: Mapped[str] = mapped_column(String(16), unique=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # {"choices": {item_id: choice}, "priorities": [item_id], "suggestion": "..."}
    content: Mapped[dict] = mapped_column(JSON)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    paper_reason: Mapped[str | None] = mapped_column(String(500))
