"""Every route, every role: who may open what (docs/domain.md), and nothing changes on GET.

The table below is the specification; the test fails when a route is added without an entry.
"""

import pytest
from sqlalchemy import func, select

from resident_portal import operations
from resident_portal.extensions import db
from resident_portal.models import Job, JobStatus, Role, StaffUser
from resident_portal.renovation import operations as renovation_operations
from resident_portal.reports import operations as report_operations
from resident_portal.reports.models import Category, Open311Key
from resident_portal.reports.operations import Location
from resident_portal.reports.photos import reencode
from survey import operations as survey_operations
from survey.tally import Choice

from .conftest import (
    SMALL_REGISTER,
    close_survey,
    household,
    issue_code,
    make_elevator_project,
    make_estate,
    make_staff,
    make_survey,
    register_csv,
    sign_in_household,
    sign_in_staff,
)
from .test_reports import phone_photo

ANONYMOUS = "anonymous"
HOUSEHOLD = "household of this estate"
HOUSEHOLD_OTHER = "household of another estate"
SECRETARY = "secretary of this estate"
SECRETARY_OTHER = "secretary of another estate"
PLANNER = "planner of this estate"
CONTRACTOR = "contractor of this estate"
ADMIN = "administrator"

EVERYONE = {
    ANONYMOUS,
    HOUSEHOLD,
    HOUSEHOLD_OTHER,
    SECRETARY,
    SECRETARY_OTHER,
    PLANNER,
    CONTRACTOR,
    ADMIN,
}
ANY_STAFF = {SECRETARY, SECRETARY_OTHER, PLANNER, CONTRACTOR, ADMIN}

EXPECTED = {
    "portal.index": EVERYONE,
    "portal.estate": EVERYONE,
    "portal.building": EVERYONE,
    "portal.unit": EVERYONE,
    "portal.sign_in": EVERYONE,
    "portal.estate_qr": EVERYONE,
    "portal.unit_qr": EVERYONE,
    "portal.sign_out": EVERYONE,
    "portal.preferences": EVERYONE,
    "portal.home": {HOUSEHOLD, HOUSEHOLD_OTHER},  # each its own household
    "portal.devices": {HOUSEHOLD, HOUSEHOLD_OTHER},
    "portal.sign_out_others": {HOUSEHOLD, HOUSEHOLD_OTHER},
    "console.sign_in": EVERYONE,
    # Each answers for the account whose password this browser has just given (or sends the
    # visitor to the sign-in page).
    "console.second_factor": EVERYONE,
    "console.enrol_second_factor": EVERYONE,
    "console.account": ANY_STAFF,
    "console.new_recovery_codes": ANY_STAFF,
    "console.index": ANY_STAFF,
    "console.sign_out_everywhere": ANY_STAFF,
    "console.estate": {SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "console.households": {SECRETARY, PLANNER, ADMIN},
    "console.household": {SECRETARY, ADMIN},
    "console.reissue_code": {SECRETARY, ADMIN},
    "console.registry_import": {SECRETARY, ADMIN},
    "console.registry_confirm": {SECRETARY, ADMIN},
    "console.issue_codes": {SECRETARY, ADMIN},
    "console.posters": {SECRETARY, PLANNER, ADMIN},
    "console.poster_print": {SECRETARY, PLANNER, ADMIN},
    "console.audit": {SECRETARY, ADMIN},
    "console.sign_in_failures": {SECRETARY, ADMIN},
    "console.tokens": {SECRETARY, SECRETARY_OTHER, PLANNER, ADMIN},
    "console.revoke_token": {SECRETARY, SECRETARY_OTHER, PLANNER, ADMIN},
    "survey.ballot": {HOUSEHOLD},
    "survey.receipt": {HOUSEHOLD},
    "survey.check_receipt": EVERYONE,
    "survey.notices": EVERYONE,
    "survey.notice": EVERYONE,
    "survey.console_list": {SECRETARY, PLANNER, ADMIN},
    "survey.console_new": {SECRETARY, PLANNER, ADMIN},
    "survey.console_survey": {SECRETARY, PLANNER, ADMIN},
    "survey.console_item": {SECRETARY, PLANNER, ADMIN},
    "survey.console_item_remove": {SECRETARY, PLANNER, ADMIN},
    "survey.console_definition": {SECRETARY, PLANNER, ADMIN},
    "survey.console_export": {SECRETARY, PLANNER, ADMIN},
    "survey.console_export_job": {SECRETARY, PLANNER, ADMIN},
    "survey.console_not_voted": {SECRETARY, PLANNER, ADMIN},
    "survey.console_suggestions": {SECRETARY, PLANNER, ADMIN},
    # Full names and phones on the door-to-door lists: the estate's own secretary only.
    "survey.console_not_voted_contacts": {SECRETARY},
    "survey.console_visit": {SECRETARY, ADMIN},
    "survey.console_extend": {SECRETARY, PLANNER, ADMIN},
    "survey.console_cancel": {SECRETARY, PLANNER, ADMIN},
    "survey.console_paper": {SECRETARY, ADMIN},
    "console.reissue_all": {SECRETARY, ADMIN},
    "console.codes_issued": {SECRETARY, ADMIN},
    "console.codes_letters": {SECRETARY, ADMIN},
    "console.codes_zip": {SECRETARY, ADMIN},
    "survey.console_paper_household": {SECRETARY, ADMIN},
    "survey.console_paper_sheets": {SECRETARY, ADMIN},
    "survey.console_paper_sheets_job": {SECRETARY, ADMIN},
    "survey.console_paper_evidence": {SECRETARY, ADMIN},
    "survey.console_roll": {SECRETARY, ADMIN},
    "survey.notice_print": EVERYONE,
    "survey.api_surveys": {SECRETARY, SECRETARY_OTHER, PLANNER, ADMIN},  # each their estates
    "survey.api_results": {SECRETARY, PLANNER, ADMIN},
    "survey.openapi": EVERYONE,
    # Planners' own systems: each caller gets the estates in which they hold the permission.
    "contributions.api_campaigns": {SECRETARY, SECRETARY_OTHER, PLANNER, ADMIN},
    "contributions.api_elevators": {SECRETARY, SECRETARY_OTHER, PLANNER, ADMIN},
    "reports.api_summary": {SECRETARY, SECRETARY_OTHER, PLANNER, CONTRACTOR, ADMIN},
    "contributions.pledge": {HOUSEHOLD},
    "contributions.withdraw": {HOUSEHOLD},
    "contributions.public_totals": EVERYONE,
    "contributions.console_list": {SECRETARY, PLANNER, ADMIN},
    "contributions.console_new": {SECRETARY, PLANNER, ADMIN},
    "contributions.console_tracker": {SECRETARY, PLANNER, ADMIN},
    "contributions.console_not_answered": {SECRETARY, PLANNER, ADMIN},
    "contributions.console_not_answered_contacts": {SECRETARY},
    "contributions.console_visit": {SECRETARY, ADMIN},
    "contributions.console_export": {SECRETARY, PLANNER, ADMIN},
    "contributions.console_export_job": {SECRETARY, PLANNER, ADMIN},
    "contributions.console_pledge": {SECRETARY, ADMIN},
    "contributions.console_payment": {SECRETARY, ADMIN},
    "contributions.elevator_new": {SECRETARY, PLANNER, ADMIN},
    "contributions.elevator": {SECRETARY, PLANNER, ADMIN},
    "contributions.elevator_edit": {SECRETARY, PLANNER, ADMIN},
    "console.overview_page": {PLANNER, ADMIN},  # each over the estates in their scope
    "console.monthly_page": {PLANNER, ADMIN},
    "console.monthly_xlsx": {PLANNER, ADMIN},
    "console.monthly_job": {PLANNER, ADMIN},
    "console.posters_job": {SECRETARY, PLANNER, ADMIN},
    "console.letters_job": {SECRETARY, ADMIN},  # each the codes held for its own sign-in
    "jobs.mine": ANY_STAFF,
    # The world's job is the stairwell posters of this estate: whoever may print its posters.
    "jobs.page": {SECRETARY, PLANNER, ADMIN},
    "jobs.cancel": {SECRETARY, PLANNER, ADMIN},
    "jobs.download": {SECRETARY, PLANNER, ADMIN},
    "reports.new": {HOUSEHOLD, HOUSEHOLD_OTHER},  # each in their own estate
    "reports.board": EVERYONE,
    "reports.detail": EVERYONE,
    "reports.support": {HOUSEHOLD},
    "reports.confirm": {HOUSEHOLD},
    "reports.reopen": {HOUSEHOLD},
    "reports.photo": {HOUSEHOLD, SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "reports.inbox": {SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "reports.handle": {SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "reports.summary": {SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "reports.export": {SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "reports.export_job": {SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "reports.change_status": {PLANNER, CONTRACTOR, ADMIN},
    "reports.hide": {PLANNER, CONTRACTOR, ADMIN},
    "reports.open311_keys": {PLANNER, ADMIN},
    "reports.revoke_open311_key": {PLANNER, ADMIN},
    # Open311 reads are public like the board; filing is authorised by an estate's API key.
    "open311.discovery": EVERYONE,
    "open311.services": EVERYONE,
    "open311.service_definition": EVERYONE,
    "open311.requests_list": EVERYONE,
    "open311.requests_create": EVERYONE,
    "open311.request_detail": EVERYONE,
    # The renovation's notice board and its progress photos are public, like the poster.
    "renovation.board": EVERYONE,
    "renovation.board_project": EVERYONE,
    "renovation.photo": EVERYONE,
    "renovation.console_list": {SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "renovation.console_project": {SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "renovation.console_new": {PLANNER, ADMIN},
    "renovation.console_details": {PLANNER, ADMIN},
    "renovation.console_parties": {PLANNER, ADMIN},
    "renovation.console_plan": {PLANNER, ADMIN},
    "renovation.console_complete": {PLANNER, ADMIN},
    "renovation.console_reopen": {PLANNER, ADMIN},
    "renovation.console_budget": {PLANNER, ADMIN},
    "renovation.console_scope": {PLANNER, ADMIN},
    "renovation.console_scope_remove": {PLANNER, ADMIN},
    "renovation.console_import": {PLANNER, ADMIN},  # rows of estates in their scope
    "renovation.console_note": {PLANNER, CONTRACTOR, ADMIN},
    "renovation.console_signoff": {SECRETARY, ADMIN},
    "renovation.console_accept": {PLANNER, ADMIN},
    "renovation.console_satisfaction": {PLANNER, ADMIN},
    "renovation.console_targets": {PLANNER, ADMIN},  # the districts of their estates
    "renovation.api_projects": {SECRETARY, SECRETARY_OTHER, PLANNER, CONTRACTOR, ADMIN},
    "renovation.api_project": {SECRETARY, PLANNER, CONTRACTOR, ADMIN},
    "renovation.api_districts": {PLANNER, ADMIN},  # each over the estates in their scope
    # For operators and load balancers; /metrics answers by client address (the walk's is
    # 127.0.0.1, allowed by default), not by who is signed in: tests/test_monitoring.py.
    "ops.healthz": EVERYONE,
    "ops.readyz": EVERYONE,
    "ops.metrics": EVERYONE,
    # Personal data (issue 12): the notice is public; "my data" is each household's own.
    "privacy.notice": EVERYONE,
    "privacy.estate_notice": EVERYONE,
    "privacy.acknowledge": {HOUSEHOLD, HOUSEHOLD_OTHER},
    "privacy.my_data_page": {HOUSEHOLD, HOUSEHOLD_OTHER},
    "privacy.my_data_download": {HOUSEHOLD, HOUSEHOLD_OTHER},
    "privacy.request_correction": {HOUSEHOLD, HOUSEHOLD_OTHER},
    "privacy.corrections": {SECRETARY, ADMIN},
    "privacy.organiser": {SECRETARY, ADMIN},
    "privacy.correction_handled": {SECRETARY, ADMIN},
}

# Staff views of a full household record and exports of personal data write one audit entry
# (issue 12): on these GETs the audit log may grow, nothing else.
AUDITED_READS = {
    "console.household",
    "console.codes_letters",
    "console.codes_zip",
    "contributions.console_export",
    "reports.export",
    "survey.console_paper_sheets",
}

# These end the principal's session; it signs in again before each of them.
ENDS_SESSION = {"portal.sign_out", "console.sign_out_everywhere"}

ESTATE = "meiyuan"  # the estate the URLs name


def table_counts():
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


@pytest.fixture
def world(app):
    here = make_estate()
    other = make_estate("lanting", "兰亭小区")
    resident = household(here, "1", "1", "101")
    resident_other = household(other, "1", "1", "101")
    target = household(here, "1", "1", "201")  # the household the console URLs name
    spare = household(here, "1", "1", "301")  # whose code the staff reissue at sign-in
    own: dict[str, dict] = {}
    codes = {
        HOUSEHOLD: (here, resident, issue_code(here, resident)),
        HOUSEHOLD_OTHER: (other, resident_other, issue_code(other, resident_other)),
    }
    staff = {
        SECRETARY: make_staff(Role.SECRETARY, here),
        SECRETARY_OTHER: make_staff(Role.SECRETARY, other),
        PLANNER: make_staff(Role.PLANNER, here),
        CONTRACTOR: make_staff(Role.CONTRACTOR, here),
        ADMIN: make_staff(Role.ADMIN, None),
    }

    def sign_in(client, who):
        if who in codes:
            estate, h, code = codes[who]
            assert sign_in_household(client, estate, h, code).status_code == 302
        elif who in staff:
            assert sign_in_staff(client, *staff[who]).status_code == 302
            if who in (SECRETARY, ADMIN):
                # Issued codes are held for the sign-in that issued them alone: issue one.
                issued = client.post(f"/console/{here.code}/households/{spare.id}/code")
                own[who]["batch_id"] = int(issued.headers["Location"].rsplit("/", 1)[1])

    survey = make_survey(here)
    closed = make_survey(here)  # its public notice exists only once it has closed
    close_survey(closed)
    project = make_elevator_project(here)
    photo = reencode(phone_photo(400, 300, 1))
    report = report_operations.submit_report(
        here,
        Category.LEAK,
        # In the stairwell: a photo of the inside of a home is for fewer principals (reporter
        # and staff who handle reports; tests/test_reporter_privacy.py).
        Location(building=resident.unit.building, unit=resident.unit),
        "漏水",
        [photo],
        reporter=resident,
    )
    receipt = survey_operations.submit_ballot(
        survey, resident, {i.id: Choice.SUPPORT for i in survey.items}
    )
    users = {
        who: db.session.scalar(select(StaffUser).where(StaffUser.username == username))
        for who, (username, _password) in staff.items()
    }
    # A paper ballot whose signed sheet is the same picture: its evidence has the photo's key.
    survey_operations.submit_ballot(
        survey,
        household(here, "2", "1", "101"),
        {i.id: Choice.OPPOSE for i in survey.items},
        staff_user=users[SECRETARY],
        paper_reason="上门收票",
        evidence=photo,
    )
    # Two keys: the walk revokes one and files an Open311 request with the other.
    report_operations.create_open311_key(here, "旧系统", staff_user=users[PLANNER])
    key_id = db.session.scalar(select(Open311Key.id).where(Open311Key.estate_id == here.id))
    open311_key = report_operations.create_open311_key(here, "工单系统", staff_user=users[PLANNER])
    # Objects that belong to one principal (a token, a held upload): each gets its own. Those
    # without one are refused before the id is looked up, so they are given the secretary's.
    for who, user in users.items():
        own.setdefault(who, {})["token_id"] = operations.create_api_token(user, who)[1].id
        if who in (SECRETARY, ADMIN):
            upload = register_csv(SMALL_REGISTER)
            own[who]["pending_id"] = operations.hold_upload(here, user, "r.csv", upload).id
    correction = operations.request_correction(target, "面积应为60.50平方米")
    posters_job = Job(
        kind="posters",
        estate_id=here.id,
        params={"estate_ids": [here.id]},
        status=JobStatus.DONE,
        result=b"%PDF-1.7",
        result_name="meiyuan-posters.pdf",
        result_type="application/pdf",
    )
    db.session.add(posters_job)
    # A renovation project with a scope item and a progress note carrying the same picture.
    renovation = renovation_operations.create_project(
        here, "综合改造", 2026, staff_user=users[PLANNER]
    )
    scope_item = renovation_operations.add_scope_item(
        renovation, "屋面防水", staff_user=users[PLANNER]
    )
    renovation_operations.add_note(renovation, "开工", [photo], staff_user=users[PLANNER])
    db.session.commit()
    values = {
        "job_id": posters_job.id,
        "estate_code": here.code,
        "building": "1",
        "unit": "1",
        "household_id": target.id,
        "survey_id": survey.id,
        "item_id": survey.items[0].id,
        "receipt": receipt,
        "campaign_id": project.campaign_id,
        "project_id": project.id,
        "report_id": report.id,
        "key": photo.key,
        "key_id": key_id,
        "code": "leak",
        "request_id": report.id,
        "correction_id": correction.id,
        "renovation_id": renovation.id,
        "scope_item_id": scope_item.id,
    }

    # What a real client sends besides the URL: Open311 names the estate in the query string
    # and files with the estate's key, a withdrawal names the household.
    jurisdiction = f"jurisdiction_id={here.code}"
    query = {endpoint: jurisdiction for endpoint in EXPECTED if endpoint.startswith("open311.")}
    query["open311.discovery"] = ""
    query["contributions.withdraw"] = f"household={resident.id}"
    forms = {
        "privacy.correction_handled": {"note": "已按房产证更正"},
        "privacy.organiser": {"organiser": "美苑社区居委会", "contact": "010-66668888"},
        "open311.requests_create": {
            "api_key": open311_key,
            "service_code": "leak",
            "address_string": "3号楼地下车库",
            "description": "车库顶板渗水",
        },
    }
    arguments = {
        "survey.notice": {"survey_id": closed.id},
        "survey.notice_print": {"survey_id": closed.id},
    }

    def request_for(rule, who):
        """The URL (with its query string) and the form data for `who` on that route."""
        url = rule.build(
            {
                **values,
                **own[SECRETARY],
                **own.get(who, {}),
                **arguments.get(rule.endpoint, {}),
                "fmt": FORMATS.get(rule.endpoint),
            },
            append_unknown=False,
        )[1]
        if query.get(rule.endpoint):
            url += "?" + query[rule.endpoint]
        return url, forms.get(rule.endpoint)

    return sign_in, request_for


# The format each route with a `.<fmt>` suffix serves (others 404 by design).
FORMATS = {
    "portal.estate_qr": "png",
    "portal.unit_qr": "png",
    "survey.console_export": "csv",
    "survey.console_export_job": "csv",
    "contributions.console_export": "csv",
    "contributions.console_export_job": "csv",
    "reports.export": "csv",
    "reports.export_job": "csv",
    "open311.discovery": "json",
    "open311.services": "json",
    "open311.service_definition": "json",
    "open311.requests_list": "json",
    "open311.requests_create": "json",
    "open311.request_detail": "json",
    "privacy.my_data_download": "json",
}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_an_expectation(app):
    endpoints = {rule.endpoint for rule, _ in routes(app)}
    assert endpoints == set(EXPECTED), "add new routes to EXPECTED"


def test_every_route_for_every_principal(app, world):
    """A principal the table allows must get the page itself: not a refusal, and not a 404 or
    a 400 for want of a real object (every id in the URLs names an existing one). Only a POST
    sent without its form's fields may answer 400/422: the view ran and checked the form."""
    sign_in, request_for = world
    clients = {}
    for who in sorted(EVERYONE):
        clients[who] = app.test_client()
        sign_in(clients[who], who)
    ordered = sorted(routes(app), key=lambda rm: (rm[0].endpoint in ENDS_SESSION, rm[0].rule))
    failures = []
    for rule, method in ordered:
        for who, client in clients.items():
            url, data = request_for(rule, who)
            if rule.endpoint in ENDS_SESSION:
                sign_in(client, who)
            before = table_counts() if method == "GET" else None
            response = client.post(url, data=data) if method == "POST" else client.get(url)
            status, location = response.status_code, response.headers.get("Location", "")
            # An anonymous visitor is sent to sign in: staff to the staff sign-in (which
            # remembers where to return), households to their estate's page or the start page.
            households_only = EXPECTED[rule.endpoint] <= {HOUSEHOLD, HOUSEHOLD_OTHER}
            denied_anonymously = status == 302 and (
                "/console/sign-in?next=" in location
                or (households_only and location in ("/", f"/e/{ESTATE}"))
            )
            denied = status in (401, 403) or denied_anonymously
            served = status < 400 or (method == "POST" and status in (400, 422))
            allowed = who in EXPECTED[rule.endpoint]
            if status >= 500:
                failures.append(f"{method} {url} as {who}: {status}")
            elif allowed and denied:
                failures.append(f"{method} {url} as {who}: denied ({status} {location})")
            elif allowed and not served:
                failures.append(f"{method} {url} as {who}: not served ({status})")
            elif not allowed and not denied:
                failures.append(f"{method} {url} as {who}: allowed ({status})")
            elif not allowed and who != ANONYMOUS and status not in (401, 403):
                failures.append(f"{method} {url} as {who}: expected 403, got {status}")
            after = table_counts() if method == "GET" else None
            if rule.endpoint in AUDITED_READS and after is not None:
                before.pop("audit_entry"), after.pop("audit_entry")
            if before is not None and after != before:
                failures.append(f"GET {url} as {who} changed the database")
    assert not failures, "\n".join(failures)


def test_every_post_without_csrf_token_is_refused(app, world):
    sign_in, request_for = world
    admin = app.test_client()
    sign_in(admin, ADMIN)
    for rule, method in routes(app):
        # Open311 filing is for machines: authorised by an estate's API key, not a cookie.
        if method != "POST" or rule.endpoint == "open311.requests_create":
            continue
        url, _data = request_for(rule, ADMIN)
        before = table_counts()
        response = admin.post(url, data={}, csrf=False)
        assert response.status_code == 400, url
        assert "刷新页面" in response.get_data(as_text=True)
        assert table_counts() == before
