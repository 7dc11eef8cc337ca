"""Exports that open well in Excel and WPS, and the download responses that carry them.

Every XLSX the app writes goes through `workbook()`: headers in the reader's language (the
caller translates them), money, areas, counts and percentages as numeric cells with a number
format (so that offices can sum and sort them), columns as wide as their contents, the header
row bold and frozen, and an auto-filter over each table. Text that a spreadsheet would run as a
formula is neutralised (`safe`). CSV files keep their stable machine-readable column keys.
"""

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask import Response

MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "zip": "application/zip",
}

# Number formats by the kind of figure a column holds.
NUMBER_FORMATS = {
    "integer": "0",
    "money": "#,##0.00",  # yuan, from integer fen
    "area": "#,##0.00",  # m², from integer 0.01 m²
    "percent": "0.00",  # a percentage from resident_portal.common.percent (header says %)
    "decimal": "0.0",
    "datetime": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
    "text": "@",
}
MIN_WIDTH, MAX_WIDTH = 6, 60


def safe(value):
    """Text that a spreadsheet would run as a formula (=, +, -, @…) gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[safe(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")  # with BOM, so Excel reads the Chinese


@dataclass(frozen=True)
class Column:
    """A column of a sheet: its header as shown and the kind of its figures (NUMBER_FORMATS);
    without a kind it follows the cells (int, Decimal, datetime, text)."""

    header: str
    kind: str | None = None


@dataclass
class Table:
    """One sheet: a title (at most 31 characters, as Excel allows), columns and rows."""

    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    filter: bool = True  # an auto-filter over the table (not for a list of notes)


def columns(headers: list[str], kinds: list[str | None] | None = None) -> list[Column]:
    kinds = kinds or [None] * len(headers)
    return [Column(h, k) for h, k in zip(headers, kinds, strict=True)]


def _kind_of(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return "integer"
    if isinstance(value, Decimal):
        return "money" if value.as_tuple().exponent == -2 else "decimal"
    if isinstance(value, float):
        return "decimal"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return None


def display_width(value) -> int:
    """Characters a cell needs: Chinese (wide) characters take two."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, Decimal):
        text = f"{value:,}"
    else:
        text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _sheet_title(title: str, used: set[str]) -> str:
    # Excel refuses []:*?/\ in sheet names and more than 31 characters.
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title)[:31] or "sheet"
    name, n = cleaned, 2
    while name.lower() in used:
        name = f"{cleaned[:28]} {n}"
        n += 1
    used.add(name.lower())
    return name


def write_table(sheet, table: Table) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet.append([safe(c.header) for c in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [display_width(c.header) for c in table.columns]
    for row in table.rows:
        sheet.append([safe(v) for v in row])
        for i, value in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], display_width(value))
    for i, column in enumerate(table.columns, start=1):
        letter = get_column_letter(i)
        kind = column.kind
        for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
            cell_kind = kind or _kind_of(cell.value)
            if cell_kind and cell.value is not None and cell_kind != "text":
                cell.number_format = NUMBER_FORMATS[cell_kind]
        sheet.column_dimensions[letter].width = min(max(widths[i - 1] + 2, MIN_WIDTH), MAX_WIDTH)
    if table.columns:
        sheet.freeze_panes = "A2"
        if table.filter:  # on the header alone too, so every sheet reads the same
            last = get_column_letter(len(table.columns))
            sheet.auto_filter.ref = f"A1:{last}{len(table.rows) + 1}"


def workbook(tables: list[Table]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    used: set[str] = set()
    for n, table in enumerate(tables):
        sheet = book.active if n == 0 else book.create_sheet()
        sheet.title = _sheet_title(table.title, used)
        write_table(sheet, table)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(
    header: list[str],
    rows: list[list],
    title: str = "data",
    notes: list[list] | None = None,
    notes_title: str = "notes",
    kinds: list[str | None] | None = None,
) -> bytes:
    """One table; `notes`, if any, go on a second sheet: e.g. the rule a survey was counted
    under."""
    tables = [Table(title, columns(header, kinds), rows)]
    if notes:
        width = max(len(row) for row in notes)
        tables.append(
            Table(
                notes_title,
                [Column(str(v)) for v in notes[0]] + [Column("")] * (width - len(notes[0])),
                [[str(v) for v in row] for row in notes[1:]],
                filter=False,
            )
        )
    return workbook(tables)


def download(body: bytes | str, filename: str) -> Response:
    """An attachment, typed by the file's extension."""
    extension = filename.rsplit(".", 1)[-1]
    return Response(
        body,
        mimetype=MIMETYPES[extension],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
