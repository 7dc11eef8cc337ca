"""Every form, fuzzed (issue 7: bad input and security).

The endpoints come from the app's url_map: every POST endpoint is a test case, and the case fails
until TARGETS says who may use it and which page holds its form. The field names come from that
real page, as a browser sees it: the <form> whose action posts to the endpoint is parsed from the
HTML (inputs, selects, textareas, named buttons, their options and current values).

Hypothesis then posts values that mix valid-looking input with empty, huge, CJK and control
characters, numbers such as "-1", "1e309", "９９" or "0.001", spreadsheet formulas, markup, paths
and random bytes for files, always with a valid CSRF token (taken from a page, as the conftest
Client does). Each field is valid, or one field is wrong and the others valid (to get past the
validators in front of it), or any mix. For every example:

- never a 5xx (in tests the app re-raises, so a crash fails with its own traceback);
- when the answer is a refusal (4xx, or the form shown again with errors, or an error flashed
  before a redirect) the database is exactly as before: every row of every table is compared;
- a redirect never leaves the site, and markup typed into a field never comes back unescaped.

The app fixture gives each test a fresh database; the examples of one test share it, so the
database is compared before and after each example. Run long with e.g.
`FUZZ_EXAMPLES=300 ./dev test tests/test_fuzz_forms.py` (see tests/fuzzing.py).

Two kinds of bad input are kept out of the fuzzers until the app factory refuses them, and are
tracked by strict xfail tests at the end: NUL characters, and ids beyond the id columns in URLs.
"""

import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException
from werkzeug.test import encode_multipart

from resident_portal import create_app, ratelimit
from resident_portal import operations as portal_operations
from resident_portal.extensions import db
from resident_portal.models import Role, StaffUser
from resident_portal.reports.models import Status

from .conftest import (
    SMALL_REGISTER,
    household,
    issue_code,
    make_campaign,
    make_elevator_project,
    make_estate,
    make_report,
    make_staff,
    make_survey,
    register_csv,
    sign_in_household,
    sign_in_staff,
)
from .fuzzing import (
    BIG_REPR_IS_FINE,
    FUZZ_SETTINGS,
    MARKUP,
    NASTY_TEXT,
    changed_tables,
    database_state,
)

pytestmark = BIG_REPR_IS_FINE


def _post_endpoints() -> list[str]:
    """Every endpoint that accepts POST, from an app that never touches its database."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return sorted({r.endpoint for r in app.url_map.iter_rules() if "POST" in (r.methods or ())})


POST_ENDPOINTS = _post_endpoints()

# --- reading forms as a browser does --------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # text, hidden, password, number, date, datetime-local, file, select, radio…
    options: list[str] = field(default_factory=list)
    multiple: bool = False
    value: str = ""
    decimal: bool = False  # inputmode="decimal": amounts, coefficients, percentages


@dataclass
class Form:
    action: str
    multipart: bool
    fields: dict[str, Field] = field(default_factory=dict)


class FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: Field | None = None
        self.textarea: Field | None = None

    def add(self, name, kind, **kwargs) -> Field:
        existing = self.form.fields.get(name)
        if existing is None:
            existing = self.form.fields[name] = Field(name, kind, **kwargs)
        return existing

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self.form = Form(
                    a.get("action") or self.page_url,
                    a.get("enctype", "") == "multipart/form-data",
                )
                self.forms.append(self.form)
            return
        if tag == "option" and self.select is not None:
            self.select.options.append(a.get("value", ""))
            return
        if self.form is None or not a.get("name") or a["name"] == "csrf_token":
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("radio", "checkbox"):
                f = self.add(name, kind, multiple=kind == "checkbox")
                f.options.append(a.get("value", "on"))
            elif kind in ("submit", "button", "image", "reset"):
                return
            else:
                self.add(
                    name,
                    kind,
                    multiple="multiple" in a,
                    value=a.get("value", ""),
                    decimal=a.get("inputmode") == "decimal",
                )
        elif tag == "button":
            if a.get("type", "submit") == "submit":
                self.add(name, "button").options.append(a.get("value", ""))
        elif tag == "select":
            self.select = self.add(name, "select", multiple="multiple" in a)
        elif tag == "textarea":
            self.textarea = self.add(name, "textarea")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def forms_posting_to(app, html: str, page_url: str, endpoint: str) -> list[Form]:
    parser = FormParser(page_url)
    parser.feed(html)
    adapter = app.url_map.bind("localhost")
    found = []
    for form in parser.forms:
        path = urlsplit(form.action).path
        try:
            matched, _args = adapter.match(path, method="POST")
        except HTTPException:  # a form posting elsewhere (or nowhere) is not ours
            continue
        if matched == endpoint:
            found.append(form)
    return found


# --- the world the forms are used in ---------------------------------------------------------


@dataclass
class World:
    app: object
    estate: object
    resident: object  # 1-1-101, the household whose phone is used
    neighbour: object  # 1-1-201
    code: str
    staff: dict[str, tuple[str, str]]
    survey: object  # a consultation, open, with priority picks and a suggestion
    draft: object  # a survey that has not opened: its items are editable
    campaign: object
    project: object
    neighbours_report: object
    clients: dict = field(default_factory=dict)

    def client(self, role: str):
        if role not in self.clients:
            self.clients[role] = self.app.test_client()
            self.sign_in(role)
        return self.clients[role]

    def sign_in(self, role: str) -> None:
        client = self.clients[role]
        if role == "household":
            response = sign_in_household(client, self.estate, self.resident, self.code)
            assert response.status_code == 302
        elif role in self.staff:
            assert sign_in_staff(client, *self.staff[role]).status_code == 302

    def staff_user(self, role: str) -> StaffUser:
        username = self.staff[role][0]
        return db.session.scalar(select(StaffUser).where(StaffUser.username == username))

    def page(self, role: str, url: str) -> tuple[str, str]:
        response = self.client(role).get(url)
        assert response.status_code == 200, (url, response.status_code)
        return url, response.get_data(as_text=True)


@pytest.fixture
def world(app):

    estate = make_estate()
    resident = household(estate, "1", "1", "101")
    neighbour = household(estate, "1", "1", "201")
    code = issue_code(estate, resident)
    staff = {
        "secretary": make_staff(Role.SECRETARY, estate),
        "planner": make_staff(Role.PLANNER, estate),
        "admin": make_staff(Role.ADMIN, None),
    }
    survey = make_survey(estate, kind="consultation", max_priorities=2)
    draft = make_survey(estate, kind="decision", opened=False)
    campaign = make_campaign(estate)
    project = make_elevator_project(estate)
    neighbours_report = make_report(estate, neighbour, description="二楼楼道灯不亮")
    return World(
        app=app,
        estate=estate,
        resident=resident,
        neighbour=neighbour,
        code=code,
        staff=staff,
        survey=survey,
        draft=draft,
        campaign=campaign,
        project=project,
        neighbours_report=neighbours_report,
    )


# --- who uses each form, and on which page it is -------------------------------------------

# page(world, draw) -> (url, html): the page that holds the form, after setting up whatever the
# form acts on (a fresh report to confirm, a token to revoke…) with the operations the app uses.
Page = Callable[[World, Callable], tuple[str, str]]


@dataclass
class Target:
    role: str  # anonymous, household, secretary, planner, admin
    page: Page


def _get(role: str, url: Callable[[World], str]) -> Target:
    return Target(role, lambda w, draw: w.page(role, url(w)))


def _signed_in_again(role: str, url: str) -> Target:
    def page(w, draw):
        w.client(role)
        w.sign_in(role)  # the previous example may have signed this client out
        return w.page(role, url)

    return Target(role, page)


def _fresh_visitor(w: World, draw) -> tuple[str, str]:
    # The header offers the language not in use: start every example from the same cookies.
    w.clients["anonymous"] = w.app.test_client()
    return w.page("anonymous", "/")


def _resolved_own_report(w: World, draw) -> tuple[str, str]:
    from resident_portal.reports import operations as report_operations

    report = make_report(w.estate, w.resident, description="阳台漏水")
    report_operations.transition(
        report, Status.RESOLVED, "已修好", staff_user=w.staff_user("planner")
    )
    return w.page("household", f"/e/{w.estate.code}/reports/{report.id}")


def _fresh_report_to_handle(w: World, draw) -> tuple[str, str]:
    report = make_report(w.estate, w.neighbour, category="cracks", description="外墙裂缝")
    return w.page("planner", f"/console/{w.estate.code}/reports/{report.id}")


def _token_to_revoke(w: World, draw) -> tuple[str, str]:
    portal_operations.create_api_token(w.staff_user("secretary"), "看板")
    return w.page("secretary", "/console/tokens")


def _second_step(w: World, draw) -> tuple[str, str]:
    """The second-factor page of a browser that has just given the secretary's password."""
    # Wrong codes count in the sign-in limits: fresh counters, or the password step of a later
    # example would be refused (429) and the page never reached.
    ratelimit.init_app(w.app)
    client = w.clients["anonymous"] = w.app.test_client()
    username, password = w.staff["secretary"]
    client.post("/console/sign-in", data={"username": username, "password": password})
    return w.page("anonymous", "/console/sign-in/second-factor")


def _key_to_revoke(w: World, draw) -> tuple[str, str]:
    from resident_portal.reports import operations as report_operations

    report_operations.create_open311_key(w.estate, "12345", staff_user=w.staff_user("planner"))
    return w.page("planner", f"/console/{w.estate.code}/open311-keys")


def _upload_to_confirm(w: World, draw) -> tuple[str, str]:
    rows = [list(r) for r in SMALL_REGISTER]
    rows[0][4] = draw(st.sampled_from(["80.50", "81.00"]))
    url = f"/console/{w.estate.code}/registry"
    response = w.client("secretary").post(
        url,
        data={"register": (io.BytesIO(register_csv(rows)), "r.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    return url, response.get_data(as_text=True)


def _item_page(w: World, draw) -> tuple[str, str]:
    base = f"/console/{w.estate.code}/surveys/{w.draft.id}/items"
    which = draw(st.sampled_from(["new", str(w.draft.items[0].id)]))
    return w.page("planner", f"{base}/{which}")


def _paper_entry_list(w: World, draw) -> tuple[str, str]:
    """The manual entry list offers only owners who have not voted, so every accepted paper
    ballot shortens it: each example starts with none, and the same list to draw from."""
    from survey import counting
    from survey.models import Ballot, BallotSource

    for ballot in db.session.scalars(
        select(Ballot).where(Ballot.survey_id == w.survey.id, Ballot.source == BallotSource.PAPER)
    ):
        db.session.delete(ballot)
    db.session.flush()
    counting.rewrite(w.survey)
    db.session.commit()
    return w.page("secretary", f"/console/{w.estate.code}/surveys/{w.survey.id}/paper")


def _item_to_remove(w: World, draw) -> tuple[str, str]:
    from survey import operations as survey_operations
    from survey.definition import ItemDefinition
    from survey.models import ItemCategory

    survey_operations.save_item(
        w.draft, None, ItemDefinition(ItemCategory.BASIC, "楼道照明"), staff_user=None
    )
    return w.page("planner", f"/console/{w.estate.code}/surveys/{w.draft.id}")


def _pledge_to_withdraw(w: World, draw) -> tuple[str, str]:
    from contributions import operations as contribution_operations
    from contributions.models import Channel

    contribution_operations.pledge(w.campaign, w.resident, 10_000, Channel.DIRECT)
    # the withdrawal is sent from its confirmation screen (issue 13)
    return w.page("household", f"/campaigns/{w.campaign.id}/withdraw?household={w.resident.id}")


def _notice_to_acknowledge(w: World, draw) -> tuple[str, str]:
    from resident_portal.models import Household

    # The notice is on the home page until acknowledged: every example sees it afresh.
    db.session.get(Household, w.resident.id).privacy_acknowledged_at = None
    db.session.commit()
    return w.page("household", "/home")


def _correction_to_handle(w: World, draw) -> tuple[str, str]:
    portal_operations.request_correction(w.neighbour, "电话号码已更换")
    return w.page("secretary", f"/console/{w.estate.code}/corrections")


def _survey_to_cancel(w: World, draw) -> tuple[str, str]:
    """A fresh survey nobody has voted in, each example (a cancelled one takes no more)."""
    survey = make_survey(w.estate, opened=draw(st.booleans()))
    return w.page("planner", f"/console/{w.estate.code}/surveys/{survey.id}/cancel")


_renovations = itertools.count(1)


def _renovation(w: World, done: int = 0, scope: bool = False, signed: bool = False):
    """A fresh renovation project of the estate (the forms that move a project on need it in a
    given stage, every example): its first `done` stages completed on past days in order, its
    scope listed, the representatives' sign-off typed."""
    from resident_portal.renovation import operations as renovation_operations
    from resident_portal.renovation.models import STAGES, Stage

    planner = w.staff_user("planner")
    today = renovation_operations.today_in_china()
    project = renovation_operations.create_project(
        w.estate, f"综合改造{next(_renovations)}", today.year, "12345", staff_user=planner
    )
    for step, stage in enumerate(STAGES[:done]):
        renovation_operations.complete_stage(
            project, stage, today - timedelta(days=30 - step), staff_user=planner
        )
    if scope:
        renovation_operations.add_scope_item(project, "屋面防水", staff_user=planner)
    if signed:
        renovation_operations.record_signoff(
            project, "张三\n李四", today - timedelta(days=1), staff_user=planner
        )
    assert project.current_stage is not Stage.HANDOVER
    return project


def _renovation_page(role: str, **state) -> Target:
    def page(w, draw):
        project = _renovation(w, **state)
        return w.page(role, f"/console/{w.estate.code}/renovation/{project.id}")

    return Target(role, page)


def _not_voted(w: World) -> str:
    return f"/console/{w.estate.code}/surveys/{w.survey.id}/not-voted"


def _not_answered(w: World) -> str:
    return f"/console/{w.estate.code}/campaigns/{w.campaign.id}/not-answered"


TARGETS: dict[str, Target | None] = {
    # residents
    "portal.sign_in": _get("anonymous", lambda w: f"/e/{w.estate.code}/h/{w.resident.id}"),
    "portal.sign_out": _signed_in_again("household", "/home"),
    "portal.preferences": Target("anonymous", _fresh_visitor),
    "portal.sign_out_others": _get("household", lambda w: "/devices"),
    "survey.ballot": _get("household", lambda w: f"/surveys/{w.survey.id}"),
    "contributions.pledge": _get("household", lambda w: f"/campaigns/{w.campaign.id}"),
    "contributions.withdraw": Target("household", _pledge_to_withdraw),
    # step 2 of the report form: the kind and the place chosen, the rest of the form to send
    "reports.new": _get(
        "household", lambda w: f"/reports/new?category=leak&where=h:{w.resident.id}"
    ),
    "reports.support": _get(
        "household", lambda w: f"/e/{w.estate.code}/reports/{w.neighbours_report.id}"
    ),
    "reports.confirm": Target("household", _resolved_own_report),
    "reports.reopen": Target("household", _resolved_own_report),
    "privacy.acknowledge": Target("household", _notice_to_acknowledge),
    "privacy.request_correction": _get("household", lambda w: "/my-data"),
    # staff
    "console.sign_in": _get("anonymous", lambda w: "/console/sign-in"),
    "console.second_factor": Target("anonymous", _second_step),
    # The planner has no second factor: enrolment is offered from the account page.
    "console.enrol_second_factor": _get("planner", lambda w: "/console/two-step-sign-in"),
    "console.new_recovery_codes": _get("secretary", lambda w: "/console/account"),
    "console.sign_out_everywhere": _signed_in_again("secretary", "/console/"),
    "console.tokens": _get("secretary", lambda w: "/console/tokens"),
    "console.revoke_token": Target("secretary", _token_to_revoke),
    "console.reissue_code": _get(
        "secretary", lambda w: f"/console/{w.estate.code}/households/{w.neighbour.id}"
    ),
    "console.registry_import": _get("secretary", lambda w: f"/console/{w.estate.code}/registry"),
    "console.registry_confirm": Target("secretary", _upload_to_confirm),
    "console.issue_codes": _get("admin", lambda w: f"/console/{w.estate.code}/codes"),
    "console.reissue_all": _get(
        "secretary", lambda w: f"/console/{w.estate.code}/codes/reissue-all"
    ),
    "survey.console_new": _get("planner", lambda w: f"/console/{w.estate.code}/surveys/new"),
    "survey.console_item": Target("planner", _item_page),
    "survey.console_item_remove": Target("planner", _item_to_remove),
    "survey.console_paper": Target("secretary", _paper_entry_list),
    "survey.console_paper_household": _get(
        "secretary",
        lambda w: f"/console/{w.estate.code}/surveys/{w.survey.id}/paper/{w.neighbour.id}",
    ),
    "survey.console_extend": _get(
        "planner", lambda w: f"/console/{w.estate.code}/surveys/{w.survey.id}/extend"
    ),
    "survey.console_cancel": Target("planner", _survey_to_cancel),
    "survey.console_not_voted_contacts": _get("secretary", _not_voted),
    "survey.console_visit": _get("secretary", _not_voted),
    "contributions.console_not_answered_contacts": _get("secretary", _not_answered),
    "contributions.console_visit": _get("secretary", _not_answered),
    "survey.console_roll": _get(
        "secretary", lambda w: f"/console/{w.estate.code}/surveys/{w.survey.id}/roll"
    ),
    "contributions.console_new": _get(
        "planner", lambda w: f"/console/{w.estate.code}/campaigns/new"
    ),
    "contributions.console_pledge": _get(
        "secretary", lambda w: f"/console/{w.estate.code}/campaigns/{w.campaign.id}/pledge"
    ),
    "contributions.console_payment": _get(
        "secretary", lambda w: f"/console/{w.estate.code}/campaigns/{w.campaign.id}/payment"
    ),
    "contributions.elevator_new": _get(
        "planner", lambda w: f"/console/{w.estate.code}/elevators/new"
    ),
    "contributions.elevator_edit": _get(
        "admin", lambda w: f"/console/{w.estate.code}/elevators/{w.project.id}"
    ),
    "reports.change_status": Target("planner", _fresh_report_to_handle),
    "reports.hide": Target("planner", _fresh_report_to_handle),
    "reports.open311_keys": _get("planner", lambda w: f"/console/{w.estate.code}/open311-keys"),
    "reports.revoke_open311_key": Target("planner", _key_to_revoke),
    "privacy.correction_handled": Target("secretary", _correction_to_handle),
    "privacy.organiser": _get("secretary", lambda w: f"/console/{w.estate.code}/organiser"),
    # Background jobs: the buttons that start them carry only the CSRF token and a format.
    "console.posters_job": _get("secretary", lambda w: f"/console/{w.estate.code}/posters"),
    "console.monthly_job": _get("planner", lambda w: "/console/overview/monthly"),
    "survey.console_paper_sheets_job": _get(
        "secretary",
        lambda w: f"/console/{w.estate.code}/surveys/{w.survey.id}/paper/sheets",
    ),
    # Offered only for a batch of codes held by this sign-in, or for an export over
    # EXPORT_JOB_ROWS rows, or on a queued job's page: refusals and rights are tested in
    # tests/test_jobs.py and tests/test_export_jobs.py.
    "console.letters_job": None,
    "contributions.console_export_job": None,
    "survey.console_export_job": None,
    "reports.export_job": None,
    "jobs.cancel": None,
    # The renovation record: each form on a fresh project in the stage that offers it.
    "renovation.console_new": _get("planner", lambda w: f"/console/{w.estate.code}/renovation"),
    "renovation.console_details": _renovation_page("planner"),
    "renovation.console_parties": _renovation_page("planner"),
    "renovation.console_plan": _renovation_page("planner", done=2),
    "renovation.console_complete": _renovation_page("planner", done=5),
    "renovation.console_reopen": _renovation_page("planner", done=6),
    "renovation.console_budget": _renovation_page("planner"),
    "renovation.console_scope": _renovation_page("planner"),
    "renovation.console_scope_remove": _renovation_page("planner", scope=True),
    "renovation.console_note": _renovation_page("planner", done=6),
    "renovation.console_signoff": _renovation_page("secretary", done=7),
    "renovation.console_accept": _renovation_page("planner", done=7, signed=True),
    "renovation.console_satisfaction": _renovation_page("planner", done=7, scope=True),
    "renovation.console_import": _get("planner", lambda w: "/console/renovation/import"),
    "renovation.console_targets": _get("planner", lambda w: "/console/renovation/targets"),
    # Machines file Open311 requests with an API key, not a browser form: fuzzed with and
    # without a valid key in tests/test_fuzz_api.py.
    "open311.requests_create": None,
}

# --- values -----------------------------------------------------------------------------------

# What a person would type, by field name (anything else: short text, CJK or Latin).
PLAUSIBLE = {
    "title": ["屋面防水和楼道照明", "Roofs"],
    "title_en": ["Roofs and lighting", ""],
    "name": ["区级看板", "市12345平台"],
    "reason": ["书记上门收取纸质票", "电话认缴"],
    "note": ["", "现金", "已开收据"],
    "description": ["楼顶漏水，卧室天花板发霉", ""],
    "description_en": ["", "Leaking roof"],
    "common_area": ["", "3栋南侧"],
    "suggestion": ["", "先修屋顶"],
    "text": ["面积应为81.50平方米", ""],
    "organiser": ["美苑社区居委会", ""],
    "contact": ["010-66668888", ""],
    "receipt_number": ["", "NO.000123"],
    "purpose": ["粉刷、照明、扶手"],
    "username": [],  # the staff's own names are added
    "password": ["correct horse battery"],  # every staff member's, in these tests
    "next": ["/home", "/console/", ""],
    "code": ["ABCDEFGHJK", ""],
    "estimated_cost": ["", "120000", "99.50"],
}
DATES = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31))
# Year 1 to 9999, the ends often: 0001-01-01 00:00 Beijing time is before datetime.min in UTC.
ANY_DATES = st.one_of(st.sampled_from([datetime.min, datetime.max]), st.datetimes())


def _datetime_local(moment: datetime) -> str:
    return f"{moment:%Y}".zfill(4) + moment.strftime("-%m-%dT%H:%M")


def _date(moment: datetime) -> str:
    return f"{moment:%Y}".zfill(4) + moment.strftime("-%m-%d")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def _xlsx_register() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append("楼栋,单元,房号,楼层,建筑面积,业主编号,业主姓名,联系电话".split(","))
    for row in SMALL_REGISTER:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_projects() -> bytes:
    """The planner's spreadsheet: a project of the test estate, with dates and money."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        ["小区编号", "项目名称", "批次年度", "立项完成日期", "中央补助计划", "中央补助到位"]
    )
    sheet.append(["meiyuan", "综合改造", 2026, "2026-01-05", "1200000", "300000"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


JPEG = _jpeg()
GOOD_FILES = {
    "workbook": [(_xlsx_projects(), "projects.xlsx")],
    "photos": [(JPEG, "photo.jpg")],
    "photo": [(JPEG, "photo.jpg")],
    "register": [(register_csv(SMALL_REGISTER), "register.csv"), (_xlsx_register(), "r.xlsx")],
}
FILE_BYTES = st.one_of(
    st.binary(max_size=3000),
    st.sampled_from(
        [
            b"",
            b"PK\x03\x04",
            b"\xff\xd8\xff\xe0",
            b"\x89PNG\r\n\x1a\n",
            b"GIF89a",
            b"\xd0\xcf\x11\xe0",
            b"<svg onload=alert(1)>",
            b"%PDF-1.4",
            '楼栋,单元\n=HYPERLINK("x"),1\n'.encode("utf-16"),
        ]
    ).flatmap(lambda head: st.binary(max_size=500).map(lambda tail: head + tail)),
    st.sampled_from([JPEG[:200], JPEG[:-50], register_csv(SMALL_REGISTER)[:50]]),
)
FILE_NAMES = st.sampled_from(
    [
        "photo.jpg",
        "register.csv",
        "r.xlsx",
        "r.txt",
        "r.xls",
        "../../etc/passwd",
        "名单.csv",
        "",
        "a.exe",
        "x.csv.jpg",
        "a" * 300 + ".csv",
        "photo.JPG",
        "noextension",
    ]
)


def valid_value(f: Field, w: World):
    """Something the page offers or a person would type."""
    if f.kind == "file":
        good = GOOD_FILES.get(f.name, [(JPEG, "photo.jpg")])
        one = st.sampled_from(good)
        return st.lists(one, min_size=1, max_size=3) if f.multiple else one.map(lambda x: [x])
    if f.options:
        real = [o for o in f.options if o] or f.options
        if f.multiple:
            return st.lists(st.sampled_from(real), unique=True, max_size=len(real))
        return st.sampled_from(real)
    if f.kind == "datetime-local":
        return DATES.map(_datetime_local)
    if f.kind == "date":
        return DATES.map(_date)
    if f.kind == "number":
        return st.integers(0, 12).map(str)
    if f.decimal:
        amounts = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)
        return st.one_of(amounts.map(str), st.sampled_from(["0", "1200", "99.50", "1.5"]))
    plausible = list(PLAUSIBLE.get(f.name, []))
    if f.name == "code":
        plausible.append(w.code)
    if f.name == "typed_estate_code":
        plausible += [w.estate.code, w.estate.code.upper(), f" {w.estate.code} "]
    if f.name == "username":
        plausible += [u for u, _ in w.staff.values()]
    # What the page filled in. Always one entry, so that the choices keep their number when
    # an earlier example changed what the page shows (Hypothesis replays choices by index).
    plausible.append(f.value)
    typed = st.text(st.sampled_from("王小明漏水楼道abcXYZ0123 .-"), max_size=20)
    return st.one_of(st.sampled_from(plausible), typed) if plausible else typed


JUNK = st.one_of(st.sampled_from(["x", "-1", "1e309", "٣", ":", " ", "9" * 30, "0x1"]), NASTY_TEXT)


def _mutations(option: str):
    """Near misses of a value the page offers: "h:12" becomes "h:12x", "h:-1", "xh:12", "h:1"…"""
    head, colon, _tail = option.rpartition(":")
    return st.tuples(st.sampled_from(["after", "replace", "before", "cut"]), JUNK).map(
        lambda t: {
            "after": option + t[1],
            "replace": head + colon + t[1],
            "before": t[1] + option,
            "cut": option[:-1],
        }[t[0]]
    )


def nasty_value(f: Field):
    """Anything at all, shaped like the field (a list where several values may be posted)."""
    if f.kind == "file":
        one = st.tuples(FILE_BYTES, FILE_NAMES)
        return st.lists(one, max_size=4 if f.multiple else 1)
    if f.options:
        one = st.one_of(st.sampled_from(f.options).flatmap(_mutations), NASTY_TEXT)
        return st.one_of(one, st.lists(one, min_size=2, max_size=4))
    by_kind = {
        "datetime-local": ANY_DATES.map(_datetime_local),
        "date": ANY_DATES.map(_date),
        "number": st.integers().map(str),
    }
    one = st.one_of(by_kind.get(f.kind, NASTY_TEXT), NASTY_TEXT)
    return st.one_of(one, st.lists(one, min_size=2, max_size=4)) if f.multiple else one


class _Omit:
    def __repr__(self):
        return "OMIT"


OMIT = _Omit()  # the field is left out of the post
EXTRA_NAMES = st.sampled_from(
    [
        "id",
        "estate_id",
        "household_id",
        "staff_user_id",
        "item_999999",
        "coef_0",
        "coef_999",
        "comp_999999",
        "priorities",
        "role",
        "is_admin",
        "__class__",
        "x" * 100,
    ]
)


def post_data(draw, form: Form, w: World) -> dict:
    """Every field valid; or one field wrong and the rest valid (each check on its own, the
    best way past the validators in front of it); or a mix; or everything wrong."""
    mode = draw(st.sampled_from(["valid", "one wrong", "one wrong", "mixed", "nasty"]))
    names = list(form.fields)
    wrong = draw(st.sampled_from(names)) if mode == "one wrong" and names else None
    data = {}
    for f in form.fields.values():
        if mode == "valid" or (mode == "one wrong" and f.name != wrong):
            value = draw(valid_value(f, w))
        elif mode == "one wrong":
            value = draw(st.one_of(nasty_value(f), st.just(OMIT)))
        else:
            choices = [valid_value(f, w), nasty_value(f), st.just(OMIT)]
            value = draw(st.one_of(*(choices[1:] if mode == "nasty" else choices)))
        if value is not OMIT:
            data[f.name] = value
    if mode != "valid":
        extra = draw(st.dictionaries(EXTRA_NAMES, NASTY_TEXT, max_size=2))
        data.update({k: v for k, v in extra.items() if k not in data})
    return data


def post(client, form: Form, data: dict):
    """Post like a browser. Multipart bodies are encoded here, in memory: the test client would
    spool a big one to a temporary file that it never closes (a ResourceWarning)."""
    files = {n for n, f in form.fields.items() if f.kind == "file" and n in data}
    if not files and not form.multipart:
        return client.post(form.action, data=data)
    fields = {
        name: [FileStorage(io.BytesIO(content), filename) for content, filename in value]
        if name in files
        else value
        for name, value in data.items()
    }
    boundary, body = encode_multipart({**fields, "csrf_token": client.csrf_token()})
    return client.post(
        form.action,
        data=body,
        csrf=False,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


# --- what must hold ----------------------------------------------------------------------------


REFUSAL_MARKS = re.compile(r'class="errors" role="alert"|class="flash error"')


def error_flashed(client) -> bool:
    """Whether the response flashed an error, and nothing else, for the next page (read, then
    cleared). A success may add a warning in red: "recorded; note: paid more than pledged"."""
    with client.session_transaction(base_url="https://localhost") as session:
        categories = {category for category, _message in session.pop("_flashes", [])}
    return categories == {"error"}


def check_response(response, client, before, data) -> None:
    status = response.status_code
    assert status < 500, f"{status} for {data!r}"
    body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    assert MARKUP not in body, "markup from a field came back unescaped"
    if 300 <= status < 400:
        target = urlsplit(response.headers["Location"])
        assert target.netloc in ("", "localhost"), f"redirect off site: {target.geturl()}"
        assert not target.path.startswith("//")
    refused = status >= 400 or bool(REFUSAL_MARKS.search(body))
    refused = error_flashed(client) or refused
    # --hypothesis-show-statistics shows how often each endpoint accepted its input
    event(f"{status} {'refused' if refused else 'accepted'}")
    if refused:
        changed = changed_tables(before)
        assert not changed, f"refused ({status}) but tables changed: {changed} for {data!r}"


# --- the tests ------------------------------------------------------------------------------


def test_every_post_endpoint_has_a_fuzz_target():
    missing = sorted(set(POST_ENDPOINTS) - set(TARGETS))
    stale = sorted(set(TARGETS) - set(POST_ENDPOINTS))
    assert not missing, f"give these POST endpoints a fuzz target in TARGETS: {missing}"
    assert not stale, f"TARGETS names endpoints that no longer exist: {stale}"


# Every POST endpoint of the app, except those TARGETS explicitly sends elsewhere (None).
FUZZED = [e for e in POST_ENDPOINTS if e not in TARGETS or TARGETS[e] is not None]


@pytest.mark.parametrize("endpoint", FUZZED)
def test_fuzz_form(app, world, endpoint):
    if endpoint not in TARGETS:
        pytest.fail(f"no fuzz target for the POST endpoint {endpoint}: add one to TARGETS")
    target = TARGETS[endpoint]
    world.client(target.role)

    @FUZZ_SETTINGS
    @given(st.data())
    def fuzz(data):
        url, html = target.page(world, data.draw)
        client = world.client(target.role)
        forms = forms_posting_to(app, html, url, endpoint)
        assert forms, f"{url} has no form posting to {endpoint}"
        form = forms[0]
        values = post_data(data.draw, form, world)
        error_flashed(client)  # start clean
        before = database_state()
        response = post(client, form, values)
        check_response(response, client, before, values)

    fuzz()


# --- NUL characters ---------------------------------------------------------------------------

# No one types U+0000, but a script can send it anywhere. PostgreSQL text cannot hold it (psycopg
# raises DataError: a 500, even on the anonymous staff sign-in, whose username is looked up), and
# SQLite's length() stops at it (so "hidden_reason is not empty" fails as a CHECK constraint).
# The fuzzers above leave NUL out until every request containing one is refused up front.
NUL_CASES = [
    ("anonymous", "POST", "/console/sign-in", {"username": "wang\x00", "password": "x" * 12}),
    ("anonymous", "GET", "/e/mei%00yuan", None),
    ("anonymous", "GET", "/e/meiyuan/receipt?code=AB%00CD", None),
    ("anonymous", "GET", "/open311/v2/services.json?jurisdiction_id=mei%00yuan", None),
    ("secretary", "POST", "/console/tokens", {"name": "看板\x00"}),
    ("planner", "POST", "/console/meiyuan/reports/{report}/hide", {"reason": "\x00\x00"}),
    (
        "household",
        "POST",
        "/reports/new",
        {"category": "leak", "where": "c", "common_area": "3栋", "description": "漏水\x00"},
    ),
]


def test_nul_characters_are_refused_everywhere(app, world):
    failures = []
    for role, method, url, data in NUL_CASES:
        url = url.format(report=world.neighbours_report.id)
        client = world.client(role)
        before = database_state()
        try:
            response = client.post(url, data=data) if method == "POST" else client.get(url)
        except Exception as error:  # noqa: BLE001 - the app re-raises in tests: that is a 500
            failures.append(f"{method} {url}: {type(error).__name__}")
            db.session.rollback()
            continue
        if response.status_code != 400:
            failures.append(f"{method} {url}: {response.status_code}, expected 400")
        if database_state() != before:
            failures.append(f"{method} {url}: the database changed")
    assert not failures, "\n".join(failures)


# --- ids larger than the id columns -------------------------------------------------------------

# Werkzeug's <int:…> converter takes any number of digits, and the ids go straight to the
# database: from 2**31 PostgreSQL answers "integer out of range" (DataError), from 2**63 SQLite's
# driver raises OverflowError. Either way a 500 instead of a 404, on every route with an id.
BIG = 2**63
BIG_ID_URLS = [
    ("anonymous", "/e/meiyuan/h/{big}"),
    ("anonymous", "/e/meiyuan/reports/{big}"),
    ("household", "/surveys/{big}"),
    ("household", "/campaigns/{big}"),
    ("secretary", "/console/meiyuan/households/{big}"),
    ("planner", "/console/meiyuan/elevators/{big}"),
    ("anonymous", "/open311/v2/requests/{big}.json?jurisdiction_id=meiyuan"),
]


def test_ids_beyond_the_id_columns_are_not_found(app, world):
    failures = []
    for role, url in BIG_ID_URLS:
        url = url.format(big=BIG)
        try:
            status = world.client(role).get(url).status_code
        except Exception as error:  # noqa: BLE001 - the app re-raises in tests: that is a 500
            failures.append(f"GET {url}: {type(error).__name__}")
            db.session.rollback()
            continue
        if status != 404:
            failures.append(f"GET {url}: {status}, expected 404")
    assert not failures, "\n".join(failures)
