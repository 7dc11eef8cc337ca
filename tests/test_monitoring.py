"""What operators watch (issue 14, point 5): /healthz, /readyz and /metrics."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from contributions import operations as contribution_operations
from contributions.models import Channel
from resident_portal import monitoring
from resident_portal.config import ConfigError
from resident_portal.extensions import db
from survey import operations as survey_operations
from survey.tally import Choice

from .conftest import (
    REDIS_URL,
    household,
    make_app,
    make_campaign,
    make_estate,
    make_report,
    make_survey,
    require_service,
)

ROOT = Path(__file__).resolve().parent.parent
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}


def test_healthz_answers_without_the_database(tmp_path):
    # A database nobody answers at: the process is alive all the same.
    app = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["check"] == "database"
    assert "unreachable" in ready.get_json()["reason"]
    assert "nobody" not in ready.get_data(as_text=True)  # no connection details on a public page


def test_readyz_when_the_database_is_at_the_migrations_head(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["status"] == "ready" and answer["redis"] == "not configured"
    versions = ROOT / "resident_portal" / "migrations" / "versions"
    revisions = {p.stem.split("_")[0] for p in versions.glob("*.py")}
    assert answer["migrations"] == sorted(monitoring.migration_heads())
    assert answer["schema"] == "at head"
    assert answer["migrations"][0].split("_")[0] == max(revisions)


def test_readyz_refuses_a_database_behind_the_migrations(tmp_path):
    app = make_app("sqlite:///" + str(tmp_path / "never-upgraded.sqlite3"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    answer = response.get_json()
    assert answer["check"] == "migrations" and "db upgrade" in answer["reason"]
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="0007")
        behind = app.test_client().get("/readyz").get_json()
        assert behind["check"] == "migrations" and "0007" in behind["reason"]
        upgrade()
        assert app.test_client().get("/readyz").status_code == 200
        # Upgrades run the migrations first: a server still on the old code keeps serving
        # against a schema it does not know yet (it is newer), until its own restart.
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
        ahead = app.test_client().get("/readyz")
        assert ahead.status_code == 200 and ahead.get_json()["schema"] == "newer"
        db.engine.dispose()


def test_readyz_checks_redis_when_configured(database_url):
    app = make_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        response = app.test_client().get("/readyz")
        assert response.status_code == 503 and response.get_json()["check"] == "redis"
        db.engine.dispose()
    require_service("Redis", REDIS_URL, 6379, "REQUIRE_REDIS")
    app = make_app(database_url, REDIS_URL=REDIS_URL)
    with app.app_context():
        response = app.test_client().get("/readyz")
        assert response.status_code == 200 and response.get_json()["redis"] == "ok"
        db.engine.dispose()


def test_metrics_only_for_allowed_addresses(app, client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base=ELSEWHERE).status_code == 403


def test_metrics_allow_list_and_proxies(database_url):
    app = make_app(database_url, METRICS_ALLOWED_ADDRESSES="10.1.2.0/24, 192.0.2.7", PROXY_COUNT=1)
    client = app.test_client()
    # behind one proxy, the address is the one the proxy saw
    via_proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for seen, status in (("10.1.2.3", 200), ("192.0.2.7", 200), ("127.0.0.1", 403)):
        response = client.get("/metrics", environ_base=via_proxy, headers={"X-Forwarded-For": seen})
        assert response.status_code == status, seen
    # a client cannot pose as an allowed address by adding its own X-Forwarded-For entry
    forged = client.get(
        "/metrics", environ_base=via_proxy, headers={"X-Forwarded-For": "10.1.2.3, 203.0.113.9"}
    )
    assert forged.status_code == 403
    with app.app_context():
        db.engine.dispose()
    with pytest.raises(ConfigError, match="METRICS_ALLOWED_ADDRESSES"):
        make_app(database_url, METRICS_ALLOWED_ADDRESSES="localhost")


def sample(name: str, labels: dict) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_ballots_pledges_and_reports_are_counted(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    survey = make_survey(estate)
    campaign = make_campaign(estate)
    before = {
        "ballots": sample("resident_portal_ballots_total", {"source": "online"}),
        "pledges": sample("resident_portal_pledges_total", {"source": "online"}),
        "reports": sample("resident_portal_reports_total", {"source": "resident"}),
    }
    survey_operations.submit_ballot(survey, h, {i.id: Choice.SUPPORT for i in survey.items})
    survey_operations.submit_ballot(survey, h, {i.id: Choice.OPPOSE for i in survey.items})
    contribution_operations.pledge(campaign, h, 10_000, Channel.DIRECT)
    make_report(estate, h)
    assert sample("resident_portal_ballots_total", {"source": "online"}) == before["ballots"] + 2
    assert sample("resident_portal_pledges_total", {"source": "online"}) == before["pledges"] + 1
    assert sample("resident_portal_reports_total", {"source": "resident"}) == before["reports"] + 1
    text = client.get("/metrics").get_data(as_text=True)
    assert 'resident_portal_ballots_total{source="online"}' in text
    assert "resident_portal_pledges_total" in text and "resident_portal_reports_total" in text


def test_a_refused_ballot_is_not_counted(app):
    estate = make_estate()
    survey = make_survey(estate)
    before = sample("resident_portal_ballots_total", {"source": "online"})
    with pytest.raises(survey_operations.OperationError):
        survey_operations.submit_ballot(survey, household(estate, "1", "1", "101"), {})
    assert sample("resident_portal_ballots_total", {"source": "online"}) == before


def test_request_latency_by_endpoint(app, client):
    make_estate()
    labels = {"endpoint": "portal.estate", "method": "GET"}
    before = sample("resident_portal_request_duration_seconds_count", labels)
    assert client.get("/e/meiyuan").status_code == 200
    assert client.get("/e/meiyuan").status_code == 200
    assert sample("resident_portal_request_duration_seconds_count", labels) == before + 2
    assert sample("resident_portal_request_duration_seconds_sum", labels) > 0
    unknown = {"endpoint": "none", "method": "GET"}
    before = sample("resident_portal_request_duration_seconds_count", unknown)
    not_found = sample("resident_portal_responses_total", {"status": "4xx"})
    assert client.get("/no/such/page").status_code == 404
    assert sample("resident_portal_request_duration_seconds_count", unknown) == before + 1
    assert sample("resident_portal_responses_total", {"status": "4xx"}) == not_found + 1


def test_job_queue_depth_comes_from_a_registered_source(app, client):
    # The job queue registers itself (jobs/queue.py); tests run jobs at once, so none waits.
    before = client.get("/metrics").get_data(as_text=True)
    assert 'resident_portal_job_queue_depth{queue="jobs"} 0.0' in before
    try:
        monitoring.queue_depth_source("letters")(lambda: 7)
        monitoring.queue_depth_source("broken")(lambda: 1 / 0)  # skipped, the scrape works
        monitoring.queue_depth_source("idle")(lambda: None)  # unknown right now: left out
        text = client.get("/metrics").get_data(as_text=True)
    finally:
        for name in ("letters", "broken", "idle"):
            monitoring.QUEUE_DEPTH_SOURCES.pop(name, None)
    assert 'resident_portal_job_queue_depth{queue="letters"} 7.0' in text
    assert 'queue="broken"' not in text and 'queue="idle"' not in text


SCRIPT = textwrap.dedent(
    """
    import sys
    from resident_portal import create_app, monitoring
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1]})
    monitoring.REPORTS.labels("resident").inc()
    print(app.test_client().get("/metrics").get_data(as_text=True))
    """
)


@pytest.mark.slow
def test_metrics_add_up_the_worker_processes_in_multiprocess_mode(tmp_path):
    """As gunicorn's workers would: each process counts in the shared folder, and whichever
    answers /metrics reports the sum."""
    folder = tmp_path / "prometheus"  # made by the first process: nothing fails for want of it
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path / "db.sqlite3")],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        for _worker in range(2)
    ]
    assert 'resident_portal_reports_total{source="resident"} 1.0' in outputs[0]
    assert 'resident_portal_reports_total{source="resident"} 2.0' in outputs[1]
    assert list(folder.glob("*.db"))
