"""Surveys end to end: definitions, voting, receipts, paper ballots, results, API, exports."""

import csv
import io
import json
import re
import threading

import pytest
from jsonschema import Draft202012Validator
from openpyxl import load_workbook
from sqlalchemy import select

from resident_portal.common import OperationError
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Role
from survey import operations
from survey.models import Ballot, BallotRevision, BallotSource, Survey
from survey.tally import Choice

from .conftest import (
    close_survey,
    count,
    empty_tables,
    household,
    make_app,
    make_estate,
    make_staff,
    make_survey,
    resident,
    sign_in_staff,
)


def vote_data(survey, *choices, **extra):
    data = {f"item_{item.id}": c for item, c in zip(survey.items, choices, strict=True)}
    data.update(extra)
    return data


# --- definitions and the CLI ----------------------------------------------------------------


def test_cli_creates_a_survey_from_json_and_exports_it_back(app, tmp_path):
    estate = make_estate()
    definition = {
        "title": "2027年改造意愿征询",
        "title_en": "2027 renovation consultation",
        "kind": "consultation",
        "scope": {"building": "1", "unit": None},
        "opens_at": "2027-01-01T09:00:00+08:00",
        "closes_at": "2027-01-15T18:00:00+08:00",
        "max_priorities": 2,
        "allow_suggestion": True,
        "items": [
            {
                "category": "basic",
                "title": "屋面防水",
                "title_en": "Roofs",
                "estimated_cost_fen": 12_000_000,
            },
            {"category": "upgrade", "title": "社区食堂"},
        ],
    }
    path = tmp_path / "survey.json"
    path.write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["survey", "create", estate.code, str(path)])
    assert result.exit_code == 0, result.output
    survey = db.session.scalar(select(Survey))
    assert survey.building.number == "1" and survey.unit is None
    assert [i.title for i in survey.items] == ["屋面防水", "社区食堂"]
    exported = json.loads(runner.invoke(args=["survey", "export", str(survey.id)]).output)
    for key in ("title", "kind", "scope", "max_priorities", "opens_at"):
        assert exported[key] == definition[key]
    assert exported["items"][0]["estimated_cost_fen"] == 12_000_000
    # the exported definition creates the same survey in another estate
    other = make_estate("lanting", "兰亭小区")
    path.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["survey", "create", other.code, str(path)]).exit_code == 0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"kind": "vote"}, "kind必须是以下值之一"),
        ({"kind": "decision", "matter": None}, "matter必须是以下值之一"),
        ({"closes_at": "2026-12-01T09:00:00+08:00"}, "截止时间必须晚于开始时间"),
        ({"items": []}, "至少需要一个项目"),
        ({"items": [{"category": "luxury", "title": "x"}]}, "第1项"),
        ({"items": [{"category": "basic", "title": "x", "estimated_cost_fen": 1.5}]}, "以分为单位"),
        ({"scope": {"building": "9"}}, "没有9栋"),
        ({"opens_at": "next monday"}, "必须是日期和时间"),
    ],
)
def test_cli_refuses_bad_definitions_and_creates_nothing(app, tmp_path, change, message):
    estate = make_estate()
    definition = {
        "title": "t",
        "kind": "consultation",
        "opens_at": "2026-12-02T09:00:00",
        "closes_at": "2026-12-09T09:00:00",
        "items": [{"category": "basic", "title": "x"}],
    }
    definition.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["survey", "create", estate.code, str(path)])
    assert result.exit_code != 0
    assert message in result.output
    assert count(Survey) == 0


# --- residents ------------------------------------------------------------------------------


def test_home_lists_only_open_surveys_covering_the_household(app):
    estate = make_estate()
    mine = make_survey(estate)
    other_building = make_survey(estate, building="2")
    later = make_survey(estate, opened=False)
    client, _h = resident(app, estate, "1", "1", "201")
    home = client.get("/home").get_data(as_text=True)
    assert f"/surveys/{mine.id}" in home
    assert f"/surveys/{other_building.id}" not in home and f"/surveys/{later.id}" not in home
    assert '<span class="todo">尚未投票</span>' in home


def test_vote_change_and_receipts(app):
    estate = make_estate()
    survey = make_survey(estate)
    client, h = resident(app, estate, "1", "1", "201")
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "业主共同决定" in page and "四分之三" in page  # the rule, plainly at the top
    first = client.post(
        f"/surveys/{survey.id}", data=vote_data(survey, "support", "oppose", "abstain")
    )
    assert first.status_code == 302
    first_receipt = first.headers["Location"].rsplit("/", 1)[1]
    assert first_receipt in client.get(first.headers["Location"]).get_data(as_text=True)
    second = client.post(
        f"/surveys/{survey.id}", data=vote_data(survey, "oppose", "oppose", "oppose")
    )
    second_receipt = second.headers["Location"].rsplit("/", 1)[1]
    assert count(Ballot) == 1 and count(BallotRevision) == 2
    ballot = db.session.scalar(select(Ballot))
    assert {c.choice for c in ballot.choices} == {Choice.OPPOSE}
    # the ballot page shows the current choices, ready to change again
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert second_receipt in page
    assert re.findall(r'<input checked[^>]*value="(\w+)"', page) == ["oppose"] * 3
    # anyone can check a receipt; it tells counted or replaced, never the choices
    public = app.test_client()
    counted = public.get(f"/e/meiyuan/receipt?code={second_receipt}").get_data(as_text=True)
    assert "该表决票已计入统计。" in counted and "替代" not in counted
    replaced = public.get(f"/e/meiyuan/receipt?code={first_receipt}").get_data(as_text=True)
    assert "同一业主之后又提交了表决票" in replaced and "已计入" not in replaced
    assert "反对" not in counted.split("<main")[1].split("</main>")[0].replace("反对票", "")
    unknown = public.get("/e/meiyuan/receipt?code=XXXXXXXX").get_data(as_text=True)
    assert "本小区没有使用该回执码的表决票" in unknown


def test_owner_with_two_households_has_one_ballot_for_both(app):
    estate = make_estate()
    survey = make_survey(estate)  # estate-wide: A3 holds 1-1-301 and 1-2-101
    first, _ = resident(app, estate, "1", "1", "301")
    second, _ = resident(app, estate, "1", "2", "101")
    first.post(f"/surveys/{survey.id}", data=vote_data(survey, "support", "support", "support"))
    second.post(f"/surveys/{survey.id}", data=vote_data(survey, "oppose", "oppose", "oppose"))
    assert count(Ballot) == 1
    from survey.results import compute

    overall = compute(survey).overall
    assert overall.participated.heads == 1 and overall.participated.households == 2
    assert overall.participated.area == 7025 + 5500
    assert overall.items[0].oppose.heads == 1


def test_bad_ballots_change_nothing(app):
    estate = make_estate()
    survey = make_survey(estate, kind="consultation", max_priorities=1)
    client, h = resident(app, estate, "1", "1", "101")
    missing = client.post(
        f"/surveys/{survey.id}",
        data=vote_data(survey, "support", "support", "support")
        | {f"item_{survey.items[2].id}": ""},
    )
    assert missing.status_code == 422 and "请选择支持、反对或弃权。" in missing.get_data(
        as_text=True
    )
    nonsense = client.post(
        f"/surveys/{survey.id}", data=vote_data(survey, "support", "maybe", "support")
    )
    assert nonsense.status_code == 422
    ids = [str(i.id) for i in survey.items]
    too_many = client.post(
        f"/surveys/{survey.id}",
        data={**vote_data(survey, "support", "support", "support"), "priorities": ids[:2]},
    )
    assert too_many.status_code == 200 and count(Ballot) == 0
    assert count(Ballot) == 0 and count(BallotRevision) == 0


def test_closed_and_unopened_surveys_take_no_ballots(app):
    estate = make_estate()
    later = make_survey(estate, opened=False)
    client, h = resident(app, estate, "1", "1", "101")
    assert "本次征询表决将于" in client.get(f"/surveys/{later.id}").get_data(as_text=True)
    client.post(f"/surveys/{later.id}", data=vote_data(later, "support", "support", "support"))
    survey = make_survey(estate)
    close_survey(survey)
    response = client.get(f"/surveys/{survey.id}")
    assert response.status_code == 302 and "/results/" in response.headers["Location"]
    client.post(f"/surveys/{survey.id}", data=vote_data(survey, "support", "support", "support"))
    assert count(Ballot) == 0
    with pytest.raises(OperationError):
        operations.submit_ballot(survey, h, {i.id: Choice.SUPPORT for i in survey.items})


def test_household_outside_the_scope_cannot_vote(app):
    estate = make_estate()
    survey = make_survey(estate, building="1", unit="2")
    client, h = resident(app, estate, "1", "1", "101")
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "本次征询表决针对其他楼栋或单元的业主，您不参加表决。" in page
    client.post(f"/surveys/{survey.id}", data=vote_data(survey, "support", "support", "support"))
    assert count(Ballot) == 0


# --- paper ballots --------------------------------------------------------------------------


def test_paper_ballot_never_replaces_an_online_one(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    online, h_online = resident(app, estate, "1", "1", "201")
    online.post(f"/surveys/{survey.id}", data=vote_data(survey, "oppose", "oppose", "oppose"))
    # The entry list offers only owners who have not voted: this one is not a choice there …
    listed = client.post(
        f"/console/meiyuan/surveys/{survey.id}/paper",
        data=vote_data(
            survey, "support", "support", "support", household=str(h_online.id), reason="纸质票"
        ),
    )
    assert listed.status_code == 422
    assert f'<option value="{h_online.id}">' not in listed.get_data(as_text=True)
    # … and the household's own entry form (its sheet's QR code) refuses it too.
    refused = client.post(
        f"/console/meiyuan/surveys/{survey.id}/paper/{h_online.id}",
        data=vote_data(
            survey, "support", "support", "support", household=str(h_online.id), reason="纸质票"
        ),
    )
    assert "该业主已在线投票，纸质表决票不能替代。" in refused.get_data(as_text=True)
    ballot = db.session.scalar(select(Ballot).where(Ballot.owner_ref == h_online.owner_ref))
    assert ballot.source is BallotSource.ONLINE
    assert {c.choice for c in ballot.choices} == {Choice.OPPOSE}

    paper_h = household(estate, "2", "1", "101")
    no_reason = client.post(
        f"/console/meiyuan/surveys/{survey.id}/paper",
        data=vote_data(
            survey, "support", "support", "support", household=str(paper_h.id), reason=""
        ),
    )
    assert no_reason.status_code == 422
    entered = client.post(
        f"/console/meiyuan/surveys/{survey.id}/paper",
        data=vote_data(
            survey,
            "support",
            "support",
            "support",
            household=str(paper_h.id),
            reason="老人不会用手机，入户收取纸质表决票",
        ),
    )
    assert entered.status_code == 302
    paper = db.session.scalar(select(Ballot).where(Ballot.owner_ref == paper_h.owner_ref))
    assert paper.source is BallotSource.PAPER and paper.paper_reason.startswith("老人")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "survey.paper_ballot"))
    assert entry.detail["household"] == paper_h.id
    # the owner's own online ballot later replaces the paper one
    owner, _ = resident(app, estate, "2", "1", "101")
    owner.post(f"/surveys/{survey.id}", data=vote_data(survey, "abstain", "abstain", "abstain"))
    db.session.expire_all()
    assert db.session.get(Ballot, paper.id).source is BallotSource.ONLINE


# --- results, notices, exports, API ---------------------------------------------------------


def vote_everyone(app, estate, survey, plan):
    for (building, unit, room), choices in plan.items():
        client, _ = resident(app, estate, building, unit, room)
        assert (
            client.post(f"/surveys/{survey.id}", data=vote_data(survey, *choices)).status_code
            == 302
        )


def test_public_notice_after_closing_shows_only_aggregates(app):
    estate = make_estate()
    survey = make_survey(estate)
    vote_everyone(
        app,
        estate,
        survey,
        {
            ("1", "1", "101"): ("support", "support", "oppose"),
            ("1", "1", "201"): ("support", "oppose", "oppose"),
            ("1", "1", "301"): ("support", "support", "abstain"),
            ("2", "1", "101"): ("support", "support", "support"),
        },
    )
    public = app.test_client()
    assert public.get(f"/e/meiyuan/results/{survey.id}").status_code == 404  # still open
    close_survey(survey)
    page = public.get(f"/e/meiyuan/results/{survey.id}").get_data(as_text=True)
    assert "公示" in page and "<svg" in page
    assert (
        '<dt>参与表决门槛（人数、面积均达三分之二）</dt><dd class="ok">已达到</dd>' in page
    )  # 4 of 4 owners
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    for name in ("王小明", "李娟", "张伟", "赵敏", ">A1<", ">A2<", "13800001590"):
        assert name not in main
    assert "按单元" not in page and "按楼层" not in page
    assert f"/e/meiyuan/results/{survey.id}" in public.get("/e/meiyuan/results").get_data(
        as_text=True
    )


def results_schema(client):
    document = client.get("/api/v1/openapi.json").get_json()
    Draft202012Validator.check_schema(document["components"]["schemas"]["Results"])
    return {"$ref": "#/components/schemas/Results", "components": document["components"]}


def test_results_api_shape_and_exact_decision(app, client):
    estate = make_estate()
    survey = make_survey(estate)  # renovation: three quarters
    vote_everyone(
        app,
        estate,
        survey,
        {
            ("1", "1", "101"): ("support", "support", "oppose"),  # A1 80.50
            ("1", "1", "201"): ("support", "oppose", "oppose"),  # A2 60.00
            ("1", "1", "301"): ("support", "support", "abstain"),  # A3 70.25 + 55.00
            ("2", "1", "101"): ("oppose", "support", "support"),  # A4 90.00
        },
    )
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    live = client.get(f"/api/v1/surveys/{survey.id}/results").get_json()
    Draft202012Validator(results_schema(client)).validate(live)
    # While open: participation only, every choice figure withheld (null), in one shape.
    assert live["survey"]["status"] == "open" and live["choices_shown"] is False
    assert live["participated"]["heads"] == 4 and live["quorum_met"] is True
    assert all(
        item[key] is None
        for group in [live, *live["by_building"]]
        for item in group["items"]
        for key in ("support", "oppose", "abstain", "priority_picks", "approved")
    )
    close_survey(survey)
    data = client.get(f"/api/v1/surveys/{survey.id}/results").get_json()
    Draft202012Validator(results_schema(client)).validate(data)
    assert data["survey"]["rule"] == "three_quarters" and data["survey"]["status"] == "closed"
    assert data["eligible"] == {"households": 5, "heads": 4, "area_m2": "355.75"}
    assert data["participated"] == data["eligible"] and data["quorum_met"] is True
    assert data["choices_shown"] is True
    # Building 1 has 3 participating owners, building 2 one: both withheld (fewer than 5).
    assert [b["choices_shown"] for b in data["by_building"]] == [False, False]
    assert data["by_building"][1]["items"][0]["support"] is None
    roof, elevator, lighting = data["items"]
    # roof: 3 of 4 heads (exactly 3/4) but 265.75 of 355.75 m² (74.7 %) → not approved
    assert roof["support"] == {"heads": 3, "area_m2": "265.75"} and roof["approved"] is False
    # elevators: 3 heads, 295.75 m² (83 %) → approved
    assert elevator["support"] == {"heads": 3, "area_m2": "295.75"} and elevator["approved"]
    assert lighting["abstain"] == {"heads": 1, "area_m2": "125.25"}
    assert [b["building"] for b in data["by_building"]] == ["1", "2"]
    assert data["by_building"][0]["eligible"]["heads"] == 3
    listing = client.get("/api/v1/surveys?estate=meiyuan").get_json()
    assert [s["id"] for s in listing["surveys"]] == [survey.id]


def test_api_tokens_read_with_the_owners_permissions(app, client):
    estate = make_estate()
    other = make_estate("lanting", "兰亭小区")
    survey = make_survey(estate)
    foreign = make_survey(other)
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    page = client.post("/console/tokens", data={"name": "区级看板"}).get_data(as_text=True)
    token = next(
        word for word in page.replace("<", " ").replace(">", " ").split() if word.startswith("rp_")
    )
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get(f"/api/v1/surveys/{survey.id}/results", headers=headers).status_code == 200
    assert api.get(f"/api/v1/surveys/{foreign.id}/results", headers=headers).status_code == 403
    listed = api.get("/api/v1/surveys", headers=headers).get_json()["surveys"]
    assert [s["id"] for s in listed] == [survey.id]
    anonymous = api.get(f"/api/v1/surveys/{survey.id}/results")
    assert anonymous.status_code == 401 and anonymous.get_json()["status"] == 401
    wrong = api.get(
        f"/api/v1/surveys/{survey.id}/results", headers={"Authorization": "Bearer rp_nonsense"}
    )
    assert wrong.status_code == 401
    # a token never opens the console, and a revoked token opens nothing
    assert api.get("/console/meiyuan", headers=headers).status_code == 302
    from resident_portal.models import ApiToken

    record = db.session.scalar(select(ApiToken))
    client.post(f"/console/tokens/{record.id}/revoke")
    assert api.get(f"/api/v1/surveys/{survey.id}/results", headers=headers).status_code == 401


def test_exports_agree_with_the_api_and_neutralise_formulas(app, client):
    estate = make_estate()
    survey = make_survey(estate, kind="consultation", max_priorities=2)
    survey.items[0].title = '=HYPERLINK("http://evil.example","x")'
    db.session.commit()
    vote_everyone(app, estate, survey, {("1", "1", "101"): ("support", "oppose", "abstain")})
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    base = f"/console/meiyuan/surveys/{survey.id}/results"
    live = list(csv.reader(io.StringIO(client.get(base + ".csv").data.decode("utf-8-sig"))))
    # Open: the participation columns are filled, every choice cell is empty.
    assert all(r[9] != "" and r[11:18] == [""] * 7 and r[-1] == "false" for r in live[1:])
    close_survey(survey)
    rows = list(csv.reader(io.StringIO(client.get(base + ".csv").data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["group", "building", "unit"] and rows[0][-1] == "choices_shown"
    scope_rows = [r for r in rows[1:] if r[0] == "scope"]
    assert len(scope_rows) == 3 and scope_rows[0][5].startswith("'=")
    assert scope_rows[0][11] == "1" and scope_rows[0][12] == "80.50"  # support heads, area
    # One owner took part: every breakdown row below the scope is withheld.
    assert all(r[11] == "" and r[-1] == "false" for r in rows[1:] if r[0] != "scope")
    sheet = load_workbook(io.BytesIO(client.get(base + ".xlsx").data)).active
    assert sheet["F2"].value.startswith("'=") and sheet.max_row == len(rows)
    assert client.get(base + ".json").get_json()["items"][0]["support"]["heads"] == 1
    definition = client.get(f"/console/meiyuan/surveys/{survey.id}/definition.json").get_json()
    assert definition["kind"] == "consultation" and len(definition["items"]) == 3


def test_door_to_door_list_masks_names_and_shrinks_as_people_vote(app, client):
    estate = make_estate()
    survey = make_survey(estate)
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    url = f"/console/meiyuan/surveys/{survey.id}/not-voted"
    page = client.get(url).get_data(as_text=True)
    assert "王**" in page and "王小明" not in page and "138****1590" in page
    assert page.count("<tr><td>") == 5
    vote_everyone(app, estate, survey, {("1", "1", "301"): ("support", "support", "support")})
    page = client.get(url).get_data(as_text=True)
    assert page.count("<tr><td>") == 3  # both of A3's households are done


def test_console_creates_a_survey_from_the_catalogue_and_edits_items_until_it_opens(app, client):
    estate = make_estate()
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    form = client.get("/console/meiyuan/surveys/new").get_data(as_text=True)
    assert "屋面防水" in form and "加装电梯" in form and "社区食堂" in form
    response = client.post(
        "/console/meiyuan/surveys/new",
        data={
            "title": "加装电梯表决",
            "kind": "decision",
            "matter": "renovate",
            "scope": "u:1:1",
            "opens_at": "2030-01-01T09:00",
            "closes_at": "2030-01-15T18:00",
            "max_priorities": "0",
            "items": ["elevators"],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    survey = db.session.scalar(select(Survey))
    assert survey.unit.number == "1" and survey.opens_at.hour == 1  # 09:00 Beijing = 01:00 UTC
    item = survey.items[0]
    edit = f"/console/meiyuan/surveys/{survey.id}/items/{item.id}"
    assert (
        client.post(
            edit,
            data={"category": "improvement", "title": "1单元加装电梯", "estimated_cost": "abc"},
        ).status_code
        == 422
    )
    assert (
        client.post(
            edit,
            data={
                "category": "improvement",
                "title": "1单元加装电梯",
                "estimated_cost": "650,000.50",
            },
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert item.title == "1单元加装电梯" and item.estimated_cost_fen == 65_000_050
    bad = client.post(
        "/console/meiyuan/surveys/new",
        data={
            "title": "x",
            "kind": "consultation",
            "opens_at": "2030-01-02T09:00",
            "closes_at": "2030-01-01T09:00",
            "max_priorities": "0",
            "items": ["roof"],
        },
    )
    assert bad.status_code == 422 and count(Survey) == 1
    # once open, items are fixed
    survey.opens_at = survey.opens_at.replace(year=2020)
    db.session.commit()
    client.post(edit, data={"category": "basic", "title": "changed"})
    db.session.expire_all()
    assert item.title == "1单元加装电梯"


# --- concurrency ----------------------------------------------------------------------------


def test_two_phones_of_one_household_at_the_same_instant(database_url):
    """Both submissions are kept in the history; exactly one ballot counts."""
    app = make_app(database_url)
    try:
        with app.app_context():
            estate = make_estate()
            survey = make_survey(estate)
            h = household(estate, "1", "1", "101")
            survey_id, household_id = survey.id, h.id
        barrier = threading.Barrier(2)
        receipts, errors = [], []

        def phone(choice):
            with app.app_context():
                from resident_portal.models import Household

                s = db.session.get(Survey, survey_id)
                hh = db.session.get(Household, household_id)
                choices = {item.id: choice for item in s.items}
                barrier.wait()
                try:
                    receipts.append(operations.submit_ballot(s, hh, choices))
                except Exception as error:  # noqa: BLE001 - reported below
                    errors.append(error)

        threads = [
            threading.Thread(target=phone, args=(c,)) for c in (Choice.SUPPORT, Choice.OPPOSE)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and len(receipts) == 2
        with app.app_context():
            ballots = db.session.scalars(select(Ballot)).all()
            assert len(ballots) == 1 and ballots[0].receipt in receipts
            assert len({c.choice for c in ballots[0].choices}) == 1
            assert count(BallotRevision) == 2
    finally:
        with app.app_context():
            empty_tables()
            db.engine.dispose()


def test_the_api_answers_401_before_looking_anything_up(app):
    """Without credentials an unknown survey and a known one answer alike: ids cannot be
    enumerated."""
    survey = make_survey(make_estate())
    anonymous = app.test_client()
    for path in (
        f"/api/v1/surveys/{survey.id}/results",
        "/api/v1/surveys/999999/results",
        "/api/v1/surveys?estate=meiyuan",
        "/api/v1/surveys?estate=nosuchestate",
    ):
        answer = anonymous.get(path)
        assert answer.status_code == 401, path
        assert answer.get_json()["status"] == 401
