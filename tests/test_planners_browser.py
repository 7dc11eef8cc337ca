"""A planner in real Chromium: a survey's results and the monthly report, on a 375×812 phone
and on a desktop screen. Screenshots go to tests/artifacts/ (and to $PLANNER_SHOTS if set)
for people to look at."""

import os
from datetime import timedelta
from pathlib import Path

import pytest

from contributions import operations as contribution_operations
from contributions.models import Channel
from resident_portal.models import Role, utcnow
from survey import operations as survey_operations
from survey.tally import Choice

from .conftest import (
    SAMPLE_ROWS,
    close_survey,
    make_campaign,
    make_estate,
    make_report,
    make_staff,
    make_survey,
)
from .test_browser import PHONE, browser  # noqa: F401 (the Chromium fixture)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DESKTOP = {"width": 1280, "height": 900}

pytestmark = pytest.mark.browser


def shot(page, name, database_url):
    kind = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    folders = [ARTIFACTS] + (
        [Path(os.environ["PLANNER_SHOTS"])] if "PLANNER_SHOTS" in os.environ else []
    )
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"planner-{name}-{kind}.png"), full_page=True)


def planner_estate():
    estate = make_estate(rows=SAMPLE_ROWS)
    survey = make_survey(estate, kind="consultation", max_priorities=2)
    roof, elevators, lighting = survey.items
    seen = set()
    households = [h for b in estate.buildings for u in b.units for h in u.households]
    for n, h in enumerate(households[:90]):
        if h.owner_ref in seen:
            continue
        seen.add(h.owner_ref)
        choice = [Choice.SUPPORT, Choice.SUPPORT, Choice.OPPOSE, Choice.ABSTAIN][n % 4]
        picks = {lighting.id} if n % 3 else {lighting.id, roof.id}
        text = ["", "楼道灯太暗，请先换灯。电话13812345678", "电梯噪音大，不要装在卧室旁边"][n % 3]
        survey_operations.submit_ballot(
            survey, h, {i.id: choice for i in survey.items}, picks, text if n < 12 else ""
        )
    close_survey(survey)
    campaign = make_campaign(estate)
    for h in households[:40]:
        contribution_operations.pledge(campaign, h, 20_000, Channel.DIRECT)
    for h in households[:3]:
        make_report(estate, h)
    return estate, survey


def sign_in(page, base_url, username, password):
    page.goto(f"{base_url}/console/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("load")


@pytest.mark.parametrize("screen", ["phone", "desktop"])
def test_planner_reads_results_and_the_monthly_report(
    app,
    live_server,
    browser,  # noqa: F811 (the imported fixture)
    database_url,
    screen,
):
    _estate, survey = planner_estate()
    username, password = make_staff(Role.PLANNER, _estate)
    viewport = PHONE if screen == "phone" else DESKTOP
    context = browser.new_context(
        viewport=viewport, device_scale_factor=2 if screen == "phone" else 1, locale="zh-CN"
    )
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    sign_in(page, live_server, username, password)

    page.goto(f"{live_server}/console/meiyuan/surveys/{survey.id}")
    assert page.locator("#priorities").is_visible()
    labels = page.locator(".bar-label")
    assert labels.count() == 5 and "支持" in labels.nth(2).inner_text()
    suggestions = page.locator("ul.suggestions li")
    assert suggestions.count() >= 2 and "***********" in suggestions.first.inner_text()
    head = page.locator("#breakdown-building ~ div table thead").first.inner_text()
    assert all(item.title in head for item in survey.items)
    shot(page, f"results-{screen}", database_url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the results are {width}px wide"

    month = f"{(utcnow() + timedelta(hours=8)):%Y-%m}"
    page.goto(f"{live_server}/console/overview/monthly?month={month}")
    print_button = page.get_by_role("button", name="打印")
    assert print_button.is_visible()  # the script shows it
    for control in (
        print_button,
        page.locator("#month"),
        page.get_by_role("link", name="下载表格（XLSX）"),
    ):
        box = control.bounding_box()
        assert box["height"] >= 44, box
    charts = page.locator("svg.trend-chart")
    assert charts.count() == 3 and charts.first.bounding_box()["height"] >= 100
    assert "月份" in charts.first.inner_html()
    # The picker opens another month's report.
    page.locator("#month").fill("2026-10")
    page.get_by_role("button", name="查看该月").click()
    page.wait_for_load_state("load")
    assert "月通报 · 2026-10" in page.locator("h1").inner_text()
    page.goto(f"{live_server}/console/overview/monthly?month={month}")
    shot(page, f"monthly-{screen}", database_url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], (
        f"the report is {width}px wide on a {viewport['width']}px screen"
    )
    page.emulate_media(media="print")
    assert not print_button.is_visible() and not page.locator("nav.console").is_visible()
    page.emulate_media(media="screen")
    # The overview's trends carry the same labelled axes.
    page.goto(f"{live_server}/console/overview")
    assert page.locator("svg.trend-chart").count() == 3
    assert "月份" in page.locator("svg.trend-chart").first.inner_html()
    shot(page, f"overview-{screen}", database_url)
    assert all(url.startswith(live_server) for url in requests), "external request"
    context.close()
