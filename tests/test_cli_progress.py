"""Progress bars on the long CLI commands (`registry import`, `report monthly`), as `codes
issue` has: on stderr, so that what the commands print stays the same, and reaching their end."""

import click
import pytest
from openpyxl import load_workbook

from resident_portal import operations, overview
from resident_portal.models import Household
from resident_portal.registry import PROGRESS_EVERY, parse_registry

from .conftest import SMALL_REGISTER, count, make_estate, register_csv


@pytest.fixture
def bars(monkeypatch):
    """Every click progress bar the command opens (the commands call click.progressbar)."""
    made = []
    real = click.progressbar

    def recording(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(click, "progressbar", recording)
    return made


def many_households(n: int) -> list[tuple]:
    return [
        (str(1 + i // 100), "1", str(101 + i % 100), 1 + i % 30, "60.00", f"O{i}", f"业主{i}", "")
        for i in range(n)
    ]


def test_the_register_check_reports_its_rows_as_it_goes():
    calls = []
    rows = many_households(2 * PROGRESS_EVERY + 5)
    parsed = parse_registry(register_csv(rows), "r.csv", progress=lambda *a: calls.append(a))
    assert parsed.ok
    assert calls == [(0, len(rows)), (1_000, len(rows)), (2_000, len(rows)), (2_005, len(rows))]


def test_registry_import_shows_a_bar_on_stderr_that_ends_with_the_import(app, tmp_path, bars):
    operations.create_estate("meiyuan", "美苑小区", "示范街道")
    path = tmp_path / "register.csv"
    path.write_bytes(register_csv(SMALL_REGISTER))
    result = app.test_cli_runner().invoke(args=["registry", "import", "meiyuan", str(path)])
    assert result.exit_code == 0, result.output
    assert "正在核对并导入业主名册" in result.stderr
    assert "正在核对" not in result.stdout and "已导入5户" in result.stdout
    (bar,) = bars
    assert bar.length == len(SMALL_REGISTER) + 1 == bar.pos  # the rows, and the writing
    assert count(Household) == 5


def test_a_dry_run_bar_checks_only_and_a_refused_register_still_says_why(app, tmp_path, bars):
    operations.create_estate("meiyuan", "美苑小区", "示范街道")
    path = tmp_path / "register.csv"
    path.write_bytes(register_csv(SMALL_REGISTER))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["registry", "import", "meiyuan", str(path), "--dry-run"])
    assert result.exit_code == 0 and "正在核对业主名册" in result.stderr
    assert bars[0].length == len(SMALL_REGISTER) == bars[0].pos
    path.write_bytes(register_csv([*SMALL_REGISTER, ("9", "1", "101", 0, "-3", "Z", "某某", "")]))
    result = runner.invoke(args=["registry", "import", "meiyuan", str(path)])
    assert result.exit_code == 1 and "第7行：楼层0超出范围" in result.stderr
    assert bars[1].pos < bars[1].length  # nothing was written: the last step never came
    assert count(Household) == 0


def test_report_monthly_shows_a_bar_by_estate_on_stderr(app, tmp_path, bars):
    for code in ("meiyuan", "lanting", "taoyuan"):
        make_estate(code, code)
    out = tmp_path / "monthly.xlsx"
    result = app.test_cli_runner().invoke(
        args=["report", "monthly", "--month", "2026-11", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "正在统计各小区的数字" in result.stderr and "正在统计" not in result.stdout
    (bar,) = bars
    assert bar.length == 3 + 2 == bar.pos  # the estates, the month's activity, the workbook
    assert load_workbook(out).worksheets[0].cell(3, 2).value == 3  # estates


def test_the_monthly_report_counted_in_batches_is_the_same(app, monkeypatch):
    estates = [make_estate(code, code) for code in ("meiyuan", "lanting", "taoyuan")]
    whole = overview.estate_rows(estates)
    monkeypatch.setattr(overview, "MONTHLY_BATCH", 2)
    calls = []
    # This month (China time): an earlier month's renovation figures are those at its end.
    rows, total, _activity = overview.monthly_report(
        overview.this_month(), estates, progress=lambda *a: calls.append(a)
    )
    assert [(r.estate.code, r.households, r.figures) for r in rows] == [
        (r.estate.code, r.households, r.figures) for r in whole
    ]
    assert total == overview.totals(whole)
    assert calls == [(0, 4), (2, 4), (3, 4), (4, 4)]
