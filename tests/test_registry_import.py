"""Importing the register: all-or-nothing, re-runnable, previewed, from CLI and web."""

from pathlib import Path

from sqlalchemy import select

from resident_portal import operations
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Household, PendingImport, Role
from resident_portal.registry import parse_registry

from .conftest import (
    SMALL_REGISTER,
    count,
    household,
    issue_code,
    make_estate,
    make_staff,
    register_csv,
    sign_in_household,
    sign_in_staff,
)

SAMPLE = (
    Path(__file__).resolve().parent.parent / "resident_portal" / "demo" / "meiyuan_registry.csv"
)


def test_cli_imports_sample_register_and_rerun_changes_nothing(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["estate", "create", "meiyuan", "--name", "美苑小区"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["registry", "import", "meiyuan", str(SAMPLE), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert count(Household) == 0
    result = runner.invoke(args=["registry", "import", "meiyuan", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert count(Household) == 144
    again = runner.invoke(args=["registry", "import", "meiyuan", str(SAMPLE)])
    assert again.exit_code == 0, again.output
    assert "新增0户，更新0户，未变144户" in again.output
    assert count(Household) == 144


def test_cli_rejects_a_broken_file_with_nonzero_status_and_writes_nothing(app, tmp_path):
    make_estate()
    before = count(Household)
    broken = tmp_path / "broken.csv"
    rows = list(SMALL_REGISTER) + [("9", "1", "101", 0, "-3", "Z", "某某", "")]
    broken.write_bytes(register_csv(rows))
    result = app.test_cli_runner().invoke(args=["registry", "import", "meiyuan", str(broken)])
    assert result.exit_code == 1
    assert "第7行：楼层0超出范围" in result.output  # the bad row's line number
    assert "未导入任何数据" in result.output
    assert count(Household) == before


def test_reimport_updates_in_place_and_withdraws_codes_of_new_owners(app, client):
    estate = make_estate()
    sold = household(estate, "1", "1", "201")
    kept = household(estate, "1", "1", "101")
    sold_code = issue_code(estate, sold)
    issue_code(estate, kept)
    assert sign_in_household(client, estate, sold, sold_code).status_code == 302
    rows = [list(r) for r in SMALL_REGISTER]
    rows[0][4] = "81.00"  # corrected area
    rows[1][5:7] = ["B9", "新业主"]  # 1-1-201 was sold
    plan = operations.import_registry(estate, parse_registry(register_csv(rows), "r.csv"))
    assert (len(plan.new), len(plan.updated), plan.unchanged) == (0, 2, 3)
    db.session.expire_all()
    assert kept.area_centi_m2 == 8100 and kept.access_code_hash is not None
    assert sold.owner_ref == "B9" and sold.access_code_hash is None
    # the previous owner's session ended with the sale
    assert client.get("/home").status_code == 302
    assert sign_in_household(client, estate, sold, sold_code).status_code == 400


def test_import_failure_midway_leaves_nothing(app, monkeypatch):
    estate = make_estate(rows=SMALL_REGISTER[:1])
    parsed = parse_registry(register_csv(SMALL_REGISTER), "r.csv")
    original = operations.audit

    def failing_audit(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(operations, "audit", failing_audit)
    try:
        operations.import_registry(estate, parsed)
    except RuntimeError:
        pass
    assert count(Household) == 1


def test_web_upload_previews_then_imports_on_confirmation(app, client):
    estate = operations.create_estate("meiyuan", "美苑小区")
    username, password = make_staff(Role.SECRETARY, estate)
    sign_in_staff(client, username, password)
    response = client.post(
        "/console/meiyuan/registry",
        data={"register": (SAMPLE.open("rb"), "meiyuan.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "144" in page
    assert count(Household) == 0  # preview writes nothing
    [pending] = db.session.scalars(select(PendingImport)).all()
    response = client.post(f"/console/meiyuan/registry/{pending.id}")
    assert response.status_code == 302
    assert count(Household) == 144
    assert count(PendingImport) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "registry.import"))
    assert entry.staff_user.username == username and entry.detail["new"] == 144


def test_web_upload_of_broken_file_lists_every_problem_in_chinese(app, client):
    estate = operations.create_estate("meiyuan", "美苑小区")
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    rows = list(SMALL_REGISTER) + [
        ("1", "1", "", 1, "50", "Q", "某", ""),
        ("1", "1", "101", 1, "50", "Q2", "某某", ""),
    ]
    response = client.post(
        "/console/meiyuan/registry",
        data={"register": (__import__("io").BytesIO(register_csv(rows)), "r.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "第7行" in page and "第8行" in page
    assert "缺少房号" in page
    assert count(Household) == 0 and count(PendingImport) == 0


def test_a_new_upload_replaces_the_unconfirmed_one(app, client):
    estate = operations.create_estate("meiyuan", "美苑小区")
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    for _ in range(2):
        client.post(
            "/console/meiyuan/registry",
            data={"register": (SAMPLE.open("rb"), "meiyuan.csv")},
            content_type="multipart/form-data",
        )
    assert count(PendingImport) == 1


def test_secretary_cannot_confirm_someone_elses_upload(app, client):
    estate = operations.create_estate("meiyuan", "美苑小区")
    first = make_staff(Role.SECRETARY, estate)
    sign_in_staff(client, *first)
    client.post(
        "/console/meiyuan/registry",
        data={"register": (SAMPLE.open("rb"), "meiyuan.csv")},
        content_type="multipart/form-data",
    )
    pending = db.session.scalar(select(PendingImport))
    other = app.test_client()
    sign_in_staff(other, *make_staff(Role.SECRETARY, estate))
    assert other.post(f"/console/meiyuan/registry/{pending.id}").status_code == 404
    assert count(Household) == 0
