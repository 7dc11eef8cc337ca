"""Residents on phones over real HTTP, against the app served by gunicorn.

Shared by the voting benchmark (bench/voting.py) and the reliability tests (tests/test_load.py):

- `prepare_estate` builds an estate of N households with issued access codes, an open formal
  vote and an open money campaign, through the app's own operations;
- `Gunicorn` starts the app (or any WSGI app) under the production settings
  (resident_portal/gunicorn_conf.py) on a free loopback port, and stops it;
- `Resident` is one phone: it signs in with the household's code and submits ballots and pledges
  through the same forms a person uses (CSRF token included), timing every request.
"""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIRM_FIELD = 'name="confirmed"'  # the pledge's confirmation screen
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
RECEIPT_PATH = re.compile(r"/receipt/([^/?#]+)$")
ITEMS = ("roof", "elevators", "lighting")
HEADER = "楼栋,单元,房号,楼层,建筑面积,业主编号,业主姓名,联系电话"


# --- the estate ---------------------------------------------------------------------------


@dataclass
class Estate:
    code: str
    survey_id: int
    item_ids: list[int]
    campaign_id: int
    channel: str
    households: list[tuple[int, str]]  # (household id, access code)


def register_csv(households: int) -> bytes:
    """A register of `households` flats: buildings of 2 units × 6 floors × 4 flats."""
    lines = [HEADER]
    for n in range(households):
        building, rest = divmod(n, 48)
        unit, rest = divmod(rest, 24)
        floor, flat = divmod(rest, 4)
        room = f"{floor + 1}{flat + 1:02d}"
        area = f"{55 + (n * 7) % 40}.{n % 100:02d}"
        lines.append(f"{building + 1},{unit + 1},{room},{floor + 1},{area},O{n:05d},住户{n},")
    return ("\n".join(lines) + "\n").encode("utf-8")


def prepare_estate(households: int, code: str = "loadtest") -> Estate:
    """Build the estate in the current app context (imports here: the app is the caller's)."""
    from contributions import operations as contribution_operations
    from contributions.models import Channel, SuggestionKind
    from resident_portal import operations
    from resident_portal.models import utcnow
    from resident_portal.registry import parse_registry
    from survey import operations as survey_operations
    from survey.catalogue import BY_KEY
    from survey.definition import parse_definition

    estate = operations.create_estate(code, "压力测试小区", "测试街道")
    parsed = parse_registry(register_csv(households), "register.csv")
    assert parsed.ok, parsed.problems
    operations.import_registry(estate, parsed)
    codes = [(h.id, c) for h, c in operations.issue_codes(estate, reissue=True)]

    start = utcnow() - timedelta(hours=1)
    definition, problems = parse_definition(
        {
            "title": "屋面、电梯和照明改造",
            "title_en": "Roofs, elevators and lighting",
            "kind": "decision",
            "matter": "renovate",
            "scope": {"building": None, "unit": None},
            "opens_at": start.isoformat() + "+00:00",
            "closes_at": (start + timedelta(days=14)).isoformat() + "+00:00",
            "max_priorities": 0,
            "items": [
                {
                    "category": BY_KEY[k].category.value,
                    "title": BY_KEY[k].title,
                    "title_en": BY_KEY[k].title_en,
                    "estimated_cost_fen": 100_000_00,
                }
                for k in ITEMS
            ],
        }
    )
    assert not problems, problems
    survey = survey_operations.create_survey(estate, definition)
    campaign = contribution_operations.create_campaign(
        estate,
        contribution_operations.CampaignFields(
            title="楼道照明自筹",
            title_en="Stairwell lighting",
            purpose="",
            target_fen=10_000_00,
            deadline=utcnow() + timedelta(days=30),
            suggestion_kind=SuggestionKind.FLAT,
            flat_fen=100_00,
            per_m2_fen=0,
            channels=[Channel.DIRECT],
        ),
    )
    return Estate(
        code=estate.code,
        survey_id=survey.id,
        item_ids=[item.id for item in survey.items],
        campaign_id=campaign.id,
        channel=Channel.DIRECT.value,
        households=[(household_id, code) for household_id, code in codes],
    )


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`with Gunicorn(env) as server:` serves the app on server.url until the block ends."""

    def __init__(self, env: dict, app: str = "resident_portal:create_app()", log=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PUBLIC_BASE_URL": self.url,
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
        }
        self.app = app
        self.log = log or subprocess.DEVNULL
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:resident_portal.gunicorn_conf",
                self.app,
            ],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until_answering()
        return self

    def wait_until_answering(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                httpx.get(self.url + "/", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer on {self.url} within {timeout} s")

    def workers(self) -> list[int]:
        """Process ids of the worker processes (children of the arbiter)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended while we looked
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return sorted(children)

    def kill_worker(self) -> int:
        pid = self.workers()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def __exit__(self, *_exc):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- a phone ------------------------------------------------------------------------------


@dataclass
class Timing:
    operation: str
    seconds: float
    status: int  # 0 when the connection failed


@dataclass
class Acknowledged:
    """A submission the app confirmed (redirected to its receipt or confirmation)."""

    household_id: int
    kind: str  # "ballot" or "pledge"
    value: str  # the receipt, or the pledged amount in yuan
    at: float  # time.monotonic() when the confirmation arrived


class Resident:
    def __init__(self, base_url: str, estate: Estate, household_id: int, code: str, client=None):
        self.estate = estate
        self.household_id = household_id
        self.code = code
        self.client = client or httpx.AsyncClient(base_url=base_url, timeout=30)
        self.timings: list[Timing] = []
        self.acknowledged: list[Acknowledged] = []

    async def aclose(self):
        await self.client.aclose()

    async def _request(self, operation: str, method: str, url: str, **kwargs):
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.TransportError:
            self.timings.append(Timing(operation, time.perf_counter() - started, 0))
            return None
        self.timings.append(Timing(operation, time.perf_counter() - started, response.status_code))
        return response

    async def _form(self, operation: str, url: str) -> str | None:
        """GET the page of a form; its CSRF token, or None when the page did not come."""
        page = await self._request(operation, "GET", url)
        if page is None or page.status_code != 200:
            return None
        found = CSRF_FIELD.search(page.text)
        return found.group(1) if found else None

    async def sign_in(self) -> bool:
        """As the household letter's QR code does: the link (its code goes into the session,
        303 to the page without it), the page, one tap."""
        url = f"/e/{self.estate.code}/h/{self.household_id}"
        link = await self._request("letter link", "GET", f"{url}?code={self.code}")
        if link is None or link.status_code != 303:
            return False
        token = await self._form("sign-in page", url)
        if token is None:
            return False
        response = await self._request("sign in", "POST", url, data={"csrf_token": token})
        return response is not None and response.status_code == 302

    async def vote(self, choices: list[str]) -> str | None:
        """Submit a ballot; its receipt when the app confirmed it."""
        url = f"/surveys/{self.estate.survey_id}"
        token = await self._form("ballot page", url)
        if token is None:
            return None
        data = {"csrf_token": token, "suggestion": ""}
        data.update({f"item_{i}": c for i, c in zip(self.estate.item_ids, choices, strict=True)})
        response = await self._request("submit ballot", "POST", url, data=data)
        if response is None or response.status_code != 302:
            return None
        found = RECEIPT_PATH.search(response.headers["location"])
        if not found:
            return None
        self.acknowledged.append(
            Acknowledged(self.household_id, "ballot", found.group(1), time.monotonic())
        )
        return found.group(1)

    async def pledge(self, yuan: int) -> bool:
        url = f"/campaigns/{self.estate.campaign_id}"
        token = await self._form("pledge page", url)
        if token is None:
            return False
        data = {
            "csrf_token": token,
            "amount": str(yuan),
            "channel": self.estate.channel,
            "note": "",
        }
        response = await self._request("submit pledge", "POST", url, data=data)
        if response is not None and response.status_code == 200 and CONFIRM_FIELD in response.text:
            # Above the suggestion or ¥1,000: the second screen repeats the amount, one more tap.
            found = CSRF_FIELD.search(response.text)
            data.update(csrf_token=found.group(1) if found else token, confirmed="1")
            response = await self._request("confirm pledge", "POST", url, data=data)
        if response is None or response.status_code != 302:
            return False
        self.acknowledged.append(
            Acknowledged(self.household_id, "pledge", str(yuan), time.monotonic())
        )
        return True


@dataclass
class Crowd:
    """Many residents at once; what they were told and how long it took."""

    residents: list[Resident] = field(default_factory=list)

    @property
    def timings(self) -> list[Timing]:
        return [t for r in self.residents for t in r.timings]

    @property
    def acknowledged(self) -> list[Acknowledged]:
        return [a for r in self.residents for a in r.acknowledged]

    async def aclose(self):
        await asyncio.gather(*(r.aclose() for r in self.residents))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 1000) * len(ordered) // 1000))
    return ordered[min(rank, len(ordered)) - 1]
