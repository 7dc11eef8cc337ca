"""Accessibility: axe-core on every resident page, in Chromium at 375×812.

Each resident page (the QR walk from the landing page to the sign-in page, home, ballots,
receipts, the public notice, pledges and the elevator share, problem reports, the error page) is
checked in Chinese and in English, in standard and in large text (适老化). Violations that axe
rates "serious" or "critical" fail the test, listed with their rule, impact and the elements at
fault. axe-core comes from the axe-playwright-python package (it bundles axe.min.js); the app's
Content-Security-Policy forbids injected script, so only these contexts bypass it.
"""

import io

import pytest
from sqlalchemy import select

from resident_portal import LANGUAGE_COOKIE, LARGE_TEXT_COOKIE
from resident_portal.extensions import db
from resident_portal.models import Role, StaffUser
from resident_portal.reports import operations as report_operations
from resident_portal.reports.models import Category, Status
from resident_portal.reports.photos import reencode
from survey import operations as survey_operations
from survey.tally import Choice

from .conftest import (
    SAMPLE_ROWS,
    close_survey,
    household,
    issue_code,
    make_campaign,
    make_elevator_project,
    make_estate,
    make_report,
    make_staff,
    make_survey,
)
from .test_browser import ARTIFACTS, CHROMIUM, PHONE, _require_chromium

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}
MODES = {
    "zh": {},
    "en": {LANGUAGE_COOKIE: "en"},
    "zh-large": {LARGE_TEXT_COOKIE: "1"},
    "en-large": {LANGUAGE_COOKIE: "en", LARGE_TEXT_COOKIE: "1"},
}


@pytest.fixture(scope="module")
def chromium():
    """One browser for the whole module; every check gets a fresh context of its own."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def phone_context(browser, base_url, mode):
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        bypass_csp=True,  # axe is injected script; the app's CSP rightly refuses it otherwise
    )
    context.add_cookies(
        [{"name": name, "value": value, "url": base_url} for name, value in MODES[mode].items()]
    )
    return context


def blocking_violations(axe, page) -> list[str]:
    """The serious and critical violations on the page, one readable line per rule."""
    results = axe.run(page).response
    lines = []
    for violation in results["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"])
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} -> {targets}")
    return lines


# The text of each button, link drawn as a button or choice whose content is wider than its box.
CLIPPED_CONTROLS = """[...document.querySelectorAll('main button, main a.button, main label.choice')]
    .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText.trim())"""


def check_pages(axe, page, base_url, mode, pages) -> None:
    """Open each page in turn (and do what its entry says: fill in and send a form), check that
    the mode took effect and that nothing is wider than the phone, run axe; fail once, listing
    every violation of every page."""
    problems = []
    language = "en" if "en" in mode else "zh-CN"
    for name, path, expected_status, *action in pages:
        response = page.goto(base_url + path)
        if action:  # a form sent from the page: the answer is the page to check
            with page.expect_navigation() as navigation:
                action[0](page)
            response = navigation.value
        assert response.status == expected_status, (name, path, response.status)
        html = page.locator("html")
        assert html.get_attribute("lang") == language, (name, mode)
        assert ("large" in (html.get_attribute("class") or "")) == ("large" in mode), (name, mode)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"[{mode}] {name} {path}: the page is {width}px wide on a phone")
        # No control's words run past its own edge (三个选项 side by side in large text did).
        for words in page.evaluate(CLIPPED_CONTROLS):
            problems.append(f"[{mode}] {name} {path}: {words!r} runs past its control's edge")
        problems += [f"[{mode}] {name} {path}: {line}" for line in blocking_violations(axe, page)]
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)


def send_wrong_code(page):
    page.locator("input.code").fill("AAAAA-AAAAA")
    send_form(page)


def send_form(page):
    page.locator("main button.primary").click()


def send_empty_ballot(page):
    """Past the browser's own check of the required choices, as an older phone would send it:
    the server's error messages are what is checked."""
    page.locator("form.ballot").evaluate("form => { form.noValidate = true }")
    send_form(page)


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"a11y-{name}.png"), full_page=True)


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (90, 140, 200)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def build_estate():
    """The sample estate with something on every page: an open consultation (one owner has
    voted), a closed decision with a public notice, a campaign with a pledge, an elevator project
    for unit 1-1 (its consent vote open) and problem reports, one of them resolved."""
    from contributions import operations as contribution_operations
    from contributions.models import Channel

    estate = make_estate(rows=SAMPLE_ROWS)
    me = household(estate, "1", "1", "601")
    neighbour = household(estate, "1", "1", "501")
    consultation = make_survey(estate, kind="consultation", max_priorities=2)
    receipt = survey_operations.submit_ballot(
        consultation,
        neighbour,
        {item.id: Choice.SUPPORT for item in consultation.items},
        suggestion="先修屋顶",
    )
    closed = make_survey(estate, items=("roof", "lighting"))
    for key, choice in [(("1", "1", "101"), "support"), (("2", "1", "101"), "oppose")]:
        survey_operations.submit_ballot(
            closed, household(estate, *key), {i.id: Choice(choice) for i in closed.items}
        )
    close_survey(closed)
    campaign = make_campaign(estate)
    contribution_operations.pledge(campaign, me, 20_000, Channel.DIRECT)
    elevator = make_elevator_project(estate)
    report = report_operations.submit_report(
        estate,
        Category.LEAK,
        report_operations.Location(household=me),
        "屋面施工后，次卧顶棚漏水，墙皮起鼓。",
        [reencode(jpeg())],
        reporter=me,
    )
    resolved = make_report(estate, me, category="noise", description="夜间施工噪音")
    username, _ = make_staff(Role.CONTRACTOR, estate)
    contractor = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    report_operations.transition(
        resolved, Status.RESOLVED, "已要求22点后停工", staff_user=contractor
    )
    make_report(estate, neighbour, category="leak", description="楼道顶棚渗水")
    from resident_portal.renovation.demo import demo_project

    demo_project(estate)  # the renovation's notice board
    return {
        "estate": estate,
        "me": me,
        "code": issue_code(estate, me),
        "consultation": consultation,
        "receipt": receipt,
        "closed": closed,
        "campaign": campaign,
        "elevator": elevator,
        "report": report,
        "resolved": resolved,
    }


@pytest.mark.parametrize("mode", MODES)
def test_public_pages_have_no_serious_violations(app, live_server, chromium, axe, mode):
    data = build_estate()
    me, code = data["me"], data["code"]
    context = phone_context(chromium, live_server, mode)
    page = context.new_page()
    check_pages(
        axe,
        page,
        live_server,
        mode,
        [
            ("landing", "/", 200),
            ("estate", "/e/meiyuan", 200),
            ("building", "/e/meiyuan/b/1", 200),
            ("unit", "/e/meiyuan/b/1/u/1", 200),
            ("sign-in", f"/e/meiyuan/h/{me.id}", 200),
            # Before the letter's link: after it, the page offers one tap, not the code field.
            ("sign-in, wrong code", f"/e/meiyuan/h/{me.id}", 400, send_wrong_code),
            ("sign-in from the letter", f"/e/meiyuan/h/{me.id}?code={code}", 200),
            ("receipt check", f"/e/meiyuan/receipt?code={data['receipt']}", 200),
            ("receipt check, unknown", "/e/meiyuan/receipt?code=XXXXXXXX", 200),
            ("notices", "/e/meiyuan/results", 200),
            ("notice", f"/e/meiyuan/results/{data['closed'].id}", 200),
            ("campaign totals", f"/e/meiyuan/campaigns/{data['campaign'].id}", 200),
            (
                "elevator totals",
                f"/e/meiyuan/campaigns/{data['elevator'].campaign_id}",
                200,
            ),
            ("report board", "/e/meiyuan/reports", 200),
            ("renovation notice board", "/e/meiyuan/project", 200),
            ("report", f"/e/meiyuan/reports/{data['report'].id}", 200),
            ("not found", "/e/nowhere", 404),
        ],
    )
    if mode in ("zh", "en-large"):
        page.goto(f"{live_server}/e/meiyuan/results/{data['closed'].id}")
        shot(page, f"notice-{mode}")
    context.close()


@pytest.mark.parametrize("mode", MODES)
def test_signed_in_pages_have_no_serious_violations(app, live_server, chromium, axe, mode):
    data = build_estate()
    me, code = data["me"], data["code"]
    mine = survey_operations.submit_ballot(
        data["elevator"].survey,
        me,
        {item.id: Choice.SUPPORT for item in data["elevator"].survey.items},
    )
    context = phone_context(chromium, live_server, mode)
    page = context.new_page()
    page.goto(f"{live_server}/e/meiyuan/h/{me.id}?code={code}")
    page.locator("main button.primary").click()
    page.wait_for_url(f"{live_server}/home")
    elevator_survey = data["elevator"].survey
    ballot = f"/surveys/{data['consultation'].id}"
    check_pages(
        axe,
        page,
        live_server,
        mode,
        [
            ("home", "/home", 200),
            ("ballot, consultation", ballot, 200),
            ("ballot, decision already voted", f"/surveys/{elevator_survey.id}", 200),
            ("receipt", f"/surveys/{elevator_survey.id}/receipt/{mine}", 200),
            ("pledge", f"/campaigns/{data['campaign'].id}", 200),
            ("elevator share", f"/campaigns/{data['elevator'].campaign_id}", 200),
            ("report form", "/reports/new", 200),
            ("report form, similar", "/reports/new?category=leak", 200),
            ("report with photo", f"/e/meiyuan/reports/{data['report'].id}", 200),
            ("resolved report", f"/e/meiyuan/reports/{data['resolved'].id}", 200),
            ("receipt check", f"/e/meiyuan/receipt?code={mine}", 200),
            ("not found", "/surveys/999999", 404),
            ("ballot, items left out", ballot, 422, send_empty_ballot),
        ],
    )
    if mode in ("zh", "en-large"):
        for name, path in [
            ("home", "/home"),
            ("ballot", f"/surveys/{data['consultation'].id}"),
            ("elevator", f"/campaigns/{data['elevator'].campaign_id}"),
        ]:
            page.goto(live_server + path)
            shot(page, f"{name}-{mode}")
    context.close()
