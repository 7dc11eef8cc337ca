"""The README's first command builds the demo estate: it must work, and work twice."""

import re

from sqlalchemy import func, select

from contributions.models import ElevatorProject
from resident_portal.extensions import db
from resident_portal.models import Household, Role, StaffUser
from survey.models import Survey

from .conftest import sign_in_household, sign_in_staff


def test_demo_builds_a_usable_estate_and_can_run_again(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert db.session.scalar(select(func.count()).select_from(Household)) == 144
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 2
    assert db.session.scalar(select(func.count()).select_from(StaffUser)) == len(Role)
    # the printed household code and staff passwords work (the second run's, which re-issued)
    lines = second.output.splitlines()
    # in the default language, Chinese
    assert "示范" in second.output or "美苑小区" in second.output
    assert "访问码" in second.output
    code = re.search(r"\b([0-9A-Z]{5}-[0-9A-Z]{5})\b", second.output).group(1)
    household = db.session.scalar(select(Household).order_by(Household.id))
    client = app.test_client()
    assert sign_in_household(client, household.estate, household, code).status_code == 302
    assert "1栋1单元加装电梯表决" in client.get("/home").get_data(as_text=True)
    # the elevator vote belongs to an elevator project, so its ballot shows the shares
    project = db.session.scalar(select(ElevatorProject))
    assert project.survey.title == "1栋1单元加装电梯表决"
    for role in Role:
        username = f"demo-{role.value}"
        line = next(line for line in lines if f" {username}，" in line)
        password = line.split()[-1]
        assert sign_in_staff(app.test_client(), username, password).status_code == 302
