"""Masking and what each role sees of personal data (docs/domain.md); access codes never stay in
URLs, pages, caches or logs (issue 12)."""

import io
import logging
import threading
import urllib.request

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from resident_portal.extensions import db
from resident_portal.models import AuthSession, Role
from resident_portal.privacy import mask_name, mask_phone, redact_codes

from .conftest import (
    household,
    issue_code,
    make_estate,
    make_staff,
    resident,
    sign_in_household,
    sign_in_staff,
)


@pytest.mark.parametrize(
    "name, masked", [("王小明", "王**"), ("李娟", "李**"), ("欧阳娜娜", "欧**"), ("", "")]
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "phone, masked",
    [("13800001590", "138****1590"), ("02188886666", "021****6666"), ("1234", "****"), (None, "")],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_planner_sees_register_masked_and_cannot_open_contacts(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    page = client.get("/console/meiyuan/households").get_data(as_text=True)
    assert "王**" in page and "138****1590" in page
    assert "王小明" not in page and "13800001590" not in page
    h = household(estate, "1", "1", "101")
    assert client.get(f"/console/meiyuan/households/{h.id}").status_code == 403


def test_secretary_opens_one_household_in_full(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    h = household(estate, "1", "1", "101")
    page = client.get(f"/console/meiyuan/households/{h.id}").get_data(as_text=True)
    assert "王小明" in page and "13800001590" in page


# --- access codes: never in URLs, pages, caches or logs (issue 12) --------------------------


def no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_letter_link_keeps_the_code_out_of_the_address_and_the_page(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    code = issue_code(estate, h)
    sessions = db.session.scalar(select(func.count()).select_from(AuthSession))
    link = client.get(f"/e/meiyuan/h/{h.id}?code={access_format(code)}")
    assert link.status_code == 303 and no_store(link)
    assert link.headers["Location"] == f"/e/meiyuan/h/{h.id}"
    page = client.get(link.headers["Location"])
    assert page.status_code == 200 and no_store(page)
    html = page.get_data(as_text=True)
    assert code not in html and code[:5] not in html and code[5:] not in html
    assert '<button class="primary" type="submit">登录</button>' in html
    # nothing changed on GET; one tap (a POST carrying only the CSRF token) signs in
    assert db.session.scalar(select(func.count()).select_from(AuthSession)) == sessions
    assert client.get("/home").status_code == 302
    signed_in = client.post(f"/e/meiyuan/h/{h.id}", data={})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/home"
    assert no_store(signed_in)
    home = client.get("/home")
    assert home.status_code == 200 and no_store(home)


def access_format(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def test_a_wrong_letter_code_is_refused_without_showing_it(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    issue_code(estate, h)
    client.get(f"/e/meiyuan/h/{h.id}?code=ABCDEFGHJK")
    refused = client.post(f"/e/meiyuan/h/{h.id}", data={})
    assert refused.status_code == 400 and no_store(refused)
    html = refused.get_data(as_text=True)
    assert "ABCDEFGHJK" not in html and "不符" in html
    assert 'name="code"' in html  # now typed by hand
    # the link's code was used once and forgotten
    again = client.post(f"/e/meiyuan/h/{h.id}", data={})
    assert again.status_code == 400


def test_the_letter_link_of_another_household_does_not_sign_in_here(app, client):
    estate = make_estate()
    first, second = household(estate, "1", "1", "101"), household(estate, "1", "1", "201")
    code = issue_code(estate, first)
    client.get(f"/e/meiyuan/h/{first.id}?code={code}")
    assert client.post(f"/e/meiyuan/h/{second.id}", data={}).status_code == 400
    assert client.post(f"/e/meiyuan/h/{first.id}", data={}).status_code == 302


def test_pages_that_handle_codes_or_signed_in_people_are_never_stored(app, client):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    assert no_store(client.get(f"/e/meiyuan/h/{h.id}"))
    assert no_store(sign_in_household(client, estate, h, "AAAAAAAAAA"))
    assert no_store(client.get("/console/sign-in"))
    staff = app.test_client()
    assert no_store(sign_in_staff(staff, "nobody", "wrong password"))
    sign_in_staff(staff, *make_staff(Role.SECRETARY, estate))
    for path in ("/console/", "/console/meiyuan", "/console/meiyuan/households"):
        assert no_store(staff.get(path)), path
    phone, _ = resident(app, estate, "1", "1", "201")
    assert no_store(phone.get("/home"))


def test_report_photos_are_not_stored_by_the_browser(app):
    from .test_reports import phone_photo

    estate = make_estate()
    phone, h = resident(app, estate, "1", "1", "301")
    phone.post(
        "/reports/new",
        data={
            "category": "leak",
            "where": f"h:{h.id}",
            "description": "屋顶防水施工后，卧室顶棚漏水",
            "photos": [(io.BytesIO(phone_photo()), "IMG_0001.JPG")],
        },
        content_type="multipart/form-data",
    )
    from resident_portal.reports.models import ReportPhoto

    key = db.session.scalar(select(ReportPhoto.photo_key))
    served = phone.get(f"/e/meiyuan/photos/{key}.jpg")
    assert served.status_code == 200 and no_store(served)


def test_redact_codes():
    line = '1.2.3.4 - - "GET /e/meiyuan/h/12?code=ABCDE-23456 HTTP/1.1" 303 -'
    assert "ABCDE" not in redact_codes(line) and "/e/meiyuan/h/12 " in redact_codes(line)
    assert "23456" not in redact_codes("code=ABCDE23456&x=1")
    assert redact_codes("GET /e/meiyuan HTTP/1.1") == "GET /e/meiyuan HTTP/1.1"


def test_the_flask_server_log_never_holds_a_code(app, caplog):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    code = issue_code(estate, h)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO):
            url = f"http://127.0.0.1:{server.server_port}/e/meiyuan/h/{h.id}?code={code}"
            with urllib.request.urlopen(url) as page:  # noqa: S310 - our own test server
                assert page.status == 200  # after the 303
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"/e/meiyuan/h/{h.id}" in logged
    assert code not in logged


def test_api_answers_to_a_token_are_never_stored(app):
    from resident_portal import operations
    from resident_portal.models import StaffUser

    estate = make_estate()
    username, _password = make_staff(Role.PLANNER, estate)
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    token, _record = operations.create_api_token(user, "city")
    answer = app.test_client().get(
        "/api/v1/surveys?estate=meiyuan", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200 and no_store(answer)
