"""PDF for the print shop: made from the print pages themselves; every QR code in a PDF is
rasterised (pdftoppm) and decoded back, as a phone would read the printed sheet."""

import csv
import io
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest

from resident_portal.models import Role
from resident_portal.pdf import _fetcher_class

from .conftest import (
    PUBLIC_BASE_URL,
    close_survey,
    decode_qr,
    make_estate,
    make_staff,
    make_survey,
    reissue_all_codes,
    sign_in_staff,
)


def pages_of(pdf: bytes, dpi: int = 150) -> list[bytes]:
    """Each page of the PDF as a PNG."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(source), str(Path(folder) / "page")],
            check=True,
        )
        return [page.read_bytes() for page in sorted(Path(folder).glob("page-*.png"))]


def text_of(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    done = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode()


def qr_codes_of(pdf: bytes) -> list[str]:
    """The QR code of every page, in page order (each printed sheet carries one)."""
    return [decode_qr(page) for page in pages_of(pdf)]


def qr_codes_anywhere(pdf: bytes) -> list[str]:
    """The QR codes of a document whose pages do not all carry one (a long notice)."""
    import cv2
    import numpy as np

    found = []
    for page in pages_of(pdf):
        image = cv2.imdecode(np.frombuffer(page, np.uint8), cv2.IMREAD_GRAYSCALE)
        text, points, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
        if points is not None:
            found.append(text)
    return found


def secretary(app, estate):
    client = app.test_client()
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    return client


@pytest.mark.slow
def test_letters_pdf_one_page_per_household_each_qr_its_sign_in_link(app):
    estate = make_estate()
    client = secretary(app, estate)
    held = reissue_all_codes(client, "meiyuan")
    response = client.get(held + "/letters?format=pdf")
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"  # codes in clear
    archive = zipfile.ZipFile(io.BytesIO(client.get(held + "/codes.zip").data))
    rows = list(csv.DictReader(io.StringIO(archive.read("codes.csv").decode("utf-8-sig"))))
    # Letters in the register's order, each page's QR the household's own link.
    assert qr_codes_of(response.data) == [row["url"] for row in rows]
    text = "".join(text_of(response.data).split())  # letter-spaced codes come out spaced
    assert all(row["code"] in text for row in rows)  # the code in print beside it
    assert "请妥善保管本告知书" in text  # the Chinese letter, in the Noto CJK font


@pytest.mark.slow
def test_stairwell_posters_job_pdf_qr_codes_open_each_units_page(app):
    estate = make_estate()
    client = secretary(app, estate)
    job_page = client.post("/console/meiyuan/posters/job").headers["Location"]
    pdf = client.get(job_page + "/download").data
    assert qr_codes_of(pdf) == [
        f"{PUBLIC_BASE_URL}/e/meiyuan/b/1/u/1",
        f"{PUBLIC_BASE_URL}/e/meiyuan/b/1/u/2",
        f"{PUBLIC_BASE_URL}/e/meiyuan/b/2/u/1",
    ]
    estate_poster = client.get("/console/meiyuan/posters/print?what=estate&format=pdf").data
    assert qr_codes_of(estate_poster) == [f"{PUBLIC_BASE_URL}/e/meiyuan"]


@pytest.mark.slow
def test_paper_ballot_sheets_pdf_in_the_request_and_as_a_job(app):
    estate = make_estate()
    survey = make_survey(estate)
    client = secretary(app, estate)
    base = f"/console/meiyuan/surveys/{survey.id}/paper"
    pdf = client.get(base + "/sheets?all=1&format=pdf").data
    codes = qr_codes_of(pdf)
    assert len(codes) == 4  # four owners (A3 holds two flats: one sheet)
    assert all(code.startswith(f"{PUBLIC_BASE_URL}{base}/") for code in codes)
    job_page = client.post(base + "/sheets/job", data={"all": "1"}).headers["Location"]
    assert qr_codes_of(client.get(job_page + "/download").data) == codes


@pytest.mark.slow
def test_public_notice_and_door_to_door_lists_as_pdf(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    close_survey(survey)
    notice = client.get(f"/e/meiyuan/results/{survey.id}/print?format=pdf")
    assert notice.mimetype == "application/pdf"
    assert qr_codes_anywhere(notice.data) == [f"{PUBLIC_BASE_URL}/e/meiyuan/results/{survey.id}"]
    staff = secretary(app, estate)
    listing = staff.get(f"/console/meiyuan/surveys/{survey.id}/not-voted?format=pdf")
    text = text_of(listing.data)
    assert "未投票" in text and "王*" in text and "王小明" not in text  # names masked


def test_the_pdf_renderer_fetches_only_the_apps_static_files(app):
    fetcher = _fetcher_class()(app.static_folder, app.static_url_path)
    css = fetcher.fetch("http://localhost/static/style.css")
    assert b"@page" in css.read()
    for refused in (
        "https://example.com/style.css",  # nothing over the network
        "http://localhost/console/",  # no page of the app
        "http://localhost/static/../config.py",  # nothing outside the static folder
        "file:///etc/passwd",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(refused)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"


def test_big_batches_are_left_to_jobs(app):
    estate = make_estate()
    app.config["SYNC_LETTERS_LIMIT"] = 2
    client = secretary(app, estate)
    held = reissue_all_codes(client, "meiyuan")
    assert client.get(held + "/letters?format=pdf").status_code == 404
    page = client.get(held).get_data(as_text=True)
    assert "把告知书做成 PDF（交打印店）" in page  # the button that starts the job instead
    survey = make_survey(estate)
    sheets = f"/console/meiyuan/surveys/{survey.id}/paper/sheets"
    assert client.get(sheets + "?all=1&format=pdf").status_code == 404
    assert client.get("/console/meiyuan/posters/print?what=units&format=pdf").status_code == 404
