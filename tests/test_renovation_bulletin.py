"""The renovation in the monthly bulletin (月通报): per district and city, against the year's
targets, the same numbers on the page, in the workbook and from the CLI (one computation)."""

import io
from datetime import timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from resident_portal import operations as ground_operations
from resident_portal import overview
from resident_portal.common import OperationError
from resident_portal.extensions import db
from resident_portal.models import Estate, Role, StaffUser, utcnow
from resident_portal.renovation import bulletin, operations
from resident_portal.renovation.models import STAGES, DistrictTarget, FundingSource, Stage

from .conftest import make_staff, sign_in_staff

TODAY = operations.today_in_china()
YEAR = TODAY.year


def admin():
    username, _ = make_staff(Role.ADMIN, None)
    return db.session.scalar(select(StaffUser).where(StaffUser.username == username))


def generated_district(user, district="东城区", estates=9, behind=0):
    """One estate per stage: estate i has completed the first i stages (0 to 8), each with
    ¥100,000 planned from the centre and ¥50,000 received, and ¥10,000 invested per stage.
    `behind` of them have a planned date for their next stage that passed a week ago."""
    created = []
    for i in range(estates):
        estate = ground_operations.create_estate(
            f"{district[:1]}-{i}".encode().hex()[:12], f"小区{i}", district
        )
        project = operations.create_project(estate, "综合改造", YEAR, staff_user=user)
        for step, stage in enumerate(STAGES[:i]):
            on = TODAY - timedelta(days=60 - step)
            if stage is Stage.ACCEPTED:  # through the acceptance record
                operations.record_signoff(project, "张三\n李四", on, staff_user=user)
                operations.pass_acceptance(project, on, staff_user=user)
            else:
                operations.complete_stage(project, stage, on, staff_user=user)
        if i < behind and i < len(STAGES):
            operations.plan_stages(project, {STAGES[i]: TODAY - timedelta(days=7)}, staff_user=user)
        operations.set_funding(
            project, FundingSource.CENTRAL, 100_000_00, 50_000_00, staff_user=user
        )
        operations.update_details(project, project.name, YEAR, "", 10_000_00 * i, staff_user=user)
        created.append(estate)
    return created


def test_a_generated_district_against_its_targets(app):
    user = admin()
    generated_district(user, "东城区", behind=2)
    generated_district(user, "西城区", estates=3, behind=1)
    operations.set_target("东城区", YEAR, 8, 4, 3, 500_000_00, staff_user=user)
    estates = list(db.session.scalars(select(Estate).order_by(Estate.code)))
    total = overview.totals(overview.estate_rows(estates))
    r = total.figures["renovation"]
    [east, west] = r.districts
    assert (east.district, east.projects) == ("东城区", 9)
    # Estates 6, 7, 8 have started (开工 is the sixth stage): 3 of the 8 to start
    assert (east.started, east.completed, east.accepted) == (3, 2, 1)
    assert east.start_rate == Fraction(3, 8)
    assert east.completion_rate == Fraction(2, 4)
    assert east.acceptance_rate == Fraction(1, 3)
    assert east.invested_fen == 10_000_00 * sum(range(9))
    assert east.received_rate == Fraction(1, 2)
    assert east.by_stage == {s.value: 1 for s in Stage}  # one project at every stage
    assert east.late == 2
    assert west.targets == bulletin.Targets()  # no target: rates are None, shown as —
    assert west.start_rate is None
    assert r.city.projects == 12 and r.city.targets.to_start == 8
    assert [s.district for s in r.behind] == ["东城区", "西城区"]


def test_the_page_the_workbook_and_the_cli_agree(app, client, tmp_path):
    user = admin()
    generated_district(user, "东城区", behind=1)
    operations.set_target("东城区", YEAR, 8, 4, 3, 500_000_00, staff_user=user)
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    month = f"{(utcnow() + timedelta(hours=8)):%Y-%m}"
    page = client.get(f"/console/overview/monthly?district=东城区&month={month}")
    text = page.get_data(as_text=True)
    assert "分区县改造进展" in text and "3 / 8 (37.50%)" in text
    assert "东城区：1 个项目落后于计划" in text
    web = load_workbook(
        io.BytesIO(client.get(f"/console/overview/monthly.xlsx?district=东城区&month={month}").data)
    )
    out = tmp_path / "m.xlsx"
    result = app.test_cli_runner().invoke(
        args=["report", "monthly", "--district", "东城区", "--month", month, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for workbook in (web, load_workbook(out)):
        sheet = workbook["分区县改造进展"]
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        assert rows[0][:5] == ["东城区", 9, 3, 8, 37.5]
        summary = {row[0].value: row[1].value for row in workbook.worksheets[0].iter_rows()}
        assert summary["开工率（%）"] == 37.5
        assert summary["本月：开工项目"] in (0, 1, 2, 3, 4)  # dates 60 days back may fall in it
        assert workbook["进度落后的区县"]["B2"].value == "东城区"


def test_targets_are_set_by_planners_of_the_district_and_refused_when_negative(app, client):
    from .conftest import make_estate

    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    page = client.get("/console/renovation/targets")
    assert page.status_code == 200 and estate.district in page.get_data(as_text=True)
    refused = client.post(
        "/console/renovation/targets",
        data={"district": estate.district, "year": YEAR, "to_start": "-1"},
    )
    assert refused.status_code == 422
    assert db.session.scalar(select(DistrictTarget)) is None
    refused = client.post(
        "/console/renovation/targets", data={"district": "别的区", "year": YEAR, "to_start": "1"}
    )
    assert refused.status_code == 422  # not one of the planner's districts
    saved = client.post(
        "/console/renovation/targets",
        data={"district": estate.district, "year": YEAR, "to_start": "5", "investment": "1000000"},
    )
    assert saved.status_code == 303
    target = db.session.scalar(select(DistrictTarget))
    assert (target.to_start, target.investment_fen) == (5, 100_000_000)
    with pytest.raises(OperationError):
        operations.set_target(estate.district, YEAR, -1, 0, 0, 0, staff_user=None)


facts = st.builds(
    bulletin.ProjectFacts,
    district=st.sampled_from(["甲区", "乙区", "丙区"]),
    current_stage=st.sampled_from([s.value for s in Stage] + [None]),
    done=st.frozensets(st.sampled_from([s.value for s in Stage])),
    late_days=st.integers(0, 100),
    invested_fen=st.integers(0, 10**12),
    planned_fen=st.dictionaries(st.sampled_from(["central", "residents"]), st.integers(0, 10**12)),
    received_fen=st.dictionaries(st.sampled_from(["central", "residents"]), st.integers(0, 10**12)),
)


@given(st.lists(facts, max_size=30), st.integers(0, 50))
def test_the_city_is_the_sum_of_its_districts_to_the_fen(projects, to_start):
    targets = {"甲区": bulletin.Targets(to_start=to_start)}
    districts, city = bulletin.summarise(projects, {"甲区": 7}, targets)
    assert city.projects == len(projects) == sum(d.projects for d in districts)
    assert city.invested_fen == sum(p.invested_fen for p in projects)
    assert city.planned_total == sum(sum(p.planned_fen.values()) for p in projects)
    assert city.received_total == sum(sum(p.received_fen.values()) for p in projects)
    assert city.started == sum("started" in p.done for p in projects)
    if to_start:
        first = next(d for d in districts if d.district == "甲区")
        assert first.start_rate == Fraction(first.started, to_start)
    ranked = bulletin.behind_schedule(districts)
    assert [d.late for d in ranked] == sorted((d.late for d in ranked), reverse=True)
    assert all(d.late for d in ranked)


def test_the_overview_shows_the_districts_too(app, client):
    user = admin()
    generated_district(user, "东城区", estates=7, behind=1)
    operations.set_target("东城区", YEAR, 8, 4, 3, 0, staff_user=user)
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    page = client.get("/console/overview").get_data(as_text=True)
    assert "分区县改造进展" in page and "1 / 8 (12.50%)" in page
    assert "东城区：1 个项目落后于计划" in page
