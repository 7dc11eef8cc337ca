"""The renovation's part of the demo estate (`flask --app resident_portal demo`): a project under
construction, registered by create_app as a demo seeder (resident_portal/cli.py)."""

import io
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select

from ..extensions import db
from ..models import Estate, Role
from ..reports.photos import reencode
from . import operations
from .models import FundingSource, PartyRole, Project, Stage

NAME = "美苑小区老旧小区综合改造"


def _site_photo(colour: tuple[int, int, int]) -> bytes:
    """A plain drawing standing in for a site photo (the demo ships no pictures)."""
    image = Image.new("RGB", (960, 640), (215, 220, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 160, 840, 640), fill=colour)  # a building
    for x in range(170, 800, 110):
        for y in range(200, 600, 90):
            draw.rectangle((x, y, x + 60, y + 50), fill=(240, 240, 235))
    draw.line((80, 140, 880, 140), fill=(90, 90, 90), width=12)  # scaffolding
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def demo_project(estate: Estate, staff_user=None) -> list[str]:
    """A 2026 project that started construction three weeks ago, once; the line `flask demo`
    prints about it."""
    project = db.session.scalar(
        select(Project).where(Project.estate_id == estate.id, Project.name == NAME)
    )
    if project is None:
        project = _create(estate, staff_user)
    return [f"  Renovation notice board:  /e/{estate.code}/project (project {project.id})"]


def _create(estate: Estate, staff_user) -> Project:
    today = operations.today_in_china()
    project = operations.create_project(
        estate, NAME, today.year, "021-12345678", staff_user=staff_user
    )
    for title in ("屋面防水", "外墙保温和粉刷", "雨污分流管网", "楼道照明和扶手", "小区道路和停车"):
        operations.add_scope_item(project, title, staff_user=staff_user)
    for role, name, contact, phone in (
        (PartyRole.BUILDER, "示范街道城市更新办公室", "陈主任", "021-66660001"),
        (PartyRole.DESIGNER, "城建设计研究院", "周工", "021-66660002"),
        (PartyRole.CONSTRUCTOR, "第三建筑工程有限公司", "刘经理", "021-66660003"),
        (PartyRole.SUPERVISOR, "信达工程监理有限公司", "吴工", "021-66660004"),
    ):
        operations.set_party(project, role, name, contact, phone, staff_user=staff_user)
    # Six stages done, each a few weeks after the last; construction ends in three months.
    offsets = {
        Stage.INITIATION: -200,
        Stage.CONSULTATION: -170,
        Stage.DESIGN: -120,
        Stage.APPROVAL: -80,
        Stage.TENDER: -45,
        Stage.STARTED: -21,
        Stage.COMPLETED: 90,
        Stage.ACCEPTED: 120,
        Stage.HANDOVER: 150,
    }
    operations.plan_stages(
        project,
        {stage: today + timedelta(days=days - 7 * (days < 0)) for stage, days in offsets.items()},
        staff_user=staff_user,
    )
    for stage, days in offsets.items():
        if days < 0:
            operations.complete_stage(
                project, stage, today + timedelta(days=days), staff_user=staff_user
            )
    operations.set_budget(
        project,
        {
            FundingSource.CENTRAL: (3_200_000_00, 3_200_000_00, ""),
            FundingSource.PROVINCIAL: (600_000_00, 300_000_00, ""),
            FundingSource.LOCAL: (1_500_000_00, 900_000_00, ""),
            FundingSource.RESIDENTS: (300_000_00, 0, ""),
            FundingSource.UTILITIES: (400_000_00, 450_000_00, "燃气公司追加了管道更换"),
        },
        staff_user=staff_user,
    )
    operations.update_details(
        project,
        project.name,
        project.batch_year,
        project.hotline,
        1_850_000_00,
        staff_user=staff_user,
    )
    operations.add_note(
        project,
        "施工单位进场，1号楼、2号楼搭设脚手架。",
        [reencode(_site_photo((170, 150, 120)))],
        staff_user=staff_user,
        role=Role.CONTRACTOR,
    )
    return project
