"""What the household letter and the posters say (issue 13, point 8), without a browser: the
layout on paper is measured in Chromium by tests/test_paper.py."""

from datetime import timedelta

from resident_portal.extensions import db
from resident_portal.models import Role, utcnow

from .conftest import make_campaign, make_estate, make_staff, make_survey, sign_in_staff


def secretary(app, estate):
    client = app.test_client()
    assert sign_in_staff(client, *make_staff(Role.SECRETARY, estate)).status_code == 302
    return client


def test_the_letter_says_when_why_what_is_open_and_whom_to_ask(app):
    estate = make_estate()
    make_survey(estate, building="1")  # not for building 2
    make_campaign(estate, deadline=utcnow() + timedelta(days=3))
    cancelled = make_survey(estate, opened=False)
    from survey import operations

    operations.cancel_survey(cancelled, "改期", staff_user=None)
    client = secretary(app, estate)
    issued = client.post("/console/meiyuan/codes", data={"which": "missing"})
    html = client.get(
        issued.headers["Location"] + "/letters?organiser=美苑社区党支部&phone=010-65432100"
    ).get_data(as_text=True)
    letters = html.split('<section class="sheet letter">')[1:]
    assert len(letters) == 5
    first = next(x for x in letters if "1栋1单元101室" in x)
    other = next(x for x in letters if "2栋1单元101室" in x)
    assert "发放日期" in first and "这封信的用途" in first
    assert "表决：屋面和电梯改造" in first and "截止" in first
    assert "认缴：楼道改造居民出资" in first
    assert "表决：" not in other  # the vote is for building 1 only
    assert first.count("屋面和电梯改造") == 1  # the cancelled survey is not listed
    assert "有疑问请找美苑社区党支部，电话 010-65432100。" in first


def test_the_contact_starts_from_the_open_votes_organiser_then_is_remembered(app):
    estate = make_estate()
    survey = make_survey(estate)
    survey.organiser, survey.contact = "美苑社区居委会", "010-8888 6666"
    db.session.commit()
    client = secretary(app, estate)
    page = client.get("/console/meiyuan/posters").get_data(as_text=True)
    assert 'value="美苑社区居委会"' in page and 'value="010-8888 6666"' in page
    poster = client.get("/console/meiyuan/posters/print?what=units&organiser=王书记&phone=139")
    text = poster.get_data(as_text=True)
    assert text.count("有疑问请找王书记，电话 139。") == 3  # on each unit's poster
    assert 'class="unit-label"' in text
    assert 'value="王书记"' in client.get("/console/meiyuan/posters").get_data(as_text=True)
