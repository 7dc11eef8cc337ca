"""How fast are a big household register imported and household letters printed?

    python -m bench.import_print [--households 20000] [--letters 2000] [--runs 3]   # ~4 min
                                 [--letter-runs 1] [--profile]

(a) Import: a generated register of 20,000 households (CSV with the Chinese headers a
    secretary's spreadsheet has; about 5 % of owners hold two households, most rows have a
    phone) goes through the app's real import path, the functions `flask registry import`
    calls: registry.parse_registry (parse) and operations.import_registry (write, one
    transaction, audited), each run into a new estate. On PostgreSQL (a scratch database made
    here from the migrations and dropped at the end) and on SQLite (a temporary file, also
    migrated). Printed: parse, write, total, rows/s; the median of `--runs`. Also timed: the
    CLI end to end once, and re-importing the same file (nothing changes). Baseline, in the
    same runs: the same rows bulk-inserted with raw SQL into building, unit and household
    (PostgreSQL COPY, and executemany; SQLite executemany). The imported households are
    checked equal to the baseline's.
(b) Letters: for an estate of 2,000 households, what a secretary's "print household letters"
    does (POST /console/<estate>/codes for every household: 2,000 access codes issued, hashed,
    the old codes and their sessions revoked, and the printable HTML page with one inline SVG
    QR code per letter), and its ZIP variant (the mail-merge CSV plus a PNG and an SVG QR code
    per household). Printed: time and cost per letter; the median of `--letter-runs`.
    Baseline: 2,000 bare QR PNGs of the same links with the qrcode library alone. Where the
    time goes: issuing new codes, re-issuing them, and the SVG QR codes alone, each once.

The machine is shared: absolute times are indicative, ratios are measured in the same run.
`--profile` adds a pyinstrument profile (pip install pyinstrument) of one letters request.
"""

import argparse
import io
import os
import random
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
import qrcode
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.city import SERVER_URL
from bench.staff import sign_in_staff

SCRATCH_DATABASE = "resident_portal_bench_import"
HEADER = "楼栋,单元,房号,楼层,建筑面积,业主编号,业主姓名,联系电话"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
PUBLIC_BASE_URL = "https://portal.example.cn"


def register_csv(households: int, seed: int = 1) -> bytes:
    """A register of `households` rows: buildings of 4 units × 20 floors × 5 rooms."""
    rng = random.Random(seed)
    lines = [HEADER]
    owner, name = None, None
    for n in range(households):
        building, rest = divmod(n, 400)
        unit, rest = divmod(rest, 100)
        floor, door = divmod(rest, 5)
        if owner is None or rng.random() >= 0.05:  # about 5 % of owners hold two households
            owner = f"O{n + 1:06d}"
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        area = rng.randint(4500, 15000)
        phone = f"138{rng.randint(0, 99_999_999):08d}" if rng.random() < 0.8 else ""
        lines.append(
            f"{building + 1},{unit + 1},{floor + 1}{door + 1:02d},{floor + 1},"
            f"{area // 100}.{area % 100:02d},{owner},{name},{phone}"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


# --- scratch databases ---------------------------------------------------------------------


def postgres_url() -> str:
    return make_url(SERVER_URL).set(database=SCRATCH_DATABASE).render_as_string(hide_password=False)


def create_postgres() -> str:
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{SCRATCH_DATABASE}"'))
    admin.dispose()
    return postgres_url()


def drop_postgres() -> None:
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)'))
    admin.dispose()


def migrated_app(url: str):
    """The app on `url`, its schema made by the migrations."""
    from flask_migrate import upgrade

    from resident_portal import create_app

    app = create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        }
    )
    with app.app_context():
        upgrade()
    return app


# --- the baseline: raw bulk inserts ------------------------------------------------------


def raw_rows(parsed, estate_id: int, first_id: int):
    """Building, unit and household rows for a raw insert of `parsed` into `estate_id`."""
    buildings, units, households = {}, {}, []
    for row in parsed.rows:
        building = buildings.setdefault(row.building, [first_id + len(buildings), 0])
        building[1] = max(building[1], row.floor)
        unit = units.setdefault((row.building, row.unit), first_id + len(units))
        households.append(
            (unit, row.room, row.floor, row.area_centi_m2, row.owner_ref, row.owner_name, row.phone)
        )
    return (
        [(i, estate_id, number, floors, False) for number, (i, floors) in buildings.items()],
        [(i, buildings[b][0], u) for (b, u), i in units.items()],
        households,
    )


HOUSEHOLD_COLUMNS = "unit_id, room, floor, area_centi_m2, owner_ref, owner_name, phone"


def raw_postgres(conninfo: str, parsed, estate_id: int, first_id: int, copy: bool) -> float:
    buildings, units, households = raw_rows(parsed, estate_id, first_id)
    with psycopg.connect(conninfo) as connection:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO building (id, estate_id, number, floors, has_elevator) "
                "VALUES (%s, %s, %s, %s, %s)",
                buildings,
            )
            cursor.executemany(
                "INSERT INTO unit (id, building_id, number) VALUES (%s, %s, %s)", units
            )
            if copy:
                with cursor.copy(f"COPY household ({HOUSEHOLD_COLUMNS}) FROM STDIN") as out:
                    for row in households:
                        out.write_row(row)
            else:
                cursor.executemany(
                    f"INSERT INTO household ({HOUSEHOLD_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    households,
                )
        connection.commit()
        seconds = time.perf_counter() - started
        for table in ("building", "unit"):  # the ids given here: move the app's sequences on
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        connection.commit()
        return seconds


def raw_sqlite(path: str, parsed, estate_id: int, first_id: int) -> float:
    buildings, units, households = raw_rows(parsed, estate_id, first_id)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys=ON")  # as the app's connections
    connection.execute("PRAGMA journal_mode=WAL")
    try:
        started = time.perf_counter()
        with connection:  # one transaction
            connection.executemany(
                "INSERT INTO building (id, estate_id, number, floors, has_elevator) "
                "VALUES (?, ?, ?, ?, ?)",
                buildings,
            )
            connection.executemany(
                "INSERT INTO unit (id, building_id, number) VALUES (?, ?, ?)", units
            )
            connection.executemany(
                f"INSERT INTO household ({HOUSEHOLD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                households,
            )
        return time.perf_counter() - started
    finally:
        connection.close()


# --- (a) import ----------------------------------------------------------------------------


def register_of(estate_id: int) -> list[tuple]:
    from resident_portal.extensions import db
    from resident_portal.models import Building, Household, Unit

    return sorted(
        db.session.execute(
            select(
                Building.number,
                Unit.number,
                Household.room,
                Household.floor,
                Household.area_centi_m2,
                Household.owner_ref,
                Household.owner_name,
                Household.phone,
            )
            .join(Unit, Household.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(Building.estate_id == estate_id)
        ).all()
    )


def bench_import(label: str, app, content: bytes, runs: int, raw_baselines: dict) -> dict:
    """Import `content` `runs` times into new estates, with the raw baselines in turn."""
    from resident_portal import operations
    from resident_portal.extensions import db
    from resident_portal.models import Building, Estate, Unit
    from resident_portal.registry import parse_registry

    times: dict[str, list[float]] = {"parse": [], "write": [], "total": []}
    times.update({name: [] for name in raw_baselines})
    with app.app_context():
        for run in range(runs):
            estate = operations.create_estate(f"imp{run}", f"导入{run}", "区01", "街道01")
            parse, parsed = timed(lambda: parse_registry(content, "register.csv"))
            assert parsed.ok, parsed.problems[:3]
            write, plan = timed(lambda: operations.import_registry(estate, parsed))  # noqa: B023
            assert len(plan.new) == len(parsed.rows)
            times["parse"].append(parse)
            times["write"].append(write)
            times["total"].append(parse + write)
            imported_id = estate.id
            for k, (name, insert) in enumerate(raw_baselines.items()):
                raw_id = operations.create_estate(f"raw{run}-{k}", "基线", None, None).id
                first_id = 1 + max(
                    db.session.scalar(select(func.max(Building.id))) or 0,
                    db.session.scalar(select(func.max(Unit.id))) or 0,
                )
                db.session.remove()
                times[name].append(insert(parsed, raw_id, first_id))
                if run == 0:
                    assert register_of(imported_id) == register_of(raw_id), name
            db.session.remove()
        households = len(parsed.rows)
        # a secretary re-runs the import with the same file: every household is unchanged
        estate = db.session.scalar(select(Estate).where(Estate.code == "imp0"))
        reimport, plan = timed(
            lambda: operations.import_registry(estate, parse_registry(content, "register.csv"))
        )
        assert plan.unchanged == households and not plan.new and not plan.updated
        db.session.remove()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "register.csv"
        path.write_bytes(content)
        with app.app_context():
            operations.create_estate("cli", "命令行", None, None)
            runner = app.test_cli_runner()
            cli, result = timed(
                lambda: runner.invoke(args=["registry", "import", "cli", str(path)])
            )
            assert result.exit_code == 0, result.output
    figures = {name: median(values) for name, values in times.items()}
    figures.update(households=households, reimport=reimport, cli=cli, label=label)
    return figures


def print_import(f: dict) -> None:
    n = f["households"]
    print(f"\n  {f['label']}: {n} households, median of the runs")
    baselines = [k for k in f if k.startswith("raw")]
    base, unit = f[baselines[0]], baselines[0][4:]  # ratios against the first baseline

    def line(name: str, seconds: float, baseline: float | None = None):
        ratio = f"  ratio {seconds / baseline:5.1f} × {unit}" if baseline else ""
        print(f"    {name:<44}{seconds:8.2f} s  {n / seconds:9,.0f} rows/s{ratio}")

    for name in baselines:
        line("baseline: " + name[4:], f[name])
    line("parse (registry.parse_registry)", f["parse"])
    line("write (operations.import_registry)", f["write"], base)
    line("total (parse + write)", f["total"], base)
    line("CLI `flask registry import`, once", f["cli"], base)
    line("re-import of the same file (0 changes), once", f["reimport"], base)
    print("    rows agree: the imported register equals the baseline's, row by row")


# --- (b) letters ---------------------------------------------------------------------------


def bare_png(url: str) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def bench_letters(app, count: int, runs: int, profile: bool) -> dict:
    from resident_portal import operations
    from resident_portal.extensions import db
    from resident_portal.letters import letters_for
    from resident_portal.models import Building, Household, Role, Unit
    from resident_portal.qr import qr_svg
    from resident_portal.registry import parse_registry

    with app.app_context():
        estate = operations.create_estate("letters", "信件小区", "区01", "街道01")
        operations.import_registry(estate, parse_registry(register_csv(count, 2), "r.csv"))
        operations.grant_staff_role("bench-secretary", Role.SECRETARY, estate, "bench pass 1")
        estate_id = estate.id
        # Where the time goes: the codes alone (issued and hashed), the QR codes alone.
        issue, issued = timed(lambda: operations.issue_codes(estate, reissue=True))
        reissue, issued = timed(lambda: operations.issue_codes(estate, reissue=True))
        with app.test_request_context("/", base_url=PUBLIC_BASE_URL):
            urls = [letter.url for letter in letters_for(issued)]
        svgs, _ = timed(lambda: [qr_svg(url) for url in urls])
        db.session.remove()
    client = app.test_client()
    sign_in_staff(app, client, "bench-secretary", "bench pass 1")

    def request(output: str):
        response = client.post("/console/letters/codes", data={"which": "all", "output": output})
        assert response.status_code == 200
        return response

    times: dict[str, list[float]] = {"baseline": [], "page": [], "zip": []}
    for _ in range(runs):  # the same links as the letters' (the codes differ, not the length)
        seconds, _pngs = timed(lambda: [bare_png(url) for url in urls])
        times["baseline"].append(seconds)
        seconds, page = timed(lambda: request("letters").get_data(as_text=True))
        times["page"].append(seconds)
        seconds, archive = timed(lambda: request("zip"))
        times["zip"].append(seconds)
    codes = re.findall(r'<p class="code">([A-Z0-9-]+)</p>', page)
    assert page.count('class="sheet letter"') == count and len(set(codes)) == count
    assert page.count("<svg") >= count and archive.mimetype == "application/zip"
    with app.app_context():
        with_code = db.session.scalar(
            select(func.count(Household.id))
            .join(Unit, Household.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(Building.estate_id == estate_id, Household.access_code_hash.is_not(None))
        )
        db.session.remove()
    assert with_code == count
    profile_text = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
        request("letters")
        profiler.stop()
        profile_text = profiler.output_text(unicode=True, color=False)
    return {
        "count": count,
        "runs": runs,
        "baseline": median(times["baseline"]),
        "page": median(times["page"]),
        "zip": median(times["zip"]),
        "issue": issue,
        "reissue": reissue,
        "svgs": svgs,
        "page_mb": len(page) / 1e6,
        "zip_mb": len(archive.data) / 1e6,
        "profile": profile_text,
    }


def print_letters(f: dict) -> None:
    count, base = f["count"], f["baseline"]
    print(
        f"\n(b) household letters for {count} households (PostgreSQL), median of {f['runs']} run(s)"
    )

    def line(name: str, seconds: float, ratio: bool = True):
        r = f"  ratio {seconds / base:5.2f} × bare PNGs" if ratio else ""
        print(f"    {name:<54}{seconds:8.2f} s  {seconds / count * 1000:7.2f} ms/letter{r}")

    line(f"baseline: {count} bare QR PNGs, qrcode alone", base, False)
    line("letters page: issue codes + HTML with SVG QR codes", f["page"])
    line("ZIP: issue codes + codes.csv + a PNG and an SVG each", f["zip"])
    line("  parts, once: issuing new codes (issue_codes)", f["issue"])
    line("  parts, once: re-issuing them (as the page: + revoking)", f["reissue"])
    line("  parts, once: the SVG QR codes alone (qr.qr_svg)", f["svgs"])
    print(
        f"    checked: {count} letters with {count} distinct codes and {count} inline SVG QR "
        f"codes (page {f['page_mb']:.1f} MB), every household has a code; ZIP "
        f"{f['zip_mb']:.1f} MB"
    )
    if f["profile"]:
        print("\n  profile: one letters page request (POST /console/letters/codes)")
        print(f["profile"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--letters", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3, help="import runs per database")
    parser.add_argument("--letter-runs", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="pyinstrument profiles")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    content = register_csv(args.households)
    from resident_portal.extensions import db

    url = create_postgres()
    try:
        app = migrated_app(url)
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        postgres = bench_import(
            "PostgreSQL (scratch database)",
            app,
            content,
            args.runs,
            {
                "raw COPY": lambda p, e, i: raw_postgres(conninfo, p, e, i, copy=True),
                "raw executemany": lambda p, e, i: raw_postgres(conninfo, p, e, i, copy=False),
            },
        )
        letters = bench_letters(app, args.letters, args.letter_runs, args.profile)
        with app.app_context():
            db.engine.dispose()
    finally:
        drop_postgres()

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "bench.sqlite3")
        app = migrated_app("sqlite:///" + path)
        sqlite = bench_import(
            "SQLite (temporary file, WAL)",
            app,
            content,
            args.runs,
            {"raw executemany": lambda p, e, i: raw_sqlite(path, p, e, i)},
        )
        with app.app_context():
            db.engine.dispose()

    print(
        f"register: {args.households} households, {len(content) / 1e6:.1f} MB of CSV; "
        f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f} (2 cores, shared)"
    )
    print(f"\n(a) registry import through the app's path, median of {args.runs} runs")
    print_import(postgres)
    print_import(sqlite)
    print_letters(letters)


if __name__ == "__main__":
    main()
