"""The register reader (pure): encodings, formats, headers and every kind of bad row."""

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from resident_portal.registry import parse_registry

SAMPLE = (
    Path(__file__).resolve().parent.parent / "resident_portal" / "demo" / "meiyuan_registry.csv"
)
HEADER_ZH = "楼栋,单元,房号,楼层,建筑面积,业主编号,业主姓名,联系电话"
HEADER_EN = "building,unit,room,floor,area_m2,owner_ref,owner_name,phone"
GOOD_ROW = "1,1,101,1,80.50,A1,王小明,13800001590"


def csv_bytes(*lines, encoding="utf-8"):
    return ("\n".join(lines) + "\n").encode(encoding)


def test_sample_register_reads_completely():
    parsed = parse_registry(SAMPLE.read_bytes(), SAMPLE.name)
    assert parsed.ok
    assert len(parsed.rows) == 144
    first = parsed.rows[0]
    assert (first.building, first.unit, first.room, first.floor) == ("1", "1", "101", 1)
    assert first.area_centi_m2 == 8194
    assert first.owner_name == "姚静" and first.phone == "13800001590"
    owners = {}
    for row in parsed.rows:
        owners.setdefault(row.owner_ref, []).append(row)
    assert sum(1 for rows in owners.values() if len(rows) > 1) == 6


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"], ids=["utf8", "bom", "gbk", "gb18030"]
)
def test_encodings_excel_writes(encoding):
    parsed = parse_registry(csv_bytes(HEADER_ZH, GOOD_ROW, encoding=encoding), "r.csv")
    assert parsed.ok, parsed.problems
    assert parsed.rows[0].owner_name == "王小明"


def test_english_headers_and_tabs_and_full_width_digits():
    parsed = parse_registry(csv_bytes(HEADER_EN, GOOD_ROW), "r.csv")
    assert parsed.ok
    tabbed = csv_bytes(
        HEADER_ZH.replace(",", "\t"), "１\t１\t１０１\t１\t80.5\tA1\t王小明\t138-0000-1590"
    )
    parsed = parse_registry(tabbed, "r.txt")
    assert parsed.ok, parsed.problems
    row = parsed.rows[0]
    assert (row.building, row.room, row.area_centi_m2, row.phone) == (
        "1",
        "101",
        8050,
        "13800001590",
    )


def test_headers_with_units_in_brackets_and_extra_columns():
    header = "备注,楼栋,单元,房号,楼层,建筑面积（㎡）,业主编号,业主姓名,联系电话"
    parsed = parse_registry(csv_bytes(header, "x," + GOOD_ROW), "r.csv")
    assert parsed.ok, parsed.problems


def test_xlsx_with_numeric_cells():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER_ZH.split(","))
    sheet.append([1, 2, 301, 3, 81.94, "O1", "姚静", 13800001590])
    sheet.append([1, 2, 302, 3.0, 63, "O2", "吴丽", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed = parse_registry(buffer.getvalue(), "register.xlsx")
    assert parsed.ok, parsed.problems
    assert [(r.room, r.floor, r.area_centi_m2, r.phone) for r in parsed.rows] == [
        ("301", 3, 8194, "13800001590"),
        ("302", 3, 6300, None),
    ]


BAD_ROWS = {
    "missing room": ("1,1,,1,80.50,A1,王小明,", "room is missing"),
    "area not a number": ("1,1,101,1,eighty,A1,王小明,", "number of square metres"),
    "area zero": ("1,1,101,1,0,A1,王小明,", "positive"),
    "area negative": ("1,1,101,1,-5,A1,王小明,", "positive"),
    "area three decimals": ("1,1,101,1,80.505,A1,王小明,", "two decimals"),
    "area infinite": ("1,1,101,1,Infinity,A1,王小明,", "number of square metres"),
    "floor zero": ("1,1,101,0,80.5,A1,王小明,", "out of range"),
    "floor too high": ("1,1,101,120,80.5,A1,王小明,", "out of range"),
    "floor not whole": ("1,1,101,2.5,80.5,A1,王小明,", "whole number"),
    "missing owner": ("1,1,101,1,80.5,,王小明,", "owner number is missing"),
    "formula name": ('1,1,101,1,80.5,A1,=HYPERLINK("x"),', "formula"),
    "bad phone": ("1,1,101,1,80.5,A1,王小明,call me", "phone number"),
}


@pytest.mark.parametrize("row, reason", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_every_bad_row_is_reported_with_its_line(row, reason):
    parsed = parse_registry(csv_bytes(HEADER_ZH, GOOD_ROW.replace("101", "102"), row), "r.csv")
    assert not parsed.ok
    assert [p.line for p in parsed.problems] == [3]
    text = parsed.problems[0].message % parsed.problems[0].params
    assert reason in text


def test_duplicate_room_names_the_first_line():
    parsed = parse_registry(
        csv_bytes(HEADER_ZH, GOOD_ROW, "", GOOD_ROW.replace("A1", "A9")), "r.csv"
    )
    [problem] = parsed.problems
    assert problem.line == 4 and problem.params["first"] == 2


def test_owner_with_two_names_is_refused():
    parsed = parse_registry(csv_bytes(HEADER_ZH, GOOD_ROW, "1,1,102,1,50,A1,王大明,"), "r.csv")
    [problem] = parsed.problems
    assert problem.line == 3 and problem.params["other"] == "王小明"


def test_all_bad_rows_are_reported_not_just_the_first():
    lines = [HEADER_ZH] + [row for row, _ in BAD_ROWS.values()]
    parsed = parse_registry(csv_bytes(*lines), "r.csv")
    assert sorted({p.line for p in parsed.problems}) == list(range(2, 2 + len(BAD_ROWS)))
    assert parsed.rows == [] and not parsed.ok


@pytest.mark.parametrize(
    "content, filename, reason",
    [
        (b"", "r.csv", "empty"),
        (csv_bytes(HEADER_ZH), "r.csv", "no households"),
        (csv_bytes("楼栋,单元,房号,楼层", "1,1,101,1"), "r.csv", "Missing columns"),
        (b"PK\x03\x04 not really a zip", "r.xlsx", "not a readable XLSX"),
        (b"\xd0\xcf\x11\xe0 old excel", "r.xls", "Old .xls"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "r.csv", "not a CSV or XLSX"),
    ],
    ids=["empty", "header only", "missing columns", "broken xlsx", "old xls", "binary"],
)
def test_unreadable_files_are_refused_with_a_reason(content, filename, reason):
    parsed = parse_registry(content, filename)
    assert not parsed.ok
    assert reason in parsed.problems[0].message % parsed.problems[0].params
