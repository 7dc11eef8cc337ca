"""Renovation projects: stages with planned and actual dates, parties, scope, funding by
source, progress notes with photos (docs/renovation.md).

Money is integer fen; dates are calendar days in China (no time of day).
"""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
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

from ..extensions import db
from ..models import Estate, StaffUser, enum_column, utcnow


class Stage(enum.StrEnum):
    """The stages in their order; a project is at the first stage not yet completed."""

    INITIATION = "initiation"  # 立项
    CONSULTATION = "consultation"  # 征求居民意见
    DESIGN = "design"  # 设计
    APPROVAL = "approval"  # 审批
    TENDER = "tender"  # 招标/竞争性磋商
    STARTED = "started"  # 开工
    COMPLETED = "completed"  # 完工
    ACCEPTED = "accepted"  # 竣工验收
    HANDOVER = "handover"  # 移交/长效管理

    @property
    def label(self):
        return STAGE_LABELS[self]

    @property
    def index(self) -> int:
        return STAGES.index(self)


STAGES = list(Stage)
STAGE_LABELS = {
    Stage.INITIATION: _l("Project approval"),
    Stage.CONSULTATION: _l("Consulting the residents"),
    Stage.DESIGN: _l("Design stage"),
    Stage.APPROVAL: _l("Permits"),
    Stage.TENDER: _l("Tender or competitive negotiation"),
    Stage.STARTED: _l("Construction started"),
    Stage.COMPLETED: _l("Construction finished"),
    Stage.ACCEPTED: _l("Completion acceptance"),
    Stage.HANDOVER: _l("Handover and long-term management"),
}


class PartyRole(enum.StrEnum):
    BUILDER = "builder"  # 建设单位
    DESIGNER = "designer"
    CONSTRUCTOR = "constructor"
    SUPERVISOR = "supervisor"  # 监理

    @property
    def label(self):
        return PARTY_LABELS[self]


PARTY_LABELS = {
    PartyRole.BUILDER: _l("Client (owner's representative)"),
    PartyRole.DESIGNER: _l("Designer"),
    PartyRole.CONSTRUCTOR: _l("Construction company"),
    PartyRole.SUPERVISOR: _l("Site supervisor"),
}


class FundingSource(enum.StrEnum):
    CENTRAL = "central"  # 中央补助
    PROVINCIAL = "provincial"  # 省级补助
    LOCAL = "local"  # 市县配套
    RESIDENTS = "residents"  # 居民出资: pledged and received come from the campaigns
    MAINTENANCE_FUND = "maintenance_fund"  # 维修资金
    ESTATE_INCOME = "estate_income"  # 小区公共收益
    UTILITIES = "utilities"  # 水电气讯 companies
    ENTERPRISES = "enterprises"  # 企业/社会资本
    LOANS = "loans"  # 贷款
    OTHER = "other"

    @property
    def label(self):
        return FUNDING_LABELS[self]


FUNDING_LABELS = {
    FundingSource.CENTRAL: _l("Central government subsidy"),
    FundingSource.PROVINCIAL: _l("Provincial subsidy"),
    FundingSource.LOCAL: _l("City and county funds"),
    FundingSource.RESIDENTS: _l("Residents' contributions"),
    FundingSource.MAINTENANCE_FUND: _l("Maintenance fund"),
    FundingSource.ESTATE_INCOME: _l("Public income of the estate"),
    FundingSource.UTILITIES: _l("Water, power, gas and telecom companies"),
    FundingSource.ENTERPRISES: _l("Enterprises and social capital"),
    FundingSource.LOANS: _l("Loans"),
    FundingSource.OTHER: _l("Other sources"),
}


class Project(db.Model):
    __tablename__ = "renovation_project"
    __table_args__ = (
        UniqueConstraint("estate_id", "batch_year", "name"),
        CheckConstraint("length(name) >= 1", name="name_not_empty"),
        CheckConstraint("batch_year BETWEEN 2000 AND 2100", name="batch_year_range"),
        CheckConstraint("invested_fen >= 0", name="invested_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    batch_year: Mapped[int] = mapped_column(Integer)
    hotline: Mapped[str] = mapped_column(String(40), default="")  # 监督电话
    # 完成投资: what the works done so far are worth, as the planner reports it monthly.
    invested_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The 满意度测评 opened at 完工 (a survey of kind "satisfaction"; the survey feature
    # opens and counts it through renovation/satisfaction.py's registration point).
    satisfaction_survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id"), unique=True)

    estate: Mapped[Estate] = relationship()
    stages: Mapped[list["ProjectStage"]] = relationship(
        order_by="ProjectStage.position", cascade="all, delete-orphan"
    )
    parties: Mapped[list["Party"]] = relationship(order_by="Party.id", cascade="all, delete-orphan")
    scope_items: Mapped[list["ScopeItem"]] = relationship(
        order_by="ScopeItem.id", cascade="all, delete-orphan"
    )
    funding: Mapped[list["Funding"]] = relationship(
        order_by="Funding.position", cascade="all, delete-orphan"
    )
    notes: Mapped[list["ProgressNote"]] = relationship(
        order_by="ProgressNote.id.desc()", cascade="all, delete-orphan"
    )
    acceptance: Mapped["Acceptance | None"] = relationship(cascade="all, delete-orphan")

    def stage_row(self, stage: Stage) -> "ProjectStage":
        return next(row for row in self.stages if row.stage == stage)

    @property
    def current_stage(self) -> Stage | None:
        """The first stage not completed; None once every stage is."""
        for row in self.stages:
            if row.actual_on is None:
                return row.stage
        return None

    @property
    def last_completed(self) -> Stage | None:
        done = [row.stage for row in self.stages if row.actual_on is not None]
        return done[-1] if done else None

    def party(self, role: PartyRole) -> "Party | None":
        return next((p for p in self.parties if p.role == role), None)

    def funding_line(self, source: FundingSource) -> "Funding | None":
        return next((f for f in self.funding if f.source == source), None)


class ProjectStage(db.Model):
    """One stage of one project: every project has all nine, made with it."""

    __tablename__ = "renovation_stage"
    __table_args__ = (
        UniqueConstraint("project_id", "stage"),
        CheckConstraint("position BETWEEN 0 AND 8", name="position_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("renovation_project.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, "renovation_stage_name"))
    position: Mapped[int] = mapped_column(Integer)
    planned_on: Mapped[date | None] = mapped_column(Date)
    actual_on: Mapped[date | None] = mapped_column(Date)  # None: not completed


class Party(db.Model):
    """建设单位, designer, construction company, supervisor: a company and its contact."""

    __tablename__ = "renovation_party"
    __table_args__ = (
        UniqueConstraint("project_id", "role"),
        CheckConstraint("length(name) >= 1", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("renovation_project.id"), index=True)
    role: Mapped[PartyRole] = mapped_column(enum_column(PartyRole, "renovation_party_role"))
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")


class ScopeItem(db.Model):
    """What is renovated: linked to a survey item residents approved, or added by a planner."""

    __tablename__ = "renovation_scope_item"
    __table_args__ = (CheckConstraint("length(title) >= 1", name="title_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("renovation_project.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    survey_item_id: Mapped[int | None] = mapped_column(ForeignKey("survey_item.id"))


class Funding(db.Model):
    """Planned and received (到位) money from one source. The residents' line keeps only its
    plan: what was pledged and received comes from the estate's campaigns."""

    __tablename__ = "renovation_funding"
    __table_args__ = (
        UniqueConstraint("project_id", "source"),
        CheckConstraint("planned_fen >= 0", name="planned_not_negative"),
        CheckConstraint("received_fen >= 0", name="received_not_negative"),
        CheckConstraint("received_fen <= planned_fen OR length(note) > 0", name="excess_has_note"),
        CheckConstraint(
            "source <> 'residents' OR received_fen = 0", name="residents_from_campaigns"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("renovation_project.id"), index=True)
    source: Mapped[FundingSource] = mapped_column(
        enum_column(FundingSource, "renovation_funding_source")
    )
    position: Mapped[int] = mapped_column(Integer)
    planned_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    received_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(String(500), default="")


class ProgressNote(db.Model):
    """A dated note on the timeline, by the contractor or a planner, with up to 3 photos."""

    __tablename__ = "renovation_note"
    __table_args__ = (CheckConstraint("length(text) >= 1", name="text_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("renovation_project.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    author_role: Mapped[str] = mapped_column(String(20))  # the role label shown to the public
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    staff_user: Mapped[StaffUser | None] = relationship()
    photos: Mapped[list["ProgressPhoto"]] = relationship(
        order_by="ProgressPhoto.id", cascade="all, delete-orphan"
    )


class ProgressPhoto(db.Model):
    __tablename__ = "renovation_photo"
    __table_args__ = (UniqueConstraint("note_id", "photo_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("renovation_note.id"), index=True)
    photo_key: Mapped[str] = mapped_column(String(64), index=True)


class DistrictTarget(db.Model):
    """A district's targets for a year (projects to start, finish, accept; investment)."""

    __tablename__ = "renovation_target"
    __table_args__ = (
        UniqueConstraint("district", "year"),
        CheckConstraint("length(district) >= 1", name="district_not_empty"),
        CheckConstraint(
            "to_start >= 0 AND to_finish >= 0 AND to_accept >= 0 AND investment_fen >= 0",
            name="targets_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district: Mapped[str] = mapped_column(String(100))
    year: Mapped[int] = mapped_column(Integer)
    to_start: Mapped[int] = mapped_column(Integer, default=0)
    to_finish: Mapped[int] = mapped_column(Integer, default=0)
    to_accept: Mapped[int] = mapped_column(Integer, default=0)
    investment_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class Acceptance(db.Model):
    """The completion acceptance record (竣工验收): the residents' representatives' sign-off,
    typed by the secretary, and then the planner's result, with the quality reports open at that
    moment. Passing it completes the 竣工验收 stage; while reports marked as safety issues are
    open it passes only with a planner's override and its reason."""

    __tablename__ = "renovation_acceptance"
    __table_args__ = (
        UniqueConstraint("project_id"),
        CheckConstraint("length(representatives) >= 1", name="representatives_not_empty"),
        CheckConstraint(
            "passed_on IS NULL OR open_safety_reports = 0 OR length(override_reason) > 0",
            name="safety_override_has_reason",
        ),
        CheckConstraint("open_reports >= 0 AND open_safety_reports >= 0", name="counts_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("renovation_project.id"), index=True)
    representatives: Mapped[str] = mapped_column(String(1000))  # one name a line
    signed_on: Mapped[date] = mapped_column(Date)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    passed_on: Mapped[date | None] = mapped_column(Date)
    passed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    open_reports: Mapped[int] = mapped_column(Integer, default=0)
    open_safety_reports: Mapped[int] = mapped_column(Integer, default=0)
    override_reason: Mapped[str] = mapped_column(String(500), default="")

    @property
    def names(self) -> list[str]:
        return [n for n in self.representatives.splitlines() if n.strip()]


class ReceivedRecord(db.Model):
    """What one source's received (到位) amount of a project was from `recorded_at` on: a row
    per change, so that the bulletin of an earlier month counts the money recorded by its end.
    The residents' money is not kept here: the campaigns' payments are dated themselves."""

    __tablename__ = "renovation_received"
    __table_args__ = (
        CheckConstraint("received_fen >= 0", name="received_not_negative"),
        CheckConstraint("source <> 'residents'", name="not_residents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("renovation_project.id"), index=True)
    source: Mapped[FundingSource] = mapped_column(
        enum_column(FundingSource, "renovation_funding_source")
    )
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    received_fen: Mapped[int] = mapped_column(BigInteger)


class InvestmentRecord(db.Model):
    """The investment completed (完成投资) a project reported from `recorded_at` on: a row per
    change, for the bulletin of an earlier month."""

    __tablename__ = "renovation_investment"
    __table_args__ = (CheckConstraint("invested_fen >= 0", name="invested_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("renovation_project.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    invested_fen: Mapped[int] = mapped_column(BigInteger)
