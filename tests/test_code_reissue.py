"""Reissuing codes cannot happen by accident (issue 11, point 5).

Reissuing every code of an estate needs a confirmation page that says how many households and
sessions it ends, and the estate code typed. Issuing answers with a 303 to a page of the codes
held for the letters (this sign-in only, for a short while): a refresh never reissues.
"""

import io
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from resident_portal.access import CODE_ALPHABET, CODE_LENGTH, held_access_code
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, AuthSession, CodeBatch, Household, Role, utcnow

from .conftest import (
    count,
    household,
    issue_code,
    make_estate,
    make_staff,
    reissue_all_codes,
    sign_in_household,
    sign_in_staff,
)
from .fuzzing import database_state

CODE_ON_LETTER = re.compile(r'<p class="code">([A-Z0-9-]+)</p>')


def code_hashes() -> dict[int, str | None]:
    db.session.rollback()  # read what the requests committed
    return dict(db.session.execute(select(Household.id, Household.access_code_hash)).all())


def phone(app, estate, h, code):
    client = app.test_client()
    assert sign_in_household(client, estate, h, code).status_code == 302
    return client


@pytest.fixture
def estate_with_phones(app):
    """美苑小区 (5 households), every household with a code; 1-1-101 signed in on two phones
    and 1-1-201 on one (3 sessions of 2 households); 1-1-301's only session has expired."""
    estate = make_estate()
    codes = {}
    for key in [("1", "1", "101"), ("1", "1", "201"), ("1", "1", "301")]:
        h = household(estate, *key)
        codes[key] = (h, issue_code(estate, h))
    phones = [
        phone(app, estate, *codes[("1", "1", "101")]),
        phone(app, estate, *codes[("1", "1", "101")]),
        phone(app, estate, *codes[("1", "1", "201")]),
    ]
    h301 = codes[("1", "1", "301")][0]
    phone(app, estate, *codes[("1", "1", "301")])
    expired = db.session.scalar(select(AuthSession).where(AuthSession.household_id == h301.id))
    expired.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    secretary = app.test_client()
    sign_in_staff(secretary, *make_staff(Role.SECRETARY, estate))
    # the other two households get their first code from the console
    assert secretary.post("/console/meiyuan/codes", data={"which": "missing"}).status_code == 303
    return estate, secretary, phones


def test_reissue_all_asks_for_confirmation_with_the_counts(app, estate_with_phones):
    estate, secretary, phones = estate_with_phones
    before = database_state()
    response = secretary.post("/console/meiyuan/codes", data={"which": "all"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/meiyuan/codes/reissue-all"
    page = secretary.get(response.headers["Location"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "美苑小区的全部5户都将获得新的访问码" in text
    assert "已有访问码的5户" in text
    assert "2户共3台手机或电脑将退出登录" in text  # not the expired one
    assert "请输入小区代码meiyuan以确认" in text
    assert 'name="typed_estate_code"' in text
    assert database_state() == before  # asking changes nothing
    for client in phones:
        assert client.get("/home").status_code == 200


@pytest.mark.parametrize(
    "typed, message",
    [
        (None, "请输入小区代码以确认。"),
        ("", "请输入小区代码以确认。"),
        ("   ", "请输入小区代码以确认。"),
        ("lanting", "这不是本小区的代码。请输入meiyuan以重新生成全部访问码。"),
        ("MEIYUAN", "这不是本小区的代码"),
        ("meiyua", "这不是本小区的代码"),
        ("美苑小区", "这不是本小区的代码"),
    ],
)
def test_a_wrong_or_missing_estate_code_changes_nothing(app, estate_with_phones, typed, message):
    make_estate("lanting", "兰亭小区")
    estate, secretary, phones = estate_with_phones
    before = database_state()
    data = {} if typed is None else {"typed_estate_code": typed}
    response = secretary.post("/console/meiyuan/codes/reissue-all", data=data)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text and 'class="errors" role="alert"' in text
    assert "共3台手机或电脑" in text  # the page is shown again, with its counts
    assert database_state() == before  # no code, session, batch or audit entry changed
    for client in phones:
        assert client.get("/home").status_code == 200


def test_reissue_all_without_csrf_token_changes_nothing(app, estate_with_phones):
    estate, secretary, phones = estate_with_phones
    before = database_state()
    response = secretary.post(
        "/console/meiyuan/codes/reissue-all", data={"typed_estate_code": "meiyuan"}, csrf=False
    )
    assert response.status_code == 400
    assert database_state() == before


def test_the_right_code_reissues_signs_out_and_redirects_to_the_letters(app, estate_with_phones):
    estate, secretary, phones = estate_with_phones
    old = code_hashes()
    response = secretary.post(
        "/console/meiyuan/codes/reissue-all", data={"typed_estate_code": " meiyuan "}
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/console/meiyuan/codes/issued/\d+", location)
    new = code_hashes()
    assert set(new) == set(old) and all(new[i] and new[i] != old[i] for i in old)
    for client in phones:
        assert client.get("/home").status_code == 302  # signed out
    audit = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "codes.issue").order_by(AuditEntry.id)
    ).all()[-1]
    assert audit.detail["reissue"] is True and audit.detail["count"] == 5
    assert audit.detail["sessions_ended"] == 3

    page = secretary.get(location)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    text = page.get_data(as_text=True)
    assert "已为5户生成新的访问码" in text and "已在3台设备上退出登录" in text
    # The letters open from a form that also asks whom residents should ask (printed on them).
    assert f'action="{location}/letters"' in text and f'href="{location}/codes.zip"' in text

    letters = secretary.get(f"{location}/letters")
    assert letters.status_code == 200 and letters.headers["Cache-Control"] == "private, no-store"
    codes = CODE_ON_LETTER.findall(letters.get_data(as_text=True))
    assert len(codes) == 5
    first = household(estate, "1", "1", "101")  # letters in register order
    resident = phone(app, estate, first, codes[0])
    assert resident.get("/home").status_code == 200

    archive = secretary.get(f"{location}/codes.zip")
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    assert archive.headers["Cache-Control"] == "private, no-store"
    lines = zipfile.ZipFile(io.BytesIO(archive.data)).read("codes.csv").decode("utf-8-sig")
    assert [line.split(",")[3] for line in lines.splitlines()[1:]] == codes

    # The codes are nowhere in the database, in clear; nor in any URL of the console.
    db.session.rollback()
    everything = repr(
        [db.session.execute(select(table)).all() for table in db.metadata.sorted_tables]
    )
    for code in codes:
        assert code.replace("-", "") not in everything
        assert code.replace("-", "") not in location


def test_refreshing_the_result_and_the_downloads_never_reissues(app, estate_with_phones):
    estate, secretary, _phones = estate_with_phones
    location = reissue_all_codes(secretary, "meiyuan")
    issued = code_hashes()
    first = secretary.get(f"{location}/letters").get_data(as_text=True)
    resident = phone(
        app, estate, household(estate, "1", "1", "101"), CODE_ON_LETTER.findall(first)[0]
    )
    before = database_state()
    for _ in range(2):
        assert secretary.get(location).status_code == 200
        again = secretary.get(f"{location}/letters").get_data(as_text=True)
        assert CODE_ON_LETTER.findall(again) == CODE_ON_LETTER.findall(first)
        assert secretary.get(f"{location}/codes.zip").status_code == 200
    assert code_hashes() == issued
    after = database_state()
    # Each download of the letters or the ZIP is written to the audit log (issue 12); nothing
    # else changes.
    assert after.pop("audit_entry")[0] == before.pop("audit_entry")[0] + 4
    assert after == before
    assert resident.get("/home").status_code == 200  # still signed in with the new code


def test_held_codes_are_for_the_issuing_sign_in_only(app, estate_with_phones):
    estate, secretary, _phones = estate_with_phones
    location = reissue_all_codes(secretary, "meiyuan")
    other_estate = make_estate("lanting", "兰亭小区")
    others = {
        "secretary of another estate": (Role.SECRETARY, other_estate, 403),
        "another secretary of this estate": (Role.SECRETARY, estate, 404),
        "administrator": (Role.ADMIN, None, 404),
    }
    for who, (role, where, status) in others.items():
        client = app.test_client()
        sign_in_staff(client, *make_staff(role, where))
        for url in (location, f"{location}/letters", f"{location}/codes.zip"):
            response = client.get(url)
            assert response.status_code == status, (who, url)
            assert '<p class="code">' not in response.get_data(as_text=True)
        # nor under the address of another estate (where the batch is not)
        other_url = location.replace("/meiyuan/", "/lanting/")
        assert client.get(other_url).status_code == (403 if where is estate else 404), who
    assert secretary.get(location.replace("/meiyuan/", "/lanting/")).status_code == 403
    assert secretary.get(f"{location}/letters").status_code == 200  # still there for its owner


def test_held_codes_expire_and_go_with_sign_out(app, estate_with_phones):
    estate, secretary, _phones = estate_with_phones
    location = reissue_all_codes(secretary, "meiyuan")
    batch = db.session.scalars(select(CodeBatch).order_by(CodeBatch.id)).all()[-1]
    batch.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    for url in (location, f"{location}/letters", f"{location}/codes.zip"):
        response = secretary.get(url)
        assert response.status_code == 404
        assert "这些访问码已无法再显示" in response.get_data(as_text=True)
    # the next issue deletes expired batches
    h = household(estate, "1", "1", "201")
    assert secretary.post(f"/console/meiyuan/households/{h.id}/code").status_code == 303
    db.session.rollback()
    expiries = db.session.scalars(select(CodeBatch.expires_at)).all()
    assert len(expiries) == 2 and min(expiries) > utcnow()  # the first issue's, and this one
    # signing out forgets this sign-in's batches
    secretary.post("/sign-out")
    assert count(CodeBatch) == 0


def test_single_household_reissue_redirects_and_a_refresh_repeats_nothing(app, estate_with_phones):
    estate, secretary, phones = estate_with_phones
    first = household(estate, "1", "1", "101")
    old = code_hashes()
    response = secretary.post(f"/console/meiyuan/households/{first.id}/code")
    assert response.status_code == 303
    location = response.headers["Location"]
    new = code_hashes()
    assert new[first.id] != old[first.id]
    assert {i: h for i, h in new.items() if i != first.id} == {
        i: h for i, h in old.items() if i != first.id
    }
    assert [c.get("/home").status_code for c in phones] == [302, 302, 200]
    text = secretary.get(location).get_data(as_text=True)
    assert "已为1户生成新的访问码" in text and "已在2台设备上退出登录" in text
    letters = secretary.get(f"{location}/letters").get_data(as_text=True)
    [code] = CODE_ON_LETTER.findall(letters)
    assert secretary.get(f"{location}/letters").get_data(as_text=True).count(code) == 1
    assert code_hashes() == new
    assert phone(app, estate, first, code).get("/home").status_code == 200


def test_letters_of_codes_replaced_since_are_left_out(app, estate_with_phones):
    estate, secretary, _phones = estate_with_phones
    everyone = reissue_all_codes(secretary, "meiyuan")
    first = household(estate, "1", "1", "101")
    one = secretary.post(f"/console/meiyuan/households/{first.id}/code").headers["Location"]
    text = secretary.get(everyone).get_data(as_text=True)
    assert "其中1个访问码此后已重新生成" in text
    assert len(CODE_ON_LETTER.findall(secretary.get(f"{everyone}/letters").get_data(True))) == 4
    [code] = CODE_ON_LETTER.findall(secretary.get(f"{one}/letters").get_data(as_text=True))
    assert phone(app, estate, first, code).get("/home").status_code == 200


def test_nothing_to_issue_is_said_and_holds_nothing(app, estate_with_phones):
    _estate, secretary, _phones = estate_with_phones
    response = secretary.post("/console/meiyuan/codes", data={"which": "missing"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/meiyuan/codes"
    assert "所有住户都已有访问码" in secretary.get("/console/meiyuan/codes").get_data(True)


def test_held_access_codes_are_codes_and_depend_on_key_salt_and_household():
    key, salt = "ab" * 32, "cd" * 32
    code = held_access_code(key, salt, 1)
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert held_access_code(key, salt, 1) == code
    assert held_access_code(key, salt, 2) != code
    assert held_access_code("ef" * 32, salt, 1) != code
    assert held_access_code(key, "01" * 32, 1) != code
    # spread over the whole alphabet, in every position
    many = [held_access_code(key, salt, i) for i in range(2000)]
    for position in range(CODE_LENGTH):
        assert {c[position] for c in many} == set(CODE_ALPHABET)
