"""Campaigns, pledges, payments and elevator co-funding, end to end (docs/domain.md)."""

import csv
import io
import threading
from datetime import timedelta
from fractions import Fraction

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from contributions import operations, tracker
from contributions.models import (
    Campaign,
    Channel,
    EntrySource,
    Payment,
    Pledge,
    PledgeEvent,
)
from resident_portal.common import OperationError
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Household, Role, utcnow
from survey import operations as survey_operations
from survey.models import Survey
from survey.tally import Choice

from .conftest import (
    SAMPLE_ROWS,
    close_survey,
    count,
    empty_tables,
    household,
    make_app,
    make_campaign,
    make_elevator_project,
    make_estate,
    make_staff,
    make_staff_user,
    make_survey,
    resident,
    sign_in_staff,
)

# --- campaigns and pledges ------------------------------------------------------------------


def test_console_creates_a_campaign(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    bad = client.post(
        "/console/meiyuan/campaigns/new",
        data={
            "title": "x",
            "target": "lots",
            "deadline": "2030-01-01T18:00",
            "suggestion_kind": "flat",
            "flat": "100",
            "channels": ["direct"],
        },
    )
    assert bad.status_code == 422 and count(Campaign) == 0
    decided_by = make_survey(estate, kind="consultation")
    response = client.post(
        "/console/meiyuan/campaigns/new",
        data={
            "title": "楼道改造",
            "target": "50,000",
            "deadline": "2030-01-01T18:00",
            "scope": "b:1",
            "suggestion_kind": "per_m2",
            "flat": "99",
            "per_m2": "5.5",
            "channels": ["direct", "in_kind"],
            "survey": str(decided_by.id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    campaign = db.session.scalar(select(Campaign))
    assert (campaign.target_fen, campaign.flat_fen, campaign.per_m2_fen) == (5_000_000, 0, 550)
    assert campaign.building.number == "1" and campaign.channels == ["direct", "in_kind"]
    assert campaign.deadline.hour == 10  # 18:00 Beijing time
    assert campaign.survey_id == decided_by.id


def test_resident_pledges_changes_and_withdraws(app):
    estate = make_estate()
    campaign = make_campaign(estate)
    client, h = resident(app, estate, "1", "1", "101")  # 80.50 m²
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "502.50" in page  # ¥100 + ¥5/m² × 80.50 m² = ¥502.50, pre-filled
    assert (
        client.post(
            f"/campaigns/{campaign.id}", data={"amount": "502.50", "channel": "direct"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"/campaigns/{campaign.id}",
            data={
                "amount": "800",
                "channel": "maintenance_fund",
                "note": "多出一点",
                "confirmed": "1",  # more than suggested: confirmed on the second screen
            },
        ).status_code
        == 302
    )
    pledge = db.session.scalar(select(Pledge))
    assert (pledge.amount_fen, pledge.channel, pledge.source) == (
        80_000,
        Channel.MAINTENANCE_FUND,
        EntrySource.ONLINE,
    )
    bad = client.post(f"/campaigns/{campaign.id}", data={"amount": "12.345", "channel": "direct"})
    assert bad.status_code == 422
    refused = client.post(f"/campaigns/{campaign.id}", data={"amount": "10", "channel": "in_kind"})
    assert refused.status_code == 422  # not an accepted channel
    client.post(f"/campaigns/{campaign.id}/withdraw?household={h.id}")
    db.session.expire_all()
    assert pledge.withdrawn_at is not None and count(PledgeEvent) == 3
    assert db.session.get(Pledge, pledge.id).amount_fen == 80_000  # history, not erased
    public = app.test_client().get(f"/e/meiyuan/campaigns/{campaign.id}").get_data(as_text=True)
    assert "50,000.00" in public and "王小明" not in public


def test_closed_campaign_takes_no_pledges(app):
    estate = make_estate()
    campaign = make_campaign(estate)
    h = household(estate, "1", "1", "101")
    campaign.deadline = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(OperationError):
        operations.pledge(campaign, h, 100, Channel.DIRECT)
    assert count(Pledge) == 0


def test_recorded_pledge_never_replaces_the_households_own(app, client):
    estate = make_estate()
    campaign = make_campaign(estate)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    online, h = resident(app, estate, "1", "1", "201")
    online.post(f"/campaigns/{campaign.id}", data={"amount": "300", "channel": "direct"})
    url = f"/console/meiyuan/campaigns/{campaign.id}/pledge"
    client.post(
        url,
        data={"household": str(h.id), "amount": "1000", "channel": "direct", "reason": "电话认缴"},
    )
    assert db.session.scalar(select(Pledge).where(Pledge.household_id == h.id)).amount_fen == 30_000
    other = household(estate, "2", "1", "101")
    assert (
        client.post(
            url,
            data={"household": str(other.id), "amount": "1000", "channel": "direct", "reason": ""},
        ).status_code
        == 422
    )
    assert (
        client.post(
            url,
            data={
                "household": str(other.id),
                "amount": "1000",
                "channel": "direct",
                "reason": "入户登记，业主签字",
            },
        ).status_code
        == 303  # back to the form for the next entry
    )
    recorded = db.session.scalar(select(Pledge).where(Pledge.household_id == other.id))
    assert recorded.source is EntrySource.STAFF and recorded.reason == "入户登记，业主签字"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "pledge.record"))
    # the household's own pledge later replaces the recorded one
    own, _ = resident(app, estate, "2", "1", "101")
    own.post(
        f"/campaigns/{campaign.id}", data={"amount": "900", "channel": "direct", "confirmed": "1"}
    )
    db.session.expire_all()
    assert db.session.get(Pledge, recorded.id).source is EntrySource.ONLINE


def test_payments_are_appended_flagged_and_corrected(app, client):
    estate = make_estate()
    campaign = make_campaign(estate)
    h = household(estate, "1", "1", "101")
    operations.pledge(campaign, h, 50_000, Channel.DIRECT)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    url = f"/console/meiyuan/campaigns/{campaign.id}/payment"
    today = (utcnow() + timedelta(hours=8)).date().isoformat()
    assert (
        client.post(
            url,
            data={
                "household": str(h.id),
                "amount": "400",
                "paid_on": today,
                "channel": "direct",
                "receipt_number": "NO.0001",
            },
        ).status_code
        == 303  # back to the form for the next entry
    )
    response = client.post(
        url,
        data={
            "household": str(h.id),
            "amount": "200",
            "paid_on": today,
            "channel": "direct",
            "receipt_number": "NO.0002",
        },
        follow_redirects=True,
    )
    assert "现已缴款超过认缴金额" in response.get_data(as_text=True)
    assert (
        client.post(
            url,
            data={
                "household": str(h.id),
                "amount": "-100",
                "paid_on": today,
                "channel": "direct",
                "note": "",
            },
        ).status_code
        == 422
    )  # refused: no note, said beside the amount
    assert (
        client.post(
            url,
            data={
                "household": str(h.id),
                "amount": "-100",
                "paid_on": today,
                "channel": "direct",
                "note": "NO.0002 多录了100元",
            },
        ).status_code
        == 303
    )
    assert (
        client.post(
            url, data={"household": str(h.id), "amount": "0", "paid_on": today, "channel": "direct"}
        ).status_code
        == 422
    )
    assert count(Payment) == 3
    state = tracker.progress(campaign)
    line = state.line(h.id)
    assert line.paid_fen == 50_000 and not line.overpaid
    assert state.totals.paid_fen == 50_000 and state.paid_rate == 10  # 1.0 % of ¥50,000


def test_two_pledges_of_one_household_at_the_same_instant(database_url):
    app = make_app(database_url)
    try:
        with app.app_context():
            estate = make_estate()
            campaign = make_campaign(estate)
            ids = (campaign.id, household(estate, "1", "1", "101").id)
        barrier = threading.Barrier(2)
        errors = []

        def phone(amount):
            with app.app_context():
                c, h = db.session.get(Campaign, ids[0]), db.session.get(Household, ids[1])
                barrier.wait()
                try:
                    operations.pledge(c, h, amount, Channel.DIRECT)
                except Exception as error:  # noqa: BLE001 - reported below
                    errors.append(error)

        threads = [threading.Thread(target=phone, args=(a,)) for a in (10_000, 20_000)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        with app.app_context():
            pledges = db.session.scalars(select(Pledge)).all()
            assert len(pledges) == 1 and pledges[0].amount_fen in (10_000, 20_000)
            assert count(PledgeEvent) == 2
    finally:
        with app.app_context():
            empty_tables()
            db.engine.dispose()


def test_tracker_exports_and_door_to_door_list(app, client):
    estate = make_estate()
    campaign = make_campaign(estate)
    h = household(estate, "1", "1", "101")
    h.owner_name = "=CMD()"
    db.session.commit()
    operations.pledge(campaign, h, 50_250, Channel.DIRECT)
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    page = client.get(f"/console/meiyuan/campaigns/{campaign.id}").get_data(as_text=True)
    assert "502.50" in page and "1（共5）" in page
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/console/meiyuan/campaigns/{campaign.id}/export.csv").data.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert rows[0][:3] == ["building", "unit", "room"] and len(rows) == 6
    assert rows[1][5] == "'=**" and rows[1][7] == "502.50"
    sheet = load_workbook(
        io.BytesIO(client.get(f"/console/meiyuan/campaigns/{campaign.id}/export.xlsx").data)
    ).active
    assert sheet.max_row == 6
    listing = client.get(f"/console/meiyuan/campaigns/{campaign.id}/not-answered").get_data(
        as_text=True
    )
    assert listing.count("<tr><td>") == 4 and "李**" in listing and "李娟" not in listing


# --- elevator co-funding --------------------------------------------------------------------


def test_elevator_project_creates_its_consent_vote_and_shares(app):
    estate = make_estate(rows=SAMPLE_ROWS)
    project = make_elevator_project(estate)
    survey = db.session.get(Survey, project.survey_id)
    assert survey.unit_id == project.unit_id and survey.rule.value == "three_quarters"
    split = operations.elevator_split(project)
    assert split.rest_fen == 45_000_000 == project.campaign.target_fen
    assert sum(split.shares.values()) == 45_000_000
    households = project.unit.households
    coefficients = {c.floor: c.permille for c in project.coefficients}
    total = sum(coefficients[h.floor] * h.area_centi_m2 for h in households)
    for h in households:
        exact = Fraction(45_000_000 * coefficients[h.floor] * h.area_centi_m2, total)
        assert abs(split.shares[h.id] - exact) < 1
        if h.floor <= 2:
            assert split.shares[h.id] == 0
    with pytest.raises(OperationError):
        make_elevator_project(estate)  # one project per unit


def test_changing_costs_recomputes_shares_and_keeps_earlier_pledges(app):
    estate = make_estate(rows=SAMPLE_ROWS)
    project = make_elevator_project(estate)
    client, h = resident(app, estate, "1", "1", "601")
    old_share = operations.elevator_split(project).shares[h.id]
    page = client.get(f"/campaigns/{project.campaign_id}").get_data(as_text=True)
    assert f"{old_share // 100:,}.{old_share % 100:02d}" in page
    client.post(
        f"/campaigns/{project.campaign_id}",
        data={
            "amount": f"{old_share // 100}.{old_share % 100:02d}",
            "channel": "provident_fund",
            "confirmed": "1",  # above ¥1,000: confirmed on the second screen
        },
    )
    fields = operations.ElevatorFields(
        45_000_000, 15_000_000, 0, 0, 3_000_000, 15_000_000, 0, None, 0
    )
    coefficients = {c.floor: c.permille for c in project.coefficients} | {6: 1500}
    operations.update_elevator_project(project, fields, coefficients, {}, staff_user=None)
    new_share = operations.elevator_split(project).shares[h.id]
    assert new_share > old_share
    assert project.campaign.target_fen == 48_000_000
    pledge = db.session.scalar(select(Pledge).where(Pledge.household_id == h.id))
    assert pledge.share_fen == old_share and pledge.amount_fen == old_share
    page = client.get(f"/campaigns/{project.campaign_id}").get_data(as_text=True)
    assert f"{new_share // 100:,}.{new_share % 100:02d}" in page
    assert f"{old_share // 100:,}.{old_share % 100:02d}" in page  # both figures are shown


def test_elevator_status_moves_through_its_steps(app):
    estate = make_estate(rows=SAMPLE_ROWS)
    project = make_elevator_project(estate)
    state = tracker.progress(project.campaign)
    assert tracker.elevator_status(project, state) is tracker.ElevatorStatus.COLLECTING_CONSENT
    survey = project.survey
    households = sorted(project.unit.households, key=lambda h: h.sort_key)
    for h in households[:10]:
        survey_operations.submit_ballot(survey, h, {survey.items[0].id: Choice.SUPPORT})
    close_survey(survey)
    state = tracker.progress(project.campaign)
    assert tracker.elevator_status(project, state) is tracker.ElevatorStatus.CONSENT_REACHED
    split = operations.elevator_split(project)
    staff = db.session.get(type(make_staff_user(estate)), make_staff_user(estate).id)
    for h in households:
        if split.shares[h.id]:
            operations.pledge(
                project.campaign,
                h,
                split.shares[h.id],
                Channel.DIRECT,
                share_fen=split.shares[h.id],
            )
    assert tracker.elevator_status(project, tracker.progress(project.campaign)) is (
        tracker.ElevatorStatus.FULLY_PLEDGED
    )
    for h in households:
        if split.shares[h.id]:
            operations.record_payment(
                project.campaign, h, split.shares[h.id], utcnow().date(), "R", "", staff_user=staff
            )
    assert tracker.elevator_status(project, tracker.progress(project.campaign)) is (
        tracker.ElevatorStatus.FULLY_PAID
    )


def test_a_failed_consent_vote_is_shown(app):
    estate = make_estate(rows=SAMPLE_ROWS)
    project = make_elevator_project(estate)
    survey = project.survey
    households = sorted(project.unit.households, key=lambda h: h.sort_key)
    for h in households:
        choice = Choice.SUPPORT if h.floor >= 4 else Choice.OPPOSE  # low floors oppose
        survey_operations.submit_ballot(survey, h, {survey.items[0].id: choice})
    close_survey(survey)
    assert tracker.elevator_status(project, tracker.progress(project.campaign)) is (
        tracker.ElevatorStatus.NOT_AGREED
    )


def test_console_edits_coefficients_and_splits_running_costs(app, client):
    estate = make_estate(rows=SAMPLE_ROWS)
    project = make_elevator_project(estate)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    url = f"/console/meiyuan/elevators/{project.id}"
    page = client.get(url + "?running=12000").get_data(as_text=True)
    assert "12,000.00" in page  # the running-cost column adds up to the yearly cost
    form = {
        "equipment": "450000",
        "installation": "150000",
        "subsidy_kind": "percent",
        "subsidy_percent": "40",
        "subsidy_cap": "200000",
        "maintenance_fund": "50000",
    }
    form |= {
        f"coef_{f}": v for f, v in {1: "0", 2: "0", 3: "0.5", 4: "0.8", 5: "1", 6: "1.3"}.items()
    }
    low = household(estate, "1", "1", "101")
    form[f"comp_{low.id}"] = "8000"
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    split = operations.elevator_split(project)
    # 600,000 − min(40 %, 200,000) − 50,000 + 8,000 = 358,000 yuan
    assert split.subsidy_fen == 20_000_000 and split.rest_fen == 35_800_000
    assert sum(split.shares.values()) == 35_800_000
    bad = dict(form, coef_3="lots")
    assert client.post(url, data=bad).status_code == 422
    nobody = dict(form) | {f"coef_{f}": "0" for f in range(1, 7)}
    assert client.post(url, data=nobody).status_code == 422
    db.session.expire_all()
    assert operations.elevator_split(project).rest_fen == 35_800_000  # unchanged
    planner = app.test_client()
    sign_in_staff(planner, *make_staff(Role.CONTRACTOR, estate))
    assert planner.post(url, data=form).status_code == 403


# --- issue 13: money is never lost by one tap ----------------------------------------------


def test_pledge_above_the_suggestion_asks_for_confirmation_in_capital_numerals(app):
    estate = make_estate()
    campaign = make_campaign(estate)
    client, h = resident(app, estate, "1", "1", "101")  # ¥502.50 suggested
    url = f"/campaigns/{campaign.id}?household={h.id}"
    first = client.post(url, data={"amount": "1200", "channel": "direct"})
    page = first.get_data(as_text=True)
    assert first.status_code == 200 and count(Pledge) == 0  # nothing recorded yet
    assert "1,200.00元" in page and "壹仟贰佰元整" in page and "502.50" in page
    assert 'name="confirmed" value="1"' in page
    confirmed = client.post(url, data={"amount": "1200", "channel": "direct", "confirmed": "1"})
    assert confirmed.status_code == 302
    assert db.session.scalar(select(Pledge)).amount_fen == 120_000
    # the suggested amount itself goes straight through; so does less
    client.post(url, data={"amount": "502.50", "channel": "direct"})
    db.session.expire_all()
    assert db.session.scalar(select(Pledge)).amount_fen == 50_250


def test_more_than_a_thousand_yuan_asks_even_without_a_suggestion(app):
    from contributions.models import SuggestionKind

    estate = make_estate()
    campaign = make_campaign(estate, suggestion_kind=SuggestionKind.FLAT, flat_fen=0, per_m2_fen=0)
    client, h = resident(app, estate, "1", "1", "101")
    url = f"/campaigns/{campaign.id}?household={h.id}"
    page = client.post(url, data={"amount": "1000.05", "channel": "direct"}).get_data(as_text=True)
    assert "壹仟元零伍分" in page and count(Pledge) == 0
    assert client.post(url, data={"amount": "1000", "channel": "direct"}).status_code == 302


def test_withdrawing_goes_through_a_confirmation_screen(app):
    estate = make_estate()
    campaign = make_campaign(estate)
    client, h = resident(app, estate, "1", "1", "101")
    operations.pledge(campaign, h, 50_250, Channel.DIRECT)
    pledge_page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert f'href="/campaigns/{campaign.id}/withdraw?household={h.id}"' in pledge_page
    confirm = client.get(f"/campaigns/{campaign.id}/withdraw?household={h.id}")
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "伍佰零贰元伍角" in page and "502.50元" in page
    db.session.expire_all()
    assert db.session.scalar(select(Pledge)).active  # the GET changed nothing
    client.post(f"/campaigns/{campaign.id}/withdraw?household={h.id}")
    db.session.expire_all()
    assert not db.session.scalar(select(Pledge)).active


def test_after_a_payment_the_resident_cannot_withdraw_or_lower_the_pledge(app):
    estate = make_estate()
    campaign = make_campaign(estate)
    staff = make_staff_user(estate)
    client, h = resident(app, estate, "1", "1", "101")
    operations.pledge(campaign, h, 50_250, Channel.DIRECT)
    operations.record_payment(campaign, h, 30_000, utcnow().date(), "NO.0042", "", staff_user=staff)
    # refused in the operations, not only hidden on the page
    with pytest.raises(OperationError):
        operations.withdraw(campaign, h)
    with pytest.raises(OperationError):
        operations.pledge(campaign, h, 29_999, Channel.DIRECT)
    operations.pledge(campaign, h, 30_000, Channel.DIRECT)  # down to what was paid is allowed
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "NO.0042" in page and "300.00元" in page  # the payment beside the pledge
    assert f"/campaigns/{campaign.id}/withdraw" not in page and "支部书记" in page
    refused = client.post(f"/campaigns/{campaign.id}/withdraw?household={h.id}")
    assert refused.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Pledge)).active
    lower = client.post(
        f"/campaigns/{campaign.id}?household={h.id}", data={"amount": "100", "channel": "direct"}
    )
    assert "300.00元" in lower.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(Pledge)).amount_fen == 30_000


def test_owner_of_several_flats_sees_one_row_each_signed_in_flat_first(app):
    estate = make_estate()
    campaign = make_campaign(estate)  # the whole estate
    client, h = resident(app, estate, "1", "2", "101")  # A3 also holds 1-1-301
    other = household(estate, "1", "1", "301")
    operations.pledge(campaign, other, 45_125, Channel.DIRECT)
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    rows = page.split('<ul class="flats">')[1].split("</ul>")[0]
    assert rows.index("1栋2单元101室") < rows.index("1栋1单元301室")  # signed-in flat first
    assert "375.00元" in rows and "451.25元" in rows  # each flat's own suggestion
    assert "未认缴" in rows and "已认缴 451.25元" in rows
    home = client.get("/home").get_data(as_text=True)
    assert "未认缴" in home  # one flat still to answer
    operations.pledge(campaign, h, 37_500, Channel.DIRECT)
    assert "已认缴" in client.get("/home").get_data(as_text=True)
    staff = make_staff_user(estate)
    for flat, amount in ((h, 37_500), (other, 45_125)):
        operations.record_payment(campaign, flat, amount, utcnow().date(), "", "", staff_user=staff)
    assert "已缴清" in client.get("/home").get_data(as_text=True)


def test_owner_status_of_several_flats():
    from contributions.tracker import PledgeStatus as S
    from contributions.tracker import owner_status

    assert owner_status([S.PAID, S.NOT_PLEDGED]) is S.NOT_PLEDGED
    assert owner_status([S.PAID, S.PLEDGED]) is S.PLEDGED
    assert owner_status([S.PAID, S.PAID]) is S.PAID
    assert owner_status([]) is S.NOT_PLEDGED


def test_elevator_consent_ballot_shows_the_households_share(app):
    estate = make_estate(rows=SAMPLE_ROWS)
    project = make_elevator_project(estate)
    client, h = resident(app, estate, "1", "1", "601")
    share = operations.elevator_split(project).shares[h.id]
    page = client.get(f"/surveys/{project.survey_id}").get_data(as_text=True)
    ballot = page.split('id="ballot"')[0]  # on the ballot itself, above its items
    assert f"{share // 100:,}.{share % 100:02d}元" in ballot
    assert "600,000.00元" in ballot and "−150,000.00元" in ballot and "450,000.00元" in ballot
    assert "1.200" in ballot and h.area_m2 in ballot  # the 6th floor's coefficient, the area
    # nothing comes from the maintenance fund: 0.00, not a deduction of "−0.00"
    assert "从住宅专项维修资金支出</dt><dd>0.00元</dd>" in ballot
    assert "−0.00" not in ballot
    # another estate-wide survey's ballot has no share on it
    # (and no query for one: an estate's or a building's survey never has an elevator project)
    other_survey = make_survey(estate)
    statements = []
    record = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        other = client.get(f"/surveys/{other_survey.id}").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert "elevator-share" not in other
    assert statements and not [s for s in statements if "elevator_project" in s]
