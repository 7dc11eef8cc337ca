"""The planner's project spreadsheet: Chinese headers, all or nothing, problems by line."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Role, StaffUser
from resident_portal.renovation import operations
from resident_portal.renovation.models import Funding, FundingSource, PartyRole, Project, Stage
from resident_portal.renovation.spreadsheet import parse_date, parse_projects

from .conftest import count, make_estate, make_staff, sign_in_staff

HEADER = [
    "小区编号",
    "项目名称",
    "批次年度",
    "监督电话",
    "施工单位",
    "施工单位联系人",
    "立项完成日期",
    "征求居民意见完成日期",
    "开工计划日期",
    "完工计划日期",
    "中央补助计划(元)",
    "中央补助到位(元)",
    "居民出资计划(元)",
    "资金说明",
]
LAST_MONTH = operations.today_in_china() - timedelta(days=30)


def workbook(*rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def good_row(code="meiyuan", name="综合改造"):
    return [
        code,
        name,
        2026,
        "12345",
        "某建工集团",
        "李工",
        LAST_MONTH,  # an Excel date cell
        (LAST_MONTH + timedelta(days=7)).isoformat(),
        "2026年8月1日",
        "2026/12/1",
        3000000,
        "1500000.50",
        200000,
        "",
    ]


@pytest.fixture
def planner(app):
    estate = make_estate()
    username, password = make_staff(Role.PLANNER, estate)
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    return estate, user, (username, password)


def run(content, user):
    return operations.import_projects(
        parse_projects(content, "projects.xlsx"), staff_user=user, may_manage=lambda e: True
    )


def test_dates_as_planners_type_them():
    assert parse_date("2026-03-01") == date(2026, 3, 1)
    assert parse_date("2026/3/1") == date(2026, 3, 1)
    assert parse_date("2026年3月1日") == date(2026, 3, 1)
    assert parse_date("2026-03-01 00:00:00") == date(2026, 3, 1)
    with pytest.raises(ValueError):
        parse_date("next march")


def test_a_good_file_creates_the_project_and_a_second_run_updates_it(planner):
    estate, user, _ = planner
    result, problems = run(workbook(good_row()), user)
    assert problems == [] and result == (1, 0)
    project = db.session.scalar(select(Project))
    assert (project.name, project.batch_year, project.hotline) == ("综合改造", 2026, "12345")
    assert project.party(PartyRole.CONSTRUCTOR).contact == "李工"
    assert project.current_stage is Stage.DESIGN
    assert project.stage_row(Stage.STARTED).planned_on == date(2026, 8, 1)
    central = project.funding_line(FundingSource.CENTRAL)
    assert (central.planned_fen, central.received_fen) == (300_000_000, 150_000_050)
    assert project.funding_line(FundingSource.RESIDENTS).planned_fen == 20_000_000
    changed = good_row()
    changed[11] = "2000000"
    assert run(workbook(changed), user) == ((0, 1), [])
    db.session.expire_all()
    assert db.session.get(Project, project.id).funding_line(FundingSource.CENTRAL).received_fen == (
        200_000_000
    )
    entries = db.session.scalars(select(AuditEntry.action)).all()
    assert entries.count("renovation.import") == 2


@pytest.mark.parametrize(
    "column, value, words",
    [
        (0, "nowhere", "nowhere"),  # an unknown estate
        (10, "-5", "中央补助计划"),  # a negative amount
        (10, "三百万", "中央补助计划"),  # not a number
        (11, "4000000", "说明"),  # received above planned without a note
        (7, "2020-01-01", "早于"),  # consultation before the project was approved
        (8, "明年", "开工计划日期"),
        (2, "26", "批次年度"),
    ],
)
def test_a_bad_row_is_named_by_its_line_and_nothing_is_written(app, planner, column, value, words):
    estate, user, login = planner
    bad = good_row(name="二期")
    bad[column] = value
    client = app.test_client()
    sign_in_staff(client, *login)
    page = client.post(
        "/console/renovation/import",
        data={"workbook": (io.BytesIO(workbook(good_row(), bad)), "projects.xlsx")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "第3行" in text
    assert words in text
    assert count(Project) == 0 and count(Funding) == 0


def test_an_estate_outside_the_planners_scope_is_refused_like_an_unknown_one(planner):
    estate, user, _ = planner
    make_estate("lanting", "兰亭小区")
    result, problems = operations.import_projects(
        parse_projects(workbook(good_row(), good_row("lanting")), "p.xlsx"),
        staff_user=user,
        may_manage=lambda e: e.code == "meiyuan",
    )
    assert result is None and [p.line for p in problems] == [3]
    assert count(Project) == 0


def test_missing_and_unknown_columns_are_refused():
    parsed = parse_projects(workbook(["meiyuan"], header=["小区编号"]), "p.xlsx")
    assert "项目名称" in parsed.problems[0].params["missing"]
    parsed = parse_projects(workbook(good_row(), header=HEADER[:3] + ["彩票收入"]), "p.xlsx")
    assert parsed.problems[0].params == {"column": "彩票收入"}


def test_a_spreadsheet_never_takes_a_completed_stage_back(planner):
    estate, user, _ = planner
    run(workbook(good_row()), user)
    later = good_row()
    later[6] = (LAST_MONTH + timedelta(days=10)).isoformat()  # after consultation now
    result, problems = run(workbook(later), user)
    assert result is None and problems[0].line == 2


# --- the command line: flask --app resident_portal renovation import FILE ----------------------


def cli_import(app, tmp_path, content: bytes, *options):
    path = tmp_path / "projects.xlsx"
    path.write_bytes(content)
    return app.test_cli_runner().invoke(args=["renovation", "import", str(path), *options])


def test_the_command_imports_a_good_file_and_a_dry_run_writes_nothing(app, tmp_path):
    make_estate()
    content = workbook(good_row(), good_row(name="二期改造"))
    checked = cli_import(app, tmp_path, content, "--dry-run")
    assert checked.exit_code == 0, checked.stderr
    assert "2" in checked.stdout and "未写入" in checked.stdout
    assert count(Project) == 0 and count(Funding) == 0
    assert not db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.startswith("renovation."))
    ).all()

    imported = cli_import(app, tmp_path, content)
    assert imported.exit_code == 0, imported.stderr
    assert count(Project) == 2
    project = db.session.scalar(select(Project).where(Project.name == "综合改造"))
    assert project.stage_row(Stage.INITIATION).actual_on == LAST_MONTH
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "renovation.import")
    ).all()
    assert entry.staff_user_id is None

    # Again: the same projects are found and updated, none created.
    again = cli_import(app, tmp_path, content, "--dry-run")
    assert again.exit_code == 0 and count(Project) == 2


def test_the_command_refuses_a_bad_file_by_line_with_exit_code_1(app, tmp_path):
    make_estate()
    bad = good_row(code="nowhere")
    refused = cli_import(app, tmp_path, workbook(good_row(), bad))
    assert refused.exit_code == 1
    assert "第3行" in refused.stderr and "nowhere" in refused.stderr
    assert "未导入任何数据" in refused.stderr
    assert count(Project) == 0  # the good first row is not written either
    # --dry-run refuses the same file the same way
    checked = cli_import(app, tmp_path, workbook(good_row(), bad), "--dry-run")
    assert checked.exit_code == 1 and "第3行" in checked.stderr
    unknown = cli_import(app, tmp_path, workbook(good_row(), header=HEADER[:-1] + ["备注栏"]))
    assert unknown.exit_code == 1 and "备注栏" in unknown.stderr
    missing = app.test_cli_runner().invoke(args=["renovation", "import", str(tmp_path / "x")])
    assert missing.exit_code == 2  # click: no such file
