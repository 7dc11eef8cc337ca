"""Gunicorn settings for production and for the load benchmarks and tests.

    gunicorn -c python:resident_portal.gunicorn_conf 'resident_portal:create_app()'

Two worker processes with four threads each suit a 2-core machine: requests spend much of
their time waiting on the database, so threads overlap that wait, and two processes survive
one of them being killed. Override with GUNICORN_WORKERS / GUNICORN_THREADS / PORT.
"""

import os

from gunicorn.glogging import Logger

from resident_portal.privacy import redact_codes, redact_codes_in

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# A request that takes longer than this is stuck; the arbiter replaces the worker.
timeout = 30
graceful_timeout = 10
keepalive = 5
# Load the app in each worker, not in the arbiter: database connections must not be shared
# across fork.
preload_app = False
# Gunicorn 24+ opens a control socket at one fixed path per user; several servers on one
# machine (tests, benchmarks) would fight over it, and nothing here uses it.
control_socket_disable = True

# The access log, on standard output unless GUNICORN_ACCESS_LOG names a file ("" turns it off).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None


class RedactingLogger(Logger):
    """Gunicorn's logger, without access codes: the letter link's query is dropped from every
    atom of the access log (request line, query, referer, environ), and any message of either
    log is redacted again as it is written (an error naming the request's URI, say)."""

    def setup(self, cfg):
        super().setup(cfg)
        redact_codes_in(self.error_log, self.access_log)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact_codes(v) if isinstance(v, str) else v for k, v in atoms.items()}


logger_class = RedactingLogger


# Prometheus metrics from every worker (resident_portal/monitoring.py): with
# PROMETHEUS_MULTIPROC_DIR set, each worker writes its values into files in that folder and
# /metrics adds them up. The folder starts empty (old files would count again), and a worker
# that exits is forgotten (its gauges; its counters stay counted).
def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
