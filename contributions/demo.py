"""The contributions feature's part of the demo estate (`flask --app resident_portal demo`):
an elevator project for building 1, unit 1, with its consent vote and its pledge campaign, so
that the demo's elevator ballot shows each household's share. Registered by create_app as a
demo seeder after the surveys'."""

from datetime import timedelta

from sqlalchemy import select

from resident_portal.extensions import db
from resident_portal.models import Building, Estate, Unit, utcnow

from . import operations
from .models import ElevatorProject


def demo_elevator(estate: Estate) -> list[str]:
    unit = db.session.scalar(
        select(Unit)
        .join(Building)
        .where(Building.estate_id == estate.id, Building.number == "1", Unit.number == "1")
    )
    if unit is None:
        return []
    project = db.session.scalar(select(ElevatorProject).where(ElevatorProject.unit_id == unit.id))
    if project is None:
        # Round figures of a typical six-storey retrofit: ¥600,000, a ¥150,000 subsidy.
        fields = operations.ElevatorFields(
            equipment_fen=45_000_000,
            installation_fen=12_000_000,
            design_fen=1_000_000,
            pipes_fen=2_000_000,
            other_fen=0,
            subsidy_fixed_fen=15_000_000,
            subsidy_basis_points=0,
            subsidy_cap_fen=None,
            maintenance_fund_fen=0,
        )
        project = operations.create_elevator_project(
            unit, fields, utcnow() + timedelta(days=30), utcnow() + timedelta(days=60)
        )
    return [
        f"  Elevator project {project.id}: consent vote {project.survey_id}, "
        f"campaign {project.campaign_id}"
    ]
