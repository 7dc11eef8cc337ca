"""The privacy notice and "my data" on a phone (issue 12): seen at first sign-in, acknowledged
with one tap, my data readable at 375 px with thumb-sized links, nothing external."""

import pytest

from resident_portal import operations

from .conftest import household, issue_code, make_estate

# The browser and the Chromium-checked live server of the browser tests, shared.
from .test_browser import assert_fits_phone, browser, live_server, phone, shot  # noqa: F401

pytestmark = pytest.mark.browser


def test_notice_then_my_data_on_a_phone(app, live_server, browser, database_url):  # noqa: F811
    estate = make_estate()
    operations.set_estate_organiser(estate, "美苑社区居委会", "010-6666 8888")
    h = household(estate, "1", "1", "101")
    code = issue_code(estate, h)
    requests = []
    page = phone(browser, live_server, requests)
    page.goto(f"{live_server}/e/meiyuan/h/{h.id}")
    page.get_by_label("访问码").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/home")
    notice = page.locator("#privacy-notice")
    assert "美苑社区居委会" in notice.inner_text()
    assert_fits_phone(page)
    shot(page, "privacy-01-notice-at-first-sign-in", database_url)
    page.get_by_role("button", name="我已阅读").click()
    page.wait_for_url(f"{live_server}/home")
    assert page.locator("#privacy-notice").count() == 0
    page.get_by_role("link", name="我的信息：查看、下载、申请更正").click()
    page.wait_for_url(f"{live_server}/my-data")
    assert "王小明" in page.locator("#data-register").inner_text()
    assert_fits_phone(page)
    for name in ("下载（CSV，可用Excel打开）", "下载（JSON）"):
        box = page.get_by_role("link", name=name).bounding_box()
        assert box["height"] >= 44, name
    box = page.locator("footer a", has_text="个人信息保护说明").bounding_box()
    assert box["height"] >= 44
    page.get_by_label("哪里不对？应该是什么？").fill("面积应为81.50平方米")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(f"{live_server}/my-data")
    assert "面积应为81.50平方米" in page.locator("#data-correction_requests").inner_text()
    shot(page, "privacy-02-my-data", database_url)
    assert all(url.startswith(live_server) for url in requests), "external request"
