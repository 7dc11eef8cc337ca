"""Two app servers with their own instance folders, one PostgreSQL, one Redis and a worker on
a third: a job queued through server A runs on the worker and downloads through server B."""

import time
import uuid

import pytest

from resident_portal import create_app
from resident_portal.extensions import db
from resident_portal.jobs.queue import EmbeddedConsumer, job_queue, queue_depth
from resident_portal.models import Job, JobStatus, Role

from .conftest import (
    POSTGRES_URL,
    REDIS_URL,
    Client,
    make_estate,
    make_staff,
    private_postgres_database,
    require_service,
    sign_in_staff,
)

pytestmark = pytest.mark.slow  # three apps on PostgreSQL and Redis, a worker thread: seconds


def server(tmp_path, name, database_url, prefix):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "shared-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": REDIS_URL,
            "RATE_LIMIT_PREFIX": prefix,
            "PUBLIC_BASE_URL": "https://portal.example.cn",
            "JOBS_IMMEDIATE": False,  # a real queue, as in production
        },
        instance_path=str(tmp_path / name),
    )
    app.test_client_class = Client
    return app


def test_a_job_queued_on_server_a_runs_on_a_worker_and_downloads_from_server_b(tmp_path):
    require_service("PostgreSQL", POSTGRES_URL, 5432, "REQUIRE_POSTGRES")
    require_service("Redis", REDIS_URL, 6379, "REQUIRE_REDIS")
    from flask_migrate import upgrade

    prefix = f"test-{uuid.uuid4().hex}"
    with private_postgres_database(POSTGRES_URL) as url:
        a, b, worker = (server(tmp_path, name, url, prefix) for name in ("a", "b", "worker"))
        assert len({a.instance_path, b.instance_path, worker.instance_path}) == 3
        with a.app_context():
            upgrade()
            estate = make_estate()
            username, password = make_staff(Role.SECRETARY, estate)
        try:
            on_a = a.test_client()
            with a.app_context():  # the code step reads the account's second factor
                sign_in_staff(on_a, username, password)
            job_page = on_a.post("/console/meiyuan/posters/job").headers["Location"]
            waiting = on_a.get(job_page)
            assert waiting.headers["Refresh"] == "3" and "排队中" in waiting.get_data(as_text=True)
            assert queue_depth(b) == 1  # the queue is Redis: every server sees it

            consumer = EmbeddedConsumer(
                job_queue(worker).huey, workers=1, worker_type="thread", periodic=False
            )
            consumer.start()
            try:
                job_id = int(job_page.rsplit("/", 1)[1])
                for _ in range(300):
                    with worker.app_context():
                        if db.session.get(Job, job_id).status.finished:
                            break
                    time.sleep(0.1)
            finally:
                consumer.stop(graceful=True)

            on_b = b.test_client()
            with b.app_context():
                sign_in_staff(on_b, username, password)
            with b.app_context():
                assert db.session.get(Job, job_id).status == JobStatus.DONE
            download = on_b.get(job_page + "/download")
            assert download.status_code == 200 and download.data.startswith(b"%PDF")
            assert queue_depth(a) == 0
        finally:
            job_queue(a).huey.flush()  # this test's own queue, named by its prefix
            for app in (a, b, worker):
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
