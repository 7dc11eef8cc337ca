"""Reading the planner's project spreadsheet (XLSX or CSV, Chinese headers) into checked rows.

Pure: no Flask, no database, in the style of the register reader (resident_portal/registry.py,
whose file reading it shares). One row per project, matched by estate code, batch year and
name; every column but those three may be left out or empty, and an empty cell changes nothing.
Every bad cell is reported with its line; nothing is guessed.
"""

import re
from dataclasses import dataclass, field
from datetime import date

from ..common import N_, parse_yuan
from ..registry import Problem, _read_rows, normalise_header
from .models import FundingSource, PartyRole, Stage

MAX_ROWS = 5_000

STAGE_HEADERS = {
    Stage.INITIATION: ("立项",),
    Stage.CONSULTATION: ("征求居民意见", "征求意见"),
    Stage.DESIGN: ("设计",),
    Stage.APPROVAL: ("审批",),
    Stage.TENDER: ("招标", "招标磋商", "竞争性磋商"),
    Stage.STARTED: ("开工",),
    Stage.COMPLETED: ("完工",),
    Stage.ACCEPTED: ("竣工验收", "验收"),
    Stage.HANDOVER: ("移交", "长效管理"),
}
SOURCE_HEADERS = {
    FundingSource.CENTRAL: ("中央补助",),
    FundingSource.PROVINCIAL: ("省级补助",),
    FundingSource.LOCAL: ("市县配套",),
    FundingSource.RESIDENTS: ("居民出资",),
    FundingSource.MAINTENANCE_FUND: ("维修资金",),
    FundingSource.ESTATE_INCOME: ("公共收益", "小区公共收益"),
    FundingSource.UTILITIES: ("专营单位", "水电气讯"),
    FundingSource.ENTERPRISES: ("社会资本", "企业"),
    FundingSource.LOANS: ("贷款",),
    FundingSource.OTHER: ("其他资金", "其他"),
}
PARTY_HEADERS = {
    PartyRole.BUILDER: "建设单位",
    PartyRole.DESIGNER: "设计单位",
    PartyRole.CONSTRUCTOR: "施工单位",
    PartyRole.SUPERVISOR: "监理单位",
}

# column key -> accepted headers; keys: "estate", "name", …, "planned:<stage>",
# "actual:<stage>", "planned_fen:<source>", "received_fen:<source>", "party:<role>:<part>"
HEADERS: dict[str, tuple[str, ...]] = {
    "estate": ("小区编号", "estate_code", "estate"),
    "name": ("项目名称", "project", "name"),
    "batch_year": ("批次年度", "批次", "batch_year"),
    "hotline": ("监督电话", "hotline"),
    "invested": ("完成投资", "已完成投资", "invested"),
    "note": ("资金说明", "到位说明", "note"),
}
for _stage, _names in STAGE_HEADERS.items():
    HEADERS[f"planned:{_stage.value}"] = tuple(f"{n}计划日期" for n in _names) + (
        f"{_stage.value}_planned",
    )
    HEADERS[f"actual:{_stage.value}"] = (
        tuple(f"{n}完成日期" for n in _names)
        + tuple(f"{n}实际日期" for n in _names)
        + (f"{_stage.value}_actual",)
    )
for _source, _names in SOURCE_HEADERS.items():
    HEADERS[f"planned_fen:{_source.value}"] = tuple(f"{n}计划" for n in _names) + (
        f"{_source.value}_planned",
    )
    if _source is not FundingSource.RESIDENTS:
        HEADERS[f"received_fen:{_source.value}"] = tuple(f"{n}到位" for n in _names) + (
            f"{_source.value}_received",
        )
for _role, _name in PARTY_HEADERS.items():
    HEADERS[f"party:{_role.value}:name"] = (_name, f"{_role.value}")
    HEADERS[f"party:{_role.value}:contact"] = (f"{_name}联系人", f"{_role.value}_contact")
    HEADERS[f"party:{_role.value}:phone"] = (f"{_name}电话", f"{_role.value}_phone")

REQUIRED = ("estate", "name", "batch_year")
EXPECTED_HEADERS = "小区编号, 项目名称, 批次年度"
_LOOKUP = {normalise_header(h): key for key, names in HEADERS.items() for h in names}

_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$"
)


@dataclass
class ProjectRow:
    line: int
    estate_code: str
    name: str
    batch_year: int
    hotline: str | None = None
    invested_fen: int | None = None
    note: str = ""
    planned: dict[Stage, date] = field(default_factory=dict)
    actual: dict[Stage, date] = field(default_factory=dict)
    funding: dict[FundingSource, tuple[int | None, int | None]] = field(default_factory=dict)
    parties: dict[PartyRole, dict[str, str]] = field(default_factory=dict)
    created: bool = False  # set by the import: made by it rather than updated


@dataclass
class ParsedProjects:
    rows: list[ProjectRow]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)


def parse_date(text: str) -> date:
    """2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日 (and Excel's "2026-03-01 00:00:00")."""
    found = _DATE.match(text.strip())
    if not found:
        raise ValueError(text)
    return date(*(int(part) for part in found.groups()))


def _label(key: str) -> str:
    """The header a planner would look for: the first accepted one."""
    return HEADERS[key][0]


def parse_projects(content: bytes, filename: str) -> ParsedProjects:
    rows, problem = _read_rows(content, filename)
    if problem:
        return ParsedProjects([], [problem])
    rows = [(line, cells) for line, cells in rows if any(cells)]
    if not rows:
        return ParsedProjects([], [Problem(0, N_("The file is empty."))])
    header_line, header = rows[0]
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = _LOOKUP.get(normalise_header(title))
        if key and key in columns:
            return ParsedProjects(
                [],
                [
                    Problem(
                        header_line,
                        N_("The column %(column)s appears twice: keep only one."),
                        {"column": _label(key)},
                    )
                ],
            )
        if key:
            columns[key] = index
        elif title.strip():
            return ParsedProjects(
                [],
                [Problem(header_line, N_("Unknown column: %(column)s."), {"column": title})],
            )
    missing = [_label(k) for k in REQUIRED if k not in columns]
    if missing:
        return ParsedProjects(
            [],
            [
                Problem(
                    header_line,
                    N_("Missing columns: %(missing)s. Required headers: %(expected)s."),
                    {"missing": ", ".join(missing), "expected": EXPECTED_HEADERS},
                )
            ],
        )
    if len(rows) - 1 > MAX_ROWS:
        return ParsedProjects(
            [], [Problem(0, N_("The file has more than %(limit)s rows."), {"limit": MAX_ROWS})]
        )

    parsed, problems = [], []
    first_line: dict[tuple, int] = {}
    for line, cells in rows[1:]:
        values = {k: (cells[i].strip() if i < len(cells) else "") for k, i in columns.items()}
        row, row_problems = _row(line, values)
        if row_problems:
            problems.extend(row_problems)
            continue
        key = (row.estate_code, row.batch_year, row.name)
        if key in first_line:
            problems.append(
                Problem(
                    line,
                    N_("This project already appears on line %(first)s."),
                    {"first": first_line[key]},
                )
            )
            continue
        first_line[key] = line
        parsed.append(row)
    if not parsed and not problems:
        problems.append(Problem(0, N_("The file has a header but no projects.")))
    return ParsedProjects(parsed, problems)


def _row(line: int, values: dict[str, str]) -> tuple[ProjectRow | None, list[Problem]]:
    problems = []

    def bad(key: str, message: str, **params):
        problems.append(Problem(line, message, {"column": _label(key), **params}))

    for key in REQUIRED:
        if not values.get(key):
            bad(key, N_("The %(column)s is missing."))
    year = None
    if values.get("batch_year"):
        try:
            year = int(values["batch_year"])
            if not 2000 <= year <= 2100:
                raise ValueError
        except ValueError:
            bad(
                "batch_year", N_("%(column)s: %(value)s is not a year."), value=values["batch_year"]
            )
    if problems:
        return None, problems
    row = ProjectRow(
        line=line,
        estate_code=values["estate"].lower(),
        name=values["name"][:200],
        batch_year=year,
        note=values.get("note", "")[:500],
    )
    if values.get("hotline"):
        row.hotline = values["hotline"][:40]

    def amount(key: str) -> int | None:
        text = values.get(key, "")
        if not text:
            return None
        try:
            return parse_yuan(text)
        except ValueError:
            bad(key, N_("%(column)s: %(value)s is not an amount in yuan."), value=text)
            return None

    row.invested_fen = amount("invested")
    for stage in Stage:
        for kind, target in (("planned", row.planned), ("actual", row.actual)):
            key = f"{kind}:{stage.value}"
            if values.get(key):
                try:
                    target[stage] = parse_date(values[key])
                except ValueError:
                    bad(key, N_("%(column)s: %(value)s is not a date."), value=values[key])
    for source in FundingSource:
        planned = amount(f"planned_fen:{source.value}")
        received = amount(f"received_fen:{source.value}")
        if planned is not None or received is not None:
            row.funding[source] = (planned, received)
    for role in PartyRole:
        typed = {
            part: values.get(f"party:{role.value}:{part}", "")
            for part in ("name", "contact", "phone")
        }
        if any(typed.values()):
            row.parties[role] = typed
    return (None, problems) if problems else (row, [])
