"""Reliability under load: the app served by gunicorn (production settings) and real HTTP phones.

- Nothing lost: many households vote and pledge at once, two phones of some households at the
  same instant; afterwards each household has exactly one current ballot and pledge, and
  every submission the app acknowledged is in the database.
- Faults: a worker killed with SIGKILL, PostgreSQL stopped and restarted, both during the
  load; acknowledged writes survive, clients get a translated "try again" page (503), and the
  app serves again without being restarted.
- Sign-in limits hold across two server processes sharing Redis.

The CI variants are short; LOAD_ROUNDS=N (default 1) repeats the voting N times per phone.
"""

import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bench.residents import CSRF_FIELD, Crowd, Gunicorn, Resident, prepare_estate
from contributions.models import Pledge, PledgeEvent
from resident_portal.extensions import db
from resident_portal.models import Household
from survey import counting
from survey.models import Ballot, BallotRevision, Survey

from .conftest import REDIS_URL, require_service

ROUNDS = int(os.environ.get("LOAD_ROUNDS", "1"))
CHOICES = ["support", "oppose", "abstain"]
LOG_DIR = Path(__file__).resolve().parent / "artifacts"


@contextlib.contextmanager
def serve(database_url, **env):
    """The app under gunicorn on this test's database; its log goes to tests/artifacts/."""
    LOG_DIR.mkdir(exist_ok=True)
    path = LOG_DIR / f"gunicorn-{uuid.uuid4().hex[:8]}.log"
    with (
        open(path, "w") as log,
        Gunicorn({"DATABASE_URL": database_url, "SECRET_KEY": "load", **env}, log=log) as server,
    ):
        server.log_path = path
        yield server


async def phones_for(server, estate, households: int, pairs: int) -> Crowd:
    """One phone per household, and a second phone for the first `pairs` households."""
    crowd = Crowd()
    for index, (household_id, code) in enumerate(estate.households[:households]):
        for _ in range(2 if index < pairs else 1):
            crowd.residents.append(Resident(server.url, estate, household_id, code))
    signed_in = await asyncio.gather(*(phone.sign_in() for phone in crowd.residents))
    assert all(signed_in), f"{signed_in.count(False)} phones could not sign in"
    return crowd


async def take_part(phone: Resident, start: asyncio.Event, rng: random.Random, rounds, stop):
    await start.wait()  # every phone begins at the same instant
    done = 0
    while done < rounds or (stop is not None and not stop.is_set()):
        await phone.vote([rng.choice(CHOICES) for _ in phone.estate.item_ids])
        await phone.pledge(rng.randint(1, 500))
        done += 1


async def crowd_takes_part(crowd: Crowd, rounds: int, seed: int = 7, during=None):
    """All phones vote and pledge `rounds` times, starting together. `during(stop)` runs
    alongside; the phones go on past their rounds until it sets `stop`."""
    start = asyncio.Event()
    stop = asyncio.Event() if during else None
    rng = random.Random(seed)
    tasks = [
        asyncio.create_task(take_part(phone, start, random.Random(rng.random()), rounds, stop))
        for phone in crowd.residents
    ]
    start.set()
    if during is not None:

        async def then_stop():
            try:
                await during()
            finally:
                stop.set()

        tasks.append(asyncio.create_task(then_stop()))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def assert_nothing_lost(crowd: Crowd, estate) -> None:
    """The database holds one current ballot and pledge per household, and every
    acknowledged submission."""
    db.session.expire_all()
    acknowledged_receipts = defaultdict(set)
    acknowledged_amounts = defaultdict(set)
    for ack in crowd.acknowledged:
        if ack.kind == "ballot":
            acknowledged_receipts[ack.household_id].add(ack.value)
        else:
            acknowledged_amounts[ack.household_id].add(int(ack.value) * 100)
    assert acknowledged_receipts and acknowledged_amounts, "nothing was acknowledged at all"

    owners = dict(db.session.execute(select(Household.id, Household.owner_ref)).all())
    revisions = set(
        db.session.scalars(
            select(BallotRevision.receipt).where(BallotRevision.survey_id == estate.survey_id)
        )
    )
    ballots = {
        b.owner_ref: b
        for b in db.session.scalars(select(Ballot).where(Ballot.survey_id == estate.survey_id))
    }
    for household_id, receipts in acknowledged_receipts.items():
        assert receipts <= revisions, f"household {household_id} lost an acknowledged ballot"
        current = ballots[owners[household_id]]
        latest = db.session.scalars(
            select(BallotRevision.receipt)
            .where(
                BallotRevision.survey_id == estate.survey_id,
                BallotRevision.owner_ref == owners[household_id],
            )
            # The last one committed counts. Revision ids follow commit order: SQLite has one
            # writer at a time, and on PostgreSQL the ballot's row lock queues the owner's
            # submissions. (Their submitted_at need not: two phones' clocks are read before
            # either waits for the other.)
            .order_by(BallotRevision.id.desc())
            .limit(1)
        ).one()
        assert current.receipt == latest, f"household {household_id} counts a stale ballot"
        assert len(current.choices) == len(estate.item_ids)
    # The kept tally, updated by every one of those concurrent ballots, equals a full recount.
    assert counting.compare(db.session.get(Survey, estate.survey_id)) == []

    pledges = {
        p.household_id: p
        for p in db.session.scalars(select(Pledge).where(Pledge.campaign_id == estate.campaign_id))
    }
    events = defaultdict(set)
    for event in db.session.scalars(
        select(PledgeEvent).where(PledgeEvent.campaign_id == estate.campaign_id)
    ):
        events[event.household_id].add(event.amount_fen)
    for household_id, amounts in acknowledged_amounts.items():
        assert amounts <= events[household_id], f"household {household_id} lost a pledge"
        assert pledges[household_id].amount_fen in events[household_id]


def statuses(crowd: Crowd) -> dict[int, int]:
    counts = defaultdict(int)
    for timing in crowd.timings:
        counts[timing.status] += 1
    return dict(counts)


def test_nothing_lost_when_many_households_vote_and_pledge_at_once(app, database_url):
    estate = prepare_estate(200)
    with serve(database_url) as server:

        async def run():
            crowd = await phones_for(server, estate, households=200, pairs=25)
            try:
                await crowd_takes_part(crowd, ROUNDS)
            finally:
                await crowd.aclose()
            return crowd

        crowd = asyncio.run(run())
    seen = statuses(crowd)
    # 303: the letter link, which sends the phone on to the address without its code
    assert set(seen) <= {200, 302, 303}, f"statuses other than success: {seen}"
    assert len(crowd.acknowledged) == 2 * ROUNDS * len(crowd.residents)
    assert_nothing_lost(crowd, estate)


def test_a_killed_worker_loses_no_acknowledged_write(app, database_url):
    estate = prepare_estate(60)
    with serve(database_url) as server:

        async def run():
            crowd = await phones_for(server, estate, households=60, pairs=10)

            async def kill_a_worker_meanwhile():
                await asyncio.sleep(0.3)
                killed = server.kill_worker()
                # The arbiter notices, reaps it and starts a replacement.
                deadline = time.monotonic() + 20
                while killed in server.workers() or len(server.workers()) < 2:
                    assert time.monotonic() < deadline, "the killed worker was not replaced"
                    await asyncio.sleep(0.1)

            try:
                await crowd_takes_part(crowd, 3, during=kill_a_worker_meanwhile)
            finally:
                await crowd.aclose()
            return crowd

        crowd = asyncio.run(run())
        assert_nothing_lost(crowd, estate)
        # The arbiter replaced the worker: a phone signs in and votes again.
        assert_serves_again(server, estate)
    seen = statuses(crowd)
    # 0: the connection the killed worker held; 303: the letter link (see above)
    assert set(seen) <= {0, 200, 302, 303}, seen


def assert_serves_again(server, estate) -> None:
    async def vote_once():
        household_id, code = estate.households[-1]
        phone = Resident(server.url, estate, household_id, code)
        try:
            assert await phone.sign_in()
            assert await phone.vote(["support"] * len(estate.item_ids))
        finally:
            await phone.aclose()

    deadline = time.monotonic() + 20
    while True:
        try:
            asyncio.run(vote_once())
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def postgres_cluster() -> list[str] | None:
    """pg_ctlcluster arguments for the local cluster, when this user may restart it."""
    if not shutil.which("pg_ctlcluster") or os.geteuid() != 0:
        return None
    versions = sorted(Path("/etc/postgresql").glob("*/main"))
    return [versions[-1].parent.name, "main"] if versions else None


def pg_ctl(action: str, cluster: list[str]) -> None:
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            *cluster,
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_restart_during_load_gives_a_try_again_page_and_recovers(app, database_url):
    cluster = postgres_cluster()
    if cluster is None:
        pytest.skip("needs pg_ctlcluster and root to stop and start the local PostgreSQL")
    estate = prepare_estate(40)
    # Hand the test's own connection back to the pool, which checks it before reuse.
    db.session.close()
    pages, restarted = [], []
    with serve(database_url) as server:

        async def run():
            crowd = await phones_for(server, estate, households=40, pairs=5)

            async def restart_postgresql_meanwhile():
                await asyncio.sleep(0.2)
                await asyncio.to_thread(pg_ctl, "stop", cluster)
                try:
                    # While the database is down, a page shows what the resident should do.
                    async with httpx.AsyncClient(base_url=server.url) as phone:
                        for language in ("zh_Hans_CN", "en"):
                            phone.cookies.set("lang", language)
                            pages.append(await phone.get(f"/e/{estate.code}"))
                    await asyncio.sleep(1)
                finally:
                    await asyncio.to_thread(pg_ctl, "start", cluster)
                restarted.append(time.monotonic())
                await asyncio.sleep(3)  # the phones go on after the restart

            try:
                await crowd_takes_part(crowd, 4, during=restart_postgresql_meanwhile)
            finally:
                await crowd.aclose()
            return crowd

        crowd = asyncio.run(run())
        chinese, english = pages
        expected = ((chinese, "请稍等一分钟后再试"), (english, "Please try again in a minute"))
        for page, text in expected:
            assert page.status_code == 503 and page.headers["Retry-After"] == "30"
            assert text in page.text and "Traceback" not in page.text
        seen = statuses(crowd)
        assert set(seen) <= {200, 302, 303, 503}, f"unexpected statuses: {seen}"
        assert seen.get(503), "the load never met the stopped database"
        # Phones were served again after the restart, by the same server processes.
        assert any(ack.at > restarted[0] for ack in crowd.acknowledged)
    assert_nothing_lost(crowd, estate)


def test_sign_in_limit_holds_across_two_server_processes_sharing_redis(app, database_url):
    # Issue 12: the failures of one address at one household, counted across both servers,
    # make that address wait; the right code from another address still signs in, on either.
    require_service("Redis", REDIS_URL, 6379, "REQUIRE_REDIS")
    estate = prepare_estate(2)
    household_id, code = estate.households[0]
    # One trusted proxy: the test plays several client addresses through X-Forwarded-For.
    shared = {
        "REDIS_URL": REDIS_URL,
        "RATE_LIMIT_PREFIX": f"test-{uuid.uuid4().hex}",
        "PROXY_COUNT": "1",
    }
    with serve(database_url, **shared) as one, serve(database_url, **shared) as two:

        def guess(server, typed, address):
            headers = {"X-Forwarded-For": address}
            with httpx.Client(base_url=server.url, headers=headers) as phone:
                page = phone.get(f"/e/{estate.code}/h/{household_id}")
                token = CSRF_FIELD.search(page.text).group(1)
                return phone.post(
                    f"/e/{estate.code}/h/{household_id}",
                    data={"csrf_token": token, "code": typed},
                )

        wrong, guesser = "AAAAAAAAAA", "203.0.113.66"
        # Two wrong codes are answered "wrong", one on each server; the third failure, counted
        # across both, makes that address wait on both.
        assert guess(one, wrong, guesser).status_code == 400
        assert guess(two, wrong, guesser).status_code == 400
        assert guess(one, wrong, guesser).status_code == 429
        for server in (one, two):
            assert guess(server, wrong, guesser).status_code == 429
            assert guess(server, code, guesser).status_code == 429
        # The household, from its own address, signs in at once on either server.
        for server in (one, two):
            assert guess(server, code, "198.51.100.7").status_code == 302


def test_gunicorn_access_log_never_holds_an_access_code(app, database_url):
    estate = prepare_estate(1)
    household_id, code = estate.households[0]
    with serve(database_url) as server:
        letter = f"/e/{estate.code}/h/{household_id}?code={code[:5]}-{code[5:]}"
        with httpx.Client(base_url=server.url, follow_redirects=True) as phone:
            page = phone.get(letter)
            assert page.status_code == 200 and code[:5] not in page.text
            token = CSRF_FIELD.search(page.text).group(1)
            signed_in = phone.post(f"/e/{estate.code}/h/{household_id}", data={"csrf_token": token})
            assert signed_in.status_code == 200 and str(signed_in.url).endswith("/home")
            # a referer carrying the code (a page saved from an old link) is not logged either
            phone.get("/home", headers={"Referer": server.url + letter})
            log_path = server.log_path
    time.sleep(0.2)
    logged = log_path.read_text()
    assert f"/e/{estate.code}/h/{household_id}" in logged, logged[-2000:]
    assert "/home" in logged
    for part in (code, code[:5], code[5:]):
        assert part not in logged, logged[-2000:]
