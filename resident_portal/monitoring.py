"""What operators watch: /healthz, /readyz and Prometheus metrics at /metrics.

- `/healthz` answers 200 as long as the process serves requests; it touches nothing else, so
  a load balancer does not take every server out when the database restarts.
- `/readyz` answers 200 when the database answers, its schema is at the migrations' head (or
  newer, during an upgrade), and Redis answers (when REDIS_URL is set); otherwise 503 with a
  JSON reason.
- `/metrics` (Prometheus text format) only for client addresses in METRICS_ALLOWED_ADDRESSES
  (default: this machine), as the app sees them, that is after PROXY_COUNT proxies.

The counters are module-level, one set per process. Under gunicorn's several worker processes,
set PROMETHEUS_MULTIPROC_DIR to an empty folder writable by the workers: prometheus_client then
keeps each process's values in files there and /metrics adds them up (gunicorn_conf.py empties
the folder at start and forgets a worker when it exits).

Features count what they record (ballots, pledges, reports) with the counters below; the job
queue's depth comes from whoever runs the queue, through `queue_depth_source` (a registration
point: nothing here knows about the queue, and without one the gauge is simply absent).
"""

import ipaddress
import logging
import os
import time
from collections.abc import Callable

from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .access import public
from .config import PACKAGE_DIR, ConfigError

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)

# In multiprocess mode every process writes its values into this folder, from its first count
# on: a missing folder would fail the first ballot counted, so it is made here (a command run
# with the servers' environment file, before gunicorn ever started, finds it too).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

REQUEST_LATENCY = Histogram(
    "resident_portal_request_duration_seconds",
    "Time to answer a request, by endpoint (the route's name) and method.",
    ["endpoint", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RESPONSES = Counter(
    "resident_portal_responses",
    "Answers sent, by status class (2xx, 3xx, 4xx, 5xx).",
    ["status"],
)
BALLOTS = Counter(
    "resident_portal_ballots",
    "Ballots recorded (a changed ballot counts again), by source: online or paper.",
    ["source"],
)
PLEDGES = Counter(
    "resident_portal_pledges",
    "Pledges made or changed, by source: online or staff (recorded from paper).",
    ["source"],
)
REPORTS = Counter(
    "resident_portal_reports",
    "Quality reports filed, by source: resident or open311.",
    ["source"],
)

# name -> a function answering how many jobs wait in that queue (None: unknown right now).
QUEUE_DEPTH_SOURCES: dict[str, Callable[[], int | None]] = {}


def queue_depth_source(name: str):
    """Register `function() -> int | None` as the depth of the job queue `name`; it is called
    at each scrape, inside the /metrics request (so it may use current_app)."""

    def register(function: Callable[[], int | None]):
        QUEUE_DEPTH_SOURCES[name] = function
        return function

    return register


class QueueDepthCollector(Collector):
    """The gauge `resident_portal_job_queue_depth{queue}`, read when scraped (in the process
    that answers /metrics, so it needs no multiprocess bookkeeping)."""

    def describe(self):
        return []  # read only at scrape time, inside a request

    def collect(self):
        if not QUEUE_DEPTH_SOURCES:
            return []
        gauge = GaugeMetricFamily(
            "resident_portal_job_queue_depth", "Jobs waiting in each job queue.", labels=["queue"]
        )
        for name, function in sorted(QUEUE_DEPTH_SOURCES.items()):
            try:
                depth = function()
            except Exception:  # a queue that cannot be read must not break the scrape
                log.warning("job queue %s: depth unknown", name, exc_info=True)
                continue
            if depth is not None:
                gauge.add_metric([name], depth)
        return [gauge]


QUEUE_DEPTH = QueueDepthCollector()
REGISTRY.register(QUEUE_DEPTH)


# --- the request latency histogram ----------------------------------------------------------

STARTED = "resident_portal.started"


def start_timer() -> None:
    request.environ[STARTED] = time.perf_counter()


def observe_latency(response):
    RESPONSES.labels(f"{response.status_code // 100}xx").inc()
    started = request.environ.get(STARTED)
    if started is not None:
        REQUEST_LATENCY.labels(request.endpoint or "none", request.method).observe(
            time.perf_counter() - started
        )
    return response


# --- the routes -----------------------------------------------------------------------------


def _uncached(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@public
def healthz():
    return _uncached(jsonify(status="ok"))


def migration_revisions() -> tuple[set[str], set[str]]:
    """The head revision(s) of the migrations shipped with this code, and every revision it
    knows, read once."""
    revisions = current_app.extensions.get("migration_revisions")
    if revisions is None:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(str(PACKAGE_DIR / "migrations"))
        known = {revision.revision for revision in script.walk_revisions()}
        revisions = (set(script.get_heads()), known)
        current_app.extensions["migration_revisions"] = revisions
    return revisions


def migration_heads() -> set[str]:
    return migration_revisions()[0]


def _not_ready(check: str, reason: str):
    return _uncached(jsonify(status="not ready", check=check, reason=reason)), 503


@bp.get("/readyz")
@public
def readyz():
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import SQLAlchemyError

    from .extensions import db

    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        # The reason names the kind of failure only: this page is public, the log has detail.
        current_app.logger.warning("readyz: database unreachable: %s", error)
        return _not_ready("database", f"database unreachable ({type(error).__name__})")
    heads, known = migration_revisions()
    # A schema this code does not know was migrated by newer code: an upgrade is under way
    # (migrations first, then the servers one at a time), and this server keeps serving until
    # its turn. A known revision short of the head means the migrations have not been run.
    schema = "at head" if current == heads else "newer" if current and not current & known else ""
    if not schema:
        return _not_ready(
            "migrations",
            f"database schema at {', '.join(sorted(current)) or 'nothing'}, code expects "
            f"{', '.join(sorted(heads))}: run `flask --app resident_portal db upgrade`",
        )
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        import redis

        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
        except redis.RedisError as error:
            current_app.logger.warning("readyz: Redis unreachable: %s", error)
            return _not_ready("redis", f"Redis unreachable ({type(error).__name__})")
    return _uncached(
        jsonify(
            status="ready",
            database="ok",
            migrations=sorted(current),
            schema=schema,
            redis="ok" if redis_url else "not configured",
        )
    )


def allowed_networks(config) -> list:
    text = config.get("METRICS_ALLOWED_ADDRESSES") or ""
    try:
        return [ipaddress.ip_network(part, strict=False) for part in text.replace(",", " ").split()]
    except ValueError as error:
        raise ConfigError(f"METRICS_ALLOWED_ADDRESSES: {error}") from None


def address_allowed(address: str | None) -> bool:
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in current_app.extensions["metrics_networks"])


def scrape_registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(QUEUE_DEPTH)
        return registry
    return REGISTRY


@bp.get("/metrics")
@public  # open to every principal, but only from the allowed addresses
def metrics():
    if not address_allowed(request.remote_addr):
        abort(403)
    return _uncached(Response(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST))


def init_app(app) -> None:
    app.extensions["metrics_networks"] = allowed_networks(app.config)
    app.register_blueprint(bp)
    app.before_request(start_timer)
    app.after_request(observe_latency)
