"""What do the letters cost as a job, as a PDF and as a ZIP, and what does the queue add?

    python -m bench.jobs [--households 2000] [--queue-jobs 50]

(a) Letters: an estate of 2,000 households (the generated register of bench.import_print) on
    SQLite; codes issued and held for a staff sign-in as the console does; then the letters
    job (jobs/operations.execute, the code a worker runs) makes all 2,000 letters as one PDF
    (WeasyPrint, Noto CJK) and as the ZIP (mail-merge CSV, a PNG and an SVG QR code per
    household). Baseline, in the same run: 2,000 bare QR PNGs of the same links with the
    qrcode library alone. Printed: CPU time (this process, all threads) and wall time, per
    letter, and the ratio to the baseline.
(b) The queue: N monthly-report jobs of one estate queued to a real SqliteHuey and drained by
    the embedded worker thread, against the same kind's function called N times directly in
    a request context (what a synchronous page does). Printed: CPU and wall time per job and
    the overhead per job (queue minus direct), and the ratio.

The machine is shared: absolute times are indicative; the ratios are measured in the same run.
"""

import argparse
import io
import logging
import secrets
import tempfile
import time
from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from bench.import_print import PUBLIC_BASE_URL, register_csv


def clocks():
    return time.process_time(), time.perf_counter()


def since(start):
    cpu, wall = clocks()
    return cpu - start[0], wall - start[1]


def app_on(folder: Path, **config):
    from flask_migrate import upgrade

    from resident_portal import create_app

    app = create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(folder / "bench.sqlite3"),
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "JOBS_SQLITE_PATH": str(folder / "jobs.sqlite3"),
            **config,
        },
        instance_path=str(folder / "instance"),
    )
    with app.app_context():
        upgrade()
    return app


def estate_with_households(households: int):
    from resident_portal import operations
    from resident_portal.registry import parse_registry

    estate = operations.create_estate("bench", "基准小区", "示范街道")
    operations.import_registry(estate, parse_registry(register_csv(households), "r.csv"))
    return estate


def held_batch(estate):
    """Codes issued and held for a staff sign-in, as the console's POST does."""
    from datetime import timedelta

    from sqlalchemy import select

    from resident_portal import operations
    from resident_portal.extensions import db
    from resident_portal.models import AuthSession, Role, StaffUser, utcnow

    operations.grant_staff_role("bench-secretary", Role.SECRETARY, estate, "bench password")
    staff = db.session.scalar(select(StaffUser).where(StaffUser.username == "bench-secretary"))
    record = AuthSession(
        token_hash=secrets.token_hex(32), staff_user=staff, expires_at=utcnow() + timedelta(hours=1)
    )
    db.session.add(record)
    db.session.commit()
    key = secrets.token_hex(32)
    batch = operations.issue_and_hold_codes(estate, record, key, reissue=True)
    return staff, record, batch, key


def letters_job(estate, staff, record, batch, key, fmt):
    from resident_portal.extensions import db
    from resident_portal.jobs import operations as job_operations
    from resident_portal.models import Job, JobStatus

    job = job_operations.submit(
        "letters",
        staff_user=staff,
        estates=[estate],
        estate=estate,
        params={"batch_id": batch.id, "format": fmt},
        secrets={"key": key},
        auth_session_id=record.id,
        base_url=PUBLIC_BASE_URL,
    )
    db.session.expire_all()  # the worker committed in a session of its own
    job = db.session.get(Job, job.id)
    assert job.status == JobStatus.DONE, (job.status, job.failure)
    return len(job.result)


def bare_qr_pngs(urls):
    for url in urls:
        code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
        code.add_data(url)
        code.make(fit=True)
        code.make_image().save(io.BytesIO(), format="PNG")


def letters(households: int) -> None:
    from resident_portal import operations
    from resident_portal.letters import letters_for

    with tempfile.TemporaryDirectory() as folder:
        app = app_on(Path(folder), JOBS_IMMEDIATE=True)
        with app.app_context():
            estate = estate_with_households(households)
            staff, record, batch, key = held_batch(estate)
            with app.test_request_context(base_url=PUBLIC_BASE_URL):
                urls = [letter.url for letter in letters_for(operations.held_codes(batch, key)[0])]
            start = clocks()
            bare_qr_pngs(urls)
            baseline = since(start)
            rows = [("bare QR PNGs (baseline)", baseline, None)]
            for fmt in ("zip", "pdf"):
                start = clocks()
                size = letters_job(estate, staff, record, batch, key, fmt)
                rows.append((f"letters job → {fmt.upper()} ({size / 1e6:.1f} MB)", since(start), 1))
    print(f"\n(a) Letters for {households:,} households (CPU and wall time of this process)")
    print(f"{'':36} {'CPU s':>8} {'ms/letter':>10} {'wall s':>8} {'CPU ratio':>10}")
    for label, (cpu, wall), ratio in rows:
        shown = f"{cpu / baseline[0]:.2f} ×" if ratio else "1.00 ×"
        print(f"{label:36} {cpu:8.1f} {1000 * cpu / households:10.2f} {wall:8.1f} {shown:>10}")


def queue_overhead(jobs: int) -> None:
    from resident_portal.extensions import db
    from resident_portal.jobs import operations as job_operations
    from resident_portal.jobs.queue import job_queue
    from resident_portal.models import Job, JobStatus
    from resident_portal.print_jobs import run_monthly

    with tempfile.TemporaryDirectory() as folder:
        app = app_on(Path(folder), JOBS_IMMEDIATE=False, JOBS_EMBEDDED_WORKER=True)
        queue = job_queue(app)
        with app.app_context():
            estate = estate_with_households(300)

            class Direct:  # what the synchronous page hands the same function
                params = {"month": "2026-11", "estate_ids": [estate.id], "lang": "zh_Hans_CN"}
                district = None

            def progress(done, total=None):
                pass

            start = clocks()
            for _ in range(jobs):
                with app.test_request_context(base_url=PUBLIC_BASE_URL):
                    run_monthly(Direct, progress, {})
            direct = since(start)

            start = clocks()
            queue.embedded = False  # fill the queue first, then let the worker drain it
            ids = [
                job_operations.submit(
                    "monthly", staff_user=None, estates=[estate], params=Direct.params
                ).id
                for _ in range(jobs)
            ]
            queue.embedded = True
            queue.start_embedded_worker()
            while True:
                db.session.expire_all()
                finished = db.session.query(Job).filter(Job.status == JobStatus.DONE).count()
                if finished == len(ids):
                    break
                time.sleep(0.02)
            queued = since(start)
            queue.stop_embedded_worker()
    print(f"\n(b) The job queue: {jobs} monthly reports of one estate (300 households)")
    print(f"{'':30} {'CPU ms/job':>11} {'wall ms/job':>12}")
    for label, (cpu, wall) in (("called directly", direct), ("queued, run by the worker", queued)):
        print(f"{label:30} {1000 * cpu / jobs:11.1f} {1000 * wall / jobs:12.1f}")
    print(
        f"overhead per job: {1000 * (queued[0] - direct[0]) / jobs:.1f} ms CPU, "
        f"{1000 * (queued[1] - direct[1]) / jobs:.1f} ms wall; "
        f"ratio queued ÷ direct: {queued[0] / direct[0]:.2f} × CPU, "
        f"{queued[1] / direct[1]:.2f} × wall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--queue-jobs", type=int, default=50)
    parser.add_argument("--skip-letters", action="store_true")
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    if not args.skip_letters:
        letters(args.households)
    queue_overhead(args.queue_jobs)


if __name__ == "__main__":
    main()
