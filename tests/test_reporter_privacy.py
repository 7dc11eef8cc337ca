"""Reporters' privacy (issue 12, point 6): public pages and Open311 show a report's building and
unit, never the room; photos of the inside of a home are for the reporter and staff who handle
reports only; phone numbers in public text are masked; the form says what becomes public."""

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resident_portal.extensions import db
from resident_portal.models import Role
from resident_portal.privacy import mask_phone_numbers
from resident_portal.reports import operations
from resident_portal.reports.models import Category, Report, Status
from resident_portal.reports.photos import reencode

from .conftest import household, make_estate, make_staff, resident, sign_in_staff
from .test_reports import phone_photo


@pytest.mark.parametrize(
    "text, masked",
    [
        ("电话13800001590", "电话***********"),
        ("打138 0000 1590找我", "打*** **** ****找我"),
        ("+86 138-0000-1590", "+** ***-****-****"),
        ("座机010-12345678", "座机***-********"),
        ("(021)87654321", "(***)********"),
        ("0571-8765-4321", "****-****-****"),
        ("家里8765 4321", "家里**** ****"),
        ("联系13900002222或者2026", "联系***********或者2026"),
    ],
)
def test_phone_numbers_are_masked(text, masked):
    assert mask_phone_numbers(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-30 15:30 开始漏水",
        "2026年11月30日",
        "1栋2单元301室",
        "维修花了35000元",
        "编号123456789012345",  # longer than any phone number: some other number
        "",
    ],
)
def test_what_is_not_a_phone_number_is_left_alone(text):
    assert mask_phone_numbers(text) == text


MOBILES = st.builds(
    lambda second, rest, groups: (
        "1" + second + "".join(rest)
        if not groups
        else f"1{second}{rest[0]}{groups}{''.join(rest[1:5])}{groups}{''.join(rest[5:])}"
    ),
    st.sampled_from("3456789"),
    st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9),
    st.sampled_from(["", " ", "-"]),
)
WORDS = st.text(alphabet="漏水楼道电话请联系我谢谢，。 abc", max_size=20)


@given(before=WORDS, number=MOBILES, after=WORDS)
def test_any_mobile_number_in_any_text_is_masked(before, number, after):
    masked = mask_phone_numbers(before + number + after)
    assert len(masked) == len(before + number + after)
    assert masked == before + "".join("*" if c.isdigit() else c for c in number) + after
    assert mask_phone_numbers(masked) == masked  # masking twice changes nothing


def _home_report(estate, reporter, description="卧室漏水，请打13800001590联系", photos=()):
    return operations.submit_report(
        estate,
        Category.LEAK,
        operations.Location(household=reporter),
        description,
        list(photos),
        reporter=reporter,
    )


def test_public_pages_and_open311_show_building_and_unit_never_the_room(app, client):
    estate = make_estate()
    reporter = household(estate, "1", "1", "201")
    report = _home_report(estate, reporter)
    report.status, report.status_notes = Status.IN_PROGRESS, "施工队电话 139-0000-2222"
    db.session.commit()
    pages = [
        client.get("/e/meiyuan/reports").get_data(as_text=True),
        client.get(f"/e/meiyuan/reports/{report.id}").get_data(as_text=True),
        json.dumps(
            client.get("/open311/v2/requests.json?jurisdiction_id=meiyuan").get_json(),
            ensure_ascii=False,
        ),
        client.get(f"/open311/v2/requests/{report.id}.xml?jurisdiction_id=meiyuan").get_data(
            as_text=True
        ),
    ]
    for page in pages:
        assert "1栋1单元" in page
        assert "201室" not in page and "room 201" not in page
        assert "13800001590" not in page and "0000-2222" not in page
        assert "***********" in page
    [row] = json.loads(pages[2])
    assert row["address"] == "1栋1单元"
    assert row["description"] == "卧室漏水，请打***********联系"
    assert row["status_notes"] == "施工队电话 ***-****-****"
    # Staff who handle reports see the room and the number the reporter left for them.
    staff = app.test_client()
    sign_in_staff(staff, *make_staff(Role.CONTRACTOR, estate))
    handling = staff.get(f"/console/meiyuan/reports/{report.id}").get_data(as_text=True)
    assert "1栋1单元201室" in handling and "13800001590" in handling


def test_photos_of_a_home_are_for_the_reporter_and_staff_who_handle_reports(app):
    estate = make_estate()
    reporter_phone, reporter = resident(app, estate, "1", "1", "301")
    photo = reencode(phone_photo(400, 300, 1))
    report = _home_report(estate, reporter, "卧室顶棚漏水", [photo])
    url = f"/e/meiyuan/photos/{photo.key}.jpg"
    page_url = f"/e/meiyuan/reports/{report.id}"

    # The same owner (张伟 holds 1-1-301 and 1-2-101) from the other part: still the reporter.
    same_owner, _ = resident(app, estate, "1", "2", "101")
    neighbour, _ = resident(app, estate, "1", "1", "201")
    handlers, viewers = {}, {}
    for role in (Role.CONTRACTOR, Role.PLANNER, Role.ADMIN):
        handlers[role] = app.test_client()
        sign_in_staff(handlers[role], *make_staff(role, None if role == Role.ADMIN else estate))
    viewers[Role.SECRETARY] = app.test_client()  # sees reports, does not handle them
    sign_in_staff(viewers[Role.SECRETARY], *make_staff(Role.SECRETARY, estate))

    for client in (reporter_phone, same_owner, *handlers.values()):
        assert client.get(url).status_code == 200
        assert client.get(url + "?size=thumb").status_code == 200
    assert photo.key in reporter_phone.get(page_url).get_data(as_text=True)
    for client in (neighbour, viewers[Role.SECRETARY]):
        assert client.get(url).status_code == 404
        assert client.get(url + "?size=thumb").status_code == 404
    page = neighbour.get(page_url).get_data(as_text=True)
    assert photo.key not in page
    assert "只有报告人和处理报告的工作人员" in page
    handle = viewers[Role.SECRETARY].get(f"/console/meiyuan/reports/{report.id}")
    assert photo.key not in handle.get_data(as_text=True)
    assert app.test_client().get(url).status_code == 403

    # A stairwell photo stays visible to the estate's households.
    other = reencode(phone_photo(300, 200, 1))
    operations.submit_report(
        estate,
        Category.CRACKS,
        operations.Location(building=reporter.unit.building, unit=reporter.unit),
        "楼道墙面开裂",
        [other],
        reporter=reporter,
    )
    assert neighbour.get(f"/e/meiyuan/photos/{other.key}.jpg").status_code == 200


def test_the_report_form_says_what_becomes_public_before_sending(app):
    estate = make_estate()
    phone, h = resident(app, estate, "1", "1", "101")
    # Step 2 of the form, once the kind and the place are chosen.
    page = phone.get(f"/reports/new?category=leak&where=h:{h.id}").get_data(as_text=True)
    form = page[page.index('method="post" action="/reports/new"') :]
    notice = form.index('id="what-is-public"')
    assert notice < form.index('class="primary" type="submit"')  # read before sending
    section = form[notice : notice + 1500]
    assert "楼号和单元" in section
    assert "不会显示" in section
    assert "电话号码" in section


def test_a_report_filed_through_the_form_keeps_the_room_off_the_board(app):
    estate = make_estate()
    phone, h = resident(app, estate, "1", "1", "301")
    response = phone.post(
        "/reports/new",
        data={
            "category": "leak",
            "where": f"h:{h.id}",
            "description": "厨房水管漏水 手机13712345678",
            "photos": [(io.BytesIO(b""), "")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    report = db.session.query(Report).one()
    board = app.test_client().get("/e/meiyuan/reports").get_data(as_text=True)
    assert "301室" not in board and "13712345678" not in board
    assert report.location == "1栋1单元301室"  # kept for staff
