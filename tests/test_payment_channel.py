"""Payments carry their channel (how the money came) and receipt number: recorded by the
secretary, kept across a batch of entries, shown on the resident's pledge page, in the exports
and in "my data"; payments recorded before migration 0015 take their pledge's channel. And
amounts read as residents read them: "N元" in Chinese on their pages, ¥ on staff pages."""

import csv
import io
from datetime import date

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from contributions import operations
from contributions.models import Channel, Payment
from resident_portal.common import OperationError
from resident_portal.extensions import db
from resident_portal.models import Role

from .conftest import (
    POSTGRES_URL,
    count,
    household,
    make_app,
    make_campaign,
    make_estate,
    make_staff,
    make_staff_user,
    private_postgres_database,
    require_service,
    resident,
    sign_in_staff,
)


def _paid(campaign, h, fen, receipt, channel=None, on=date(2026, 11, 20)):
    return operations.record_payment(
        campaign,
        h,
        fen,
        on,
        receipt,
        "",
        staff_user=make_staff_user(campaign.estate),
        channel=channel,
    )[0]


def test_a_payment_records_its_channel_or_its_pledges(app):
    estate = make_estate()
    campaign = make_campaign(estate)  # direct or from the maintenance fund
    pledged = household(estate, "1", "1", "101")
    unpledged = household(estate, "1", "1", "201")
    operations.pledge(campaign, pledged, 50_000, Channel.MAINTENANCE_FUND)
    assert _paid(campaign, pledged, 10_000, "A-1").channel is Channel.MAINTENANCE_FUND
    assert _paid(campaign, pledged, 10_000, "A-2", Channel.DIRECT).channel is Channel.DIRECT
    assert _paid(campaign, unpledged, 10_000, "A-3").channel is Channel.DIRECT


def test_a_channel_the_campaign_does_not_accept_is_refused_and_nothing_written(app):
    estate = make_estate()
    campaign = make_campaign(estate)
    h = household(estate, "1", "1", "101")
    with pytest.raises(OperationError) as refused:
        _paid(campaign, h, 10_000, "A-1", Channel.PROVIDENT_FUND)
    assert "does not accept" in str(refused.value)
    assert count(Payment) == 0


def test_the_entry_form_offers_the_campaigns_channels_and_refuses_others(app, client):
    estate = make_estate()
    campaign = make_campaign(estate)
    h = household(estate, "1", "1", "101")
    operations.pledge(campaign, h, 50_000, Channel.DIRECT)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    url = f"/console/meiyuan/campaigns/{campaign.id}/payment"
    page = client.get(url).get_data(as_text=True)
    assert "缴款方式" in page and 'value="maintenance_fund"' in page
    assert 'value="provident_fund"' not in page
    data = {"household": str(h.id), "amount": "100", "paid_on": "2026-11-20"}
    refused = client.post(url, data={**data, "channel": "provident_fund"})
    assert refused.status_code == 422 and count(Payment) == 0
    assert client.post(url, data=data).status_code == 422  # no channel: asked for
    assert client.post(url, data={**data, "channel": "direct"}).status_code == 303
    assert db.session.scalar(select(Payment)).channel is Channel.DIRECT


def _a_pledge_with_two_payments(app):
    estate = make_estate()
    campaign = make_campaign(estate)
    phone, h = resident(app, estate, "1", "1", "101")
    operations.pledge(campaign, h, 50_000, Channel.MAINTENANCE_FUND)
    _paid(campaign, h, 30_000, "SJ-0042", Channel.DIRECT, date(2026, 11, 20))
    _paid(campaign, h, 12_050, "WX-7", Channel.MAINTENANCE_FUND, date(2026, 11, 21))
    return estate, campaign, phone, h


def test_the_pledge_page_lists_each_payment_with_its_channel_and_receipt(app):
    _estate, campaign, phone, _h = _a_pledge_with_two_payments(app)
    page = phone.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    table = page[page.index('<table class="payments">') : page.index("</table>")]
    rows = table.split("<tr>")[2:4]
    assert "300.00元" in rows[0]
    assert "SJ-0042" in rows[0] and "WX-7" in rows[1]
    assert "120.50元" in rows[1] and "420.50元" in table  # the total
    assert str(Channel.DIRECT.label) in rows[0]
    assert str(Channel.MAINTENANCE_FUND.label) in rows[1]
    assert "¥" not in table


def test_residents_read_amounts_as_yuan_in_chinese_and_with_the_sign_in_english(app):
    _estate, campaign, phone, _h = _a_pledge_with_two_payments(app)
    page = phone.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "您已认缴500.00元" in page and "¥" not in page
    phone.set_cookie("lang", "en", domain="localhost")
    english = phone.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "You pledged ¥500.00" in english and "¥300.00" in english and "元" not in english


def test_staff_pages_keep_the_yuan_sign(app, client):
    estate, campaign, _phone, _h = _a_pledge_with_two_payments(app)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    page = client.get(f"/console/meiyuan/campaigns/{campaign.id}").get_data(as_text=True)
    assert "¥420.50" in page and "420.50元" not in page
    assert "SJ-0042" in page and str(Channel.MAINTENANCE_FUND.label) in page


def test_exports_list_the_channels_and_receipt_numbers(app, client):
    estate, campaign, _phone, h = _a_pledge_with_two_payments(app)
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    body = client.get(f"/console/meiyuan/campaigns/{campaign.id}/export.csv").data
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    row = next(r for r in rows if r["room"] == "101")
    assert row["payment_channels"] == "direct; maintenance_fund"
    assert row["receipt_numbers"] == "SJ-0042; WX-7"
    assert next(r for r in rows if r["room"] == "201")["receipt_numbers"] == ""


def test_my_data_lists_each_payments_channel(app):
    _estate, _campaign, phone, _h = _a_pledge_with_two_payments(app)
    data = phone.get("/my-data.json").get_json()
    assert [(p["receipt_number"], p["channel"]) for p in data["payments"]] == [
        ("SJ-0042", str(Channel.DIRECT.label)),
        ("WX-7", str(Channel.MAINTENANCE_FUND.label)),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_migration_gives_earlier_payments_their_pledges_channel(engine, tmp_path):
    with private_database(engine, tmp_path) as url:
        app = make_app(url)
        with app.app_context():
            upgrade()
            estate = make_estate()
            campaign = make_campaign(estate)
            pledged = household(estate, "1", "1", "101")
            unpledged = household(estate, "1", "1", "201")
            operations.pledge(campaign, pledged, 50_000, Channel.MAINTENANCE_FUND)
            _paid(campaign, pledged, 10_000, "A-1", Channel.DIRECT)
            _paid(campaign, unpledged, 10_000, "A-2", Channel.MAINTENANCE_FUND)
            db.session.remove()
            downgrade(revision="0015_satisfaction")
            upgrade()
            channels = dict(
                db.session.execute(text("SELECT receipt_number, channel FROM payment")).all()
            )
            assert channels == {"A-1": "maintenance_fund", "A-2": "direct"}
            db.session.remove()
            with pytest.raises(Exception, match="(?i)check|constraint"):  # noqa: PT011
                db.session.execute(text("UPDATE payment SET channel = 'cheque'"))
                db.session.commit()
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()


def private_database(engine, tmp_path):
    import contextlib

    if engine == "sqlite":
        return contextlib.nullcontext("sqlite:///" + str(tmp_path / "migrated.sqlite3"))
    require_service("PostgreSQL", POSTGRES_URL, 5432, "REQUIRE_POSTGRES")
    return private_postgres_database(POSTGRES_URL)
