"""Binding votes that hold up: the roll frozen at opening and its audited corrections, the kept
tally and its recount, ballot secrecy in small groups, paper ballots with evidence, and the
public notice in the form cities publish."""

import csv
import io
import itertools
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select, update

from resident_portal import operations
from resident_portal.common import OperationError
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Role, utcnow
from resident_portal.qr import qr_svg
from resident_portal.registry import parse_registry
from survey import counting, roll, tally
from survey import operations as survey_operations
from survey.models import (
    Ballot,
    BallotSource,
    CorrectionKind,
    KeptCount,
    RollCorrection,
    RollEntry,
    Survey,
)
from survey.results import compute
from survey.tally import Choice

from .conftest import (
    PUBLIC_BASE_URL,
    SMALL_REGISTER,
    close_survey,
    count,
    household,
    make_estate,
    make_staff,
    make_survey,
    register_csv,
    resident,
    sign_in_staff,
)


def import_register(estate, rows):
    operations.import_registry(estate, parse_registry(register_csv(rows), "register.csv"))


def changed_register():
    """SMALL_REGISTER after a re-import: an area, an owner, and a new flat."""
    rows = [list(r) for r in SMALL_REGISTER]
    rows[0][4] = "99.99"  # 1-1-101: 80.50 → 99.99
    rows[1][5], rows[1][6] = "B2", "钱多多"  # 1-1-201: A2 → B2
    rows.append(["1", "1", "401", 4, "66.00", "A9", "孙丽", ""])
    return rows


def vote_data(survey, *choices, **extra):
    data = {f"item_{item.id}": c for item, c in zip(survey.items, choices, strict=True)}
    data.update(extra)
    return data


def vote(app, estate, survey, room, *choices, building="1", unit="1"):
    client, h = resident(app, estate, building, unit, room)
    answer = client.post(f"/surveys/{survey.id}", data=vote_data(survey, *choices))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client, h


def rooms(page: str) -> list[str]:
    return re.findall(r"<tr><td>([^<]+)</td><td>\d+</td>", page)


def open_now(survey):
    survey.opens_at = utcnow() - timedelta(minutes=1)
    db.session.commit()


def api(client, survey):
    return client.get(f"/api/v1/surveys/{survey.id}/results").get_json()


def csv_rows(client, survey):
    data = client.get(f"/console/meiyuan/surveys/{survey.id}/results.csv").data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# --- 1. the roll is frozen when the survey opens ------------------------------------------------


@pytest.mark.parametrize("frozen_by", ["first ballot", "register import"])
def test_a_register_import_while_open_changes_nothing_in_the_vote(app, client, frozen_by):
    estate = make_estate()
    if frozen_by == "first ballot":
        survey = make_survey(estate)
        vote(app, estate, survey, "101", "support", "support", "oppose")
    else:  # opened by the clock; nothing happened since, until the import
        survey = make_survey(estate, opened=False)
        open_now(survey)
        assert not roll.is_frozen(survey)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    before = api(client, survey)
    not_voted = client.get(f"/console/meiyuan/surveys/{survey.id}/not-voted").get_data(as_text=True)
    import_register(estate, changed_register())
    db.session.expire_all()
    assert roll.is_frozen(db.session.get(Survey, survey.id))
    after = api(client, survey)
    assert after == before
    assert after["eligible"] == {"households": 5, "heads": 4, "area_m2": "355.75"}
    # the door-to-door list is the roll's: the new flat 401 is not on it
    again = client.get(f"/console/meiyuan/surveys/{survey.id}/not-voted").get_data(as_text=True)
    assert rooms(again) == rooms(not_voted) and "401" not in rooms(again)
    # the console lists what changed since opening
    page = client.get(f"/console/meiyuan/surveys/{survey.id}/roll").get_data(as_text=True)
    for change in ("名册中新增", "面积有变化", "业主有变化"):
        assert change in page
    console = client.get(f"/console/meiyuan/surveys/{survey.id}").get_data(as_text=True)
    assert "业主名册中有 3 户发生变化" in console


def test_the_closed_result_never_changes_whatever_the_register_does(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    vote(app, estate, survey, "101", "support", "support", "oppose")
    vote(app, estate, survey, "201", "oppose", "support", "oppose")
    close_survey(survey)
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    closed = api(client, survey)
    rows = [list(r) for r in SMALL_REGISTER]
    for row in rows:
        row[4] = "123.45"  # every area different
    import_register(estate, rows)
    import_register(estate, changed_register())
    assert api(client, survey) == closed
    assert closed["items"][0]["support"] == {"heads": 1, "area_m2": "80.50"}


def test_a_household_whose_owner_changed_after_opening_cannot_vote_until_corrected(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    a2, _ = vote(app, estate, survey, "201", "oppose", "oppose", "oppose")
    import_register(estate, changed_register())  # 1-1-201 passes from A2 to B2
    b2, h201 = resident(app, estate, "1", "1", "201")  # B2 holds the flat's new letter
    page = b2.post(
        f"/surveys/{survey.id}", data=vote_data(survey, "support", "support", "support")
    ).get_data(as_text=True)
    assert "这套房屋的业主有变更" in page
    assert {b.owner_ref for b in db.session.scalars(select(Ballot))} == {"A2"}

    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    answer = client.post(
        f"/console/meiyuan/surveys/{survey.id}/roll",
        data={
            "household": str(h201.id),
            "kind": "owner",
            "owner_ref": "B2",
            "reason": "房屋已于11月过户，见不动产权证",
        },
    )
    assert answer.status_code == 302
    # A2's ballot stops covering the flat; B2 has not voted yet
    assert compute(survey).overall.participated.heads == 0
    assert (
        b2.post(
            f"/surveys/{survey.id}", data=vote_data(survey, "support", "support", "support")
        ).status_code
        == 302
    )
    overall = compute(survey).overall
    assert overall.participated == tally.Count(households=1, heads=1, area=6000)
    assert (
        db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "survey.roll_correction")
        ).detail["reason"]
        == "房屋已于11月过户，见不动产权证"
    )
    close_survey(survey)
    notice = app.test_client().get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True)
    assert "房屋已转让" in notice and "房屋已于11月过户，见不动产权证" in notice
    # owner numbers stay in the console: none in the notice's text (tokens in attributes are
    # random and may hold any two characters)
    text = re.sub(r'="[^"]*"', "", notice.split("<main", 1)[1].split("</main>", 1)[0])
    assert "B2" not in text and "A2" not in text


def test_an_area_correction_and_a_missing_part_change_the_count(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    vote(app, estate, survey, "101", "support", "support", "support")
    import_register(estate, changed_register())
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    h101, h401 = household(estate, "1", "1", "101"), household(estate, "1", "1", "401")
    base = f"/console/meiyuan/surveys/{survey.id}/roll"
    client.post(
        base,
        data={"household": h101.id, "kind": "area", "area": "85.00", "reason": "产权证面积"},
    )
    client.post(base, data={"household": h401.id, "kind": "added", "reason": "漏登"})
    overall = compute(survey).overall
    assert overall.eligible == tally.Count(households=6, heads=5, area=35575 + 450 + 6600)
    assert overall.participated.area == 8500
    assert count(RollCorrection) == 2
    assert counting.compare(survey) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "area", "area": "-5", "reason": "测量"}, "面积必须大于零，不能是-5。"),
        ({"kind": "area", "area": "八十", "reason": "测量"}, "面积应填写平方米数"),
        ({"kind": "area", "area": "85.00", "reason": ""}, "请填写原因"),
        ({"kind": "owner", "owner_ref": "", "reason": "过户"}, "请填写新业主的编号"),
        ({"kind": "added", "reason": "重复"}, "该户已在表决名册中"),
        ({"kind": "nonsense", "reason": "x"}, "更正内容"),
    ],
)
def test_a_bad_roll_correction_is_refused_and_writes_nothing(app, client, data, message):
    estate = make_estate()
    survey = make_survey(estate)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    entries = db.session.execute(select(RollEntry.household_id, RollEntry.area_centi_m2)).all()
    audited = count(AuditEntry)
    h = household(estate, "1", "1", "101")
    answer = client.post(
        f"/console/meiyuan/surveys/{survey.id}/roll", data={"household": h.id, **data}
    )
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert count(RollCorrection) == 0 and count(AuditEntry) == audited
    assert db.session.execute(select(RollEntry.household_id, RollEntry.area_centi_m2)).all() == (
        entries
    )


def test_a_correction_for_another_estate_or_after_closing_is_refused(app, client):
    estate = make_estate()
    other = make_estate("lanting", "兰亭小区")
    survey = make_survey(estate)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    stranger = household(other, "1", "1", "101")
    answer = client.post(
        f"/console/meiyuan/surveys/{survey.id}/roll",
        data={"household": stranger.id, "kind": "area", "area": "85", "reason": "x"},
    )
    assert answer.status_code == 422 and count(RollCorrection) == 0
    close_survey(survey)
    with pytest.raises(OperationError, match="only while the vote is open"):
        survey_operations.correct_roll(
            survey,
            household(estate, "1", "1", "101"),
            CorrectionKind.AREA,
            "x",
            staff_user=None,
            area_centi_m2=9000,
        )
    assert count(RollCorrection) == 0


# --- 2. nobody learns how one household voted ---------------------------------------------------


def floors_register():
    """Six flats on floor 1, six on floor 3, and floor 2 with two flats: the small group."""
    rows = []
    for floor, rooms in ((1, 6), (2, 2), (3, 6)):
        for n in range(1, rooms + 1):
            rows.append(
                ("1", "1", f"{floor}0{n}", floor, "60.00", f"O{floor}{n}", f"业主{floor}{n}", "")
            )
    return rows


def no_choice_figures(rows):
    return all(r[11:19] == [""] * 8 and r[-1] == "false" for r in rows[1:])


def test_a_floor_of_two_never_reveals_its_one_voter(app, client):
    """The attack that worked: a floor of two flats where one has voted. Before closing, no
    route shows a choice figure; after, the floor is withheld, and so is enough of the rest
    that subtracting the shown floors from the total cannot isolate it either."""
    estate = make_estate(rows=floors_register())
    survey = make_survey(estate)
    for floor in (1, 3):
        for n in range(1, 7):
            vote(app, estate, survey, f"{floor}0{n}", "support", "support", "support")
    # the one voter on floor 2 is the only one to oppose the roof
    vote(app, estate, survey, "201", "oppose", "support", "support")
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    base = f"/console/meiyuan/surveys/{survey.id}"

    # Open: participation only, everywhere.
    live = api(client, survey)
    assert live["participated"]["heads"] == 13 and live["choices_shown"] is False
    assert all(item["support"] is None for item in live["items"])
    assert no_choice_figures(csv_rows(client, survey))
    sheet = load_workbook(io.BytesIO(client.get(base + "/results.xlsx").data)).active
    assert all(
        all(cell in ("", None) for cell in row[11:19])
        for row in sheet.iter_rows(min_row=2, values_only=True)
    )
    assert client.get(base + "/results.json").get_json() == live
    page = client.get(base).get_data(as_text=True)
    assert "只计票、不显示" in page and "12 · " not in page and "不显示（人数过少）" not in page
    overview = client.get("/console/overview").get_data(as_text=True)
    assert "<td>表决中</td>" in overview  # the outcome column says only that voting goes on

    # Closed: the scope's result in full; floor 2 withheld, and floor 1 with it.
    close_survey(survey)
    closed = api(client, survey)
    assert closed["items"][0]["oppose"] == {"heads": 1, "area_m2": "60.00"}
    floors = {
        r[3]: r
        for r in csv_rows(client, survey)[1:]
        if r[0] == "floor" and r[4] == str(survey.items[0].id)
    }
    assert floors["2"][11:19] == [""] * 8 and floors["2"][-1] == "false"
    assert floors["1"][-1] == "false"
    assert floors["3"][-1] == "true" and floors["3"][13] == "0"  # nobody on floor 3 opposed
    # Of the floors, the withheld ones together hold at least 5 participants.
    assert int(floors["1"][9]) + int(floors["2"][9]) >= 5
    page = client.get(base).get_data(as_text=True)
    assert "不显示（人数过少）" in page
    assert "201" not in app.test_client().get(f"/e/meiyuan/results/{survey.id}").get_data(
        as_text=True
    )


@given(st.dictionaries(st.integers(0, 30), st.integers(0, 12), min_size=1, max_size=8))
def test_withheld_groups_cannot_be_isolated_by_subtraction(participants):
    """For any breakdown: every group under 5 participants is withheld, and the withheld ones
    together hold at least 5 participants (or every group is withheld)."""
    groups = {
        key: tally.Tally(
            eligible=tally.Count(n, n, n), participated=tally.Count(n, n, n), quorum_met=None
        )
        for key, n in participants.items()
    }
    hidden = tally.withheld(groups)
    assert {k for k, n in participants.items() if n < 5} <= hidden
    together = sum(participants[k] for k in hidden)
    assert not hidden or together >= 5 or hidden == set(groups)
    # nothing is withheld that need not be: without the largest withheld group, the rest
    # would be too few (or there were small groups only)
    if hidden and any(participants[k] >= 5 for k in hidden):
        largest = max((k for k in hidden if participants[k] >= 5), key=participants.get)
        assert together - participants[largest] < 5


# --- 3. paper ballots carry their evidence and tell the household -------------------------------


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(out, format="PNG")
    return out.getvalue()


def test_paper_ballot_sheets_one_per_owner_with_the_entry_qr_code(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    vote(app, estate, survey, "101", "support", "support", "support")
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    page = client.get(f"/console/meiyuan/surveys/{survey.id}/paper/sheets").get_data(as_text=True)
    # A1 voted; A2, A3 (two flats, one sheet) and A4 have not
    assert page.count('class="sheet ballot-sheet"') == 3
    assert "1栋1单元301室" in page and "1栋2单元101室" in page
    a3 = household(estate, "1", "1", "301")
    entry = f"{PUBLIC_BASE_URL}/console/meiyuan/surveys/{survey.id}/paper/{a3.id}"
    assert qr_svg(entry) in page
    assert "张*" in page and "张伟" not in page  # the owner's name masked on paper
    everyone = client.get(f"/console/meiyuan/surveys/{survey.id}/paper/sheets?all=1")
    assert everyone.get_data(as_text=True).count('class="sheet ballot-sheet"') == 4
    # The manual list offers only households that have not voted.
    listing = client.get(f"/console/meiyuan/surveys/{survey.id}/paper").get_data(as_text=True)
    h101 = household(estate, "1", "1", "101")
    assert f'<option value="{h101.id}">' not in listing
    assert f'<option value="{a3.id}">' in listing


def test_a_paper_ballot_with_its_evidence_and_what_the_household_sees(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    h = household(estate, "2", "1", "101")
    url = f"/console/meiyuan/surveys/{survey.id}/paper/{h.id}"
    form = vote_data(survey, "support", "oppose", "abstain", reason="业主行动不便，上门收票")
    kept_before = counting.stored(survey)
    not_an_image = client.post(
        url, data={**form, "evidence": (io.BytesIO(b"%PDF-1.4 not a photo"), "sheet.jpg")}
    )
    assert not_an_image.status_code == 422
    assert "只能上传照片" in not_an_image.get_data(as_text=True)
    assert count(Ballot) == 0 and counting.stored(survey) == kept_before

    entered = client.post(url, data={**form, "evidence": (io.BytesIO(png_bytes()), "s.png")})
    assert entered.status_code == 302
    ballot = db.session.scalar(select(Ballot))
    assert ballot.source is BallotSource.PAPER and ballot.entered_as is Role.SECRETARY
    assert ballot.evidence_key and counting.stored(survey) != kept_before
    listing = client.get(f"/console/meiyuan/surveys/{survey.id}/paper").get_data(as_text=True)
    evidence = f"/console/meiyuan/surveys/{survey.id}/paper/evidence/{ballot.evidence_key}.jpg"
    assert evidence in listing
    photo = client.get(evidence)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert "no-store" in photo.headers["Cache-Control"]
    planner = app.test_client()
    sign_in_staff(planner, *make_staff(Role.PLANNER, estate))
    assert planner.get(evidence).status_code == 403
    owner, _ = resident(app, estate, "2", "1", "101")
    assert owner.get(evidence).status_code in (302, 403)
    page = owner.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "小区党支部书记" in page and "业主行动不便，上门收票" in page
    assert "在线提交的表决票将替换它" in page


# --- 4. the public notice in the cities' form ---------------------------------------------------


def test_the_notice_states_shares_thresholds_and_corrections_and_prints_with_a_qr(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    survey.organiser, survey.contact = "美苑小区业主委员会", "社区居委会 010-12345678"
    db.session.commit()
    for room, building, unit, choices in (
        ("101", "1", "1", ("support", "support", "oppose")),  # A1 80.50
        ("201", "1", "1", ("support", "oppose", "oppose")),  # A2 60.00
        ("301", "1", "1", ("support", "support", "abstain")),  # A3 70.25 + 55.00
    ):
        vote(app, estate, survey, room, *choices, building=building, unit=unit)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    client.post(
        f"/console/meiyuan/surveys/{survey.id}/roll",
        data={
            "household": household(estate, "2", "1", "101").id,
            "kind": "area",
            "area": "95.00",
            "reason": "以不动产登记簿为准",
        },
    )
    close_survey(survey)
    public = app.test_client()
    page = public.get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True)
    for text in (
        "美苑小区业主委员会",
        "社区居委会 010-12345678",
        "业主 4 人，专有部分面积 360.75 平方米",
        "3 人（占业主总人数的 75.00%）",  # heads 3 of 4
        "265.75 平方米（占总面积的 73.67%）",  # 265.75 of 360.75
        "更正面积",
        "以不动产登记簿为准",
    ):
        assert text in page, text
    # roof: all three participants → 100.00 %; lighting: nobody supports
    assert "经参与表决的业主人数 100.00%、专有部分面积 100.00% 同意" in page
    assert "参与表决的业主人数或专有部分面积未达到三分之二" not in page
    assert "表决未通过" in page  # lighting
    printed = public.get(f"/e/meiyuan/results/{survey.id}/print")
    assert printed.status_code == 200
    online = f"{PUBLIC_BASE_URL}/e/meiyuan/results/{survey.id}"
    assert qr_svg(online) in printed.get_data(as_text=True)


def test_a_notice_without_quorum_says_the_vote_is_not_valid(app):
    estate = make_estate()
    survey = make_survey(estate)
    vote(app, estate, survey, "101", "support", "support", "support")
    close_survey(survey)
    page = app.test_client().get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True)
    assert page.count("参与表决的业主人数或专有部分面积未达到三分之二") == 3


# --- the kept tally ------------------------------------------------------------------------------


def test_recount_finds_a_tampered_tally_and_repairs_it(app):
    estate = make_estate()
    survey = make_survey(estate)
    survey_operations.submit_ballot(
        survey, household(estate, "1", "1", "301"), {i.id: Choice.SUPPORT for i in survey.items}
    )
    runner = app.test_cli_runner()
    fine = runner.invoke(args=["survey", "recount", str(survey.id)])
    assert fine.exit_code == 0 and "一致" in fine.output
    db.session.execute(
        update(KeptCount)
        .where(KeptCount.survey_id == survey.id, KeptCount.measure == "support")
        .values(heads=KeptCount.heads + 1)
    )
    db.session.commit()
    found = runner.invoke(args=["survey", "recount", str(survey.id)])
    assert found.exit_code == 1 and "--repair" in found.output
    repaired = runner.invoke(args=["survey", "recount", str(survey.id), "--repair"])
    assert repaired.exit_code == 0
    assert counting.compare(survey) == []
    assert runner.invoke(args=["survey", "recount", "999999"]).exit_code != 0


ROOMS = [
    ("1", "1", "101"),
    ("1", "1", "201"),
    ("1", "1", "301"),
    ("1", "2", "101"),
    ("2", "1", "101"),
]
OWNERS = ["A1", "A2", "A3", "A4", "A5"]
operation = st.one_of(
    st.tuples(
        st.just("vote"),
        st.sampled_from(ROOMS),
        st.lists(st.sampled_from(list(Choice)), min_size=3, max_size=3),
        st.booleans(),  # on paper
    ),
    st.tuples(st.just("area"), st.sampled_from(ROOMS), st.integers(100, 20000)),
    st.tuples(st.just("transfer"), st.sampled_from(ROOMS), st.sampled_from(OWNERS)),
    st.tuples(st.just("reimport"), st.lists(st.integers(100, 20000), min_size=5, max_size=5)),
)
examples = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(operation, max_size=12))
def test_the_closed_result_is_the_frozen_roll_with_its_corrections(app, operations_list):
    """For any sequence of ballots (online and paper), corrections and re-imports: the kept
    tally equals a full recount, and the closed result equals the pure tally of the roll as it
    stood at opening with the corrections applied."""
    estate = make_estate(code=f"p{next(examples)}")
    survey = make_survey(estate)
    from resident_portal.models import StaffUser

    operations.grant_staff_role(f"sec-{estate.code}", Role.SECRETARY, estate, "pw-long-enough")
    staff = db.session.scalar(select(StaffUser).where(StaffUser.username == f"sec-{estate.code}"))
    model = {  # the roll as the law sees it: household -> [owner, area, building, unit, floor]
        h.id: [h.owner_ref, h.area_centi_m2, h.unit.building.number, h.unit.number, h.floor]
        for h in (household(estate, *room) for room in ROOMS)
    }
    for op in operations_list:
        try:
            if op[0] == "vote":
                _, room, choices, paper = op
                items = [i.id for i in survey.items]
                survey_operations.submit_ballot(
                    survey,
                    household(estate, *room),
                    dict(zip(items, choices, strict=True)),
                    staff_user=staff if paper else None,
                    paper_reason="纸质票" if paper else None,
                )
            elif op[0] == "area":
                _, room, area = op
                h = household(estate, *room)
                survey_operations.correct_roll(
                    survey, h, CorrectionKind.AREA, "更正", staff_user=staff, area_centi_m2=area
                )
                model[h.id][1] = area
            elif op[0] == "transfer":
                _, room, owner = op
                h = household(estate, *room)
                survey_operations.correct_roll(
                    survey, h, CorrectionKind.OWNER, "过户", staff_user=staff, owner_ref=owner
                )
                model[h.id][0] = owner
            else:
                rows = [list(r) for r in SMALL_REGISTER]
                for row, area in zip(rows, op[1], strict=True):
                    row[4] = f"{area / 100:.2f}"
                import_register(estate, rows)
        except OperationError:
            pass  # a refused change changes nothing; the comparison below checks that too
        db.session.expire_all()
        survey = db.session.get(Survey, survey.id)
        assert counting.compare(survey) == []
    close_survey(survey)
    parts = [tally.Part(hid, o, b, u, f, a) for hid, (o, a, b, u, f) in model.items()]
    expected = tally.tally(
        parts, counting.current_ballots(survey), [i.id for i in survey.items], survey.rule
    )
    assert compute(survey).overall == expected


# --- the upgrade gives existing surveys their roll and kept tally -------------------------------


def test_upgrading_keeps_the_results_of_existing_surveys(tmp_path):
    from flask_migrate import downgrade, upgrade

    from .conftest import make_app

    app = make_app("sqlite:///" + str(tmp_path / "upgrade.sqlite3"))
    with app.app_context():
        upgrade()
        estate = make_estate()
        survey = make_survey(estate)
        for room, choice in (("101", Choice.SUPPORT), ("201", Choice.OPPOSE)):
            survey_operations.submit_ballot(
                survey,
                household(estate, "1", "1", room),
                {i.id: choice for i in survey.items},
            )
        before = compute(survey)
        db.session.remove()
        downgrade(revision="0005")
        upgrade()
        survey = db.session.get(Survey, survey.id)
        assert roll.is_frozen(survey) and counting.compare(survey) == []
        after = compute(survey)
        assert (after.overall, after.by_floor) == (before.overall, before.by_floor)
        db.session.remove()
        db.engine.dispose()


def test_a_ballot_replaced_between_reading_and_writing_keeps_the_tally_exact(tmp_path, monkeypatch):
    """Two phones of one household: the second reads the ballot, the first replaces it and
    commits, then the second writes. Its change must be counted from the ballot that is there
    now, not from the one it read (the load test found the kept tally off by exactly that).
    On SQLite, which has no SELECT … FOR UPDATE, the ballot's receipt versions the row; on
    PostgreSQL the row lock makes the first phone wait, so this interleaving cannot happen."""
    import threading

    from flask_migrate import upgrade

    from .conftest import make_app

    app = make_app("sqlite:///" + str(tmp_path / "race.sqlite3"))
    with app.app_context():
        upgrade()
        # 1-1-102 shares every group with 1-1-101 (unit, floor, building, scope).
        estate = make_estate(rows=[*SMALL_REGISTER, ("1", "1", "102", 1, "90.00", "A5", "周", "")])
        survey = make_survey(estate)
        survey_id, h = survey.id, household(estate, "1", "1", "101")
        items = [i.id for i in survey.items]
        survey_operations.submit_ballot(survey, h, dict.fromkeys(items, Choice.SUPPORT))
        # A neighbour's support too, larger in area, so that a count taken from the stale
        # ballot stays positive: the schema's check would refuse a negative one and hide the
        # error.
        neighbour = household(estate, "1", "1", "102")
        survey_operations.submit_ballot(survey, neighbour, dict.fromkeys(items, Choice.SUPPORT))
        original = counting.record_ballot
        interleaved = []

        def first_phone():
            with app.app_context():
                other = db.session.get(Survey, survey_id)
                mine = household(other.estate, "1", "1", "101")
                first = dict.fromkeys(items, Choice.OPPOSE)
                interleaved.append(survey_operations.submit_ballot(other, mine, first))

        def second_phone_writes(*args, **kwargs):
            if not interleaved:  # between its read and its write, the first phone commits
                interleaved.append(True)
                thread = threading.Thread(target=first_phone)
                thread.start()
                thread.join()
            return original(*args, **kwargs)

        monkeypatch.setattr(counting, "record_ballot", second_phone_writes)
        survey_operations.submit_ballot(survey, h, dict.fromkeys(items, Choice.ABSTAIN))
        assert len(interleaved) == 2, "the first phone's ballot was not taken"
        db.session.expire_all()
        survey = db.session.get(Survey, survey_id)
        assert counting.compare(survey) == []
        overall = compute(survey).overall
        assert overall.participated.heads == 2
        assert {(r.support.heads, r.oppose.heads, r.abstain.heads) for r in overall.items} == {
            (1, 0, 1)
        }
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_ballot_that_waited_for_the_lock_counts_from_the_ballot_it_replaces(database_url):
    """PostgreSQL: one phone holds the ballot's row lock; the other waits for it, then changes
    the ballot. Its change must be counted from the choices the first phone wrote, not from
    those it would have seen had it read them together with the row it waited for."""
    import threading
    import time

    from .conftest import empty_tables, make_app

    app = make_app(database_url)
    try:
        with app.app_context():
            estate = make_estate(
                rows=[*SMALL_REGISTER, ("1", "1", "102", 1, "90.00", "A5", "周", "")]
            )
            survey = make_survey(estate)
            survey_id, h = survey.id, household(estate, "1", "1", "101")
            household_id, items = h.id, [i.id for i in survey.items]
            survey_operations.submit_ballot(survey, h, dict.fromkeys(items, Choice.SUPPORT))
            neighbour = household(estate, "1", "1", "102")
            survey_operations.submit_ballot(survey, neighbour, dict.fromkeys(items, Choice.SUPPORT))
        original = counting.record_ballot
        started = []

        def second_phone():
            with app.app_context():
                from resident_portal.models import Household

                other = db.session.get(Survey, survey_id)
                mine = db.session.get(Household, household_id)
                survey_operations.submit_ballot(other, mine, dict.fromkeys(items, Choice.ABSTAIN))

        def first_phone_holds_the_lock(*args, **kwargs):
            if not started:  # the first phone holds the lock: the second one waits for it
                started.append(threading.Thread(target=second_phone))
                started[0].start()
                time.sleep(0.5)
            return original(*args, **kwargs)

        with app.app_context(), pytest.MonkeyPatch.context() as patch:
            patch.setattr(counting, "record_ballot", first_phone_holds_the_lock)
            from resident_portal.models import Household

            first = db.session.get(Survey, survey_id)
            mine = db.session.get(Household, household_id)
            survey_operations.submit_ballot(first, mine, dict.fromkeys(items, Choice.OPPOSE))
        started[0].join()
        with app.app_context():
            survey = db.session.get(Survey, survey_id)
            assert counting.compare(survey) == []
            overall = compute(survey).overall
            assert {(r.support.heads, r.oppose.heads, r.abstain.heads) for r in overall.items} == {
                (1, 0, 1)
            }
    finally:
        with app.app_context():
            empty_tables()
            db.engine.dispose()
