"""Exports that open well in Excel and WPS, and the download responses that carry them."""

import csv
import io

from flask import Response

MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "zip": "application/zip",
}


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


def xlsx_bytes(
    header: list[str],
    rows: list[list],
    title: str = "data",
    notes: list[list] | None = None,
    notes_title: str = "notes",
) -> bytes:
    """`notes`, if any, go on a second sheet: e.g. the rule a survey was counted under."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(header)
    for row in rows:
        sheet.append([safe(v) for v in row])
    sheet.freeze_panes = "A2"
    if notes:
        extra = workbook.create_sheet(notes_title)
        for row in notes:
            extra.append([safe(str(v)) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def download(body: bytes | str, filename: str) -> Response:
    """An attachment, typed by the file's extension."""
    extension = filename.rsplit(".", 1)[-1]
    return Response(
        body,
        mimetype=MIMETYPES[extension],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
