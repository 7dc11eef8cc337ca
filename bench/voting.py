"""Voting under load (issue 7, benchmark 1): residents' phones voting at once, over real HTTP.

    .venv/bin/python -m bench.voting [--database sqlite|postgresql|both] [--seconds N]
                                     [--levels 10,50,200] [--slices K] [--think S]
                                     [--profile DIR]

    .venv/bin/python -m bench.voting --seconds 30 --slices 3    # on a busy, shared machine

What it measures. The app runs under gunicorn with the production settings
(resident_portal/gunicorn_conf.py: 2 workers × 4 gthreads, via bench.residents.Gunicorn) on a
scratch database: SQLite (WAL, a temporary file) and/or PostgreSQL (database
`resident_portal_voting` on 127.0.0.1:5432, created here and dropped at the end). An estate of
as many households as the highest level is built with the app's own operations
(bench.residents.prepare_estate: an open 3-item formal vote). The load generator runs in this
process (asyncio + httpx, one HTTP client and cookie jar per phone), the servers in their own
processes. Every household signs in first (not measured); then, at each level, N residents at
once (N = 10, 50, 200) each load their ballot page and submit a ballot (GET + POST, CSRF token
included, the redirect to the receipt not followed), over and over for --seconds (15).

The floor (bench/floor_app.py) is a minimal Flask app doing one INSERT per POST into a table of
its own in the same database, with the same engine options and SQLite pragmas, served with the
same gunicorn settings and loaded by the same generator at the same levels (one POST per
iteration). Both servers run side by side and the app and floor runs alternate level by level,
so each ratio compares two measurements taken seconds apart on the same machine; --slices K
cuts each level into K alternations (app, floor, app, floor, …; --seconds is the total per
server), so that a change of the machine's load during a level weighs on both alike. Each run
of a level starts on fresh connections (same cookies), as phones do after a pause.

How to read the output. For each database, a table for the app and one for the floor:

    req/s         completed HTTP requests per second (app: ballot page GETs + ballot POSTs)
    ballots/s     ballots confirmed with a receipt per second (floor: rows inserted, 204)
    all p50 p95 p99    latency of every request, ms (nearest rank)
    POST p50 p95 p99   latency of the ballot POST (floor: of its INSERT POST), ms
    errors        responses other than 2xx/3xx plus connection failures; after the slash,
                  answered POSTs that brought no receipt (e.g. the form shown again)
    srv CPU       CPU of gunicorn (arbiter + workers; SQLite runs inside them), in cores, and
                  of each worker: one worker runs Python on at most one core (the GIL), and a
                  phone's keep-alive connection stays with the worker that accepted it
    gen CPU       CPU of this process, the load generator, in cores
    db CPU        CPU of the PostgreSQL server processes of the scratch database, in cores
                  (srv + gen + db near the core count: the machine is the limit, not the app)

Then app ÷ floor: ballots/s ÷ inserts/s, the target's measure (a recorded ballot against a
recorded row: a resident's vote takes the ballot page and the POST, both part of voting), and
requests/s ÷ requests/s (what one request of the app costs against the cheapest one), the
ballot POST p99 and the floor's p99, the CPU (server + database server) spent per confirmed
ballot and per inserted row, which moves less with the machine's load than the throughput
does, and the verdict at 50 residents: ratio ≥ 0.5 and ballot POST p99 < 150 ms. A "server
log" line counts trouble in the servers' output (database is locked, database unavailable,
tracebacks, worker timeouts). The load average before and after is printed: on a shared
machine the absolute figures move with it; the ratios and the CPU per ballot move less, but
they move too (run twice, use --slices).

Closed loop: with the default --think 0 each resident sends its next request as soon as the
previous one is answered, so by Little's law the mean latency is residents ÷ requests/s and a
latency target at 50 residents is a throughput target. --think S lets each resident pause a
random (exponential) S seconds on average between iterations, as people do; then both servers
serve what is offered, the throughput ratios say little and the latencies are the point.

--profile DIR records one app worker with py-spy (in .venv) during each app level: collapsed
stacks in DIR/<database>-app-<N>-<slice>.txt and the top frames printed (own time, and
inclusive time of the app's code, templates and framework landmarks); PY_SPY_OPTIONS=--gil
keeps only samples holding the GIL (CPU), the default also shows waits. Figures of a
profiled run are slowed by the sampling: measure without it.
python -c 'from bench.voting import summarise; summarise()' FILE… prints recorded profiles
again, as one.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import io
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bench.residents import PROJECT_ROOT, Gunicorn, Resident, Timing, percentile, prepare_estate

LEVELS = (10, 50, 200)
TARGET_RESIDENTS = 50
TARGET_RATIO = 0.5
TARGET_P99 = 0.150
POSTGRES_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCRATCH_DATABASE = "resident_portal_voting"
SECRET_KEY = secrets.token_hex(16)  # one per run: sessions die with it
BALLOTS = (
    ("support", "support", "support"),
    ("support", "oppose", "abstain"),
    ("oppose", "support", "support"),
    ("abstain", "support", "oppose"),
)
FLOOR_APP = "bench.floor_app:create_app()"
PY_SPY_OPTIONS = os.environ.get("PY_SPY_OPTIONS", "").split()
TROUBLE = re.compile(r"database is locked|database unavailable|Traceback|WORKER TIMEOUT|\[ERROR\]")


# --- databases ----------------------------------------------------------------------------


@contextlib.contextmanager
def sqlite_database():
    directory = tempfile.mkdtemp(prefix="rp-voting-")
    try:
        yield f"sqlite:///{directory}/voting.sqlite3"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def postgresql_database(server_url: str = POSTGRES_SERVER_URL):
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)')
    with admin.connect() as connection:
        connection.execute(drop)
        connection.execute(text(f'CREATE DATABASE "{SCRATCH_DATABASE}"'))
    try:
        yield (
            make_url(server_url)
            .set(database=SCRATCH_DATABASE)
            .render_as_string(hide_password=False)
        )
    finally:
        for attempt in range(5):  # the server may be restarting (tests/test_load.py does that)
            try:
                with admin.connect() as connection:
                    connection.execute(drop)
                break
            except OperationalError as error:
                if attempt == 4:
                    print(f"could not drop {SCRATCH_DATABASE}: {error}", file=sys.stderr)
                time.sleep(2)
        admin.dispose()


def build(url: str, households: int):
    """Schema, estate and floor table; every connection closed before the servers start."""
    from flask_migrate import upgrade

    from bench import floor_app
    from resident_portal import create_app
    from resident_portal.extensions import db

    app = create_app({"SECRET_KEY": SECRET_KEY, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        estate = prepare_estate(households)
        db.engine.dispose()
    floor = floor_app.create_app(url)  # creates its table now, not in two workers at once
    with floor.app_context():
        floor_app.db.engine.dispose()
    return estate


# --- measuring ----------------------------------------------------------------------------


def cpu_by_process(pids) -> dict[int, float]:
    """User + system CPU seconds of each of these processes so far."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def postgresql_backends(url: str):
    """A function listing the PostgreSQL server processes serving the database of `url`."""
    import psycopg

    parsed = make_url(url)
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)

    def backends() -> list[int]:
        with psycopg.connect(conninfo) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (parsed.database,),
            )
            return [pid for (pid,) in rows]

    return backends


@dataclass
class Settings:
    seconds: float
    warmup: float = 3
    think: float = 0  # mean pause of a resident between iterations, seconds (0: none)
    profile: Path | None = None
    slices: int = 1  # each level's time cut in this many app/floor alternations
    database_processes: object = None  # () -> pids of a database server, or None (SQLite)


@dataclass
class Level:
    residents: int
    seconds: float
    timings: list[Timing]
    confirmed: int  # ballots confirmed with a receipt (floor: rows inserted)
    attempted: int  # submissions whose POST got an answer in 2xx/3xx
    server_cpu: float  # cores
    worker_cpu: list[float]  # cores, per gunicorn worker
    generator_cpu: float  # cores
    database_cpu: float | None  # cores; None when the database runs inside the server (SQLite)
    post: str = "submit ballot"

    @property
    def requests_per_second(self) -> float:
        return len(self.timings) / self.seconds

    @property
    def confirmed_per_second(self) -> float:
        return self.confirmed / self.seconds

    @property
    def cpu_per_confirmed(self) -> float:
        """Seconds of server (and database server) CPU per confirmed ballot or row."""
        used = (self.server_cpu + (self.database_cpu or 0)) * self.seconds
        return used / self.confirmed if self.confirmed else float("nan")

    @property
    def errors(self) -> int:
        return sum(1 for t in self.timings if not 200 <= t.status < 400)

    @property
    def unconfirmed(self) -> int:
        return self.attempted - self.confirmed

    def latencies(self, operation: str | None = None) -> list[float]:
        return [t.seconds for t in self.timings if operation is None or t.operation == operation]

    def p(self, fraction: float, operation: str | None = None) -> float:
        values = self.latencies(operation)
        return percentile(values, fraction) if values else float("nan")


def merge(parts: list[Level]) -> Level:
    """One level out of its slices: times and counts added, CPU averaged over the time."""
    seconds = sum(p.seconds for p in parts)

    def average(values):
        return sum(v * p.seconds for v, p in zip(values, parts, strict=True)) / seconds

    workers = max(len(p.worker_cpu) for p in parts)
    return Level(
        residents=parts[0].residents,
        seconds=seconds,
        timings=[t for p in parts for t in p.timings],
        confirmed=sum(p.confirmed for p in parts),
        attempted=sum(p.attempted for p in parts),
        server_cpu=average([p.server_cpu for p in parts]),
        worker_cpu=[
            average([p.worker_cpu[i] if i < len(p.worker_cpu) else 0.0 for p in parts])
            for i in range(workers)
        ],
        generator_cpu=average([p.generator_cpu for p in parts]),
        database_cpu=None
        if parts[0].database_cpu is None
        else average([p.database_cpu or 0.0 for p in parts]),
        post=parts[0].post,
    )


class FloorPhone(Resident):
    """A phone of the floor app: one POST that inserts one row, timed like the app's."""

    async def insert(self, choice: str) -> tuple[bool, bool]:
        response = await self._request(
            "floor insert",
            "POST",
            "/floor",
            data={"household": self.household_id, "choice": choice},
        )
        answered = response is not None and 200 <= response.status_code < 400
        return answered, response is not None and response.status_code == 204


async def vote_step(resident: Resident, n: int) -> tuple[bool, bool]:
    """Load the ballot page, submit a ballot: (the POST was answered, a receipt came)."""
    done = len(resident.timings)
    receipt = await resident.vote(list(BALLOTS[n % len(BALLOTS)]))
    answered = any(
        t.operation == "submit ballot" and 200 <= t.status < 400 for t in resident.timings[done:]
    )
    return answered, receipt is not None


async def floor_step(phone: FloorPhone, n: int) -> tuple[bool, bool]:
    return await phone.insert("/".join(BALLOTS[n % len(BALLOTS)]))


async def fresh_connections(phones) -> None:
    """New HTTP clients (same cookies) for phones that may have paused while the other server
    was measured: a keep-alive connection idle for about gunicorn's keepalive (5 s) may be
    closed by the server just as the phone reuses it, a failure of the benchmark's pause,
    not of the app (browsers retry such a request; httpx does not)."""
    for phone in phones:
        old = phone.client
        phone.client = httpx.AsyncClient(
            base_url=old.base_url, timeout=old.timeout, cookies=old.cookies
        )
        await old.aclose()


def start_py_spy(pid: int, seconds: float, output: Path) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own tool and arguments
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(output),
            *PY_SPY_OPTIONS,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run_level(
    phones,
    seconds: float,
    step,
    server: Gunicorn,
    post: str,
    settings: Settings,
    profile: Path | None = None,
) -> Level:
    """Every phone repeats `step` until `seconds` have passed; what it took."""
    await fresh_connections(phones)
    for phone in phones:
        phone.timings.clear()
        phone.acknowledged.clear()
    counts = Counter()
    rng = random.Random(len(phones))
    server_processes = [server.process.pid, *server.workers()]
    spy = None
    if profile is not None:
        spy = start_py_spy(server_processes[1], seconds, profile)
        await asyncio.sleep(1)  # let it attach
    database_processes = settings.database_processes
    database_before = cpu_by_process(database_processes()) if database_processes else {}
    server_before = cpu_by_process(server_processes)
    generator_before = time.process_time()
    started = time.perf_counter()
    deadline = time.monotonic() + seconds

    async def keep_going(phone, n):
        if settings.think:  # people do not all start at the same instant
            await asyncio.sleep(rng.uniform(0, settings.think))
        while time.monotonic() < deadline:
            answered, confirmed = await step(phone, n)
            counts["attempted"] += answered
            counts["confirmed"] += confirmed
            n += 1
            if settings.think:
                await asyncio.sleep(rng.expovariate(1 / settings.think))

    await asyncio.gather(*(keep_going(phone, i) for i, phone in enumerate(phones)))
    elapsed = time.perf_counter() - started
    server_after = cpu_by_process(server_processes)
    server_used = {p: (t - server_before.get(p, 0)) / elapsed for p, t in server_after.items()}
    server_cpu = sum(server_used.values())
    worker_cpu = [server_used.get(p, 0.0) for p in server_processes[1:]]
    generator_cpu = (time.process_time() - generator_before) / elapsed
    database_cpu = None
    if database_processes:
        after = cpu_by_process(database_processes())
        database_cpu = sum(t - database_before.get(p, 0) for p, t in after.items()) / elapsed
    if spy is not None:
        spy.wait()
    return Level(
        residents=len(phones),
        seconds=elapsed,
        timings=[t for phone in phones for t in phone.timings],
        confirmed=counts["confirmed"],
        attempted=counts["attempted"],
        server_cpu=server_cpu,
        worker_cpu=worker_cpu,
        generator_cpu=generator_cpu,
        database_cpu=database_cpu,
        post=post,
    )


async def sign_in_all(residents: list[Resident]) -> None:
    gate = asyncio.Semaphore(20)

    async def one(resident):
        async with gate:
            return await resident.sign_in()

    signed_in = await asyncio.gather(*(one(r) for r in residents))
    if not all(signed_in):
        raise SystemExit(f"only {sum(signed_in)} of {len(residents)} households signed in")


@dataclass
class Run:
    database: str
    settings: Settings
    app: list[Level] = field(default_factory=list)
    floor: list[Level] = field(default_factory=list)
    load_before: tuple = ()
    load_after: tuple = ()
    log_trouble: dict = field(default_factory=dict)
    profiles: dict[int, list[Path]] = field(default_factory=dict)  # residents: files


async def drive(run: Run, estate, app_server: Gunicorn, floor_server: Gunicorn, levels):
    settings = run.settings
    residents = [Resident(app_server.url, estate, h, c) for h, c in estate.households]
    floor_phones = [FloorPhone(floor_server.url, estate, h, c) for h, c in estate.households]
    try:
        await sign_in_all(residents)
        if settings.warmup:  # templates compiled, connections pooled, translations loaded
            quick = Settings(settings.warmup, database_processes=None)
            await run_level(
                residents[:10], settings.warmup, vote_step, app_server, "submit ballot", quick
            )
            await run_level(
                floor_phones[:10], settings.warmup, floor_step, floor_server, "floor insert", quick
            )
        run.load_before = os.getloadavg()
        slice_seconds = settings.seconds / settings.slices
        for n in levels:  # app and floor alternate: each pair is measured seconds apart
            app_parts, floor_parts = [], []
            for k in range(settings.slices):
                target = None
                if settings.profile is not None:
                    target = settings.profile / f"{run.database}-app-{n}-{k + 1}.txt"
                    run.profiles.setdefault(n, []).append(target)
                app_parts.append(
                    await run_level(
                        residents[:n],
                        slice_seconds,
                        vote_step,
                        app_server,
                        "submit ballot",
                        settings,
                        target,
                    )
                )
                floor_parts.append(
                    await run_level(
                        floor_phones[:n],
                        slice_seconds,
                        floor_step,
                        floor_server,
                        "floor insert",
                        settings,
                    )
                )
            run.app.append(merge(app_parts))
            run.floor.append(merge(floor_parts))
        run.load_after = os.getloadavg()
    finally:
        await asyncio.gather(*(p.aclose() for p in residents + floor_phones))


def measure(database: str, url: str, levels, settings: Settings) -> Run:
    estate = build(url, max(levels))
    if database == "postgresql":
        settings = dataclasses.replace(settings, database_processes=postgresql_backends(url))
    run = Run(database, settings)
    env = {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY}
    logs = Path(tempfile.mkdtemp(prefix="rp-voting-logs-"))
    with (
        open(logs / "app.log", "w") as app_log,
        open(logs / "floor.log", "w") as floor_log,
        Gunicorn(env, log=app_log) as app_server,
        Gunicorn(env, app=FLOOR_APP, log=floor_log) as floor_server,
    ):
        asyncio.run(drive(run, estate, app_server, floor_server, levels))
    for name in ("app", "floor"):
        lines = (logs / f"{name}.log").read_text(errors="replace").splitlines()
        trouble = Counter(m.group(0) for line in lines if (m := TROUBLE.search(line)))
        if trouble:
            run.log_trouble[name] = dict(trouble)
    shutil.rmtree(logs, ignore_errors=True)
    return run


# --- reporting ----------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f}" if seconds == seconds else "     -"


def cores(value: float | None) -> str:
    return f"{value:7.2f}" if value is not None else "      -"


def print_levels(title: str, levels: list[Level], unit: str) -> None:
    print(title)
    print(
        f"  residents   req/s {unit:>9}   all p50   p95   p99   POST p50   p95   p99"
        "   errors   srv CPU (per worker)  gen CPU   db CPU"
    )
    for level in levels:
        print(
            f"  {level.residents:9d} {level.requests_per_second:7.1f} "
            f"{level.confirmed_per_second:9.1f}   "
            f"{ms(level.p(0.50))}{ms(level.p(0.95))}{ms(level.p(0.99))}   "
            f"{ms(level.p(0.50, level.post))}{ms(level.p(0.95, level.post))}"
            f"{ms(level.p(0.99, level.post))}   "
            f"{level.errors:4d}/{level.unconfirmed:<3d} {cores(level.server_cpu)} "
            f"{'(' + ' + '.join(f'{c:.2f}' for c in level.worker_cpu) + ')':<13} "
            f"{cores(level.generator_cpu)}  {cores(level.database_cpu)}"
        )


def print_ratios(run: Run) -> list[str]:
    missed = []
    print("app ÷ floor (same run)")
    print(
        "  residents   ballots/s ÷ inserts/s   req/s ÷ req/s   ballot POST p99   floor p99"
        "   CPU ms per ballot / per insert"
    )
    for app, floor in zip(run.app, run.floor, strict=True):
        ratio = app.confirmed_per_second / floor.confirmed_per_second
        request_ratio = app.requests_per_second / floor.requests_per_second
        p99 = app.p(0.99, app.post)
        verdict = ""
        if app.residents == TARGET_RESIDENTS:
            ok_ratio, ok_p99 = ratio >= TARGET_RATIO, p99 < TARGET_P99
            verdict = (
                f"   target: ratio ≥ {TARGET_RATIO} {'met' if ok_ratio else 'MISSED'}, "
                f"p99 < {TARGET_P99 * 1000:.0f} ms {'met' if ok_p99 else 'MISSED'}"
            )
            if not ok_ratio:
                missed.append(f"{run.database} ratio {ratio:.2f} < {TARGET_RATIO}")
            if not ok_p99:
                missed.append(
                    f"{run.database} ballot p99 {p99 * 1000:.0f} ms ≥ {TARGET_P99 * 1000:.0f} ms"
                )
        print(
            f"  {app.residents:9d}   {ratio:19.2f}   {request_ratio:13.2f}   "
            f"{ms(p99)} ms         {ms(floor.p(0.99))} ms"
            f"   {app.cpu_per_confirmed * 1000:10.1f} / {floor.cpu_per_confirmed * 1000:<6.1f}"
            f"{verdict}"
        )
    return missed


# Frames worth naming in the inclusive list besides our own code (and templates).
LANDMARKS = (
    "render_template",
    "save_session",
    "open_session",
    "csrf_protect",
    "generate_csrf",
    "Session.commit",
    "Session._flush",
    "Session._connection_for_bind",
    "_emit_lazyload",
    "ThreadWorker.handle_request",
    "Flask.full_dispatch_request",
)
OURS = re.compile(r"\((resident_portal|survey|contributions|bench)/|\.html\)")


def summarise_profile(paths: list[Path], top: int = 12) -> None:
    """Top frames of py-spy's collapsed stacks: own time, and inclusive time of our code."""
    own, inclusive, total = Counter(), Counter(), 0
    lines = [line for path in paths if path.exists() for line in path.read_text().splitlines()]
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        count = int(count)
        total += count
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            if OURS.search(frame) or frame.split(" ")[0] in LANDMARKS:
                inclusive[frame] += count
    names = ", ".join(path.name for path in paths)
    if not total:
        print(f"  profile {names}: no samples")
        return
    print(f"  profile {names}: {total} samples")
    print("    own time:")
    for frame, count in own.most_common(top):
        print(f"      {100 * count / total:5.1f} %  {frame}")
    print("    inclusive (our code, templates, framework landmarks):")
    for frame, count in inclusive.most_common(2 * top):
        print(f"      {100 * count / total:5.1f} %  {frame}")


def report(run: Run) -> list[str]:
    name = {
        "sqlite": "SQLite (WAL, temporary file)",
        "postgresql": f"PostgreSQL (database {SCRATCH_DATABASE})",
    }[run.database]
    think = f", think time {run.settings.think:g} s" if run.settings.think else ""
    if run.settings.slices > 1:
        think += f", in {run.settings.slices} alternating slices"
    print(
        f"\n== {name}: {run.settings.seconds:g} s per level{think}; load average "
        f"{' '.join(f'{x:.2f}' for x in run.load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in run.load_after)} after =="
    )
    print_levels("app: ballot page GET + ballot POST per iteration", run.app, "ballots/s")
    print_levels("floor: one INSERT POST per iteration", run.floor, "inserts/s")
    missed = print_ratios(run)
    if run.settings.think:
        print(
            "  (with think time both servers mostly serve what is offered: the throughput "
            "ratios say little, the latencies are the point)"
        )
    for name, trouble in run.log_trouble.items():
        print(f"  {name} server log: " + ", ".join(f"{k} ×{v}" for k, v in trouble.items()))
    for paths in run.profiles.values():
        summarise_profile(paths)
    return missed


def summarise(argv=None):
    """python -c 'from bench.voting import summarise; summarise()' FILE…: print profiles again."""
    summarise_profile([Path(name) for name in argv or sys.argv[1:]])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--seconds",
        type=float,
        default=15,
        help="per level, for the app and again for the floor (15)",
    )
    parser.add_argument(
        "--levels",
        default=",".join(map(str, LEVELS)),
        help="residents at once, comma-separated (10,50,200)",
    )
    parser.add_argument("--warmup", type=float, default=3, help="seconds, not measured (3)")
    parser.add_argument(
        "--think",
        type=float,
        default=0,
        help="mean pause of each resident between iterations, seconds "
        "(0: none, as fast as the server answers)",
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=1,
        help="cut each level into this many app/floor alternations (1); on a busy machine "
        "3 makes the ratios compare like with like",
    )
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_SERVER_URL,
        help="a server and database to connect to for CREATE DATABASE",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record an app worker with py-spy during each app level",
    )
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.levels.split(",")]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    settings = Settings(args.seconds, args.warmup, args.think, args.profile, args.slices)

    print(
        f"voting under load: {os.cpu_count()} cores; gunicorn "
        f"{os.environ.get('GUNICORN_WORKERS', '2')} workers × "
        f"{os.environ.get('GUNICORN_THREADS', '4')} threads (resident_portal/gunicorn_conf.py); "
        f"levels {levels}; load generator in this process (pid {os.getpid()}); "
        f"code in {PROJECT_ROOT}"
    )
    missed = []
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for database in databases:
        scratch = (
            sqlite_database() if database == "sqlite" else postgresql_database(args.postgres_url)
        )
        with scratch as url:
            run = measure(database, url, levels, settings)
            missed += report(run)
    if TARGET_RESIDENTS in levels:
        print(
            f"\ntargets at {TARGET_RESIDENTS} residents: "
            + ("all met" if not missed else "MISSED: " + "; ".join(missed))
        )


if __name__ == "__main__":
    main()
