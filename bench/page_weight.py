"""How heavy are the resident pages, and how soon does a slow phone show something?

    .venv/bin/python -m bench.page_weight [--runs 3] [--latency 400] [--weight-only]

Starts the app itself on a free loopback port (werkzeug, in a thread) with a temporary SQLite
database holding the demo estate 美苑小区 (the sample register, the demo surveys, a campaign and
an elevator project for unit 1-1, all made by the app's own operations), signs one household in
and opens the resident pages in Debian's Chromium at 375×812 through Playwright:
landing, sign-in, home, ballot, pledge, elevator share and report form.

1. Weight, each page in a fresh browser context (empty cache): bytes of HTML, CSS, JS and
   images as the browser received them before any compression (the response bodies), other
   bytes, the number of requests, the number of requests to anywhere but 127.0.0.1 (must be 0:
   no CDN, fonts or third-party scripts, docs/domain.md) and whether the page stays within the
   17 KB of issue 13 ("the resident pages are light, 12–17 KB"; KB = 1,024 bytes): its HTML,
   the minified style.css and the one script it may load.
   Beside the total, the same bodies gzipped (level 6, as a reverse proxy would send them; the
   app itself does not compress). --weight-only stops here (the FCP runs take minutes).
2. Time to first contentful paint (the browser's own `first-contentful-paint` entry) on a phone
   throttled through the DevTools protocol: network as the brief's "slow 3G" profile, 400 ms
   latency per request and 400 kbit/s each way (Network.emulateNetworkConditions), CPU slowed
   4× (Emulation.setCPUThrottlingRate); median of --runs runs, each in a fresh context, against
   the 2 s target. (Chrome DevTools' own "Slow 3G" preset applies 400 ms × 5 = 2000 ms per
   request: `--latency 2000` reproduces it.)
3. The baseline, in the same run and under the same throttling: a trivial static HTML page of
   the median page's total size, one request and nothing else, served by the same server. The
   ratio page FCP / baseline FCP says what the page costs over the least any page of that size
   costs; what is left over is mostly the stylesheet, a second round trip before first paint.
"""

import argparse
import gzip
import logging
import statistics
import tempfile
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 375, "height": 812}
BUDGET = 17 * 1024  # bytes per page, everything included (issue 13)
FCP_TARGET_MS = 2000
KBIT = 1000 / 8  # bytes per second in one kbit/s
BASELINE_PATH = "/__bench/baseline.html"


def build_demo(app) -> dict:
    """The demo estate, made as `flask demo` and the console make it; returns what the pages
    need: the signed-in household, its access code and the ids of the survey and campaigns."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from contributions import operations as contribution_operations
    from contributions.models import Channel, SuggestionKind
    from resident_portal import operations
    from resident_portal.cli import DEMO_REGISTER
    from resident_portal.extensions import db
    from resident_portal.models import Household, Unit, utcnow
    from resident_portal.registry import parse_registry
    from survey.demo import demo_surveys
    from survey.models import Survey, SurveyKind

    with app.app_context():
        upgrade()
        estate = operations.create_estate("meiyuan", "美苑小区", "示范街道")
        operations.import_registry(
            estate, parse_registry(DEMO_REGISTER.read_bytes(), DEMO_REGISTER.name)
        )
        demo_surveys(estate)  # as `flask demo` makes them
        surveys = list(db.session.scalars(select(Survey).where(Survey.estate_id == estate.id)))
        campaign = contribution_operations.create_campaign(
            estate,
            contribution_operations.CampaignFields(
                title="楼道改造居民出资",
                title_en="Stairwell renovation",
                purpose="粉刷、照明、扶手",
                target_fen=5_000_000,
                deadline=utcnow() + timedelta(days=30),
                suggestion_kind=SuggestionKind.FLAT_PLUS_PER_M2,
                flat_fen=10_000,
                per_m2_fen=500,
                channels=[Channel.DIRECT, Channel.MAINTENANCE_FUND],
            ),
        )
        unit = next(
            u
            for b in estate.sorted_buildings
            if b.number == "1"
            for u in b.sorted_units
            if u.number == "1"
        )
        elevator = contribution_operations.create_elevator_project(
            unit,
            contribution_operations.ElevatorFields(
                equipment_fen=45_000_000,
                installation_fen=15_000_000,
                design_fen=0,
                pipes_fen=0,
                other_fen=0,
                subsidy_fixed_fen=15_000_000,
                subsidy_basis_points=0,
                subsidy_cap_fen=None,
                maintenance_fund_fen=0,
            ),
            utcnow() + timedelta(days=7),
            utcnow() + timedelta(days=30),
        )
        household = db.session.scalar(
            select(Household)
            .join(Unit)
            .where(Unit.id == unit.id, Household.floor == 6)
            .order_by(Household.room)
        )
        [(_, code)] = operations.issue_codes(estate, reissue=True, household_ids=[household.id])
        consultation = next(s for s in surveys if s.kind is SurveyKind.CONSULTATION)
        ids = {
            "household": household.id,
            "code": code,
            "consultation": consultation.id,
            "campaign": campaign.id,
            "elevator_campaign": elevator.campaign_id,
        }
        db.engine.dispose()
    return ids


def demo_app(prefix: str):
    """The app on a temporary SQLite database holding the demo (build_demo): returns the
    temporary folder (keep it while the app runs), the app and the demo's ids."""
    from resident_portal import create_app

    temporary = tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True)
    folder = Path(temporary.name)
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "PHOTO_DIR": str(folder / "photos"),
            "REDIS_URL": None,
            "PUBLIC_BASE_URL": "",  # plain HTTP on loopback: cookies cannot be Secure
        }
    )
    return temporary, app, build_demo(app)


def resident_pages(ids: dict) -> list[tuple[str, str, bool]]:
    """(name, path, signed in) for each page measured."""
    return [
        ("landing", "/", False),
        ("sign-in", f"/e/meiyuan/h/{ids['household']}", False),
        ("home", "/home", True),
        ("ballot", f"/surveys/{ids['consultation']}", True),
        ("pledge", f"/campaigns/{ids['campaign']}", True),
        ("elevator share", f"/campaigns/{ids['elevator_campaign']}", True),
        ("report form", "/reports/new", True),
    ]


def baseline_html(size: int) -> bytes:
    """A trivial static page of about `size` bytes: text only, no stylesheet, no script."""
    head = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>基准页</title></head><body><h1>基准页 Baseline</h1>\n"
    )
    paragraph = "<p>小区改造意愿征询：屋面防水、外墙保温、楼道照明。Renovation survey.</p>\n"
    body = head.encode()
    while len(body) + len(paragraph.encode()) + 15 <= size:
        body += paragraph.encode()
    return body + b"</body></html>"


class WithBaseline:
    """The app, plus one static page at BASELINE_PATH served by the same server."""

    def __init__(self, app):
        self.app, self.page = app, b""

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == BASELINE_PATH:
            start_response(
                "200 OK",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Length", str(len(self.page))),
                ],
            )
            return [self.page]
        return self.app(environ, start_response)


@contextmanager
def serve(wsgi_app):
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def new_phone(browser, cookies=()):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    if cookies:
        context.add_cookies(list(cookies))
    return context


def sign_in(browser, base_url, ids) -> list:
    """Sign the household in once, with its letter link; later contexts reuse the cookie."""
    context = new_phone(browser)
    page = context.new_page()
    page.goto(f"{base_url}/e/meiyuan/h/{ids['household']}?code={ids['code']}")
    page.locator("main button.primary").click()
    page.wait_for_url(f"{base_url}/home")
    cookies = context.cookies()
    context.close()
    return cookies


KINDS = {"document": "html", "stylesheet": "css", "script": "js", "image": "images"}


def weigh(browser, url, cookies) -> dict:
    """Bytes by kind and requests of one load in an empty cache."""
    context = new_phone(browser, cookies)
    page = context.new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    weight = {
        "html": 0,
        "css": 0,
        "js": 0,
        "images": 0,
        "other": 0,
        "requests": len(responses),
        "external": 0,
        "gzip": 0,
    }
    for response in responses:
        if urlparse(response.url).hostname != "127.0.0.1":
            weight["external"] += 1
        if 300 <= response.status < 400:
            continue  # a redirect has no body
        kind = KINDS.get(response.request.resource_type, "other")
        body = response.body()
        weight[kind] += len(body)
        weight["gzip"] += len(gzip.compress(body, compresslevel=6))
    weight["total"] = sum(weight[k] for k in ("html", "css", "js", "images", "other"))
    context.close()
    return weight


def first_contentful_paint(browser, url, cookies, latency_ms) -> float:
    """Milliseconds to first contentful paint, throttled, in a fresh context (empty cache)."""
    context = new_phone(browser, cookies)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": 400 * KBIT,
            "uploadThroughput": 400 * KBIT,
        },
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    page.goto(url, wait_until="load", timeout=60_000)
    fcp = page.wait_for_function(
        "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime",
        timeout=30_000,
    ).json_value()
    context.close()
    return fcp


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="FCP runs per page (median)")
    parser.add_argument("--latency", type=int, default=400, help="ms added to each request")
    parser.add_argument("--weight-only", action="store_true", help="skip the FCP runs")
    options = parser.parse_args()

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-cjk)")
    temporary, app, ids = demo_app("rp-page-weight-")
    pages = resident_pages(ids)
    wsgi = WithBaseline(app)
    with serve(wsgi) as base_url, sync_playwright() as playwright:
        app.config["PUBLIC_BASE_URL"] = base_url
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        cookies = sign_in(browser, base_url, ids)
        weights = {
            name: weigh(browser, base_url + path, cookies if signed_in else ())
            for name, path, signed_in in pages
        }
        wsgi.page = baseline_html(int(statistics.median(w["total"] for w in weights.values())))
        weights["baseline"] = weigh(browser, base_url + BASELINE_PATH, ())
        fcp = {}
        for name, path, signed_in in [*pages, ("baseline", BASELINE_PATH, False)]:
            if options.weight_only:
                break
            fcp[name] = statistics.median(
                first_contentful_paint(
                    browser, base_url + path, cookies if signed_in else (), options.latency
                )
                for _ in range(options.runs)
            )
        browser.close()
    temporary.cleanup()

    print(
        f"resident pages of the demo estate in Chromium at {PHONE['width']}×{PHONE['height']}"
        f" (bytes as received, uncompressed; budget {BUDGET // 1024} KB a page)"
    )
    print(
        f"{'page':<15}{'HTML':>8}{'CSS':>8}{'JS':>6}{'images':>8}{'other':>7}{'total':>8}"
        f"{'gzip':>8}{'requests':>10}{'external':>10}  ≤ {BUDGET // 1024} KB"
    )
    for name, w in weights.items():
        print(
            f"{name:<15}{w['html']:>8,}{w['css']:>8,}{w['js']:>6,}{w['images']:>8,}"
            f"{w['other']:>7,}{w['total']:>8,}{w['gzip']:>8,}{w['requests']:>10}"
            f"{w['external']:>10}  "
            f"{'yes' if w['total'] <= BUDGET else 'NO'}"
        )
    print()
    if fcp:
        print(
            f"first contentful paint, median of {options.runs} fresh loads: network "
            f"{options.latency} ms latency, 400 kbit/s down and up; CPU 4× slower "
            f"(target < {FCP_TARGET_MS / 1000:g} s)"
        )
    for name, ms in fcp.items():
        ratio = "" if name == "baseline" else f"  ratio {ms / fcp['baseline']:4.2f} × baseline"
        verdict = "" if name == "baseline" else ("  ok" if ms < FCP_TARGET_MS else "  MISSED")
        print(f"{name:<15}{ms:8.0f} ms{ratio}{verdict}")
    external = sum(w["external"] for w in weights.values())
    if external:
        raise SystemExit(f"{external} requests left 127.0.0.1")


if __name__ == "__main__":
    main()
