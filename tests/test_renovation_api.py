"""The renovation API: the same tokens and OpenAPI document as the survey results; money in
fen, shares exact; nothing personal."""

from datetime import timedelta

from sqlalchemy import select

from resident_portal import operations as ground_operations
from resident_portal.extensions import db
from resident_portal.models import Role, StaffUser
from resident_portal.renovation import operations
from resident_portal.renovation.models import FundingSource, PartyRole, Stage

from .conftest import make_estate, make_staff


def token_for(role, estate):
    username, _ = make_staff(role, estate)
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    token, _record = ground_operations.create_api_token(user, "dashboard")
    return user, {"Authorization": f"Bearer {token}"}


def test_projects_and_one_project_with_a_token(app, client):
    estate = make_estate()
    user, headers = token_for(Role.PLANNER, estate)
    project = operations.create_project(estate, "综合改造", 2026, "12345", staff_user=user)
    operations.set_party(
        project, PartyRole.SUPERVISOR, "信达监理", "吴工", "021-1", staff_user=user
    )
    operations.set_funding(project, FundingSource.CENTRAL, 300_00, 100_00, staff_user=user)
    today = operations.today_in_china()
    operations.complete_stage(project, Stage.INITIATION, today - timedelta(days=1), staff_user=user)
    listing = client.get("/api/v1/renovation/projects", headers=headers)
    assert listing.status_code == 200
    assert listing.json["projects"][0]["current_stage"] == "consultation"
    assert client.get("/api/v1/renovation/projects").status_code == 401
    detail = client.get(f"/api/v1/renovation/projects/{project.id}", headers=headers).json
    assert detail["stages"][0]["actual_on"] == (today - timedelta(days=1)).isoformat()
    assert detail["funding"][0] == {
        "source": "central",
        "planned_fen": 30000,
        "received_fen": 10000,
        "pledged_fen": None,
        "note": "",
    }
    assert detail["funding_totals"]["received_rate"] == {"part": 1, "whole": 3, "percent": "33.33"}
    assert detail["parties"][0]["name"] == "信达监理"
    assert "王小明" not in str(detail)


def test_a_secretary_of_another_estate_sees_none_of_its_projects(app, client):
    estate = make_estate()
    other = make_estate("lanting", "兰亭小区")
    planner, _ = token_for(Role.PLANNER, estate)
    project = operations.create_project(estate, "综合改造", 2026, staff_user=planner)
    _user, headers = token_for(Role.SECRETARY, other)
    assert client.get("/api/v1/renovation/projects", headers=headers).json == {"projects": []}
    assert (
        client.get(f"/api/v1/renovation/projects/{project.id}", headers=headers).status_code == 403
    )


def test_the_districts_are_the_bulletins_numbers(app, client):
    estate = make_estate()
    user, headers = token_for(Role.PLANNER, estate)
    year = operations.today_in_china().year
    project = operations.create_project(estate, "综合改造", year, staff_user=user)
    operations.set_target(estate.district, year, 4, 2, 1, 0, staff_user=user)
    for stage in list(Stage)[:6]:
        operations.complete_stage(
            project, stage, operations.today_in_china() - timedelta(days=1), staff_user=user
        )
    body = client.get("/api/v1/renovation/districts", headers=headers).json
    assert body["year"] == year
    [district] = body["districts"]
    assert district["started"] == 1
    assert district["start_rate"] == {"part": 1, "whole": 4, "percent": "25.00"}
    assert body["city"]["projects"] == 1
    assert client.get("/api/v1/renovation/districts?year=abc", headers=headers).status_code == 404
    # Only what the OpenAPI document allows (YYYY-MM, a year in digits); present but empty, a
    # space, an underscore or full-width digits (all of which int() takes) are refused.
    for query in ("year=", "month=", "month=2025-3%20", "month=2025-0_3", "month=２０２５-03"):
        url = f"/api/v1/renovation/districts?{query}"
        assert client.get(url, headers=headers).status_code == 404, query
    assert (
        client.get("/api/v1/renovation/districts?month=2025-3", headers=headers).status_code == 200
    )


def test_the_openapi_document_describes_the_renovation(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert "/renovation/projects/{renovation_id}" in document["paths"]
    assert "/surveys" in document["paths"]
    refs = str(document["paths"])
    for name in ("RenovationProject", "RenovationProjectDetail", "RenovationDistricts"):
        assert name in document["components"]["schemas"]
        assert f"#/components/schemas/{name}" in refs
