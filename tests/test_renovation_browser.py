"""The renovation notice board on a phone, in real Chromium at 375×812 (screenshots in
tests/artifacts/ and /tmp/shots-renovation/ for people to look at)."""

import tempfile
from pathlib import Path

import pytest

from resident_portal.renovation.demo import demo_project

from .conftest import household, make_estate, make_report
from .test_browser import browser, live_server, phone, shot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
SHOTS = Path(tempfile.gettempdir()) / "shots-renovation"


def test_the_notice_board_reads_on_a_phone(app, live_server, browser, database_url):  # noqa: F811
    estate = make_estate()
    demo_project(estate)
    make_report(estate, household(estate, "1", "1", "101"), category="site_safety")
    requests: list[str] = []
    page = phone(browser, live_server, requests)
    page.goto(f"{live_server}/e/{estate.code}")
    page.get_by_role("link", name="改造公示牌").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="美苑小区老旧小区综合改造").is_visible()
    assert page.get_by_text("下一步：完工（计划").is_visible()
    assert page.get_by_text("第三建筑工程有限公司").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide"
    # Every link and button styled as one is a tap target of at least 44×44 px.
    # (The header's language buttons are the whole site's, not this page's.)
    for box in page.locator("main a.button, main button").evaluate_all(
        "els => els.map(e => [e.textContent.trim(), e.offsetWidth, e.offsetHeight])"
    ):
        assert box[1] >= 44 and box[2] >= 44, box
    assert all(url.startswith(live_server) or url.startswith("data:") for url in requests)
    assert any("/project/photos/" in url for url in requests), requests
    path = shot(page, "renovation-board", database_url)
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())


def test_the_bulletin_page_with_the_renovation_by_district(
    app,
    live_server,  # noqa: F811
    browser,  # noqa: F811
    database_url,
):
    from datetime import timedelta

    from resident_portal.models import Role, utcnow
    from resident_portal.renovation import operations

    from .conftest import make_staff, totp_now
    from .test_renovation_bulletin import admin, generated_district

    user = admin()
    generated_district(user, "东城区", behind=2)
    generated_district(user, "西城区", estates=4, behind=1)
    year = operations.today_in_china().year
    operations.set_target("东城区", year, 8, 4, 3, 50_000_000, staff_user=user)
    username, password = make_staff(Role.ADMIN, None)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/console/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")
    # An administrator's second step: the code from the phone's authenticator app.
    page.wait_for_url(f"{live_server}/console/sign-in/second-factor")
    page.fill("#code", totp_now(username))
    page.press("#code", "Enter")
    page.wait_for_url(f"{live_server}/console/")
    month = f"{(utcnow() + timedelta(hours=8)):%Y-%m}"
    page.goto(f"{live_server}/console/overview/monthly?month={month}")
    assert page.get_by_role("heading", name="分区县改造进展").count() == 1
    assert page.get_by_text("东城区：2 个项目落后于计划").is_visible()
    path = shot(page, "renovation-bulletin", database_url)
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())
