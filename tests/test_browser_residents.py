"""Issue 13, residents, as a person sees them: Chromium at 375×812, standard and large text.

- Every resident page is measured against the MIIT 2021 age-friendly norms: in standard mode
  every control's tap area is at least 44×44 px (radio and checkbox rows, selects, file pickers,
  back links included); in large-text mode main text is at least 18 px and every main control
  at least 60×60 px; paragraphs have a line height of at least 1.3.
- The pledge confirmation, the elevator ballot, the landing page and the home page are walked
  and photographed (tests/artifacts/ and, for people to look at, /tmp/shots-residents/).
- Read aloud (朗读) speaks the ballot in the page's language and is hidden where the browser has
  no speech synthesis; the photo picker previews the chosen photo.
"""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from resident_portal import LARGE_TEXT_COOKIE
from resident_portal.extensions import db

from . import test_browser
from .conftest import household, issue_code
from .test_accessibility import build_estate
from .test_browser import PHONE, assert_fits_phone, shot

# The browser and the live server (with its check for Chromium), as test_browser.py has them.
browser = test_browser.browser
live_server = test_browser.live_server

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots-residents")  # noqa: S108 - where people look at them, by agreement

# Controls a finger has to hit. Radio buttons and checkboxes count by their label row (the row
# is what takes the tap); a file input by the big button laid over it.
MEASURE_CONTROLS = """
() => {
  const seen = new Set(), out = [];
  const visible = el => {
    const s = getComputedStyle(el), r = el.getBoundingClientRect();
    return s.visibility !== "hidden" && s.display !== "none" && r.width > 0 && r.height > 0;
  };
  const selector = "button, input:not([type=hidden]), select, textarea, a.button, .grid a, a.tap, "
    + ".crumbs a, a.card, ul.flats a, summary";
  for (let el of document.querySelectorAll(selector)) {
    if (el.matches("input[type=radio], input[type=checkbox]")) el = el.closest("label") || el;
    if (el.matches("input[type=file]")) el = el.closest(".photo-target") || el;
    if (seen.has(el) || !visible(el)) continue;
    seen.add(el);
    const r = el.getBoundingClientRect();
    out.push({what: el.outerHTML.slice(0, 90), width: r.width, height: r.height,
              main: !!el.closest("main")});
  }
  return out;
}
"""

# Text a resident reads: each element with text of its own, in the page's main part.
MEASURE_TEXT = """
() => {
  const out = [];
  for (const el of document.querySelectorAll(
      "main p, main li, main dd, main dt, main td, main th, main label, main button, "
      + "main a, main select, main input, main textarea, main legend, main span, main strong")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const r = el.getBoundingClientRect();
    if (!own || r.width === 0 || r.height === 0) continue;
    const s = getComputedStyle(el);
    out.push({what: el.outerHTML.slice(0, 90), size: parseFloat(s.fontSize),
              lineHeight: s.lineHeight === "normal" ? null : parseFloat(s.lineHeight),
              paragraph: el.tagName === "P"});
  }
  return out;
}
"""


def pictures(page, name, database_url):
    """The screenshot for the test artifacts and one for people to look at."""
    path = shot(page, name, database_url)
    if database_url.startswith("sqlite"):
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(path, SHOTS / f"{name}.png")


def context_for(browser, init_script=None):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    if init_script:
        context.add_init_script(init_script)
    return context


def set_mode(context, base_url, large: bool):
    context.add_cookies(
        [{"name": LARGE_TEXT_COOKIE, "value": "1" if large else "0", "url": base_url}]
    )


def sign_in(page, base_url, h, code):
    page.goto(f"{base_url}/e/meiyuan/h/{h.id}?code={code}")
    page.locator("main form button.primary").click()
    page.wait_for_url(f"{base_url}/home")


def problems_on(page, large: bool) -> list[str]:
    found = []
    tap = 60 if large else 44
    for control in page.evaluate(MEASURE_CONTROLS):
        # In large text the main controls take 60×60; the header and footer keep 44×44.
        need = tap if control["main"] else (60 if large else 44)
        if control["width"] < need - 0.5 or control["height"] < need - 0.5:
            found.append(
                f"tap area {control['width']:.0f}×{control['height']:.0f} < {need}: "
                f"{control['what']}"
            )
    for text in page.evaluate(MEASURE_TEXT):
        if large and text["size"] < 18:
            found.append(f"text {text['size']:.1f}px < 18px: {text['what']}")
        if text["paragraph"] and text["lineHeight"] and text["lineHeight"] < 1.3 * text["size"]:
            found.append(
                f"line height {text['lineHeight'] / text['size']:.2f} < 1.3: {text['what']}"
            )
    return found


def test_every_resident_page_meets_the_age_friendly_sizes(
    app,
    live_server,
    browser,
    database_url,
):
    data = build_estate()
    me, code = data["me"], data["code"]
    public_pages = [
        "/e/meiyuan",
        "/e/meiyuan/b/1",
        "/e/meiyuan/b/1/u/1",
        f"/e/meiyuan/h/{me.id}",
        f"/e/meiyuan/receipt?code={data['receipt']}",
        "/e/meiyuan/results",
        f"/e/meiyuan/results/{data['closed'].id}",
        f"/e/meiyuan/campaigns/{data['campaign'].id}",
        "/e/meiyuan/reports",
        f"/e/meiyuan/reports/{data['report'].id}",
    ]
    resident_pages = [
        "/home",
        f"/surveys/{data['consultation'].id}",
        f"/surveys/{data['elevator'].survey_id}",
        f"/campaigns/{data['campaign'].id}",
        f"/campaigns/{data['elevator'].campaign_id}",
        f"/campaigns/{data['campaign'].id}/withdraw?household={me.id}",
        "/reports/new",
        f"/reports/new?category=leak&where=h:{me.id}",
        f"/e/meiyuan/reports/{data['resolved'].id}",
    ]
    problems = []
    for large in (False, True):
        context = context_for(browser)
        set_mode(context, live_server, large)
        page = context.new_page()
        for path in public_pages:
            page.goto(live_server + path)
            problems += [
                f"[{'large' if large else 'standard'}] {path}: {p}"
                for p in problems_on(page, large)
            ]
        sign_in(page, live_server, me, code)
        for path in resident_pages:
            page.goto(live_server + path)
            assert_fits_phone(page)
            problems += [
                f"[{'large' if large else 'standard'}] {path}: {p}"
                for p in problems_on(page, large)
            ]
        # the confirmation screen of a pledge above the suggestion
        page.goto(f"{live_server}/campaigns/{data['campaign'].id}")
        page.get_by_label("金额（元）").fill("1200")
        page.locator("main form button.primary").click()
        page.wait_for_selector(".confirm-amount")
        page.wait_for_load_state("load")  # measured with its stylesheet
        problems += [f"[confirm] {p}" for p in problems_on(page, large)]
        context.close()
    assert not problems, "\n".join(problems)


def test_pledge_above_the_suggestion_is_confirmed_in_capital_numerals(
    app,
    live_server,
    browser,
    database_url,
):
    from contributions.models import Pledge

    data = build_estate()
    me, code = data["me"], data["code"]
    context = context_for(browser)
    page = context.new_page()
    sign_in(page, live_server, me, code)
    page.goto(f"{live_server}/campaigns/{data['campaign'].id}")
    page.get_by_label("金额（元）").fill("1200")
    page.locator("main form button.primary").click()
    main = page.locator("main").inner_text()
    assert "1,200.00元" in main and "壹仟贰佰元整" in main
    assert (
        db.session.scalar(
            select(Pledge).where(Pledge.campaign_id == data["campaign"].id)
        ).amount_fen
        == 20_000
    )
    assert_fits_phone(page)
    pictures(page, "pledge-confirmation-zh", database_url)
    page.get_by_role("button", name="确认认缴1,200.00元").click()
    assert "已记录" in page.locator("main").inner_text()
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(Pledge).where(Pledge.campaign_id == data["campaign"].id)
        ).amount_fen
        == 120_000
    )
    # withdrawing: a second screen too, with the amount in words
    page.get_by_role("link", name="撤回我的认缴").click()
    assert "壹仟贰佰元整" in page.locator("main").inner_text()
    pictures(page, "pledge-withdraw-confirmation-zh", database_url)
    context.close()


def test_elevator_ballot_shows_the_share_and_reads_aloud(
    app,
    live_server,
    browser,
    database_url,
):
    from contributions import operations as contribution_operations

    data = build_estate()
    me, code = data["me"], data["code"]
    share = contribution_operations.elevator_split(data["elevator"]).shares[me.id]
    # The speech engine is replaced by a recorder: the test hears what would be spoken.
    recorder = """
      window.__spoken = [];
      if (window.speechSynthesis) {
        window.speechSynthesis.speak = u => window.__spoken.push({text: u.text, lang: u.lang});
      }
    """
    context = context_for(browser, recorder)
    page = context.new_page()
    sign_in(page, live_server, me, code)
    page.goto(f"{live_server}/surveys/{data['elevator'].survey_id}")
    share_card = page.locator(".elevator-share")
    assert f"{share // 100:,}.{share % 100:02d}元" in share_card.inner_text()
    assert "政府补贴" in share_card.inner_text() and "1.200" in share_card.inner_text()
    # the share comes before the choice, on the ballot itself
    assert page.evaluate(
        "document.querySelector('.elevator-share').compareDocumentPosition("
        "document.querySelector('form.ballot')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert_fits_phone(page)
    pictures(page, "elevator-ballot-zh", database_url)
    heading_where_speech = page.locator("h1").bounding_box()["y"]
    button = page.get_by_role("button", name="朗读")
    if page.evaluate("'speechSynthesis' in window"):
        button.click()
        spoken = page.evaluate("window.__spoken")
        assert spoken and spoken[0]["lang"] == "zh-CN" and "加装电梯" in spoken[0]["text"]
    else:
        assert not button.is_visible()
    context.close()
    # where the browser has no speech synthesis the button stays hidden
    silent = context_for(
        browser, "Object.defineProperty(window, 'speechSynthesis', {value: undefined})"
    )
    page = silent.new_page()
    sign_in(page, live_server, me, code)
    page.goto(f"{live_server}/surveys/{data['elevator'].survey_id}")
    assert page.locator("button.read-aloud").count() == 1
    assert not page.locator("button.read-aloud").is_visible()
    # The button shows up in the crumbs row, which is as tall without it: showing it after the
    # first paint moves nothing below (no layout shift), and a silent phone has no gap.
    assert page.locator("h1").bounding_box()["y"] == heading_where_speech
    silent.close()


def test_landing_and_home_in_large_text(app, live_server, browser, database_url):
    data = build_estate()
    me, code = data["me"], data["code"]
    context = context_for(browser)
    page = context.new_page()
    page.goto(f"{live_server}/e/meiyuan")
    main = page.locator("main").inner_text()
    assert "正在进行的表决" in main and "表决截止" in main and "查询回执" in main
    offer = page.locator(".text-size-offer")
    assert offer.is_visible()  # the first visit offers the large text, big and early
    assert offer.bounding_box()["y"] < PHONE["height"]
    assert_fits_phone(page)
    pictures(page, "landing-zh", database_url)
    sign_in(page, live_server, me, code)
    page.locator(".text-size-offer").get_by_role("button", name="大字版").click()
    page.wait_for_load_state("load")
    assert "large" in page.locator("html").get_attribute("class")
    assert page.locator(".text-size-offer").count() == 0
    tasks = page.locator("section[aria-labelledby=tasks-heading]")
    assert tasks.locator(".card.task").count() >= 2  # a vote to cast, a fix to confirm
    assert "去投票" in tasks.inner_text()
    assert_fits_phone(page)
    pictures(page, "home-large-zh", database_url)
    context.close()


def test_report_photo_picker_shows_a_preview_and_offers_the_gallery(
    app,
    live_server,
    browser,
    database_url,
    tmp_path,
):
    from PIL import Image

    data = build_estate()
    me, code = data["me"], data["code"]
    picture = tmp_path / "IMG_2031.jpg"
    Image.new("RGB", (1200, 900), (200, 120, 90)).save(picture, quality=90)
    context = context_for(browser)
    page = context.new_page()
    sign_in(page, live_server, me, code)
    page.goto(f"{live_server}/reports/new")
    page.locator("main form select[name=category]").select_option("leak")
    page.get_by_role("button", name="下一步").click()
    # the kind and place were asked once; similar reports come in the same flow
    assert "楼道顶棚渗水" in page.locator("main").inner_text()
    assert page.locator("main form[action$='/support']").count() >= 1
    picker = page.locator("input[type=file]")
    assert picker.get_attribute("capture") is None  # gallery as well as camera
    box = page.locator(".photo-button").bounding_box()
    assert box["height"] >= 60 and box["width"] >= 200
    picker.set_input_files(str(picture))
    page.wait_for_selector(".photo-previews img")
    assert page.locator(".photo-previews figcaption").inner_text() == "IMG_2031.jpg"
    pictures(page, "report-photo-preview-zh", database_url)
    context.close()


def test_letter_link_on_a_phone_signed_in_for_another_flat(
    app,
    live_server,
    browser,
    database_url,
):
    data = build_estate()
    me, code = data["me"], data["code"]
    neighbour = household(data["estate"], "1", "1", "501")
    letter = issue_code(data["estate"], neighbour)
    context = context_for(browser)
    page = context.new_page()
    sign_in(page, live_server, me, code)
    page.goto(f"{live_server}/e/meiyuan/h/{neighbour.id}?code={letter}")
    choice = page.locator(".which-flat")
    assert "1栋1单元601室" in choice.inner_text() and "1栋1单元501室" in choice.inner_text()
    pictures(page, "which-flat-zh", database_url)
    page.get_by_role("button", name="登录1栋1单元501室").click()
    page.wait_for_url(f"{live_server}/home")
    assert "1栋1单元501室" in page.locator("main").inner_text()
    context.close()
