"""The machine interfaces, fuzzed (issue 7: bad input and security).

- The results API (/api/v1) against its own OpenAPI document, with Schemathesis through WSGI:
  every operation, valid and schema-violating requests, as each kind of caller (a token of a
  secretary, of another estate's secretary, of an administrator, a planner's session cookie, a
  revoked token, made-up tokens, nobody). Schemathesis' checks: no 5xx, only documented status
  codes and content types, bodies valid against the response schemas, schema-violating requests
  refused, authentication not ignored. The API only reads: the database must not change.
- Open311 GeoReport v2 (/open311/v2, no OpenAPI document of ours): plain Hypothesis. Reads with
  random formats, jurisdictions, ids and query parameters; filing with random form fields, with
  and without a valid API key. No 5xx, every answer parseable in the format asked for, errors in
  the GeoReport error format, and nothing written unless a request was filed.
"""

import json
from datetime import datetime
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st
from sqlalchemy import select

from contributions import operations as contribution_operations
from contributions.models import Channel
from resident_portal import operations
from resident_portal.extensions import db
from resident_portal.models import Role, StaffUser
from resident_portal.reports import operations as report_operations
from resident_portal.reports.models import Open311Key, Report, Status
from survey import operations as survey_operations
from survey.tally import Choice

from .conftest import (
    close_survey,
    household,
    make_campaign,
    make_elevator_project,
    make_estate,
    make_report,
    make_staff,
    make_survey,
    sign_in_staff,
)
from .fuzzing import (
    BIG_REPR_IS_FINE,
    FUZZ_SETTINGS,
    NASTY_TEXT,
    changed_tables,
    contains_nul,
    database_state,
)

pytestmark = BIG_REPR_IS_FINE
try:
    import schemathesis
except ImportError:  # only the OpenAPI test needs it; the Open311 fuzzers are plain Hypothesis
    schemathesis = None


def _user(username: str) -> StaffUser:
    return db.session.scalar(select(StaffUser).where(StaffUser.username == username))


@pytest.fixture
def api(app):
    """Two estates with surveys (open with ballots, closed, another estate's), report(s), staff,
    API tokens and Open311 keys."""
    here = make_estate()
    other = make_estate("lanting", "兰亭小区")
    survey = make_survey(here)
    for (building, unit, room), choice in [
        (("1", "1", "101"), Choice.SUPPORT),
        (("1", "1", "201"), Choice.OPPOSE),
        (("2", "1", "101"), Choice.ABSTAIN),
    ]:
        voter = household(here, building, unit, room)
        survey_operations.submit_ballot(
            survey, voter, {item.id: choice for item in survey.items}, set(), ""
        )
    close_survey(make_survey(here, kind="consultation", max_priorities=2))
    make_survey(other)
    # A campaign with a pledge and an elevator project, for /campaigns and /elevators.
    campaign = make_campaign(here)
    contribution_operations.pledge(
        campaign, household(here, "1", "1", "101"), 20_000, Channel.DIRECT
    )
    make_elevator_project(here)
    resident = household(here, "1", "1", "101")
    make_report(here, resident)
    resolved = make_report(here, resident, category="noise", description="夜间施工噪音")
    planner_name, planner_password = make_staff(Role.PLANNER, here)
    report_operations.transition(
        resolved, Status.RESOLVED, "已要求22点后停工", staff_user=_user(planner_name)
    )

    tokens = {}
    for who, role, estate in [
        ("secretary", Role.SECRETARY, here),
        ("secretary of another estate", Role.SECRETARY, other),
        ("administrator", Role.ADMIN, None),
    ]:
        tokens[who], _record = operations.create_api_token(_user(make_staff(role, estate)[0]), who)
    revoked, record = operations.create_api_token(_user(planner_name), "old")
    operations.revoke_api_token(record, _user(planner_name))
    staff_client = app.test_client()
    sign_in_staff(staff_client, planner_name, planner_password)
    session_cookie = staff_client.get_cookie("rp_session", domain="localhost").value

    key = report_operations.create_open311_key(here, "12345", staff_user=_user(planner_name))
    other_key = report_operations.create_open311_key(other, "12345", staff_user=_user(planner_name))
    revoked_key = report_operations.create_open311_key(here, "old", staff_user=_user(planner_name))
    [revoked_record] = [k for k in db.session.scalars(select(Open311Key)) if k.name == "old"]
    report_operations.revoke_open311_key(revoked_record, staff_user=_user(planner_name))
    return {
        "tokens": tokens,
        "revoked token": revoked,
        "session": session_cookie,
        "keys": {"valid": key, "another estate's": other_key, "revoked": revoked_key},
    }


# --- the results API, with Schemathesis ------------------------------------------------------

CALLERS = [
    "secretary",
    "secretary of another estate",
    "administrator",
    "planner's session",
    "revoked token",
    "anonymous",  # whatever Authorization header Schemathesis makes up, or none
]


def _credentials(api, caller) -> tuple[dict, dict]:
    """(headers, cookies) of the caller."""
    if caller in api["tokens"]:
        return {"Authorization": f"Bearer {api['tokens'][caller]}"}, {}
    if caller == "revoked token":
        return {"Authorization": f"Bearer {api['revoked token']}"}, {}
    if caller == "planner's session":
        return {}, {"rp_session": api["session"]}
    return {}, {}


@pytest.mark.parametrize("caller", CALLERS)
def test_results_api_conforms_to_its_openapi_document(app, api, caller):
    if schemathesis is None:
        pytest.skip("schemathesis is not installed (pip install 'schemathesis>=4.32')")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers, cookies = _credentials(api, caller)
    # With a valid session cookie, a made-up Bearer header does not matter: either credential
    # is enough (see the document's "security"), so "ignored authentication" is no finding.
    excluded = [schemathesis.checks.ignored_auth] if cookies else []
    operations_ = [result.ok() for result in schema.get_all_operations()]
    assert {o.label for o in operations_} == {
        "GET /surveys",
        "GET /surveys/{survey_id}/results",
        "GET /campaigns",
        "GET /elevators",
        "GET /reports/summary",
        "GET /renovation/projects",
        "GET /renovation/projects/{renovation_id}",
        "GET /renovation/districts",
    }, "the document lost an operation"
    for operation in operations_:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case):
                # NUL is refused nowhere yet: see test_nul_characters_are_refused_everywhere.
                assume(not contains_nul((case.path_parameters, case.query, case.headers)))
                before = database_state()
                response = case.call(headers=headers, cookies=cookies)
                case.validate_response(response, headers=headers, excluded_checks=excluded)
                assert not changed_tables(before), "a read-only API request wrote"

            fuzz()


def test_api_answers_about_the_right_estates(app, api):
    """The schema cannot say whose surveys come back: a token of another estate sees none of
    this estate's, and an unknown ?estate= is a 404, not an empty list."""
    client = app.test_client()
    for caller, allowed in [
        ("secretary", {"meiyuan"}),
        ("secretary of another estate", {"lanting"}),
        ("administrator", {"meiyuan", "lanting"}),
    ]:
        headers, _cookies = _credentials(api, caller)
        listed = client.get("/api/v1/surveys", headers=headers).get_json()["surveys"]
        assert {s["scope"]["estate"] for s in listed} == allowed, caller
        assert client.get("/api/v1/surveys?estate=nowhere", headers=headers).status_code == 404


# --- Open311 GeoReport v2, with Hypothesis ---------------------------------------------------

ROOT = "/open311/v2"
FORMATS = st.sampled_from(["json"] * 4 + ["xml"] * 4 + ["html", "JSON", "csv", "", "json.xml"])
# Mostly the estate with reports, to get past the jurisdiction check to the rest.
JURISDICTIONS = st.sampled_from(
    ["meiyuan"] * 6 + ["lanting", "MEIYUAN", " meiyuan ", "nowhere", ""]
)
SERVICE_CODES = st.sampled_from(["leak", "cracks", "noise", "other", "unicorns", "leak,noise", ""])
W3C_OFFSETS = st.sampled_from(["", "Z", "+08:00", "-12:00", "+14:00", "+23:59"])
# Dates anywhere in the calendar: 0001-01-01 and 9999-12-31 are where arithmetic overflows.
W3C = st.one_of(
    st.tuples(
        st.one_of(st.sampled_from([datetime.min, datetime.max]), st.datetimes()), W3C_OFFSETS
    ).map(lambda t: t[0].isoformat() + t[1]),
    NASTY_TEXT,
)
IDS = st.one_of(
    st.integers(-5, 50).map(str),
    st.sampled_from(["2147483647", "2147483648", str(2**63), "9" * 30, "1,2,3", "1,x", ",,", "٣"]),
    st.lists(st.integers(0, 2**40), max_size=5).map(lambda ids: ",".join(map(str, ids))),
    NASTY_TEXT,
)
STATUSES = st.sampled_from(["open", "closed", "open,closed", "OPEN", "pending", ""])


def _values(strategy):
    return st.one_of(strategy, NASTY_TEXT)


READ_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "jurisdiction_id": _values(JURISDICTIONS),
        "service_request_id": IDS,
        "service_code": _values(SERVICE_CODES),
        "status": _values(STATUSES),
        "start_date": W3C,
        "end_date": W3C,
        "api_key": NASTY_TEXT,
        "page": IDS,
    },
)
READ_PATHS = {
    "discovery": st.just("/discovery"),
    "services": st.just("/services"),
    "service definition": st.tuples(st.just("/services/"), _values(SERVICE_CODES)).map("".join),
    "requests": st.just("/requests"),
    "request": st.tuples(st.just("/requests/"), IDS).map("".join),
}


def _beyond_id_columns(path: str) -> bool:
    """/requests/<id> with an id the <int> converter passes but the database cannot hold: see
    test_ids_beyond_the_id_columns_are_not_found (a 500 until the converter is bounded)."""
    last = path.rsplit("/", 1)[-1]
    return last.isascii() and last.isdigit() and (len(last) > 10 or int(last) > 2**31 - 1)


def check_open311_answer(response, fmt: str) -> None:
    """No 5xx; JSON or XML as asked, parseable; errors in GeoReport's error format."""
    fmt = fmt.rsplit(".", 1)[-1]  # "leak.json.xml" asks for XML
    status = response.status_code
    assert status < 500, status
    if status == 404 and fmt not in ("json", "xml"):
        return  # no such format: the route itself is not found
    body = response.get_data()
    if fmt == "json" and response.mimetype == "application/json":
        data = json.loads(body)
        if status >= 400:
            assert isinstance(data, list) and {"code", "description"} <= set(data[0]), data
    elif fmt == "xml" and response.mimetype == "text/xml":
        root = ElementTree.fromstring(body)  # noqa: S314 - our own answer, parsed in a test
        if status >= 400:
            assert root.tag == "errors" and root.find("error/code") is not None
    elif 300 <= status < 400:
        # Werkzeug's own redirects (merged slashes): to the same site only.
        assert urlsplit(response.headers["Location"]).netloc in ("", "localhost")
    else:
        # Only the app's own 404 page (a path that is no route, e.g. a non-numeric id).
        assert status == 404, (status, response.mimetype)


@pytest.mark.parametrize("resource", READ_PATHS)
def test_open311_reads_never_fail(app, api, resource):
    client = app.test_client()

    @FUZZ_SETTINGS
    @given(path=READ_PATHS[resource], fmt=FORMATS, params=READ_PARAMS)
    def fuzz(path, fmt, params):
        # NUL is refused nowhere yet: see test_nul_characters_are_refused_everywhere.
        assume(not contains_nul((path, params)) and not _beyond_id_columns(path))
        before = database_state()
        # as a client sends it: "?" or "#" in a code or id is percent-encoded in the path
        response = client.get(quote(f"{ROOT}{path}.{fmt}"), query_string=params)
        check_open311_answer(response, fmt)
        assert not changed_tables(before), "a GET wrote"

    fuzz()


# The fields that decide whether a request is filed: (what a city system sends, anything).
FILING_CORE = {
    "jurisdiction_id": (st.just("meiyuan"), _values(JURISDICTIONS)),
    "service_code": (st.sampled_from(["leak", "cracks", "site_safety"]), _values(SERVICE_CODES)),
    "description": (st.sampled_from(["脚手架没有防护网", "楼顶漏水"]), NASTY_TEXT),
    "address_string": (st.sampled_from(["3栋南侧", "1栋1单元"]), NASTY_TEXT),
}
# GeoReport's other fields: the app ignores them, and must not trip over them.
FILING_EXTRA = st.fixed_dictionaries(
    {},
    optional={
        "lat": _values(st.sampled_from(["31.23", "-91", "NaN"])),
        "long": _values(st.sampled_from(["121.47", "181", "1e309"])),
        "address_id": IDS,
        "email": _values(st.just("resident@example.cn")),
        "device_id": NASTY_TEXT,
        "account_id": IDS,
        "first_name": NASTY_TEXT,
        "phone": _values(st.just("13800001590")),
        "media_url": _values(st.just("https://evil.example/x.jpg")),
        "attribute[WHISPER]": NASTY_TEXT,
    },
)
ABSENT = None


def test_open311_filing_with_and_without_a_key(app, api):
    client = app.test_client()
    valid_key = api["keys"]["valid"]
    core = {
        **FILING_CORE,
        "api_key": (
            st.just(valid_key),
            st.one_of(
                st.sampled_from([api["keys"]["revoked"], api["keys"]["another estate's"]]),
                st.just(valid_key + "x"),
                st.just(valid_key.upper()),
                NASTY_TEXT,
            ),
        ),
    }

    @FUZZ_SETTINGS
    @given(
        data=st.data(),
        fmt=FORMATS,
        extra=FILING_EXTRA,
        query=st.dictionaries(st.sampled_from(["jurisdiction_id", "api_key"]), NASTY_TEXT),
    )
    def fuzz(data, fmt, extra, query):
        # As a city system sends it; or with one field wrong or missing; or anything at all.
        mode = data.draw(st.sampled_from(["valid", "one wrong", "one wrong", "nasty"]))
        wrong = data.draw(st.sampled_from(sorted(core)))
        fields = dict(extra)
        for name, (good, bad) in core.items():
            if mode == "valid" or (mode == "one wrong" and name != wrong):
                value = data.draw(good)
            else:
                value = data.draw(st.one_of(bad, st.just(ABSENT)))
            if value is not ABSENT:
                fields[name] = value
        # NUL is refused nowhere yet: see test_nul_characters_are_refused_everywhere.
        assume(not contains_nul((fields, query)))
        before = database_state()
        reports_before = before[Report.__tablename__][0]
        response = client.post(
            f"{ROOT}/requests.{fmt}", data=fields, query_string=query, csrf=False
        )
        check_open311_answer(response, fmt)
        event(f"{response.status_code}")
        if response.status_code != 200:
            assert not changed_tables(before), f"{response.status_code} but the database changed"
            return
        # Filed: exactly one new report, in the key's estate, from Open311, findable by its id.
        assert fields["api_key"] == valid_key
        assert database_state()[Report.__tablename__][0] == reports_before + 1
        if fmt == "json":
            new_id = response.get_json()[0]["service_request_id"]
        else:
            root = ElementTree.fromstring(response.get_data())  # noqa: S314 - our own answer
            new_id = root.find(".//service_request_id").text
        report = db.session.get(Report, int(new_id))
        assert report.source == "open311" and report.estate.code == "meiyuan"
        # What was filed reads back, in both formats (XML cannot carry every character).
        for read_fmt in ("json", "xml"):
            read = client.get(
                f"{ROOT}/requests/{new_id}.{read_fmt}", query_string={"jurisdiction_id": "meiyuan"}
            )
            assert read.status_code == 200
            check_open311_answer(read, read_fmt)

    fuzz()


@pytest.mark.parametrize(
    "params, status",
    [
        ({"start_date": "0001-01-01T00:00:00+08:00"}, 400),  # before year 1 in UTC
        ({"end_date": "0001-01-05T00:00:00Z"}, 400),  # its 90-day window starts before year 1
        ({"start_date": "9999-12-31T23:59:59-12:00"}, 400),  # after year 9999 in UTC
        ({"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00"}, 400),
        ({"service_request_id": f"²,{2**31},{2**63},{'9' * 30}"}, 200),  # no such ids
    ],
)
def test_open311_query_edges_found_by_fuzzing(app, api, params, status):
    """Regressions: each of these was a 500 (OverflowError, PostgreSQL's "integer out of
    range", ValueError from int("²")) before the fixes in reports/open311.py."""
    response = app.test_client().get(
        f"{ROOT}/requests.json", query_string={"jurisdiction_id": "meiyuan", **params}
    )
    assert response.status_code == status
    if status == 200:
        assert response.get_json() == []
    else:
        assert response.get_json()[0]["code"] == 400
