"""Paper that prints (issue 13, point 8), in real Chromium: every printable page keeps at least
10 mm clear at each edge, a household letter fills exactly one A4 page with 14 pt text, its
date of issue, what it is for, the open votes with their closing dates and the organiser's
name and phone; a stairwell poster has its unit label at 28 pt or more and the contact.

Pages are printed with page.pdf() as the browser's Print command does (the page's own @page
rules), rasterised with pdftoppm and the ink measured. PNGs of the letter, the poster and the
door-to-door list go to /tmp/shots-secretaries/ for people to look at. The dashboard is
photographed on a phone."""

import os
import re
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from resident_portal.models import Role, utcnow
from survey import operations as survey_operations
from survey.tally import Choice

from .conftest import (
    close_survey,
    household,
    make_campaign,
    make_estate,
    make_staff,
    make_survey,
    sign_in_staff,
    totp_now,
)
from .test_browser import CHROMIUM, PHONE

pytestmark = pytest.mark.browser

# /tmp/shots-secretaries unless SHOTS_DIR says where
SHOTS = Path(os.environ.get("SHOTS_DIR") or Path(tempfile.gettempdir()) / "shots-secretaries")
STATIC = Path(__file__).resolve().parent.parent / "resident_portal" / "static"
DPI = 50  # 1 px ≈ 0.51 mm: coarse, and enough to see 10 mm
MM = DPI / 25.4
MARGIN_MM = 10


def _require_tools():
    for tool in (CHROMIUM, "pdftoppm"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (apt-get install chromium poppler-utils)")


@pytest.fixture
def page():
    _require_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield browser.new_page()
        browser.close()


def standalone(html: str) -> str:
    """The page with its stylesheets (style.css, and console.css for the sheets) inlined, to
    load without a server."""
    return re.sub(
        r'<link rel="stylesheet" href="/static/([\w.-]+)">',
        lambda link: f"<style>{(STATIC / link.group(1)).read_text(encoding='utf-8')}</style>",
        html,
    )


def print_pages(page, html: str, name: str) -> list:
    """Print as the browser would, on A4 with the page's @page rules; the pages as images."""
    from PIL import Image

    SHOTS.mkdir(exist_ok=True)
    page.set_content(standalone(html), wait_until="load")
    page.emulate_media(media="print")
    pdf = SHOTS / f"{name}.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    for old in SHOTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(SHOTS / name)], check=True)
    files = sorted(SHOTS.glob(f"{name}-*.png"))
    return [Image.open(f).convert("L") for f in files]


def ink_box(image):
    """The bounding box of everything darker than near-white, in mm from the page's edges."""
    from PIL import ImageOps

    box = ImageOps.invert(image).point(lambda v: 255 if v > 20 else 0).getbbox()
    if box is None:
        return None
    width, height = image.size
    left, top, right, bottom = box
    return left / MM, top / MM, (width - right) / MM, (height - bottom) / MM


def assert_margins(images):
    for number, image in enumerate(images, 1):
        box = ink_box(image)
        assert box is not None, f"page {number} is blank"
        assert min(box) >= MARGIN_MM - 0.6, f"page {number}: ink {box} mm from the edges"


def secretary(app, estate):
    client = app.test_client()
    assert sign_in_staff(client, *make_staff(Role.SECRETARY, estate)).status_code == 302
    return client


def test_the_household_letter_prints_on_one_page_each(app, page):
    estate = make_estate()
    survey = make_survey(estate)
    make_campaign(estate)
    for _more in range(4):  # six things open: four are listed, so that a letter stays one page
        make_survey(estate, opened=False)
    client = secretary(app, estate)
    issued = client.post("/console/meiyuan/codes", data={"which": "missing"})
    letters = issued.headers["Location"] + "/letters?organiser=美苑社区党支部&phone=010-6543 2100"
    html = client.get(letters).get_data(as_text=True)
    for words in ("发放日期", "这封信的用途", "美苑社区党支部", "010-6543 2100", survey.title):
        assert words in html, words
    assert "截止" in html and "还有 2 项" in html
    images = print_pages(page, html, "letter")
    assert len(images) == 5  # five households, one page each: no half-empty page
    assert_margins(images)
    # Body text is 14 pt or more.
    page.emulate_media(media="print")
    sizes = page.evaluate(
        "[...document.querySelectorAll('.sheet.letter p, .sheet.letter li')]"
        ".map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes and min(sizes) >= 14 * 96 / 72 - 0.01, sizes


def test_the_stairwell_poster_has_a_large_unit_label_and_the_contact(app, page):
    estate = make_estate()
    client = secretary(app, estate)
    html = client.get(
        "/console/meiyuan/posters/print?what=units&organiser=王书记&phone=13800001111"
    ).get_data(as_text=True)
    assert "王书记" in html and "13800001111" in html
    images = print_pages(page, html, "poster")
    assert len(images) == 3  # three units, one page each
    assert_margins(images)
    size = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.unit-label')).fontSize)"
    )
    assert size >= 28 * 96 / 72
    # The contact is remembered for the next printing.
    again = client.get("/console/meiyuan/posters/print?what=estate").get_data(as_text=True)
    assert "13800001111" in again


def test_the_other_printable_pages_keep_their_margins(app, page):
    estate = make_estate()
    survey = make_survey(estate)
    survey_operations.submit_ballot(
        survey, household(estate, "1", "1", "101"), {i.id: Choice.SUPPORT for i in survey.items}
    )
    campaign = make_campaign(estate)
    client = secretary(app, estate)
    # The door-to-door list, with the secretary's full contacts.
    full = client.post(f"/console/meiyuan/surveys/{survey.id}/not-voted/contacts", data={})
    images = print_pages(page, full.get_data(as_text=True), "door-to-door")
    assert_margins(images)
    answered = client.get(f"/console/meiyuan/campaigns/{campaign.id}/not-answered")
    assert_margins(print_pages(page, answered.get_data(as_text=True), "not-answered"))
    sheets = client.get(f"/console/meiyuan/surveys/{survey.id}/paper/sheets")
    assert sheets.status_code == 200
    ballot_pages = print_pages(page, sheets.get_data(as_text=True), "paper-ballots")
    assert len(ballot_pages) >= 3
    assert_margins(ballot_pages)
    close_survey(survey)
    notice = client.get(f"/e/meiyuan/results/{survey.id}/print").get_data(as_text=True)
    assert_margins(print_pages(page, notice, "notice"))


def test_screenshots_of_the_dashboard_and_the_lists(app, page, live_server):
    """For people to look at: the dashboard on a phone (secretary), the door-to-door list."""
    estate = make_estate()
    survey = make_survey(estate)
    survey.closes_at = utcnow() + timedelta(days=2)
    survey_operations.submit_ballot(
        survey, household(estate, "1", "1", "101"), {i.id: Choice.SUPPORT for i in survey.items}
    )
    campaign = make_campaign(estate)
    username, password = make_staff(Role.SECRETARY, estate)
    context = page.context.browser.new_context(
        viewport=PHONE, device_scale_factor=2, locale="zh-CN"
    )
    phone = context.new_page()
    phone.goto(f"{live_server}/console/sign-in")
    phone.fill("#username", username)
    phone.fill("#password", password)
    phone.locator("form button[type=submit]").last.click()
    # A secretary's second step: the code from the phone's authenticator app.
    phone.wait_for_url(f"{live_server}/console/sign-in/second-factor")
    phone.fill("#code", totp_now(username))
    phone.locator("form button[type=submit]").last.click()
    phone.wait_for_url(f"{live_server}/console/")
    phone.goto(f"{live_server}/console/meiyuan")
    SHOTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(SHOTS / "phone-dashboard.png"), full_page=True)
    assert "下一步要做的事" in phone.content()
    assert_taps(phone, "main .dashboard a, main .next-steps a")
    # In large text too, the dashboard fits the phone.
    phone.get_by_role("button", name="大字版").click()
    phone.goto(f"{live_server}/console/meiyuan")
    phone.screenshot(path=str(SHOTS / "phone-dashboard-large.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.get_by_role("button", name="标准版").click()
    phone.goto(f"{live_server}/console/meiyuan/surveys/{survey.id}/not-voted")
    phone.locator("details.record-visit summary").first.click()
    phone.screenshot(path=str(SHOTS / "phone-door-to-door.png"), full_page=True)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    assert_taps(
        phone,
        "main .door-to-door button, main .door-to-door select, main summary, "
        "main details[open] fieldset label",
    )
    phone.goto(f"{live_server}/console/meiyuan/campaigns/{campaign.id}/pledge?building=1")
    phone.select_option("#household", index=2)
    assert phone.input_value("#amount")  # filled in by the script
    phone.screenshot(path=str(SHOTS / "phone-record-pledge.png"), full_page=True)
    phone.goto(f"{live_server}/console/meiyuan/surveys/{survey.id}/extend")
    phone.screenshot(path=str(SHOTS / "phone-extend.png"), full_page=True)


def assert_taps(page, selector: str) -> None:
    """Every visible control the selector names is at least 44 × 44 px."""
    small = page.evaluate(
        """selector => [...document.querySelectorAll(selector)]
            .map(e => [e.textContent.trim().slice(0, 20), e.getBoundingClientRect()])
            .filter(([, r]) => r.width > 0 && (r.width < 44 || r.height < 44))
            .map(([t, r]) => `${t} ${Math.round(r.width)}×${Math.round(r.height)}`)""",
        selector,
    )
    assert not small, small
