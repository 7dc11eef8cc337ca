"""Issue 13, residents: the estate landing page (the poster's QR), the home page with the tasks
first, the large-text offer at the first visit, and letters that have been replaced."""

from datetime import timedelta

from resident_portal.extensions import db
from resident_portal.models import utcnow
from resident_portal.reports.models import Status

from .conftest import (
    close_survey,
    household,
    make_campaign,
    make_estate,
    make_report,
    make_survey,
    resident,
)


def main_of(page: str) -> str:
    return page.split("<main", 1)[1].split("</main>", 1)[0]


def test_landing_page_shows_what_is_open_and_whom_to_ask(app, client):
    estate = make_estate()
    vote = make_survey(estate)
    vote.organiser, vote.contact = "美苑社区党支部", "021-5555 0101"
    db.session.commit()
    closed = make_survey(estate)
    closed.title = "外墙保温改造表决"
    close_survey(closed)
    campaign = make_campaign(estate)
    make_report(estate, household(estate, "1", "1", "101"))
    page = main_of(client.get("/e/meiyuan").get_data(as_text=True))
    assert "屋面和电梯改造" in page and "截止" in page  # the open vote with its closing time
    assert f"/e/meiyuan/campaigns/{campaign.id}" in page  # the campaign's public totals
    assert f"/e/meiyuan/results/{closed.id}" in page  # the published result
    assert "/e/meiyuan/receipt" in page and "/e/meiyuan/reports" in page
    assert "美苑社区党支部" in page and 'href="tel:021-55550101"' in page
    assert page.index("屋面和电梯改造") < page.index("/e/meiyuan/b/1")  # open things first
    assert "王小明" not in page  # nothing personal on a public page


def test_landing_page_without_anything_open_still_says_whom_to_ask(app, client):
    make_estate()
    page = main_of(client.get("/e/meiyuan").get_data(as_text=True))
    assert "目前没有正在进行的表决" in page and "党支部书记" in page


def test_home_puts_the_tasks_first_each_with_its_action(app):
    estate = make_estate()
    survey = make_survey(estate)
    campaign = make_campaign(estate, deadline=utcnow() + timedelta(days=60))
    client, h = resident(app, estate, "1", "1", "101")
    fixed = make_report(estate, h)
    fixed.status = Status.RESOLVED
    db.session.commit()
    page = main_of(client.get("/home").get_data(as_text=True))
    tasks = page.split('id="tasks-heading"')[1].split("</section>")[0]
    assert f'href="/surveys/{survey.id}"' in tasks and "去投票" in tasks
    assert f'href="/campaigns/{campaign.id}"' in tasks
    assert f'href="/e/meiyuan/reports/{fixed.id}"' in tasks
    # the vote closes first, so it comes first; the household's facts come after the tasks
    assert tasks.index(f"/surveys/{survey.id}") < tasks.index(f"/campaigns/{campaign.id}")
    assert page.index('id="tasks-heading"') < page.index("80.50")
    client.post(f"/surveys/{survey.id}", data={f"item_{i.id}": "support" for i in survey.items})
    after = main_of(client.get("/home").get_data(as_text=True))
    assert (
        f"/surveys/{survey.id}" not in after.split('id="tasks-heading"')[1].split("</section>")[0]
    )


def test_large_text_is_offered_at_the_first_visit_until_chosen(app, client):
    make_estate()
    first = client.get("/e/meiyuan").get_data(as_text=True)
    assert "text-size-offer" in first and "大字版" in first and "标准版" in first
    client.post("/preferences", data={"large_text": "1", "next": "/e/meiyuan"})
    again = client.get("/e/meiyuan").get_data(as_text=True)
    assert "text-size-offer" not in again and 'class="large"' in again
    assert "标准版" in again  # the switch back stays in the bar


def test_old_letter_after_a_reissue_is_explained_with_whom_to_ask(app):
    from .conftest import issue_code, sign_in_household

    estate = make_estate()
    vote = make_survey(estate)
    vote.organiser, vote.contact = "美苑社区党支部", "021-5555 0101"
    db.session.commit()
    h = household(estate, "1", "1", "101")
    old_code = issue_code(estate, h)
    phone = app.test_client()
    assert sign_in_household(phone, estate, h, old_code).status_code == 302
    new_code = issue_code(estate, h)  # the secretary reissues: a new letter
    # the phone that was signed in is told why at its next visit, wherever it lands
    landing = phone.get("/home", follow_redirects=True).get_data(as_text=True)
    assert "replaced-letter" in landing and "美苑社区党支部" in landing
    assert "1栋1单元101室" in landing
    # the old letter's code: not "wrong code" but "replaced", with the contact
    fresh = app.test_client()
    refused = sign_in_household(fresh, estate, h, old_code)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "replaced-letter" in page
    assert 'href="tel:021-55550101"' in page
    # a code that never belonged to the flat is just wrong
    wrong = sign_in_household(app.test_client(), estate, h, "ABCDE-FGHJK").get_data(as_text=True)
    assert "replaced-letter" not in wrong
    assert sign_in_household(fresh, estate, h, new_code).status_code == 302
    assert "replaced-letter" not in fresh.get("/home").get_data(as_text=True)


def test_letter_link_on_a_phone_signed_in_for_another_flat_asks_which_flat(app):
    from .conftest import issue_code

    estate = make_estate()
    phone, mine = resident(app, estate, "1", "1", "101")
    neighbour = household(estate, "1", "1", "201")
    code = issue_code(estate, neighbour)
    page = phone.get(f"/e/meiyuan/h/{neighbour.id}?code={code}", follow_redirects=True).get_data(
        as_text=True
    )
    assert "which-flat" in page and "1栋1单元101室" in page and "1栋1单元201室" in page
    assert 'href="/home"' in page  # stay with the flat already signed in
    assert code not in page
    # choosing the letter's flat signs in for it
    assert phone.post(f"/e/meiyuan/h/{neighbour.id}", data={}).status_code == 302
    assert "1栋1单元201室" in phone.get("/home").get_data(as_text=True)
