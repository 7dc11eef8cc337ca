"""Fast batch entry (issue 13, point 10): the staff entry forms prefill the amount (suggested
for a pledge, still owed for a payment), keep the last reason and channel (pledges) or note,
date and channel (payments) in the session, and their household pickers filter by building, unit and
status and offer only the households to which the action applies."""

import re
from datetime import date

from sqlalchemy import select

from contributions import operations
from contributions.models import Channel, Payment, Pledge
from resident_portal.extensions import db
from resident_portal.models import Role

from .conftest import household, make_campaign, make_estate, make_staff, sign_in_staff


def options(page: str) -> dict[str, str]:
    """value -> data-amount of the household picker's options."""
    return dict(re.findall(r'<option value="(\d+)" data-amount="([^"]*)"', page))


def secretary(app, estate):
    client = app.test_client()
    assert sign_in_staff(client, *make_staff(Role.SECRETARY, estate)).status_code == 302
    return client


def setup(app):
    estate = make_estate()
    campaign = make_campaign(estate)  # the whole estate: ¥100 + ¥5/m²
    online = household(estate, "1", "1", "101")
    paid = household(estate, "1", "1", "201")
    operations.pledge(campaign, online, 50_000, Channel.DIRECT)  # its own pledge, ¥500
    operations.pledge(campaign, paid, 40_000, Channel.DIRECT)
    user = db.session.scalar(select(Payment.recorded_by_id))  # none yet
    assert user is None
    return estate, campaign, online, paid


def test_the_payment_picker_offers_pledged_households_with_what_they_owe(app):
    estate, campaign, online, paid = setup(app)
    client = secretary(app, estate)
    url = f"/console/meiyuan/campaigns/{campaign.id}/payment"
    page = client.get(url).get_data(as_text=True)
    assert options(page) == {str(online.id): "500.00", str(paid.id): "400.00"}
    # ?household= chooses one and fills its amount (no script needed).
    chosen = client.get(f"{url}?household={paid.id}").get_data(as_text=True)
    assert 'name="amount" type="text" value="400.00"' in chosen
    response = client.post(
        f"{url}?status=owing",
        data={
            "household": paid.id,
            "amount": "150",
            "paid_on": "2026-11-20",
            "channel": "maintenance_fund",
            "receipt_number": "R-1",
            "note": "现金，楼长代收",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{url}?status=owing")  # the next entry
    after = client.get(f"{url}?household={paid.id}").get_data(as_text=True)
    assert options(after)[str(paid.id)] == "250.00"  # what it still owes
    assert 'value="现金，楼长代收"' in after and 'value="2026-11-20"' in after  # kept
    assert '<option selected value="maintenance_fund">' in after  # the channel too
    assert db.session.scalar(select(Payment)).channel is Channel.MAINTENANCE_FUND
    # Paid in full: gone from the "still owing" list, on the "paid" one.
    operations.record_payment(
        campaign,
        paid,
        25_000,
        date(2026, 11, 21),
        "R-2",
        "",
        staff_user=db.session.get(Payment, 1).recorded_by,
    )
    assert str(paid.id) not in options(client.get(url).get_data(as_text=True))
    assert set(options(client.get(f"{url}?status=paid").get_data(as_text=True))) == {str(paid.id)}


def test_the_payment_picker_refuses_a_household_it_does_not_offer(app):
    estate, campaign, online, paid = setup(app)
    client = secretary(app, estate)
    never = household(estate, "2", "1", "101")  # has not pledged
    response = client.post(
        f"/console/meiyuan/campaigns/{campaign.id}/payment",
        data={"household": never.id, "amount": "100", "paid_on": "2026-11-20"},
    )
    assert response.status_code == 422
    assert db.session.scalars(select(Payment)).all() == []


def test_pickers_filter_by_building_and_unit(app):
    estate, campaign, online, paid = setup(app)
    client = secretary(app, estate)
    url = f"/console/meiyuan/campaigns/{campaign.id}/pledge"
    everyone = options(client.get(url).get_data(as_text=True))
    # Households with an online pledge of their own are not offered for a recorded pledge.
    assert str(online.id) not in everyone and str(paid.id) not in everyone
    building_2 = options(client.get(f"{url}?building=2").get_data(as_text=True))
    assert set(building_2) == {str(household(estate, "2", "1", "101").id)}
    unit_2 = options(client.get(f"{url}?building=1&unit=2").get_data(as_text=True))
    assert set(unit_2) == {str(household(estate, "1", "2", "101").id)}
    # The suggested amount: ¥100 + ¥5 × 55 m².
    assert unit_2[str(household(estate, "1", "2", "101").id)] == "375.00"


def test_the_pledge_form_keeps_the_last_reason_and_channel(app):
    estate, campaign, online, paid = setup(app)
    client = secretary(app, estate)
    url = f"/console/meiyuan/campaigns/{campaign.id}/pledge"
    target = household(estate, "1", "1", "301")
    response = client.post(
        url + "?building=1",
        data={
            "household": target.id,
            "amount": "300",
            "channel": "maintenance_fund",
            "reason": "纸质认缴单",
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("?building=1")
    pledge = db.session.scalar(select(Pledge).where(Pledge.household_id == target.id))
    assert pledge.amount_fen == 30_000 and pledge.reason == "纸质认缴单"
    page = client.get(url).get_data(as_text=True)
    assert 'value="纸质认缴单"' in page
    assert '<option selected value="maintenance_fund">' in page
    # A recorded pledge may be changed by staff: it is offered as "recorded by staff".
    recorded = options(client.get(url + "?status=recorded").get_data(as_text=True))
    assert set(recorded) == {str(target.id)}


def test_the_paper_ballot_picker_filters_by_place_and_door_to_door_outcome(app):
    from survey import operations as survey_operations
    from survey.models import Ballot
    from survey.tally import Choice

    from .conftest import make_survey

    estate = make_estate()
    survey = make_survey(estate)
    voted = household(estate, "1", "1", "101")
    survey_operations.submit_ballot(survey, voted, {i.id: Choice.SUPPORT for i in survey.items})
    client = secretary(app, estate)
    url = f"/console/meiyuan/surveys/{survey.id}/paper"

    def offered(query=""):
        page = client.get(url + query).get_data(as_text=True)
        picker = page.split('name="household"', 1)[1].split("</select>", 1)[0]
        return set(re.findall(r'<option value="(\d+)"', picker))

    everyone = offered()
    assert str(voted.id) not in everyone and len(everyone) == 4  # only those who have not voted
    assert offered("?building=2") == {str(household(estate, "2", "1", "101").id)}
    assert offered("?building=1&unit=2") == {str(household(estate, "1", "2", "101").id)}
    paper = household(estate, "1", "1", "301")
    client.post(
        f"/console/meiyuan/surveys/{survey.id}/not-voted/{paper.id}/visit",
        data={"outcome": "paper"},
    )
    assert offered("?visit=paper") == {str(paper.id)}
    # A paper ballot from the filtered list returns to it for the next one.
    data = {"household": paper.id, "reason": "上门收回的纸质票"}
    data |= {f"item_{i.id}": "support" for i in survey.items}
    response = client.post(url + "?visit=paper", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[-500:]
    assert response.headers["Location"].endswith("?visit=paper")
    assert db.session.scalar(select(Ballot).where(Ballot.household_id == paper.id))
