"""QR codes must scan: every kind we print is decoded back with OpenCV's detector."""

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from resident_portal.access import new_access_code
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Role
from resident_portal.qr import qr_png

from .conftest import (
    PUBLIC_BASE_URL,
    decode_qr,
    household,
    make_estate,
    make_staff,
    reissue_all_codes,
    sign_in_household,
    sign_in_staff,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://portal.example.cn/e/meiyuan",
        "https://portal.example.cn/e/meiyuan/h/12345?code=ABCDE23456",
        "http://192.0.2.10:5000/e/a-very-long-estate-code-here/b/12/u/3",
    ],
)
def test_png_decodes_to_the_url(url):
    assert decode_qr(qr_png(url)) == url


def test_every_household_link_decodes():
    # Each letter's QR differs (household id and code): check many, not one.
    for household_id in range(1, 201):
        url = f"https://portal.example.cn/e/meiyuan/h/{household_id}?code={new_access_code()}"
        assert decode_qr(qr_png(url)) == url


def test_estate_and_unit_qr_endpoints_point_at_the_public_address(app, client):
    make_estate()
    png = client.get("/e/meiyuan/qr.png")
    assert png.mimetype == "image/png"
    assert decode_qr(png.data) == f"{PUBLIC_BASE_URL}/e/meiyuan"
    unit_png = client.get("/e/meiyuan/b/1/u/2/qr.png")
    assert decode_qr(unit_png.data) == f"{PUBLIC_BASE_URL}/e/meiyuan/b/1/u/2"
    svg = client.get("/e/meiyuan/qr.svg")
    assert svg.mimetype == "image/svg+xml" and svg.data.startswith(b"<svg")
    assert client.get("/e/meiyuan/qr.gif").status_code == 404
    assert client.get("/e/meiyuan/b/9/u/9/qr.png").status_code == 404


def test_household_letters_carry_a_working_code_and_qr(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    response = client.post("/console/meiyuan/codes", data={"which": "missing"})
    assert response.status_code == 303
    issued = client.get(response.headers["Location"])
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "private, no-store"
    response = client.get(response.headers["Location"] + "/letters")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    assert page.count('class="sheet letter"') == 5
    assert page.count("请妥善保管本告知书") == 5  # printed in Chinese for residents
    codes = re.findall(r'<p class="code">([A-Z0-9-]+)</p>', page)
    assert len(codes) == 5
    h = household(estate, "1", "1", "101")  # first letter: building 1, unit 1, floor 1
    resident = app.test_client()
    assert sign_in_household(resident, estate, h, codes[0]).status_code == 302
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "codes.issue"))
    assert audit.detail["count"] == 5 and audit.staff_user is not None


def test_zip_has_mail_merge_csv_and_decodable_png_and_svg_per_household(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    response = client.get(reissue_all_codes(client, "meiyuan") + "/codes.zip")
    assert response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "private, no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert "codes.csv" in names and "qr/1-1-101.png" in names and "qr/1-1-101.svg" in names
    lines = archive.read("codes.csv").decode("utf-8-sig").splitlines()
    assert lines[0] == "building,unit,room,code,url" and len(lines) == 6
    url = next(line for line in lines if line.startswith("1,1,101,")).split(",")[4]
    assert decode_qr(archive.read("qr/1-1-101.png")) == url
    assert url.startswith(f"{PUBLIC_BASE_URL}/e/meiyuan/h/")


def test_posters_are_printable_a4_pages_with_the_url_in_text(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    estate_poster = client.get("/console/meiyuan/posters/print?what=estate").get_data(as_text=True)
    assert estate_poster.count('class="sheet poster"') == 1
    assert f'<p class="url">{PUBLIC_BASE_URL}/e/meiyuan</p>' in estate_poster
    assert "<h1>美苑小区</h1>" in estate_poster
    assert '<div class="qr" role="img" aria-label="二维码"><svg' in estate_poster
    assert "请用微信或手机相机扫描二维码" in estate_poster
    units = client.get("/console/meiyuan/posters/print?what=units").get_data(as_text=True)
    assert units.count('class="sheet poster"') == 3  # 1-1, 1-2, 2-1
    assert client.get("/console/meiyuan/posters/print?what=nothing").status_code == 404
