"""Malformed registers, through the real import paths (issue 7: bad input).

tests/test_registry_parse.py checks the reader on its own (encodings Excel writes, every kind of
bad row, a few unreadable files) and tests/test_registry_import.py one broken file through the
CLI and the upload page. Here a corpus of broken files goes through all three ways a register
gets in: the upload page (preview), its confirmation (a file held before it was checked, or
under older rules), and `flask registry import`. Each is refused with the reason in the
reader's language (Chinese by default), naming the line where there is one, and the database
is exactly as before: every row of every table.

Formulas ("nothing is guessed") are refused at import; a formula cell in an XLSX is
read as the value it shows, so no formula is ever stored. Exports neutralise whatever formulas
reach the database anyway (typed by residents and staff in other places, or written before
these rules): every spreadsheet the app writes is checked for cells a spreadsheet would run.
"""

import csv
import io
import random
import re
import time
import tracemalloc
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from resident_portal import create_app
from resident_portal import operations as portal_operations
from resident_portal.extensions import db
from resident_portal.models import Household, Role, StaffUser
from resident_portal.registry import MAX_ROWS, parse_registry

from .conftest import (
    HEADER,
    SMALL_REGISTER,
    close_survey,
    household,
    make_campaign,
    make_estate,
    make_report,
    make_staff,
    make_survey,
    register_csv,
    reissue_all_codes,
    sign_in_staff,
)
from .fuzzing import FORMULAS, changed_tables, database_state

# --- the corpus -----------------------------------------------------------------------------

GOOD_LINES = register_csv(SMALL_REGISTER).decode().splitlines()  # header + 5 households


def csv_of(*lines: str, encoding="utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def with_row(row: tuple) -> bytes:
    """The small register plus one more line (line 7)."""
    return csv_of(*GOOD_LINES, ",".join(str(c) for c in row))


def xlsx_of(rows: list[list], formulas: dict[str, tuple[str, str | None]] | None = None) -> bytes:
    """A workbook of `rows`; `formulas` turns cells ("G2") into formula cells with a cached
    value (what Excel and WPS save) or without one (what openpyxl and some tools save)."""
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if not formulas:
        return buffer.getvalue()
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, (formula, cached) in formulas.items():
                    escaped = formula.replace("&", "&amp;").replace('"', "&quot;")
                    escaped = escaped.replace("<", "&lt;")
                    cell = f'<c r="{ref}" t="str"><f>{escaped}</f>'
                    cell += f"<v>{cached}</v></c>" if cached is not None else "</c>"
                    text, found = re.subn(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)', cell, text)
                    assert found == 1, ref
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


REGISTER_ROWS = [HEADER.split(",")] + [list(r) for r in SMALL_REGISTER]


def _random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _rows(count: int) -> list[str]:
    """`count` distinct, valid household lines (24 floors x 8 rooms per unit)."""
    lines = []
    for n in range(count):
        building, rest = divmod(n, 24 * 8 * 4)
        unit, rest = divmod(rest, 24 * 8)
        floor, room = divmod(rest, 8)
        lines.append(
            f"{building + 1},{unit + 1},{floor + 1}{room + 1:02d},{floor + 1},88.50,O{n},业主{n},"
        )
    return lines


FILE_PROBLEMS = (
    "文件不是 CSV 或 XLSX 表格",
    "文件编码既不是 UTF-8 也不是 GBK",
    "缺少以下列",
    "CSV 文件格式有误",
    "文件是空的",
    "无法读取该 XLSX 文件",
)

# id -> (content, file name, texts that must all appear in the refusal; a tuple: any of them)
CORPUS = {
    # encodings nobody can read as the register
    "utf-16 with BOM (Excel's 'Unicode text')": (
        csv_of(*GOOD_LINES, encoding="utf-16"),
        "r.txt",
        ["文件编码既不是 UTF-8 也不是 GBK"],
    ),
    "utf-16-be without BOM": (
        csv_of(*GOOD_LINES, encoding="utf-16-be"),
        "r.csv",
        ["文件编码既不是 UTF-8 也不是 GBK"],
    ),
    "utf-32": (
        csv_of(*GOOD_LINES, encoding="utf-32"),
        "r.csv",
        ["文件编码既不是 UTF-8 也不是 GBK"],
    ),
    "big5 (Taiwan/Hong Kong Excel)": (
        csv_of(
            "樓棟,單元,房號,樓層,建築面積,業主編號,業主姓名,聯繫電話",
            "1,1,101,1,80.5,A1,王小明,",
            encoding="big5",
        ),
        "r.csv",
        ["缺少以下列", "楼栋"],
    ),
    "random bytes": (_random_bytes(1, 4096), "r.csv", [FILE_PROBLEMS]),
    "random bytes called xlsx": (_random_bytes(2, 4096), "r.xlsx", ["无法读取该 XLSX 文件"]),
    "random bytes after a zip signature": (
        b"PK\x03\x04" + _random_bytes(3, 4096),
        "r.csv",
        ["无法读取该 XLSX 文件"],
    ),
    "NUL bytes in text": (
        register_csv(SMALL_REGISTER).replace(b"\n2,", b"\n2\x00,"),
        "r.csv",
        [FILE_PROBLEMS],
    ),
    "one 200 KB cell": (
        csv_of(*GOOD_LINES, "1,1,901,9,80,A9," + "王" * 200_000 + ","),
        "r.csv",
        ["CSV 文件格式有误"],
    ),
    # columns
    "missing owner columns": (
        csv_of("楼栋,单元,房号,楼层,建筑面积", "1,1,101,1,80.50"),
        "r.csv",
        ["缺少以下列", "业主编号", "业主姓名"],
    ),
    "headers on the second line": (
        csv_of("美苑小区住户名册", *GOOD_LINES),
        "r.csv",
        ["缺少以下列"],
    ),
    "duplicate header with different contents": (
        csv_of(
            "楼栋,单元,房号,楼层,建筑面积,业主编号,业主姓名,联系电话,房号",
            "1,1,101,1,80.50,A1,王小明,,102",
        ),
        "r.csv",
        ["房号", "第1行"],
    ),
    "duplicate English and Chinese header": (
        csv_of(
            "楼栋,单元,房号,楼层,建筑面积,业主编号,业主姓名,联系电话,area_m2",
            "1,1,101,1,80.50,A1,王小明,,8050",
        ),
        "r.csv",
        ["建筑面积", "第1行"],
    ),
    # rows
    "duplicate household": (
        with_row(SMALL_REGISTER[0]),
        "r.csv",
        ["第7行", "1栋1单元101室已在第2行出现过"],
    ),
    "duplicate household, full-width and padded": (
        with_row(("１", " 1 ", "１０１", 1, "80.50", "A1", "王小明", "")),
        "r.csv",
        ["第7行", "1栋1单元101室已在第2行出现过"],
    ),
    "one owner, two names": (
        with_row(("2", "1", "201", 2, "70", "A1", "王大明", "")),
        "r.csv",
        ["第7行", "王大明", "王小明"],
    ),
    # formulas (nothing is guessed; refused at import)
    "HYPERLINK formula as owner name": (
        with_row(("2", "1", "201", 2, "70", "A9", FORMULAS[0].replace(",", "，"), "")),
        "r.csv",
        ["第7行", "业主姓名看起来像表格公式"],
    ),
    "DDE payload as room": (
        with_row(("2", "1", "+cmd|' /C calc'!A0", 2, "70", "A9", "赵六", "")),
        "r.csv",
        ["第7行", "房号看起来像表格公式"],
    ),
    "DDE payload behind a minus sign as room": (
        with_row(("2", "1", "-1+cmd|' /C calc'!A0", 2, "70", "A9", "赵六", "")),
        "r.csv",
        ["第7行", "房号看起来像表格公式"],
    ),
    "@SUM as building": (
        with_row(("@SUM(1)", "1", "201", 2, "70", "A9", "赵六", "")),
        "r.csv",
        ["第7行", "楼栋看起来像表格公式"],
    ),
    "full-width equals sign as owner number": (
        with_row(("2", "1", "201", 2, "70", "＝1+1", "赵六", "")),
        "r.csv",
        ["第7行", "业主编号看起来像表格公式"],
    ),
    "tab before a formula": (
        with_row(("2", "1", "201", 2, "70", "A9", "\t=1+1", "")),
        "r.csv",
        ["第7行", "业主姓名看起来像表格公式"],
    ),
    # nothing in it
    "empty file": (b"", "r.csv", ["文件是空的"]),
    "only blank lines and commas": (b"\r\n,,,\r\n\r\n", "r.csv", ["文件是空的"]),
    "header only": (csv_of(HEADER), "r.csv", ["文件只有表头，没有住户数据"]),
    "empty workbook": (xlsx_of([]), "r.xlsx", ["文件是空的"]),
    # broken workbooks
    "truncated xlsx": (xlsx_of(REGISTER_ROWS)[:1500], "r.xlsx", ["无法读取该 XLSX 文件"]),
    "xlsx with its sheet cut off": (
        xlsx_of(REGISTER_ROWS)[:-200],
        "r.xlsx",
        ["无法读取该 XLSX 文件"],
    ),
    "formula cell without a cached value": (
        xlsx_of(REGISTER_ROWS, {"G3": ('HYPERLINK("http://evil.example","x")', None)}),
        "r.xlsx",
        ["第3行", "缺少业主姓名"],
    ),
    "formula cell computing the area, no cached value": (
        xlsx_of(REGISTER_ROWS, {"E2": ("B2*80", None)}),
        "r.xlsx",
        ["第2行", "缺少建筑面积"],
    ),
    # too big
    f"{2 * MAX_ROWS:,} rows": (
        csv_of(HEADER, *_rows(2 * MAX_ROWS)),
        "r.csv",
        [f"文件超过{MAX_ROWS}行"],
    ),
}


def refusal_texts(texts: list) -> list:
    return [t if isinstance(t, tuple) else (t,) for t in texts]


def assert_names_the_problem(output: str, texts: list) -> None:
    for alternatives in refusal_texts(texts):
        assert any(t in output for t in alternatives), (alternatives, output[:2000])


def upload(client, content: bytes, filename: str):
    """The upload form, encoded here: the test client would spool a big body to a temporary
    file that it never closes (a ResourceWarning)."""
    boundary, body = encode_multipart(
        {
            "register": FileStorage(io.BytesIO(content), filename),
            "csrf_token": client.csrf_token(),
        }
    )
    return client.post(
        "/console/meiyuan/registry",
        data=body,
        csrf=False,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


@pytest.fixture
def secretary(app):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    client = app.test_client()
    sign_in_staff(client, username, password)
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    return estate, client, user


@pytest.mark.parametrize("name", CORPUS)
def test_upload_page_refuses_with_the_reason_and_writes_nothing(app, secretary, name):
    content, filename, texts = CORPUS[name]
    _estate, client, _user = secretary
    before = database_state()
    response = upload(client, content, filename)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "未导入" in page  # "The file was not imported: fix these problems…"
    assert_names_the_problem(page, texts)
    assert not re.search(r"/registry/\d+", page)  # nothing offered for confirmation
    assert not changed_tables(before)


@pytest.mark.parametrize("name", CORPUS)
def test_confirming_a_held_bad_file_imports_nothing(app, secretary, name):
    """A file held for confirmation is read again when confirmed (rules may have changed, the
    row may have been tampered with): a bad one is refused there too."""
    content, filename, _texts = CORPUS[name]
    estate, client, user = secretary
    pending = portal_operations.hold_upload(estate, user, filename, content)
    before = database_state()
    response = client.post(f"/console/meiyuan/registry/{pending.id}")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "业主名册有问题，未导入任何数据" in page
    assert not changed_tables(before)


@pytest.mark.parametrize("name", CORPUS)
def test_cli_refuses_with_the_reason_and_writes_nothing(app, tmp_path, name):
    content, filename, texts = CORPUS[name]
    make_estate()
    path = tmp_path / filename
    path.write_bytes(content)
    before = database_state()
    result = app.test_cli_runner().invoke(args=["registry", "import", "meiyuan", str(path)])
    assert result.exit_code == 1, result.output
    assert "未导入" in result.output  # "The register was rejected; nothing was imported."
    assert_names_the_problem(result.output, texts)
    assert not changed_tables(before)


def test_the_row_limit_is_checked_in_reasonable_time_and_memory():
    """The limit (registry.MAX_ROWS) holds without unbounded work: a CSV of twice the limit is
    refused in about a second, a workbook over it in a few (reading stops at the limit)."""
    lines = _rows(2 * MAX_ROWS)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER.split(","))
    for line in lines[: MAX_ROWS + 10]:
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    for content, name in [(csv_of(HEADER, *lines), "big.csv"), (buffer.getvalue(), "big.xlsx")]:
        started = time.perf_counter()
        parsed = parse_registry(content, name)
        seconds = time.perf_counter() - started
        assert not parsed.ok and parsed.problems[0].params == {"limit": MAX_ROWS}, name
        # Measured on the 2-core development machine: CSV 1.0 s, XLSX 6.7 s.
        assert seconds < 30, (name, seconds)
    # Memory, traced (which slows reading several times over): about 70 MB for the 5 MB CSV.
    tracemalloc.start()
    try:
        parse_registry(csv_of(HEADER, *lines), "big.csv")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 300 * 2**20, peak


def test_formula_cell_with_a_cached_value_imports_what_the_sheet_shows(app, tmp_path):
    """Excel and WPS save a formula with the value it shows: the register keeps that value and
    never the formula, so nothing can run when it is exported again."""
    estate = make_estate(rows=SMALL_REGISTER[:1])
    content = xlsx_of(
        REGISTER_ROWS,
        {
            "G3": ('HYPERLINK("http://evil.example","李娟")', "李娟"),
            "E4": ("70.25*1", "70.25"),
        },
    )
    path = tmp_path / "r.xlsx"
    path.write_bytes(content)
    result = app.test_cli_runner().invoke(args=["registry", "import", "meiyuan", str(path)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert household(estate, "1", "1", "201").owner_name == "李娟"
    assert household(estate, "1", "1", "301").area_centi_m2 == 7025


# --- every spreadsheet the app writes ----------------------------------------------------------

RUNS = ("=", "+", "-", "@", "\t", "\r")  # what makes Excel, WPS or LibreOffice evaluate a cell


def _csv_cells(body: bytes):
    yield from (cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row)


def _xlsx_cells(body: bytes):
    workbook = load_workbook(io.BytesIO(body))  # not data_only: formulas show as formulas
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula in {sheet.title}!{cell.coordinate}"
                yield cell.value


def assert_nothing_runs(body: bytes, fmt: str, what: str) -> None:
    cells = _csv_cells(body) if fmt == "csv" else _xlsx_cells(body)
    running = [c for c in cells if isinstance(c, str) and c.startswith(RUNS)]
    assert not running, f"{what}: cells a spreadsheet would run: {running[:5]}"


@pytest.fixture
def poisoned(app):
    """An estate where every text that reaches an export starts like a formula, written
    straight into the database as no form or import would let it in."""
    from contributions import operations as contribution_operations
    from contributions.models import Channel
    from resident_portal.reports import operations as report_operations
    from resident_portal.reports.models import Status

    evil = FORMULAS
    estate = make_estate()
    estate.name, estate.district = evil[0], evil[1]
    for n, h in enumerate(db.session.scalars(select(Household)).all()):
        h.owner_name = evil[n % len(evil)]
        h.room = evil[(n + 1) % len(evil)][:18] + str(n)
    db.session.commit()
    survey = make_survey(estate)
    survey.title = evil[2]
    survey.items[0].title = evil[0]
    # A written suggestion that starts like a formula, on a closed survey (suggestions are
    # exported once it has closed).
    from survey import operations as survey_operations
    from survey.tally import Choice

    voter = db.session.scalars(select(Household)).first()
    survey_operations.submit_ballot(
        survey, voter, {i.id: Choice.SUPPORT for i in survey.items}, suggestion=evil[1]
    )
    close_survey(survey)
    campaign = make_campaign(estate, title=evil[3])
    target = db.session.scalars(select(Household)).first()
    contribution_operations.pledge(campaign, target, 10_000, Channel.DIRECT, evil[4])
    planner, _password = make_staff(Role.PLANNER, estate)
    staff_user = db.session.scalar(select(StaffUser).where(StaffUser.username == planner))
    contribution_operations.record_payment(
        campaign, target, 5_000, date(2026, 11, 1), evil[1], evil[2], staff_user=staff_user
    )
    report = make_report(estate, target, description=evil[0])
    report.common_area = evil[3]
    db.session.commit()
    report_operations.transition(report, Status.ACKNOWLEDGED, evil[4], staff_user=staff_user)
    return estate, survey, campaign


EXPORTS = {
    "survey.console_export",
    "survey.console_suggestions",
    "contributions.console_export",
    "reports.export",
    "console.monthly_xlsx",
}


def _export_urls(survey, campaign) -> dict[str, list[str]]:
    return {
        "survey.console_export": [
            f"/console/meiyuan/surveys/{survey.id}/results.{fmt}" for fmt in ("csv", "xlsx")
        ],
        "survey.console_suggestions": [f"/console/meiyuan/surveys/{survey.id}/suggestions.csv"],
        "contributions.console_export": [
            f"/console/meiyuan/campaigns/{campaign.id}/export.{fmt}" for fmt in ("csv", "xlsx")
        ],
        "reports.export": [f"/console/meiyuan/reports/export.{fmt}" for fmt in ("csv", "xlsx")],
        "console.monthly_xlsx": [
            "/console/overview/monthly.xlsx",
            # the district comes from the query string and is written into the summary sheet
            "/console/overview/monthly.xlsx?district=" + FORMULAS[0].replace("&", "%26"),
        ],
    }


# Endpoints answering with files that are not spreadsheets.
NOT_SPREADSHEETS = {
    "survey.console_definition",  # JSON
    "survey.openapi",  # JSON
    "portal.estate_qr",  # PNG, SVG
    "portal.unit_qr",
    "reports.photo",  # JPEG
}
# Checked on their own in test_every_spreadsheet_export_neutralises_formulas.
CHECKED_APART = {
    "console.codes_zip",  # the letters ZIP: its codes.csv
    # A household's own data (JSON, CSV): test_my_data_csv_neutralises_formulas in
    # tests/test_personal_data.py.
    "privacy.my_data_download",
    # The same exports, made by a job: their files equal the downloads' (tests/test_jobs.py,
    # tests/test_export_jobs.py).
    "contributions.console_export_job",
    "survey.console_export_job",
    "reports.export_job",
}


def test_every_export_route_is_checked():
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    files = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if re.search(r"\.(<fmt>|xlsx|csv|json|zip)$|export", rule.rule)
        and not rule.endpoint.startswith("open311.")
    }
    assert files - NOT_SPREADSHEETS - CHECKED_APART == EXPORTS, (
        "a new download: check its cells in test_every_spreadsheet_export_neutralises_formulas"
    )


def test_every_spreadsheet_export_neutralises_formulas(app, poisoned, tmp_path):
    estate, survey, campaign = poisoned
    client = app.test_client()
    sign_in_staff(client, *make_staff(Role.ADMIN, None))
    assert set(_export_urls(survey, campaign)) == EXPORTS
    for endpoint, urls in _export_urls(survey, campaign).items():
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            fmt = "csv" if response.mimetype == "text/csv" else "xlsx"
            assert_nothing_runs(response.data, fmt, f"{endpoint} {url}")
    # files made by jobs (the big pledge export, the monthly workbook): the same code
    for url in [
        f"/console/meiyuan/campaigns/{campaign.id}/export.{fmt}/job" for fmt in ("csv", "xlsx")
    ] + ["/console/overview/monthly/job"]:
        job_page = client.post(url, data={"month": "2026-11"}).headers["Location"]
        made = client.get(job_page + "/download")
        fmt = "csv" if made.mimetype == "text/csv" else "xlsx"
        assert_nothing_runs(made.data, fmt, f"job of {url}")
    # the mail-merge file of household letters (web ZIP and CLI), and the CLI monthly report
    response = client.get(reissue_all_codes(client, "meiyuan") + "/codes.zip")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert_nothing_runs(archive.read("codes.csv"), "csv", "codes.csv in the letters ZIP")
    runner = app.test_cli_runner()
    letters = tmp_path / "letters.csv"
    result = runner.invoke(args=["codes", "issue", "meiyuan", "--out", str(letters), "--all"])
    assert result.exit_code == 0, result.output
    assert_nothing_runs(letters.read_bytes(), "csv", "codes issue --out")
    monthly = tmp_path / "monthly.xlsx"
    result = runner.invoke(
        args=[
            "report",
            "monthly",
            "--district",
            FORMULAS[1],
            "--month",
            "2026-11",
            "--out",
            str(monthly),
        ]
    )
    assert result.exit_code == 0, result.output
    assert_nothing_runs(monthly.read_bytes(), "xlsx", "report monthly --out")
    assert estate.code == "meiyuan"
