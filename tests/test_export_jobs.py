"""Big exports as jobs: the survey results (CSV/XLSX) and the problem reports export, over
EXPORT_JOB_ROWS rows, are offered as a job by the download link (a GET starts nothing), and the
job's file is the download's; an export holding personal data writes its audit entry with the
file, never without it."""

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from resident_portal.extensions import db
from resident_portal.jobs import operations as job_operations
from resident_portal.models import AuditEntry, Job, JobStatus, Role

from .conftest import household, make_campaign, make_estate, make_report, make_survey
from .test_jobs import audit_rows, job_id_of, signed_in


def jobs_in_database() -> int:
    return db.session.scalar(select(func.count()).select_from(Job))


def cells(body: bytes) -> list[list]:
    return [
        list(row)
        for sheet in load_workbook(io.BytesIO(body)).worksheets
        for row in sheet.iter_rows(values_only=True)
    ]


def test_big_survey_results_are_offered_as_a_job_with_the_same_file(app):
    estate = make_estate()
    survey = make_survey(estate)
    client = signed_in(app, Role.PLANNER, estate)
    url = f"/console/meiyuan/surveys/{survey.id}/results"
    small_csv, small_xlsx = client.get(url + ".csv"), client.get(url + ".xlsx")
    assert small_csv.mimetype == "text/csv"
    rows = len(small_csv.get_data(as_text=True).strip().splitlines()) - 1  # less the header
    app.config["EXPORT_JOB_ROWS"] = rows - 1
    offer = client.get(url + ".csv")
    assert offer.status_code == 200 and f"这个文件有 {rows} 行" in offer.get_data(as_text=True)
    assert jobs_in_database() == 0  # a GET starts nothing
    assert client.get(url + ".json").is_json  # the API's figures are never a job
    job_id = job_id_of(client.post(url + ".csv/job"))
    made = client.get(f"/console/jobs/{job_id}/download")
    assert made.data == small_csv.data
    assert f"survey-{survey.id}-results.csv" in made.headers["Content-Disposition"]
    # The workbook too, with the headers in the language of whoever asked for it.
    job_id = job_id_of(client.post(url + ".xlsx/job"))
    made = client.get(f"/console/jobs/{job_id}/download")
    assert cells(made.data) == cells(small_xlsx.data) and "楼栋" in cells(made.data)[0]
    app.config["EXPORT_JOB_ROWS"] = rows  # exactly the limit: the download itself
    assert client.get(url + ".csv").data == small_csv.data


def test_a_survey_results_job_is_refused_where_the_download_is(app):
    estate = make_estate()
    survey = make_survey(estate)
    url = f"/console/meiyuan/surveys/{survey.id}/results.csv/job"
    assert signed_in(app, Role.CONTRACTOR, estate).post(url).status_code == 403
    client = signed_in(app, Role.SECRETARY, estate)
    assert client.post(f"/console/meiyuan/surveys/{survey.id}/results.pdf/job").status_code == 404
    assert jobs_in_database() == 0


def test_a_survey_deleted_before_its_export_runs_fails_the_job_plainly(app):
    estate = make_estate()
    survey = make_survey(estate)
    client = signed_in(app, Role.SECRETARY, estate)
    job = Job(
        kind="survey_results_export",
        estate_id=estate.id,
        params={
            "survey_id": survey.id + 99,
            "fmt": "csv",
            "locale": "zh_Hans_CN",
            "estate_ids": [estate.id],
        },
    )
    db.session.add(job)
    db.session.commit()
    job_operations.execute(job.id, {})
    db.session.refresh(job)
    assert job.status == JobStatus.FAILED and job.result is None
    assert "这项征询表决已不存在。" in client.get(f"/console/jobs/{job.id}").get_data(as_text=True)


def test_a_big_reports_export_is_a_job_that_writes_who_exported_it(app):
    estate = make_estate()
    for room in ("101", "201", "301"):
        make_report(estate, household(estate, "1", "1", room))
    client = signed_in(app, Role.SECRETARY, estate)
    url = "/console/meiyuan/reports/export.csv"
    small = client.get(url)
    assert small.mimetype == "text/csv" and audit_rows("export.reports") == 1
    app.config["EXPORT_JOB_ROWS"] = 2
    offer = client.get(url)
    assert "这个文件有 3 行" in offer.get_data(as_text=True)
    # Offering the job shows nothing personal: nothing is written, no job started.
    assert audit_rows("export.reports") == 1 and jobs_in_database() == 0
    job_id = job_id_of(client.post(url + "/job"))
    made = client.get(f"/console/jobs/{job_id}/download")
    assert made.data == small.data and "reports.csv" in made.headers["Content-Disposition"]
    entry = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "export.reports")
        .order_by(AuditEntry.id.desc())
    ).first()
    job = db.session.get(Job, job_id)
    assert audit_rows("export.reports") == 2
    assert (entry.staff_user_id, entry.estate_id) == (job.staff_user_id, estate.id)
    assert entry.detail == {"rows": 3, "job": job_id}
    assert client.post("/console/meiyuan/reports/export.pdf/job").status_code == 404


def test_a_cancelled_export_job_writes_no_audit_entry(app):
    estate = make_estate()
    make_report(estate, household(estate, "1", "1", "101"))
    client = signed_in(app, Role.SECRETARY, estate)
    app.config["EXPORT_JOB_ROWS"] = 0
    # Queued but not run: the test queue runs jobs at once, so queue it by hand.
    job = Job(
        kind="reports_export", estate_id=estate.id, params={"fmt": "csv", "estate_ids": [estate.id]}
    )
    db.session.add(job)
    db.session.commit()
    assert client.post(f"/console/jobs/{job.id}/cancel").status_code in (302, 303)
    job_operations.execute(job.id, {})
    assert audit_rows("export.reports") == 0
    assert db.session.get(Job, job.id).status == JobStatus.CANCELLED


def test_the_pledge_export_job_writes_who_exported_it_with_the_file(app):
    estate = make_estate()
    campaign = make_campaign(estate)
    client = signed_in(app, Role.PLANNER, estate)
    app.config["EXPORT_JOB_ROWS"] = 2
    url = f"/console/meiyuan/campaigns/{campaign.id}/export.xlsx"
    client.get(url)
    assert audit_rows("export.pledges") == 0  # the offer alone
    job_id = job_id_of(client.post(url + "/job"))
    assert db.session.get(Job, job_id).status == JobStatus.DONE
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "export.pledges")
    ).one()
    assert entry.detail == {"campaign": campaign.id, "format": "xlsx", "job": job_id}
