"""Background jobs (resident_portal/jobs): progress, cancel, download, translated failures,
nothing written by a refused, cancelled or abandoned job, and who may see a result."""

import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from resident_portal import jobs
from resident_portal.common import N_, OperationError
from resident_portal.extensions import db
from resident_portal.jobs import JobKind, Result
from resident_portal.jobs import operations as job_operations
from resident_portal.jobs.queue import job_queue, queue_depth
from resident_portal.models import AuditEntry, CodeBatch, Job, JobStatus, Role, StaffUser, utcnow
from resident_portal.operations import audit

from .conftest import make_estate, make_staff, reissue_all_codes, sign_in_staff


def audit_rows(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )


def signed_in(app, role, estate):
    client = app.test_client()
    sign_in_staff(client, *make_staff(role, estate))
    return client


def job_id_of(response) -> int:
    assert response.status_code == 303, response.status_code
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_stairwell_posters_job_runs_and_its_pdf_downloads(app):
    estate = make_estate()
    client = signed_in(app, Role.SECRETARY, estate)
    job_id = job_id_of(client.post("/console/meiyuan/posters/job"))
    page = client.get(f"/console/jobs/{job_id}")
    assert page.status_code == 200 and "Refresh" not in page.headers
    text = page.get_data(as_text=True)
    assert "已完成" in text and "下载 meiyuan-posters.pdf" in text
    job = db.session.get(Job, job_id)
    assert (job.status, job.done, job.total) == (JobStatus.DONE, 4, 4)  # 3 units, the PDF
    download = client.get(f"/console/jobs/{job_id}/download")
    assert download.mimetype == "application/pdf" and download.data.startswith(b"%PDF")
    assert download.headers["Cache-Control"] == "private, no-store"
    assert "meiyuan-posters.pdf" in download.headers["Content-Disposition"]
    # Listed under "My jobs", with its status.
    assert "楼道二维码海报（PDF）" in client.get("/console/jobs/").get_data(as_text=True)


def test_a_result_is_shown_only_to_staff_who_may_see_what_it_holds(app):
    estate = make_estate()
    other = make_estate("lanting", "兰亭小区")
    owner = signed_in(app, Role.SECRETARY, estate)
    job_id = job_id_of(owner.post("/console/meiyuan/posters/job"))
    planner = signed_in(app, Role.PLANNER, estate)
    assert planner.get(f"/console/jobs/{job_id}/download").status_code == 200
    for outsider in (
        signed_in(app, Role.SECRETARY, other),
        signed_in(app, Role.CONTRACTOR, estate),
    ):
        assert outsider.get(f"/console/jobs/{job_id}").status_code == 403
        assert outsider.get(f"/console/jobs/{job_id}/download").status_code == 403
        assert outsider.post(f"/console/jobs/{job_id}/cancel").status_code == 403


def test_a_planners_district_report_is_not_shown_to_a_planner_of_fewer_estates(app):
    here = make_estate()
    make_estate("lanting", "兰亭小区")
    admin = signed_in(app, Role.ADMIN, None)
    job_id = job_id_of(admin.post("/console/overview/monthly/job", data={"month": "2026-11"}))
    job = db.session.get(Job, job_id)
    assert job.status == JobStatus.DONE and len(job.params["estate_ids"]) == 2
    xlsx = admin.get(f"/console/jobs/{job_id}/download")
    assert (
        xlsx.data.startswith(b"PK")
        and "monthly-2026-11.xlsx" in xlsx.headers["Content-Disposition"]
    )
    planner = signed_in(app, Role.PLANNER, here)  # sees meiyuan only
    assert planner.get(f"/console/jobs/{job_id}/download").status_code == 403
    own = job_id_of(planner.post("/console/overview/monthly/job", data={"month": "2026-11"}))
    assert db.session.get(Job, own).params["estate_ids"] == [here.id]
    assert planner.get(f"/console/jobs/{own}/download").status_code == 200


def test_letters_job_serves_only_the_sign_in_that_issued_the_codes(app):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    client = app.test_client()
    sign_in_staff(client, username, password)
    held = reissue_all_codes(client, "meiyuan")
    job_id = job_id_of(client.post(held + "/job", data={"format": "zip"}))
    job = db.session.get(Job, job_id)
    assert job.status == JobStatus.DONE and job.expires_at is not None
    assert "key" not in job.params  # the key of the codes travelled through the queue only
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/console/jobs/{job_id}/download").data))
    assert len(archive.read("codes.csv").decode("utf-8-sig").splitlines()) == 6
    pdf_id = job_id_of(client.post(held + "/job", data={"format": "pdf"}))
    assert client.get(f"/console/jobs/{pdf_id}/download").data.startswith(b"%PDF")
    # The same secretary on another phone: nothing to see.
    other = app.test_client()
    sign_in_staff(other, username, password)
    assert other.get(f"/console/jobs/{job_id}").status_code == 404
    assert other.get(f"/console/jobs/{job_id}/download").status_code == 404
    # Past the batch's lifetime the sweep deletes the file; the page says so.
    db.session.execute(update(Job).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert job_operations.sweep()["expired"] == 2
    assert client.get(f"/console/jobs/{job_id}/download").status_code == 404
    assert "时间已过，文件已删除" in client.get(f"/console/jobs/{job_id}").get_data(as_text=True)


def test_letters_job_whose_codes_are_gone_fails_with_a_translated_reason(app):
    estate = make_estate()
    client = signed_in(app, Role.SECRETARY, estate)
    held = reissue_all_codes(client, "meiyuan")
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    queue = job_queue(app)
    with pytest.MonkeyPatch.context() as patch:
        # The batch expires between the click and the worker picking the job up.
        patch.setattr(queue, "enqueue", lambda *args, **kwargs: None)
        job_id = job_id_of(client.post(held + "/job", data={"format": "pdf"}))
    db.session.execute(update(CodeBatch).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    job_operations.execute(job_id, {"key": "00" * 32})
    job = db.session.get(Job, job_id)
    assert job.status == JobStatus.FAILED and job.result is None
    page = client.get(f"/console/jobs/{job_id}").get_data(as_text=True)
    assert "这些访问码已不能再显示" in page
    client.set_cookie("lang", "en", domain="localhost")
    english = client.get(f"/console/jobs/{job_id}")
    assert "These codes can no longer be shown" in english.get_data(as_text=True)
    # Only the audit entry of queuing the job itself was written.
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before + 1


# --- the runner, with kinds of the tests' own ---------------------------------------------


@pytest.fixture
def trial_kinds():
    """A kind that writes an audit row, reports progress and then does what the test asks."""
    behaviour = {}

    def run(job, progress, secrets):
        audit("test.written", staff_user=None, step=1)
        # Rows sent to the database before the end. (SQLite has one writer: there a job keeps
        # its rows in the session until the end, or a cancel would wait for the lock.)
        if db.engine.dialect.name != "sqlite":
            db.session.flush()
        progress(1, 3)
        if "before_end" in behaviour:
            behaviour["before_end"](job)
        progress(2, 3)
        if "raise" in behaviour:
            raise behaviour["raise"]
        return Result(b"done", "result.txt", "text/plain")

    from resident_portal.access import Permission

    jobs.register_kind(JobKind("test", "测试", Permission.POSTERS_PRINT, run))
    yield behaviour
    jobs.KINDS.pop("test")


def queued_job(estate) -> Job:
    job = Job(kind="test", estate_id=estate.id, params={"estate_ids": [estate.id]})
    db.session.add(job)
    db.session.commit()
    return job


def test_a_job_commits_its_work_with_its_result_once_at_the_end(app, trial_kinds):
    job = queued_job(make_estate())
    job_operations.execute(job.id, {})
    db.session.refresh(job)
    assert (job.status, job.done, job.total, job.result) == (JobStatus.DONE, 3, 3, b"done")
    assert audit_rows("test.written") == 1
    job_operations.execute(job.id, {})  # run twice (a retried task): nothing happens
    assert audit_rows("test.written") == 1


def test_a_refused_input_fails_with_the_operations_message_and_writes_nothing(app, trial_kinds):
    trial_kinds["raise"] = OperationError(N_("No estate has the code %(code)s."), code="nowhere")
    job = queued_job(make_estate())
    job_operations.execute(job.id, {})
    db.session.refresh(job)
    assert job.status == JobStatus.FAILED and job.failure_params == {"code": "nowhere"}
    assert audit_rows("test.written") == 0


def test_an_unexpected_error_fails_the_job_with_a_plain_reason(app, trial_kinds):
    trial_kinds["raise"] = ZeroDivisionError()
    job = queued_job(make_estate())
    job_operations.execute(job.id, {})
    db.session.refresh(job)
    assert job.status == JobStatus.FAILED and job.failure == job_operations.UNEXPECTED
    assert audit_rows("test.written") == 0


def another_server(statement):
    """A change made by another process (a cancel, a sweep), on a connection of its own."""
    with db.engine.begin() as connection:
        connection.execute(statement)


def test_cancelling_a_running_job_rolls_its_work_back(app, trial_kinds):
    trial_kinds["before_end"] = lambda job: another_server(
        update(Job).where(Job.id == job.id).values(status=JobStatus.CANCELLED)
    )
    job = queued_job(make_estate())
    job_operations.execute(job.id, {})
    db.session.refresh(job)
    assert job.status == JobStatus.CANCELLED and job.result is None
    assert audit_rows("test.written") == 0


def test_cancel_from_the_page_before_the_job_starts(app, trial_kinds):
    estate = make_estate()
    job = queued_job(estate)
    client = signed_in(app, Role.SECRETARY, estate)
    queued = client.get(f"/console/jobs/{job.id}")
    assert queued.headers["Refresh"] == "3"  # the page follows the job without a script
    assert '<progress class="job"' in queued.get_data(as_text=True)
    response = client.post(f"/console/jobs/{job.id}/cancel")
    assert response.status_code == 303
    assert "已取消" in client.get(f"/console/jobs/{job.id}").get_data(as_text=True)
    job_operations.execute(job.id, {})  # the worker gets to it later: nothing runs
    db.session.refresh(job)
    assert job.status == JobStatus.CANCELLED and audit_rows("test.written") == 0


def test_a_job_given_up_while_its_worker_was_silent_never_becomes_done(app, trial_kinds):
    """The sweep failed it (its heartbeat was stale); the worker was only slow and finishes:
    its work is rolled back, the job stays failed."""

    def swept(job):
        another_server(
            update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow() - timedelta(hours=1))
        )
        with app.app_context():
            assert job_operations.sweep()["stale"] == 1

    trial_kinds["before_end"] = swept
    job = queued_job(make_estate())
    job_operations.execute(job.id, {})
    db.session.refresh(job)
    assert job.status == JobStatus.FAILED and job.failure == job_operations.WORKER_STOPPED
    assert audit_rows("test.written") == 0


def test_a_killed_workers_job_shows_failed_and_the_sweep_records_it(app, trial_kinds):
    estate = make_estate()
    job = queued_job(estate)
    # What a worker killed mid-job leaves: running, its heartbeat long silent, nothing written.
    job.status, job.heartbeat_at = JobStatus.RUNNING, utcnow() - timedelta(minutes=10)
    db.session.commit()
    client = signed_in(app, Role.SECRETARY, estate)
    page = client.get(f"/console/jobs/{job.id}").get_data(as_text=True)
    assert "失败" in page and "什么都没有写入" in page
    assert db.session.get(Job, job.id).status == JobStatus.RUNNING  # a GET writes nothing
    assert job_operations.sweep()["stale"] == 1
    db.session.refresh(job)
    assert job.status == JobStatus.FAILED and job.finished_at is not None


def test_the_schema_refuses_a_failure_without_reason_and_progress_beyond_total(app):
    import sqlalchemy.exc

    estate = make_estate()
    for values in ({"status": JobStatus.FAILED}, {"done": 5, "total": 3}, {"result": b"x"}):
        db.session.add(Job(kind="test", estate_id=estate.id, params={}, **values))
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_without_redis_the_app_serves_its_queue_with_a_thread_of_its_own(
    database_url, tmp_path, trial_kinds
):
    from .conftest import empty_tables, make_app

    app = make_app(
        database_url, JOBS_IMMEDIATE=False, JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite3")
    )
    with app.app_context():
        job = queued_job(make_estate())
        queue = job_queue(app)
        queue.embedded = False  # not yet: first see the job wait in the queue
        queue.enqueue(job.id)
        assert queue_depth(app) == 1
        queue.embedded = True
        try:
            queue.start_embedded_worker()
            import time

            for _ in range(100):
                db.session.expire_all()
                if db.session.get(Job, job.id).status == JobStatus.DONE:
                    break
                time.sleep(0.1)
            assert db.session.get(Job, job.id).status == JobStatus.DONE
            assert queue_depth(app) == 0
        finally:
            queue.stop_embedded_worker()
            empty_tables()
            db.engine.dispose()


def test_staff_ids_are_recorded(app):
    estate = make_estate()
    client = signed_in(app, Role.PLANNER, estate)
    job_id = job_id_of(client.post("/console/meiyuan/posters/job"))
    job = db.session.get(Job, job_id)
    assert db.session.get(StaffUser, job.staff_user_id).grants[0].role == Role.PLANNER
    assert audit_rows("job.posters") == 1


# --- periodic tasks -------------------------------------------------------------------------


def test_nightly_backup_copies_the_database_and_keeps_the_newest(app, tmp_path):
    from datetime import UTC, datetime

    from resident_portal.periodic import nightly_backup

    if db.engine.dialect.name != "sqlite":
        assert nightly_backup(app) is None  # PostgreSQL: pg_dump, as the README says
        return
    app.config.update(BACKUP_DIR=str(tmp_path), BACKUP_KEEP=2)
    make_estate()
    for day in (1, 2, 3):
        nightly_backup(app, now=datetime(2026, 11, day, 19, 0, tzinfo=UTC))
    kept = sorted(path.name for path in tmp_path.iterdir())
    assert kept == [
        "resident_portal-20261102-190000.sqlite3",
        "resident_portal-20261103-190000.sqlite3",
    ]
    import sqlite3

    with sqlite3.connect(tmp_path / kept[-1]) as copy:
        assert copy.execute("SELECT code FROM estate").fetchall() == [("meiyuan",)]
    copy.close()


def test_periodic_tasks_run_once_a_minute_whoever_schedules_them(database_url, tmp_path):
    """Every consumer schedules the periodic tasks; the first to claim the minute runs one.
    The privacy purge is a registration point: registering under its name replaces it."""
    from .conftest import make_app

    runs = []
    original = jobs.PERIODIC["privacy-purge"]
    jobs.register_periodic(jobs.PeriodicTask("privacy-purge", runs.append, "30", "19"))
    try:
        app = make_app(
            database_url, JOBS_IMMEDIATE=False, JOBS_SQLITE_PATH=str(tmp_path / "q.sqlite3")
        )
        queue = job_queue(app)
        assert {"sweep-jobs", "nightly-backup", "privacy-purge"} <= set(queue.periodic)
        queue.periodic["privacy-purge"].call_local()
        queue.periodic["privacy-purge"].call_local()  # a second consumer, the same minute
        assert runs == [app]
    finally:
        jobs.register_periodic(original)


# --- big registers ------------------------------------------------------------------------


def upload_register(client, rows) -> int:
    from resident_portal.models import PendingImport

    from .conftest import register_csv

    response = client.post(
        "/console/meiyuan/registry",
        data={"register": (io.BytesIO(register_csv(rows)), "register.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    return db.session.scalar(select(PendingImport.id))


def households_in_database() -> int:
    from resident_portal.models import Household

    return db.session.scalar(select(func.count()).select_from(Household))


def test_a_big_register_is_imported_by_a_job_committed_with_it(app):
    from resident_portal import operations

    from .conftest import SMALL_REGISTER

    estate = operations.create_estate("meiyuan", "美苑小区")
    app.config["REGISTRY_JOB_ROWS"] = 3  # SMALL_REGISTER's 5 rows count as big here
    client = signed_in(app, Role.SECRETARY, estate)
    pending_id = upload_register(client, SMALL_REGISTER)
    job_id = job_id_of(client.post(f"/console/meiyuan/registry/{pending_id}"))
    assert db.session.get(Job, job_id).status == JobStatus.DONE
    assert households_in_database() == 5 and audit_rows("registry.import") == 1
    page = client.get(f"/console/jobs/{job_id}").get_data(as_text=True)
    assert "业主名册已导入：新增5户，更新0户，未变0户。" in page


def test_a_big_register_refused_by_the_job_writes_nothing(app):
    from resident_portal import operations
    from resident_portal.models import PendingImport

    from .conftest import SMALL_REGISTER, register_csv

    estate = operations.create_estate("meiyuan", "美苑小区")
    app.config["REGISTRY_JOB_ROWS"] = 3
    client = signed_in(app, Role.SECRETARY, estate)
    pending_id = upload_register(client, SMALL_REGISTER)
    # Between preview and import the held file goes bad (two rows for one room).
    bad = list(SMALL_REGISTER) + [SMALL_REGISTER[0]]
    db.session.execute(
        update(PendingImport)
        .where(PendingImport.id == pending_id)
        .values(content=register_csv(bad))
    )
    db.session.commit()
    job_id = job_id_of(client.post(f"/console/meiyuan/registry/{pending_id}"))
    job = db.session.get(Job, job_id)
    assert job.status == JobStatus.FAILED
    assert "业主名册有问题，未导入任何数据。" in client.get(f"/console/jobs/{job_id}").get_data(
        as_text=True
    )
    assert households_in_database() == 0 and audit_rows("registry.import") == 0
    assert db.session.get(PendingImport, pending_id) is not None  # kept, to try again


def test_a_big_pledge_export_is_offered_as_a_job_with_the_same_file(app):
    from .conftest import make_campaign

    estate = make_estate()
    campaign = make_campaign(estate)
    client = signed_in(app, Role.PLANNER, estate)
    url = f"/console/meiyuan/campaigns/{campaign.id}/export.csv"
    small = client.get(url)
    assert small.mimetype == "text/csv"
    app.config["EXPORT_JOB_ROWS"] = 2  # the estate's 5 households count as many here
    offer = client.get(url)
    assert offer.status_code == 200 and "这个文件有 5 行" in offer.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0  # a GET starts nothing
    job_id = job_id_of(client.post(url + "/job"))
    made = client.get(f"/console/jobs/{job_id}/download")
    assert made.data == small.data
    assert f"campaign-{campaign.id}.csv" in made.headers["Content-Disposition"]


def test_sweep_jobs_command_says_what_it_did(app):
    estate = make_estate()
    job = Job(kind="posters", estate_id=estate.id, params={"estate_ids": [estate.id]})
    job.status, job.heartbeat_at = JobStatus.RUNNING, utcnow() - timedelta(hours=1)
    db.session.add(job)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["sweep-jobs"])
    assert result.exit_code == 0
    assert "1 个中断的任务标为失败，0 个过期文件已删除。" in result.output
    assert app.test_cli_runner().invoke(args=["worker", "--help"]).exit_code == 0
