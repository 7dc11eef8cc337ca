"""Reading a household register (CSV or XLSX) into validated rows.

Pure: no Flask, no database. Secretaries keep the register in Excel, so the reader accepts what
Excel in China writes: UTF-8 with or without BOM, GBK/GB18030, XLSX, Chinese or English headers,
full-width digits. Every bad row is reported with its line number; nothing is guessed.
"""

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .common import N_

# field -> accepted headers (compared after normalise_header)
HEADERS = {
    "building": ("楼栋", "building"),
    "unit": ("单元", "unit"),
    "room": ("房号", "room"),
    "floor": ("楼层", "floor"),
    "area": ("建筑面积", "area_m2", "area"),
    "owner_ref": ("业主编号", "owner_ref"),
    "owner_name": ("业主姓名", "owner_name"),
    "phone": ("联系电话", "phone"),
}
EXPECTED_HEADERS = "楼栋, 单元, 房号, 楼层, 建筑面积, 业主编号, 业主姓名, 联系电话"
REQUIRED_FIELDS = ("building", "unit", "room", "floor", "area", "owner_ref", "owner_name")
FIELD_LABELS = {
    "building": N_("building"),
    "unit": N_("unit"),
    "room": N_("room"),
    "floor": N_("floor"),
    # The register's column as secretaries' spreadsheets head it (建筑面积), so that a message
    # names the column they see; legal text says 专有部分面积 (survey/rules.py).
    "area": N_("area"),
    "owner_ref": N_("owner number"),
    "owner_name": N_("owner name"),
    "phone": N_("phone"),
}
MAX_ROWS = 50_000
MAX_FLOOR = 99
MAX_LABEL = 20


@dataclass(frozen=True)
class RegistryRow:
    line: int
    building: str
    unit: str
    room: str
    floor: int
    area_centi_m2: int
    owner_ref: str
    owner_name: str
    phone: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.building, self.unit, self.room)


@dataclass(frozen=True)
class Problem:
    """Line 0 means the whole file. `message` is an untranslated msgid with %(name)s fields."""

    line: int
    message: str
    params: dict = field(default_factory=dict)


@dataclass
class ParsedRegistry:
    rows: list[RegistryRow]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").strip().lower()
    text = re.sub(r"\(.*?\)", "", text)  # "建筑面积(㎡)" -> "建筑面积"
    return re.sub(r"[\s_\-]+", "_", text).strip("_")


_HEADER_LOOKUP = {normalise_header(h): f for f, names in HEADERS.items() for h in names}


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _read_rows(content: bytes, filename: str) -> tuple[list[tuple[int, list[str]]], Problem | None]:
    """(line number, cells) for every row of the first sheet, header included."""
    name = filename.lower()
    if name.endswith(".xls") and not content.startswith(b"PK"):
        return [], Problem(
            0, N_("Old .xls files are not supported: save the file as .xlsx or CSV.")
        )
    if name.endswith(".xlsx") or content.startswith(b"PK\x03\x04"):
        return _read_xlsx(content)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly any byte string
        return [], Problem(0, N_("The file is neither UTF-8 nor GBK text."))
    if "\x00" in text:
        return [], Problem(0, N_("The file is not a CSV or XLSX spreadsheet."))
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(reader.line_num, [_cell_text(c) for c in cells]) for cells in reader], None
    except csv.Error as exc:
        return [], Problem(
            reader.line_num, N_("The CSV file is malformed: %(error)s"), {"error": str(exc)}
        )


def _read_xlsx(content: bytes) -> tuple[list[tuple[int, list[str]]], Problem | None]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return [], Problem(0, N_("The file is not a readable XLSX workbook."))
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append((number, [_cell_text(c) for c in cells]))
            if number > MAX_ROWS + 1:
                break
        return rows, None
    finally:
        workbook.close()


# "-1" or "-101" (a basement) is a label; "-1+cmd|' /C calc'!A0" is a formula.
_NEGATIVE_LABEL = re.compile(r"-\d[0-9A-Za-z\-]*")


def _looks_like_formula(text: str) -> bool:
    return text[:1] in ("=", "+", "@") or (text[:1] == "-" and not _NEGATIVE_LABEL.fullmatch(text))


# How often the row check reports its progress: a callback per row would cost more than the
# check itself on a 50,000-row register.
PROGRESS_EVERY = 1_000


def parse_registry(content: bytes, filename: str, progress=None) -> ParsedRegistry:
    """Read and check a register. `progress(done, total)`, when given, is told how many of its
    rows were checked (every PROGRESS_EVERY rows and at the end)."""
    rows, problem = _read_rows(content, filename)
    if problem:
        return ParsedRegistry([], [problem])
    rows = [(line, cells) for line, cells in rows if any(cells)]
    if not rows:
        return ParsedRegistry([], [Problem(0, N_("The file is empty."))])

    header_line, header = rows[0]
    columns: dict[str, int] = {}
    twice: list[Problem] = []
    for index, title in enumerate(header):
        found = _HEADER_LOOKUP.get(normalise_header(title))
        if found and found in columns:  # which of the two is meant? Nothing is guessed.
            twice.append(
                Problem(
                    header_line,
                    N_(
                        "The %(field)s column appears twice (columns %(first)s and "
                        "%(second)s): keep only one."
                    ),
                    {
                        "field": FIELD_LABELS[found],
                        "first": columns[found] + 1,
                        "second": index + 1,
                    },
                )
            )
        elif found:
            columns[found] = index
    if twice:
        return ParsedRegistry([], twice)
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    if missing:
        return ParsedRegistry(
            [],
            [
                Problem(
                    header_line,
                    N_("Missing columns: %(columns)s. Expected headers: %(expected)s."),
                    {
                        "columns": missing,
                        "expected": EXPECTED_HEADERS,
                    },
                )
            ],
        )
    if len(rows) - 1 > MAX_ROWS:
        return ParsedRegistry(
            [], [Problem(0, N_("The file has more than %(limit)s rows."), {"limit": MAX_ROWS})]
        )

    parsed: list[RegistryRow] = []
    problems: list[Problem] = []
    first_line_of_room: dict[tuple[str, str, str], int] = {}
    first_name_of_owner: dict[str, tuple[str, int]] = {}

    for checked, (line, cells) in enumerate(rows[1:]):
        if progress and checked % PROGRESS_EVERY == 0:
            progress(checked, len(rows) - 1)
        values = {f: (cells[i] if i < len(cells) else "") for f, i in columns.items()}
        row, row_problems = _validate(line, values)
        if row_problems:
            problems.extend(row_problems)
            continue
        if row.key in first_line_of_room:
            problems.append(
                Problem(
                    line,
                    N_(
                        "Building %(building)s unit %(unit)s room %(room)s already appears "
                        "on line %(first)s."
                    ),
                    {
                        "building": row.building,
                        "unit": row.unit,
                        "room": row.room,
                        "first": first_line_of_room[row.key],
                    },
                )
            )
            continue
        first_line_of_room[row.key] = line
        known = first_name_of_owner.setdefault(row.owner_ref, (row.owner_name, line))
        if known[0] != row.owner_name:
            problems.append(
                Problem(
                    line,
                    N_("Owner %(owner)s is named %(name)s here but %(other)s on line %(first)s."),
                    {
                        "owner": row.owner_ref,
                        "name": row.owner_name,
                        "other": known[0],
                        "first": known[1],
                    },
                )
            )
            continue
        parsed.append(row)
    if progress:
        progress(len(rows) - 1, len(rows) - 1)

    if not parsed and not problems:
        problems.append(Problem(0, N_("The file has a header but no households.")))
    return ParsedRegistry(parsed, problems)


class AreaError(ValueError):
    """A refused area; `message` is an untranslated msgid with a %(value)s field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def parse_area(text: str) -> int:
    """A registered area typed in m² ("89.5", "1,234.56") as exact 0.01 m² units."""
    try:
        area_m2 = Decimal(text.strip().replace(",", ""))
        if not area_m2.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise AreaError(N_("The area must be a number of square metres, not %(value)s.")) from None
    if area_m2 <= 0:
        raise AreaError(N_("The area must be a positive number, not %(value)s."))
    if area_m2 >= 10_000:  # before quantize(), which fails beyond 28 digits
        raise AreaError(N_("The area %(value)s m² is implausibly large."))
    if area_m2 != area_m2.quantize(Decimal("0.01")):
        raise AreaError(N_("The area has more than two decimals: %(value)s."))
    return int(area_m2 * 100)


def _validate(line: int, values: dict[str, str]) -> tuple[RegistryRow | None, list[Problem]]:
    problems = []

    def bad(message, **params):
        problems.append(Problem(line, message, params))

    for name in REQUIRED_FIELDS:
        if not values[name]:
            bad(N_("The %(field)s is missing."), field=FIELD_LABELS[name])
    for name in ("building", "unit", "room"):
        if len(values[name]) > MAX_LABEL:
            bad(
                N_("The %(field)s is longer than %(limit)s characters."),
                field=FIELD_LABELS[name],
                limit=MAX_LABEL,
            )
    for name in ("building", "unit", "room", "owner_ref", "owner_name"):
        if values[name] and _looks_like_formula(values[name]):
            bad(
                N_("The %(field)s looks like a spreadsheet formula: %(value)s"),
                field=FIELD_LABELS[name],
                value=values[name],
            )
    if len(values["owner_name"]) > 100 or len(values["owner_ref"]) > 64:
        bad(N_("The owner number or name is too long."))

    floor = None
    if values["floor"]:
        try:
            floor = int(values["floor"])
        except ValueError:
            bad(N_("The floor must be a whole number, not %(value)s."), value=values["floor"])
        else:
            if not 1 <= floor <= MAX_FLOOR:
                bad(
                    N_("Floor %(value)s is out of range (1 to %(limit)s)."),
                    value=floor,
                    limit=MAX_FLOOR,
                )

    area = None
    if values["area"]:
        try:
            area = parse_area(values["area"])
        except AreaError as error:
            bad(error.message, value=values["area"])

    phone = None
    if values.get("phone"):
        digits = re.sub(r"[\s\-()]", "", values["phone"])
        if digits.startswith("+86"):
            digits = digits[3:]
        if not (digits.isdigit() and 7 <= len(digits) <= 15):
            bad(N_("The phone number %(value)s is not valid."), value=values["phone"])
        else:
            phone = digits

    if problems:
        return None, problems
    return (
        RegistryRow(
            line=line,
            building=values["building"],
            unit=values["unit"],
            room=values["room"],
            floor=floor,
            area_centi_m2=area,
            owner_ref=values["owner_ref"],
            owner_name=values["owner_name"],
            phone=phone,
        ),
        [],
    )
