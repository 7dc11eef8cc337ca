"""Quality reports: photos, access, workflow, board, summary, and Open311 GeoReport v2."""

import io
from datetime import timedelta

import pytest
import requests
from georeport import GeoReport
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from resident_portal.common import OperationError
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Role
from resident_portal.reports import operations
from resident_portal.reports.models import Report, ReportEvent, ReportPhoto, Status
from resident_portal.reports.photos import PhotoError, photo_store, reencode

from .conftest import (
    count,
    make_estate,
    make_report,
    make_staff,
    resident,
    sign_in_staff,
)


def phone_photo(width=3000, height=2000, orientation=6) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS position and a rotation flag."""
    image = Image.new("RGB", (width, height), (200, 120, 40))
    for x in range(0, width, 50):  # some detail so it is not a flat colour
        image.putpixel((x, x % height), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation: rotate 90° clockwise
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


# --- photos ---------------------------------------------------------------------------------


def test_photo_is_reencoded_rotated_shrunk_and_stripped_of_metadata(app):
    original = phone_photo()
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825)  # the GPS is there
    photo = reencode(original)
    photo_store().put(photo)
    stored = photo_store().read(photo.key)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert image.size == (1365, 2048)  # rotated upright and at most 2048 px
    assert len(image.getexif()) == 0 and "exif" not in image.info
    assert b"PhoneMaker" not in stored and b"GPS" not in stored
    thumb = Image.open(io.BytesIO(photo_store().read(photo.key, thumbnail=True)))
    assert max(thumb.size) == 480


def bomb_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, format="PNG")  # 400 Mpx in a few kB
    return out.getvalue()


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"this is a text file, renamed to photo.jpg\n" * 20, "Only photos"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "Only photos"),
        (b"GIF89a" + b"\x00" * 100, "Only photos"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "Only photos"),  # a truncated JPEG
        (None, "too many pixels"),  # decompression bomb, made below
        (b"\xff" * (11 * 1024 * 1024), "at most 10 MB"),
    ],
    ids=["text", "svg with script", "gif", "truncated jpeg", "decompression bomb", "11 MB"],
)
def test_malicious_uploads_are_refused(data, reason):
    with pytest.raises(PhotoError) as refused:
        reencode(bomb_png() if data is None else data)
    assert reason in refused.value.message


def test_resident_files_a_report_with_a_photo_and_access_to_it_is_checked(app):
    estate = make_estate()
    other = make_estate("lanting", "兰亭小区")
    client, h = resident(app, estate, "1", "1", "301")
    response = client.post(
        "/reports/new",
        data={
            "category": "leak",
            "where": f"h:{h.id}",
            "description": "屋顶防水施工后，卧室顶棚漏水",
            "photos": [(io.BytesIO(phone_photo()), "IMG_0001.JPG")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    report = db.session.scalar(select(Report))
    assert report.status is Status.SUBMITTED and report.building.number == "1"
    [photo] = db.session.scalars(select(ReportPhoto)).all()
    url = f"/e/meiyuan/photos/{photo.photo_key}.jpg"
    served = client.get(url)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    # A photo of the inside of a home: not for the neighbours (issue 12; see
    # tests/test_reporter_privacy.py for every principal).
    neighbour, _ = resident(app, estate, "2", "1", "101")
    assert neighbour.get(url + "?size=thumb").status_code == 404
    assert app.test_client().get(url).status_code == 403
    stranger, _ = resident(app, other, "1", "1", "101")
    assert stranger.get(url).status_code == 403
    contractor = app.test_client()
    sign_in_staff(contractor, *make_staff(Role.CONTRACTOR, estate))
    assert contractor.get(url).status_code == 200
    elsewhere = app.test_client()
    sign_in_staff(elsewhere, *make_staff(Role.CONTRACTOR, other))
    assert elsewhere.get(url).status_code == 403
    # the public board and page show the report, without the photo or any name
    board = app.test_client().get("/e/meiyuan/reports").get_data(as_text=True)
    assert "卧室顶棚漏水" in board and "张伟" not in board
    page = app.test_client().get(f"/e/meiyuan/reports/{report.id}").get_data(as_text=True)
    assert "/photos/" not in page and "张伟" not in page


def test_bad_upload_through_the_form_writes_nothing(app):
    estate = make_estate()
    client, h = resident(app, estate, "1", "1", "101")
    response = client.post(
        "/reports/new",
        data={
            "category": "cracks",
            "where": f"h:{h.id}",
            "description": "墙裂了",
            "photos": [(io.BytesIO(b"<svg onload=alert(1)>"), "crack.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "只能上传照片（JPEG、PNG 或 WebP 格式）" in response.get_data(as_text=True)
    assert count(Report) == 0 and count(ReportPhoto) == 0
    # 50 MB: the test client would spool this to a file it never closes, so encode it here
    boundary, body = encode_multipart(
        {
            "category": "cracks",
            "where": f"h:{h.id}",
            "description": "墙裂了",
            "photos": FileStorage(io.BytesIO(b"\xff" * (50 * 1024 * 1024)), "huge.jpg"),
        }
    )
    huge = client.post(
        "/reports/new",
        data=body,
        csrf=False,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert huge.status_code == 413 and "文件太大" in huge.get_data(as_text=True)
    assert count(Report) == 0


def test_similar_reports_are_offered_and_me_too_counts_once(app):
    estate = make_estate()
    _, reporter = resident(app, estate, "1", "1", "301")
    report = make_report(estate, reporter)
    client, h = resident(app, estate, "1", "2", "101")  # same owner A3: a different household
    client, h = resident(app, estate, "1", "1", "201")
    page = client.get(f"/reports/new?category=leak&where=h:{h.id}").get_data(as_text=True)
    assert f"/reports/{report.id}/support" in page
    other_kind = client.get(f"/reports/new?category=noise&where=h:{h.id}").get_data(as_text=True)
    assert f"/reports/{report.id}/support" not in other_kind
    client.post(f"/reports/{report.id}/support")
    client.post(f"/reports/{report.id}/support")
    db.session.expire_all()
    assert len(db.session.get(Report, report.id).supporters) == 1


def test_workflow_is_logged_and_nonsense_transitions_are_refused(app):
    estate = make_estate()
    reporter_client, reporter = resident(app, estate, "1", "1", "101")
    report = make_report(estate, reporter)
    contractor = app.test_client()
    sign_in_staff(contractor, *make_staff(Role.CONTRACTOR, estate))
    base = f"/console/meiyuan/reports/{report.id}"
    # a resident cannot confirm what nobody has fixed
    reporter_client.post(f"/reports/{report.id}/confirm")
    db.session.expire_all()
    assert db.session.get(Report, report.id).status is Status.SUBMITTED
    assert contractor.post(base + "/status", data={"status": "acknowledged"}).status_code == 302
    assert contractor.post(base + "/status", data={"status": "confirmed"}).status_code == 422
    assert (
        contractor.post(base + "/status", data={"status": "resolved", "note": ""}).status_code
        == 422
    )  # say what was done
    assert (
        contractor.post(
            base + "/status",
            data={
                "status": "resolved",
                "note": "已重做防水层",
                "photo": (io.BytesIO(phone_photo(800, 600, 1)), "after.jpg"),
            },
            content_type="multipart/form-data",
        ).status_code
        == 302
    )
    # someone else cannot reopen; the reporter can, with a reason
    other_client, _ = resident(app, estate, "2", "1", "101")
    other_client.post(f"/reports/{report.id}/reopen", data={"reason": "no"})
    db.session.expire_all()
    assert db.session.get(Report, report.id).status is Status.RESOLVED
    reporter_client.post(f"/reports/{report.id}/reopen", data={"reason": ""})
    db.session.expire_all()
    assert db.session.get(Report, report.id).status is Status.RESOLVED
    reporter_client.post(f"/reports/{report.id}/reopen", data={"reason": "下雨后又漏了"})
    contractor.post(base + "/status", data={"status": "resolved", "note": "更换了排水口"})
    reporter_client.post(f"/reports/{report.id}/confirm")
    db.session.expire_all()
    report = db.session.get(Report, report.id)
    assert report.status is Status.CONFIRMED and len(report.photos) == 1
    steps = [
        e.to_status
        for e in db.session.scalars(
            select(ReportEvent).where(ReportEvent.action == "status").order_by(ReportEvent.id)
        )
    ]
    assert steps == ["acknowledged", "resolved", "reopened", "resolved", "confirmed"]
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "report.status")
        )
        == 3
    )
    page = app.test_client().get(f"/e/meiyuan/reports/{report.id}").get_data(as_text=True)
    assert "下雨后又漏了" in page and "更换了排水口" in page


def test_overdue_flag_summary_export_and_hiding(app, client):
    estate = make_estate()
    _, reporter = resident(app, estate, "1", "1", "101")
    old = make_report(estate, reporter, category="fire_safety", description="消防通道被堆料堵住")
    old.created_at -= timedelta(days=2)
    fresh = make_report(estate, reporter, category="cracks", description='=HYPERLINK("x")')
    db.session.commit()
    assert old.overdue() and not fresh.overdue()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    inbox = client.get("/console/meiyuan/reports").get_data(as_text=True)
    assert inbox.count('<span class="errors">逾期</span>') == 1  # the old report only
    summary = client.get("/console/meiyuan/reports/summary").get_data(as_text=True)
    assert f"#{old.id}" in summary
    exported = client.get("/console/meiyuan/reports/export.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in exported
    assert (
        client.post(f"/console/meiyuan/reports/{fresh.id}/hide", data={"reason": ""}).status_code
        == 422
    )
    client.post(f"/console/meiyuan/reports/{fresh.id}/hide", data={"reason": "恶意内容"})
    board = app.test_client().get("/e/meiyuan/reports").get_data(as_text=True)
    assert "HYPERLINK" not in board
    assert app.test_client().get(f"/e/meiyuan/reports/{fresh.id}").status_code == 404
    inbox = client.get("/console/meiyuan/reports?status=all").get_data(as_text=True)
    assert f"/console/meiyuan/reports/{fresh.id}" in inbox and inbox.count(" · 已隐藏") == 1
    assert count(Report) == 2  # kept, not deleted


def test_nothing_is_filed_without_a_place_or_a_description(app):
    estate = make_estate()
    with pytest.raises(OperationError):
        operations.submit_report(
            estate, operations.Category("leak"), operations.Location(), "漏水", [], reporter=None
        )
    with pytest.raises(OperationError):
        operations.submit_report(
            estate,
            operations.Category("leak"),
            operations.Location(common_area="3号楼北侧"),
            "  ",
            [],
            reporter=None,
        )
    assert count(Report) == 0


# --- Open311 --------------------------------------------------------------------------------


def test_open311_with_the_georeport_client(app, live_server):
    """Read with an Open311 client library from PyPI (georeport), file with plain HTTP."""
    estate = make_estate()
    _, reporter = resident(app, estate, "1", "1", "101")
    report = make_report(estate, reporter)
    resolved = make_report(estate, reporter, category="noise", description="夜间施工噪音")
    resolved.status, resolved.status_notes = Status.RESOLVED, "已要求22点后停工"
    db.session.commit()
    staff_client = app.test_client()
    sign_in_staff(staff_client, *make_staff(Role.PLANNER, estate))
    page = staff_client.post(
        "/console/meiyuan/open311-keys", data={"name": "市12345平台"}
    ).get_data(as_text=True)
    api_key = next(
        w for w in page.replace("<", " ").replace(">", " ").split() if w.startswith("o311_")
    )
    root = f"{live_server}/open311/v2"
    for fmt in ("json", "xml"):
        client = GeoReport(root, jurisdiction="meiyuan", output_format=fmt)
        services = client.get_service_list()
        assert {s["service_code"] for s in services} >= {"leak", "cracks", "fire_safety"}
        assert client.get_service_definition("leak")["service_code"] == "leak"
        listed = client.get_service_requests()
        by_id = {r["service_request_id"]: r for r in listed}
        assert by_id[str(report.id)]["status"] == "open"
        assert by_id[str(resolved.id)]["status"] == "closed"
        assert by_id[str(resolved.id)]["status_notes"] == "已要求22点后停工"
        assert by_id[str(report.id)]["requested_datetime"].endswith("+08:00")
        closed_only = client.get_service_requests(status="closed")
        closed_only = closed_only if isinstance(closed_only, list) else [closed_only]
        assert [r["service_request_id"] for r in closed_only] == [str(resolved.id)]
        single = client.get_service_request(str(report.id))
        assert single["address"] == "1栋1单元" and single["service_code"] == "leak"
    # filing: form-encoded POST with the estate's key
    filed = requests.post(
        f"{root}/requests.json",
        data={
            "api_key": api_key,
            "jurisdiction_id": "meiyuan",
            "service_code": "site_safety",
            "description": "脚手架没有防护网",
            "address_string": "3栋南侧",
        },
        timeout=10,
    )
    assert filed.status_code == 200, filed.text
    new_id = filed.json()[0]["service_request_id"]
    created = db.session.get(Report, int(new_id))
    assert created.source == "open311" and created.common_area == "3栋南侧"
    # the spec's error bodies and codes
    wrong_key = requests.post(
        f"{root}/requests.json",
        data={
            "api_key": "nope",
            "jurisdiction_id": "meiyuan",
            "service_code": "leak",
            "description": "x",
            "address_string": "y",
        },
        timeout=10,
    )
    assert wrong_key.status_code == 403 and wrong_key.json()[0]["code"] == 403
    unknown = requests.post(
        f"{root}/requests.xml",
        data={"api_key": api_key, "jurisdiction_id": "meiyuan", "service_code": "unicorns"},
        timeout=10,
    )
    assert unknown.status_code == 400 and b"<errors><error><code>400</code>" in unknown.content
    assert requests.get(f"{root}/services.json", timeout=10).status_code == 400  # no jurisdiction
    assert (
        requests.get(f"{root}/requests/999999.json?jurisdiction_id=meiyuan", timeout=10).status_code
        == 404
    )
    assert (
        requests.get(f"{root}/discovery.json", timeout=10).json()["endpoints"][0]["specification"]
        == "http://wiki.open311.org/GeoReport_v2"
    )
