"""The job page on a secretary's phone, in real Chromium at 375×812: the stairwell posters job
started from the Posters page, its progress page while it waits (fits the phone, thumb-sized
controls, follows the job by itself), the PDF downloaded when done; and a queued job
cancelled. Screenshots go to tests/artifacts/ for people to look at."""

import pytest

from resident_portal.extensions import db
from resident_portal.jobs import operations as job_operations
from resident_portal.jobs.queue import job_queue
from resident_portal.models import Job, JobStatus, Role

from .conftest import make_estate, make_staff, totp_now

# The browser and the Chromium-checked live server of the browser tests, shared.
from .test_browser import assert_fits_phone, browser, live_server, phone, shot  # noqa: F401

pytestmark = pytest.mark.browser

# What a finger has to hit on the job page.
CONTROLS = """
() => [...document.querySelectorAll("main button, main a.button, main input[type=submit]")]
  .map(el => { const r = el.getBoundingClientRect();
               return {what: el.outerHTML.slice(0, 80), width: r.width, height: r.height}; })
  .filter(c => c.width > 0 && c.height > 0)
"""


@pytest.fixture
def held_queue(app, monkeypatch):
    """The queue keeps jobs waiting, as when every worker is busy (the tests' queue otherwise
    runs a job at once); the test then runs them as a worker would."""
    waiting = []
    monkeypatch.setattr(
        job_queue(app), "enqueue", lambda job_id, secrets=None: waiting.append(job_id)
    )
    return waiting


def assert_thumb_sized(page):
    controls = page.evaluate(CONTROLS)
    assert controls, "no control on the page"
    for control in controls:
        assert control["height"] >= 44 and control["width"] >= 44, control


def signed_in_secretary(chromium_browser, base_url, estate):
    username, password = make_staff(Role.SECRETARY, estate)
    requests = []
    page = phone(chromium_browser, base_url, requests)
    page.goto(f"{base_url}/console/sign-in")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    # A secretary's second step: the code from the phone's authenticator app.
    page.wait_for_url(f"{base_url}/console/sign-in/second-factor")
    page.get_by_label("验证码").fill(totp_now(username))
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/console/")
    return page, requests


def start_posters_job(page, base_url) -> int:
    page.goto(f"{base_url}/console/meiyuan/posters")
    page.get_by_role("button", name="把所有单元的楼道海报做成一个 PDF").click()
    page.wait_for_url(f"{base_url}/console/jobs/*")
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def test_secretary_follows_the_posters_job_and_downloads_the_pdf(
    app,
    live_server,  # noqa: F811
    browser,  # noqa: F811
    database_url,
    held_queue,
    tmp_path,
):
    page, requests = signed_in_secretary(browser, live_server, make_estate())
    job_id = start_posters_job(page, live_server)
    assert held_queue == [job_id]
    assert page.locator("h1").inner_text() == "楼道二维码海报（PDF）"
    assert "正在排队，等待开始。" in page.locator("main").inner_text()
    assert page.locator("progress.job").is_visible()
    assert_fits_phone(page)
    assert_thumb_sized(page)
    shot(page, "jobs-01-posters-queued", database_url)
    # A worker takes it; the page follows by itself (its Refresh header), no tap needed.
    job_operations.execute(job_id, {})
    download_link = page.get_by_role("link", name="下载 meiyuan-posters.pdf")
    download_link.wait_for(timeout=15_000)
    assert "已完成" in page.locator("main").inner_text()
    assert page.locator("progress.job").count() == 0
    assert page.get_by_role("button", name="取消这项工作").count() == 0
    assert_fits_phone(page)
    assert_thumb_sized(page)
    shot(page, "jobs-02-posters-done", database_url)
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename == "meiyuan-posters.pdf"
    saved = tmp_path / "posters.pdf"
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert all(url.startswith(live_server) for url in requests), "external request"


def test_secretary_cancels_a_queued_job_and_nothing_runs(
    app,
    live_server,  # noqa: F811
    browser,  # noqa: F811
    database_url,
    held_queue,
):
    page, _requests = signed_in_secretary(browser, live_server, make_estate())
    job_id = start_posters_job(page, live_server)
    cancel = page.get_by_role("button", name="取消这项工作")
    box = cancel.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    cancel.click()
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    assert "已取消" in text and "这项工作什么都没有写入" in text
    assert page.locator("body").inner_text().count("这项工作什么都没有写入") == 1  # said once
    assert page.get_by_role("button", name="取消这项工作").count() == 0
    assert page.locator("progress.job").count() == 0
    assert_fits_phone(page)
    shot(page, "jobs-03-cancelled", database_url)
    job_operations.execute(job_id, {})  # the worker gets to it later: nothing runs
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    assert job.status == JobStatus.CANCELLED and job.result is None
