"""A resident on a phone, in real Chromium (Debian's, through Playwright) at 375×812.

Screenshots go to tests/artifacts/ for people to look at.
"""

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from resident_portal.models import Role
from survey import operations as survey_operations
from survey.tally import Choice

from .conftest import (
    SAMPLE_ROWS,
    close_survey,
    decode_qr,
    household,
    issue_code,
    make_elevator_project,
    make_estate,
    make_staff,
    make_survey,
    totp_now,
)

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
def live_server(live_server):
    """The shared live server, once Chromium is known to be there."""
    _require_chromium()
    return live_server


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
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == "美苑小区"
    assert "Step 1 of 4" in page.content()
    page.get_by_role("button", name="Large text").first.click()
    page.wait_for_load_state("load")  # the preference is a POST and a redirect: let it finish
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
    # A secretary's second step: the code from the phone's authenticator app.
    page.wait_for_url(f"{live_server}/console/sign-in/second-factor")
    page.get_by_label("验证码").fill(totp_now(username))
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/console/")
    page.goto(f"{live_server}/console/meiyuan/posters/print?what=estate")
    path = shot(page, "07-estate-poster", database_url)
    assert decode_qr(path.read_bytes()) == f"{live_server}/e/meiyuan"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


def test_resident_votes_changes_the_vote_and_checks_the_receipt(
    app, live_server, browser, database_url
):
    estate = make_estate()
    make_survey(estate, kind="consultation", max_priorities=2)
    h = household(estate, "1", "1", "201")
    code = issue_code(estate, h)
    requests = []
    page = phone(browser, live_server, requests)
    page.goto(f"{live_server}/e/meiyuan/h/{h.id}?code={code}")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/home")
    page.get_by_role("link", name="屋面和电梯改造").click()
    assert "意愿征询" in page.content()
    items = page.locator("fieldset.item")
    assert items.count() == 3
    for index, choice in enumerate(["支持", "反对", "支持"]):
        items.nth(index).get_by_text(choice, exact=True).click()
    page.get_by_label("屋面防水").check()
    page.get_by_label("您的建议（选填）").fill("先修屋顶，雨季快到了。")
    shot(page, "08-ballot-zh", database_url)
    assert_fits_phone(page)
    page.get_by_role("button", name="提交表决票").click()
    first_receipt = page.locator(".receipt").inner_text().strip()
    assert len(first_receipt) == 8
    shot(page, "09-receipt-zh", database_url)
    # change the ballot: the page shows the earlier choices, the latest counts
    page.get_by_role("link", name="查看或修改我的表决票").click()
    assert items.nth(1).locator("input[value=oppose]").is_checked()
    items.nth(1).get_by_text("支持", exact=True).click()
    page.get_by_role("button", name="修改我的表决票").click()
    second_receipt = page.locator(".receipt").inner_text().strip()
    assert second_receipt != first_receipt
    # anyone can check a receipt on the estate's page
    page.goto(f"{live_server}/e/meiyuan/receipt")
    page.get_by_label("回执码").fill(first_receipt)
    page.get_by_role("button", name="查询").click()
    assert "计入统计的是后提交的那一张" in page.locator("main").inner_text()
    page.get_by_label("回执码").fill(second_receipt)
    page.get_by_role("button", name="查询").click()
    assert "已计入统计" in page.locator("main").inner_text()
    shot(page, "10-receipt-check-zh", database_url)
    assert all(url.startswith(live_server) for url in requests), "external request"


def test_planner_reads_results_with_charts(app, live_server, browser, database_url):
    estate = make_estate()
    survey = make_survey(estate)
    for key, choice in [
        (("1", "1", "101"), "support"),
        (("1", "1", "201"), "oppose"),
        (("2", "1", "101"), "support"),
    ]:
        h = household(estate, *key)
        survey_operations.submit_ballot(survey, h, {i.id: Choice(choice) for i in survey.items})
    username, password = make_staff(Role.PLANNER, estate)
    page = browser.new_page(viewport=PHONE, device_scale_factor=2)
    page.goto(f"{live_server}/console/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/console/meiyuan/surveys/{survey.id}")
    # open: the two participation bars only, no choice figures (ballot secrecy)
    assert page.locator("svg.chart").count() == 2
    assert "只计票、不显示" in page.locator("main").inner_text()
    close_survey(survey)
    page.reload()
    assert page.locator("svg.chart").count() >= 5
    # the bars are drawn by their own rects: nothing else may paint over them
    chart_background = page.evaluate(
        "getComputedStyle(document.querySelector('svg.chart')).backgroundColor"
    )
    assert chart_background == "rgba(0, 0, 0, 0)"
    assert "未达到" in page.content()  # 3 of 4 owners, but 230.50 of 355.75 m² < 2/3
    shot(page, "11-results-planner", database_url)


def test_sixth_floor_resident_sees_and_pledges_the_elevator_share(
    app, live_server, browser, database_url
):
    from contributions import operations as contribution_operations
    from contributions.models import Pledge
    from resident_portal.extensions import db

    estate = make_estate(rows=SAMPLE_ROWS)
    project = make_elevator_project(estate)
    h = household(estate, "1", "1", "601")
    share = contribution_operations.elevator_split(project).shares[h.id]
    shown = f"{share // 100:,}.{share % 100:02d}"
    code = issue_code(estate, h)
    requests = []
    page = phone(browser, live_server, requests)
    page.goto(f"{live_server}/e/meiyuan/h/{h.id}?code={code}")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/home")
    page.locator(f"a[href='/campaigns/{project.campaign_id}']").first.click()
    main = page.locator("main").inner_text()
    assert f"{shown}元" in main and "1.200" in main  # the share and the 6th floor's coefficient
    assert "业主表决中" in main  # the unit is still voting: pledges are conditional
    assert page.get_by_label("金额（元）").input_value() == shown.replace(",", "")
    page.get_by_label("出资方式").select_option("provident_fund")
    shot(page, "12-elevator-share-zh", database_url)
    assert_fits_phone(page)
    page.get_by_role("button", name="认缴", exact=True).click()
    # above ¥1,000: a second screen repeats the amount in figures and capital numerals
    assert f"{shown}元" in page.locator("main .confirm-amount").inner_text()
    page.get_by_role("button", name=f"确认认缴{shown}元").click()
    assert "已记录" in page.locator("main").inner_text()
    pledge = db.session.scalar(select(Pledge).where(Pledge.household_id == h.id))
    assert pledge.amount_fen == share and pledge.share_fen == share
    assert all(url.startswith(live_server) for url in requests), "external request"


def test_resident_files_a_report_with_a_photo_on_the_phone(
    app, live_server, browser, database_url, tmp_path
):
    from PIL import Image

    from resident_portal.extensions import db
    from resident_portal.reports.models import Report

    estate = make_estate()
    h = household(estate, "1", "1", "301")
    code = issue_code(estate, h)
    picture = tmp_path / "IMG_2031.jpg"
    Image.new("RGB", (1600, 1200), (90, 140, 200)).save(picture, quality=90)
    requests = []
    page = phone(browser, live_server, requests)
    page.goto(f"{live_server}/e/meiyuan/h/{h.id}?code={code}")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/home")
    page.get_by_role("link", name="反映问题").click()
    page.get_by_label("问题类别").select_option("leak")  # the kind and the place, once
    page.get_by_role("button", name="下一步").click()
    form = page.locator("form[enctype='multipart/form-data']")
    form.get_by_label("问题描述").fill("屋面施工后，次卧顶棚漏水，墙皮起鼓。")
    form.locator("input[type=file]").set_input_files(str(picture))
    shot(page, "13-report-form-zh", database_url)
    assert_fits_phone(page)
    form.get_by_role("button", name="提交反馈").click()
    page.wait_for_url(f"{live_server}/e/meiyuan/reports/*")
    assert "次卧顶棚漏水" in page.locator("main").inner_text()
    image = page.locator(".photos img")
    assert image.count() == 1
    assert page.evaluate("document.querySelector('.photos img').naturalWidth") == 480
    shot(page, "14-report-page-zh", database_url)
    report = db.session.scalar(select(Report))
    assert len(report.photos) == 1 and report.household_id == h.id
    # the preview of the chosen photo is a blob: of the page itself, not a request elsewhere
    local = (live_server, f"blob:{live_server}")
    assert all(url.startswith(local) for url in requests), "external request"


def test_secretary_sets_up_two_step_sign_in_on_a_phone(app, live_server, browser, database_url):
    """Issue 12, point 2: the enrolment a secretary meets after the password, on a phone: the
    QR code and the key fit the screen, a code from the app turns it on, the recovery codes are
    shown once, and the console opens."""
    import pyotp

    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate, second_factor=False)
    requests = []
    page = phone(browser, live_server, requests)
    page.goto(f"{live_server}/console/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/console/two-step-sign-in")
    assert page.locator(".enrol-qr svg").is_visible()
    assert_fits_phone(page)
    shot(page, "16-two-step-enrolment", database_url)
    secret = page.locator(".code-block").inner_text().replace(" ", "").strip()
    page.get_by_label("应用现在显示的 6 位验证码").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="开启两步登录").click()
    assert page.locator(".recovery-codes li").count() == 10
    assert_fits_phone(page)
    page.get_by_role("link", name="我已保存好，继续").click()
    page.wait_for_url(f"{live_server}/console/")
    page.get_by_role("link", name=username).click()
    assert "自" in page.locator("main").inner_text()  # "On since …"
    assert_fits_phone(page)
    assert all(url.startswith(live_server) for url in requests), "external request"


def test_household_sees_its_devices_on_a_phone(app, live_server, browser, database_url):
    estate = make_estate()
    h = household(estate, "1", "1", "201")
    code = issue_code(estate, h)
    page = phone(browser, live_server, [])
    page.goto(f"{live_server}/e/meiyuan/h/{h.id}?code={code}")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server}/home")
    page.get_by_role("link", name="已登录的设备").click()
    assert "本设备" in page.locator("main").inner_text()
    assert_fits_phone(page)
    shot(page, "17-household-devices", database_url)
    page.get_by_role("button", name="让其他设备退出登录").click()
    assert "已让其他 0 台设备退出登录" in page.locator("main").inner_text()
