"""The stylesheets as browsers get them (resident_portal/assets.py), and which pages load which:
residents' pages style.css alone, the console and the printed sheets console.css as well."""

import re
import shutil
from pathlib import Path

from flask import Flask

from resident_portal import assets, print_jobs
from resident_portal.models import Role

from .conftest import make_estate, make_staff, make_survey, sign_in_staff

STATIC = Path(__file__).resolve().parent.parent / "resident_portal" / "static"
# Issue 13: a resident page weighs at most 17 KB with its stylesheet and script; its HTML takes
# up to 7 KB of that (the home page), its one script up to 1.4 KB.
RESIDENT_STYLESHEET_BUDGET = 10 * 1024


def stylesheets(page: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="/static/([\w.-]+)">', page)


def test_stylesheets_are_served_minified_with_the_static_files_caching(client):
    for name in ("style.css", "console.css"):
        source = (STATIC / name).read_bytes()
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.mimetype == "text/css"
        assert len(response.data) < 0.85 * len(source), name
        assert b"/*" not in response.data and b"\n" not in response.data
        assert response.headers["Cache-Control"] == "no-cache"
        again = client.get(f"/static/{name}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
    # The rules themselves are all there, print rules included.
    style = client.get("/static/style.css").data
    assert b"@media print{@page{size:A4;margin:12mm}" in style
    assert b'.pledge-status.paid::before{content:"\xe2\x9c\x93 "}' in style
    # Everything else in the static folder is served as it is.
    script = client.get("/static/print.js")
    assert script.data == (STATIC / "print.js").read_bytes()
    script.close()  # Flask sends a file: close it


def test_the_residents_stylesheet_stays_within_its_share_of_a_page(client):
    assert len(client.get("/static/style.css").data) <= RESIDENT_STYLESHEET_BUDGET


def test_a_stylesheet_edited_while_the_app_runs_is_minified_again(tmp_path):
    folder = tmp_path / "static"
    shutil.copytree(STATIC, folder)
    app = Flask(__name__, static_folder=str(folder))
    assets.init_app(app)
    client = app.test_client()
    assert b".two-buttons{" in client.get("/static/style.css").data
    sheet = folder / "style.css"
    sheet.write_text(sheet.read_text() + "\n.added-later { color: red; }\n")
    assert client.get("/static/style.css").data.endswith(b".added-later{color:red}")


def test_resident_pages_load_the_residents_stylesheet_only(client):
    make_estate()
    for path in ("/e/meiyuan", "/e/meiyuan/reports", "/console/sign-in"):
        page = client.get(path, follow_redirects=True).get_data(as_text=True)
        expected = ["style.css", "console.css"] if path.startswith("/console/") else ["style.css"]
        assert stylesheets(page) == expected, path


def test_console_pages_and_printed_sheets_add_the_console_stylesheet(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    assert sign_in_staff(client, *make_staff(Role.SECRETARY, estate)).status_code == 302
    for path in ("/console/meiyuan", f"/console/meiyuan/surveys/{survey.id}/paper/sheets"):
        page = client.get(path).get_data(as_text=True)
        assert stylesheets(page) == ["style.css", "console.css"], path
    # A job renders the sheets outside any /console/ request: they still ask for it.
    with app.test_request_context("/"):
        posters = print_jobs.posters_html(estate, print_jobs.poster_sheets(estate, "units"))
    assert stylesheets(posters) == ["style.css", "console.css"]
