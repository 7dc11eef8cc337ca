"""A resident on a phone, in real Chromium (Debian's, through Playwright) at 375×812.

Screenshots go to tests/artifacts/ for people to look at.
"""

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from resident_portal.models import Role

from .conftest import decode_qr, household, issue_code, make_estate, make_staff

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 375, "height": 812}

pytestmark = pytest.mark.browser


def _require_chromium():
    if not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def live_server(app):
    _require_chromium()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Plain HTTP on loopback: residents' QR codes must point here, cookies cannot be Secure.
    app.config.update(PUBLIC_BASE_URL=url, SESSION_COOKIE_SECURE=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def phone(browser, base_url, requests):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url))
    return page


def shot(page, name, database_url):
    ARTIFACTS.mkdir(exist_ok=True)
    kind = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    path = ARTIFACTS / f"{name}-{kind}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_fits_phone(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"


def walk_to_sign_in(page, base_url, building, unit, room, labels):
    page.goto(f"{base_url}/e/meiyuan")
    page.get_by_role("link", name=labels["building"]).click()
    page.get_by_role("link", name=labels["unit"]).click()
    page.get_by_role("link", name=room, exact=True).click()


def test_resident_signs_in_from_the_estate_qr_in_chinese(app, live_server, browser, database_url):
    estate = make_estate()
    h = household(estate, "1", "1", "201")
    code = issue_code(estate, h)
    requests = []
    page = phone(browser, live_server, requests)
    page.goto(f"{live_server}/e/meiyuan")
    assert page.locator("h1").inner_text() == "美苑小区"
    assert_fits_phone(page)
    shot(page, "01-estate-zh", database_url)
    walk_to_sign_in(page, live_server, "1", "1", "201", {"building": "1栋", "unit": "1单元"})
    assert "1栋1单元201室" in page.locator("h1").inner_text()
    page.get_by_label("访问码").fill("AAAAA-AAAAA")
    page.get_by_role("button", name="登录").click()
    assert "不符" in page.locator(".errors").inner_text()
    page.get_by_label("访问码").fill(code.lower())
    shot(page, "02-sign-in-zh", database_url)
    assert_fits_phone(page)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/home")
    assert "1栋1单元201室" in page.content()
    shot(page, "03-home-zh", database_url)
    assert_fits_phone(page)
    # the sign-in button is big enough for a thumb
    box = page.get_by_role("button", name="退出登录").bounding_box()
    assert box["height"] >= 40
    assert all(url.startswith(live_server) for url in requests), "external request"


def test_resident_signs_in_in_english_and_in_large_text(app, live_server, browser, database_url):
    estate = make_estate()
    h = household(estate, "1", "2", "101")
    code = issue_code(estate, h)
    requests = []
    page = phone(browser, live_server, requests)
    page.goto(f"{live_server}/e/meiyuan")
    page.get_by_role("button", name="English").click()
    assert page.locator("h1").inner_text() == "美苑小区"
    assert "Step 1 of 4" in page.content()
    page.get_by_role("button", name="Large text").click()
    assert "large" in page.locator("html").get_attribute("class")
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 22
    heading = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    assert heading >= 28  # headings grow too, not only body text
    walk_to_sign_in(
        page, live_server, "1", "2", "101", {"building": "Building 1", "unit": "Unit 2"}
    )
    page.get_by_label("Access code").fill(code)
    shot(page, "04-sign-in-en-large", database_url)
    assert_fits_phone(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/home")
    assert "Building 1, unit 2, room 101" in page.content()
    assert "Building 1, unit 1, room 301" in page.content()  # the owner's other household
    shot(page, "05-home-en-large", database_url)
    assert_fits_phone(page)
    assert all(url.startswith(live_server) for url in requests), "external request"


def test_personal_letter_link_signs_in_with_one_tap(app, live_server, browser, database_url):
    estate = make_estate()
    h = household(estate, "2", "1", "101")
    code = issue_code(estate, h)
    page = phone(browser, live_server, [])
    page.goto(f"{live_server}/e/meiyuan/h/{h.id}?code={code}")
    shot(page, "06-letter-link-zh", database_url)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/home")
    assert "2栋1单元101室" in page.content()


def test_printed_poster_qr_scans_from_the_screen(app, live_server, browser, database_url):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    page = browser.new_page(viewport={"width": 900, "height": 1300})
    page.goto(f"{live_server}/console/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/console/meiyuan/posters/print?what=estate")
    path = shot(page, "07-estate-poster", database_url)
    assert decode_qr(path.read_bytes()) == f"{live_server}/e/meiyuan"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
