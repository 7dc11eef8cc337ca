"""Renovation projects: stages, funding arithmetic, parties, progress, the public notice board
and the console (docs/renovation.md). Every test runs on SQLite and PostgreSQL."""

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from resident_portal.common import OperationError
from resident_portal.extensions import db
from resident_portal.models import AuditEntry, Role
from resident_portal.renovation import money, operations, record
from resident_portal.renovation.models import (
    Funding,
    FundingSource,
    PartyRole,
    Project,
    ProjectStage,
    Stage,
)
from resident_portal.reports.photos import reencode

from .conftest import (
    count,
    household,
    make_campaign,
    make_estate,
    make_report,
    make_staff,
    make_staff_user,
    sign_in_staff,
)
from .test_reports import phone_photo

TODAY = operations.today_in_china()


@pytest.fixture
def estate(app):
    return make_estate()


@pytest.fixture
def planner(estate):
    from resident_portal.models import StaffUser

    username, _ = make_staff(Role.PLANNER, estate)
    return db.session.scalar(select(StaffUser).where(StaffUser.username == username))


@pytest.fixture
def project(estate, planner):
    return operations.create_project(estate, "美苑小区综合改造", 2026, "12345", staff_user=planner)


def audits(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


# --- stages ----------------------------------------------------------------------------------


def test_a_new_project_has_every_stage_none_completed(project):
    assert [row.stage for row in project.stages] == list(Stage)
    assert project.current_stage is Stage.INITIATION
    assert audits("renovation.create")[0].detail["project"] == project.id


def test_stages_are_completed_in_order_with_their_dates(project, planner):
    operations.complete_stage(
        project, Stage.INITIATION, TODAY - timedelta(days=30), staff_user=planner
    )
    with pytest.raises(OperationError, match="first"):
        operations.complete_stage(project, Stage.DESIGN, TODAY, staff_user=planner)
    operations.complete_stage(
        project, Stage.CONSULTATION, TODAY - timedelta(days=20), staff_user=planner
    )
    assert project.current_stage is Stage.DESIGN
    assert [a.detail["stage"] for a in audits("renovation.complete_stage")] == [
        "initiation",
        "consultation",
    ]


def test_a_date_before_the_previous_stage_is_refused_and_nothing_changes(project, planner):
    operations.complete_stage(
        project, Stage.INITIATION, TODAY - timedelta(days=5), staff_user=planner
    )
    with pytest.raises(OperationError) as refused:
        operations.complete_stage(
            project, Stage.CONSULTATION, TODAY - timedelta(days=6), staff_user=planner
        )
    assert refused.value.params["stage"] == "consultation"
    db.session.expire_all()
    assert db.session.get(Project, project.id).stage_row(Stage.CONSULTATION).actual_on is None
    assert len(audits("renovation.complete_stage")) == 1


def test_a_stage_cannot_be_completed_in_the_future(project, planner):
    with pytest.raises(OperationError, match="future"):
        operations.complete_stage(
            project, Stage.INITIATION, TODAY + timedelta(days=1), staff_user=planner
        )


def test_planned_dates_out_of_order_are_refused(project, planner):
    with pytest.raises(OperationError, match="before"):
        operations.plan_stages(
            project,
            {Stage.STARTED: date(2026, 9, 1), Stage.COMPLETED: date(2026, 8, 1)},
            staff_user=planner,
        )
    db.session.expire_all()
    assert all(row.planned_on is None for row in db.session.get(Project, project.id).stages)
    operations.plan_stages(
        project,
        {Stage.STARTED: date(2026, 8, 1), Stage.COMPLETED: date(2026, 12, 1)},
        staff_user=planner,
    )
    assert project.stage_row(Stage.COMPLETED).planned_on == date(2026, 12, 1)
    assert audits("renovation.plan")[0].detail["planned"] == {
        "started": "2026-08-01",
        "completed": "2026-12-01",
    }


def test_going_back_needs_a_reason_and_clears_later_stages(project, planner):
    for offset, stage in enumerate([Stage.INITIATION, Stage.CONSULTATION, Stage.DESIGN]):
        operations.complete_stage(
            project, stage, TODAY - timedelta(days=10 - offset), staff_user=planner
        )
    with pytest.raises(OperationError, match="reason"):
        operations.reopen_stage(project, Stage.CONSULTATION, "  ", staff_user=planner)
    assert project.current_stage is Stage.APPROVAL
    operations.reopen_stage(project, Stage.CONSULTATION, "居民意见需重新征求", staff_user=planner)
    assert project.current_stage is Stage.CONSULTATION
    assert project.stage_row(Stage.DESIGN).actual_on is None
    [entry] = audits("renovation.reopen_stage")
    assert entry.detail["reason"] == "居民意见需重新征求"
    assert set(entry.detail["cleared"]) == {"consultation", "design"}


def test_the_schema_keeps_one_row_per_stage(project):
    db.session.add(ProjectStage(project_id=project.id, stage=Stage.DESIGN, position=2))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- funding -----------------------------------------------------------------------------------


def test_funding_by_source_in_fen(project, planner):
    operations.set_funding(
        project, FundingSource.CENTRAL, 300_000_00, 150_000_00, staff_user=planner
    )
    operations.set_funding(project, FundingSource.LOCAL, 200_000_00, 0, staff_user=planner)
    lines = record.funding_lines(project)
    assert [(ln.source, ln.planned_fen, ln.received_fen) for ln in lines] == [
        (FundingSource.CENTRAL, 300_000_00, 150_000_00),
        (FundingSource.LOCAL, 200_000_00, 0),
    ]
    total = record.budget(lines)
    assert (total.planned, total.received) == (500_000_00, 150_000_00)
    assert total.received_rate == Fraction(3, 10)


@pytest.mark.parametrize(
    "planned, received, note, message",
    [
        (-1, 0, "", "at least 0"),
        (100, 200, "", "note"),
        ("12", 0, "", "at least 0"),
        (100, -5, "", "at least 0"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(
    project, planner, planned, received, note, message
):
    with pytest.raises(OperationError, match=message):
        operations.set_funding(
            project, FundingSource.CENTRAL, planned, received, note, staff_user=planner
        )
    assert count(Funding) == 0
    assert not audits("renovation.funding")


def test_received_above_planned_with_a_note_is_kept(project, planner):
    operations.set_funding(
        project, FundingSource.UTILITIES, 100_00, 120_00, "燃气公司追加", staff_user=planner
    )
    assert project.funding_line(FundingSource.UTILITIES).note == "燃气公司追加"


def test_an_unknown_source_is_refused(project, planner):
    with pytest.raises(OperationError, match="Unknown funding source"):
        operations.set_funding(project, "lottery", 1, 0, staff_user=planner)


def test_a_budget_is_saved_whole_or_not_at_all(project, planner):
    with pytest.raises(OperationError):
        operations.set_budget(
            project,
            {
                FundingSource.CENTRAL: (100_00, 0, ""),
                FundingSource.PROVINCIAL: (100_00, 200_00, ""),  # above plan, no note
            },
            staff_user=planner,
        )
    assert count(Funding) == 0


def test_the_residents_line_comes_from_the_campaigns(app, estate, project, planner):
    from contributions import operations as contribution_operations

    campaign = make_campaign(estate)
    h = household(estate, "1", "1", "101")
    from contributions.models import Channel

    contribution_operations.pledge(campaign, h, 600_00, Channel.DIRECT)
    contribution_operations.record_payment(
        campaign, h, 400_00, TODAY, "R-1", "", staff_user=make_staff_user(estate)
    )
    operations.set_funding(project, FundingSource.RESIDENTS, 1_000_00, 0, staff_user=planner)
    operations.set_funding(project, FundingSource.CENTRAL, 9_000_00, 3_000_00, staff_user=planner)
    [central, residents] = sorted(
        record.funding_lines(project), key=lambda ln: ln.source != "central"
    )
    assert residents.source is FundingSource.RESIDENTS
    assert (residents.pledged_fen, residents.received_fen) == (600_00, 400_00)
    total = record.budget(record.funding_lines(project))
    # 600 of 10,000 planned: exactly 6 %
    assert total.residents_share_pledged == Fraction(6, 100)
    # 400 of the 3,400 received
    assert total.residents_share_received == Fraction(400, 3_400)
    with pytest.raises(OperationError, match="campaigns"):
        operations.set_funding(project, FundingSource.RESIDENTS, 1_000_00, 1_00, staff_user=planner)


# --- the pure arithmetic ---------------------------------------------------------------------


@given(st.integers(0, 10**13), st.integers(1, 10**13))
def test_percent_text_is_the_exact_share_rounded_half_up(part, whole):
    text = money.percent_text(money.share(part, whole))
    shown = Fraction(text.rstrip("%"))
    exact = Fraction(part * 100, whole)
    assert abs(shown - exact) <= Fraction(1, 200)
    # half up: the shown value is the nearest, ties going up
    assert shown - Fraction(1, 200) <= exact < shown + Fraction(1, 200)


@given(st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 10**12)), max_size=10))
def test_budget_totals_are_exact_sums(pairs):
    budget = money.Budget(tuple(money.Line(f"s{i}", p, r) for i, (p, r) in enumerate(pairs)))
    assert budget.planned == sum(p for p, _ in pairs)
    assert budget.received == sum(r for _, r in pairs)


def test_shares_on_the_boundaries():
    assert money.percent_text(Fraction(1, 8)) == "12.50%"
    assert money.percent_text(Fraction(1, 3)) == "33.33%"
    assert money.percent_text(Fraction(2, 3)) == "66.67%"
    assert money.percent_text(Fraction(1, 200000)) == "0.00%"
    assert money.percent_text(Fraction(1, 20000)) == "0.01%"  # 0.005 % rounds up
    assert money.percent_text(None) == "—"
    assert money.share(1, 0) is None


# --- parties, scope, notes ---------------------------------------------------------------


def test_parties_are_set_changed_and_removed(project, planner):
    operations.set_party(
        project, PartyRole.CONSTRUCTOR, "某建工集团", "李工", "021-5555", staff_user=planner
    )
    assert project.party(PartyRole.CONSTRUCTOR).contact == "李工"
    operations.set_party(project, PartyRole.CONSTRUCTOR, "", staff_user=planner)
    assert project.party(PartyRole.CONSTRUCTOR) is None
    assert [a.action for a in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))][
        -2:
    ] == [
        "renovation.party",
        "renovation.party_remove",
    ]


def test_a_progress_note_with_photos_goes_on_the_timeline(app, estate, project):
    from resident_portal.models import StaffUser

    username, _ = make_staff(Role.CONTRACTOR, estate)
    contractor = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    photo = reencode(phone_photo(400, 300, 1))
    note = operations.add_note(project, "3号楼外墙保温完成", [photo], staff_user=contractor)
    assert note.author_role == "contractor"
    assert [p.photo_key for p in note.photos] == [photo.key]
    with pytest.raises(OperationError):
        operations.add_note(project, "   ", [], staff_user=contractor)


# --- pages ---------------------------------------------------------------------------------


def test_the_notice_board_is_public_and_has_no_personal_data(app, client, estate, project, planner):
    operations.set_party(
        project, PartyRole.CONSTRUCTOR, "某建工集团", "李工", "02155550000", staff_user=planner
    )
    operations.set_funding(
        project, FundingSource.CENTRAL, 300_000_00, 100_000_00, staff_user=planner
    )
    operations.plan_stages(
        project, {Stage.INITIATION: TODAY - timedelta(days=3)}, staff_user=planner
    )
    operations.add_scope_item(project, "屋面防水", staff_user=planner)
    make_report(estate, household(estate, "1", "1", "101"), category="site_safety")
    page = client.get(f"/e/{estate.code}/project")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for expected in (
        "美苑小区综合改造",
        "某建工集团",
        "02155550000",
        "12345",
        "屋面防水",
        "300,000.00",
        "33.33%",
        "落后计划 3 天",
    ):
        assert expected in text, expected
    for personal in ("王小明", "13800001590", "楼顶防水做完后卧室漏水"):
        assert personal not in text
    assert client.get(f"/e/{estate.code}/project/{project.id}").status_code == 200
    assert client.get(f"/e/lanting/project/{project.id}").status_code == 404


def test_the_estate_page_links_to_the_board(client, estate):
    assert f'href="/e/{estate.code}/project"' in client.get(f"/e/{estate.code}").get_data(
        as_text=True
    )
    assert "尚未公布" in client.get(f"/e/{estate.code}/project").get_data(as_text=True)


def test_progress_photos_are_public_only_for_their_estate(app, client, estate, project, planner):
    photo = reencode(phone_photo(400, 300, 1))
    operations.add_note(project, "开工", [photo], staff_user=planner)
    assert client.get(f"/e/{estate.code}/project/photos/{photo.key}.jpg").status_code == 200
    make_estate("lanting", "兰亭小区")
    assert client.get(f"/e/lanting/project/photos/{photo.key}.jpg").status_code == 404


def test_the_console_creates_a_project_and_refuses_bad_input_beside_the_field(app, client, estate):
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    created = client.post(
        f"/console/{estate.code}/renovation/new", data={"name": "二期", "batch_year": "2027"}
    )
    assert created.status_code == 303
    project = db.session.scalar(select(Project))
    base = f"/console/{estate.code}/renovation/{project.id}"
    assert client.get(base).status_code == 200
    refused = client.post(f"{base}/budget", data={"planned_central": "abc"})
    assert refused.status_code == 422
    assert "金额" in refused.get_data(as_text=True)
    refused = client.post(
        f"{base}/budget", data={"planned_central": "100", "received_central": "200"}
    )
    assert refused.status_code == 422
    assert count(Funding) == 0
    assert (
        client.post(
            f"{base}/complete", data={"stage": "initiation", "on": TODAY.isoformat()}
        ).status_code
        == 303
    )
    refused = client.post(f"{base}/reopen", data={"stage": "initiation", "reason": ""})
    assert refused.status_code == 422


def test_a_secretary_sees_the_record_but_cannot_change_it(app, client, estate, project):
    sign_in_staff(client, *make_staff(Role.SECRETARY, estate))
    page = client.get(f"/console/{estate.code}/renovation/{project.id}")
    assert page.status_code == 200
    assert "/budget" not in page.get_data(as_text=True)
    assert (
        client.post(f"/console/{estate.code}/renovation/{project.id}/budget", data={}).status_code
        == 403
    )


# --- completion acceptance ------------------------------------------------------------------


def finished(project, planner):
    for step, stage in enumerate(STAGES_BEFORE_ACCEPTANCE):
        operations.complete_stage(
            project, stage, TODAY - timedelta(days=30 - step), staff_user=planner
        )


STAGES_BEFORE_ACCEPTANCE = list(Stage)[: Stage.ACCEPTED.index]


def test_acceptance_needs_the_sign_off_and_completes_the_stage(app, estate, project, planner):
    finished(project, planner)
    with pytest.raises(OperationError, match="acceptance record"):
        operations.complete_stage(project, Stage.ACCEPTED, TODAY, staff_user=planner)
    with pytest.raises(OperationError, match="sign-off first"):
        operations.pass_acceptance(project, TODAY, staff_user=planner)
    with pytest.raises(OperationError, match="names"):
        operations.record_signoff(project, "  \n ", TODAY, staff_user=make_staff_user(estate))
    operations.record_signoff(
        project, "张三\n李四\n王五", TODAY, staff_user=make_staff_user(estate)
    )
    operations.pass_acceptance(project, TODAY, staff_user=planner)
    assert project.current_stage is Stage.HANDOVER
    assert project.acceptance.passed_on == TODAY
    assert project.acceptance.names == ["张三", "李四", "王五"]
    [entry] = audits("renovation.accept")
    assert entry.detail["open_safety_reports"] == 0


def test_open_safety_reports_block_acceptance_unless_a_planner_gives_a_reason(
    app, estate, project, planner
):
    finished(project, planner)
    make_report(estate, household(estate, "1", "1", "101"), category="fire_safety")
    make_report(estate, household(estate, "1", "1", "201"), category="noise")
    operations.record_signoff(project, "张三", TODAY, staff_user=make_staff_user(estate))
    with pytest.raises(OperationError) as refused:
        operations.pass_acceptance(project, TODAY, staff_user=planner)
    assert refused.value.params == {"count": 1}
    assert project.current_stage is Stage.ACCEPTED
    operations.pass_acceptance(
        project, TODAY, "消防通道已临时疏通，整改限期一周", staff_user=planner
    )
    record = project.acceptance
    assert (record.open_reports, record.open_safety_reports) == (2, 1)
    assert record.override_reason.startswith("消防通道")


def test_going_back_before_acceptance_voids_the_record(app, estate, project, planner):
    finished(project, planner)
    operations.record_signoff(project, "张三", TODAY, staff_user=make_staff_user(estate))
    operations.pass_acceptance(project, TODAY, staff_user=planner)
    operations.reopen_stage(project, Stage.COMPLETED, "外墙脱落，重新施工", staff_user=planner)
    assert project.acceptance is None
    assert audits("renovation.reopen_stage")[0].detail["cleared"]["acceptance"][
        "representatives"
    ] == ["张三"]


def test_the_secretary_types_the_sign_off_and_the_board_shows_only_counts(
    app, client, estate, project, planner
):
    finished(project, planner)
    secretary = app.test_client()
    sign_in_staff(secretary, *make_staff(Role.SECRETARY, estate))
    base = f"/console/{estate.code}/renovation/{project.id}"
    refused = secretary.post(f"{base}/signoff", data={"representatives": "", "signed_on": ""})
    assert refused.status_code == 422
    saved = secretary.post(
        f"{base}/signoff", data={"representatives": "张三\n李四", "signed_on": TODAY.isoformat()}
    )
    assert saved.status_code == 303
    assert secretary.post(f"{base}/accept", data={"on": TODAY.isoformat()}).status_code == 403
    operations.pass_acceptance(project, TODAY, staff_user=planner)
    board = client.get(f"/e/{estate.code}/project").get_data(as_text=True)
    assert "2 位居民代表" in board
    assert "张三" not in board


def test_scope_items_come_from_what_the_residents_approved(app, client, estate, project, planner):
    from survey import operations as survey_operations
    from survey.tally import Choice

    from .conftest import close_survey, make_survey

    survey = make_survey(estate, items=("roof", "lighting"))
    for room in (("1", "1", "101"), ("1", "1", "301"), ("2", "1", "101")):  # A1, A3, A4 of 4
        survey_operations.submit_ballot(
            survey,
            household(estate, *room),
            {survey.items[0].id: Choice.SUPPORT, survey.items[1].id: Choice.OPPOSE},
        )
    close_survey(survey)
    roof, lighting = survey.items
    assert record.approved_items(estate) == [(roof.id, roof.title)]
    with pytest.raises(OperationError, match="did not approve"):
        operations.add_scope_item(project, "", lighting.id, staff_user=planner)
    item = operations.add_scope_item(project, "", roof.id, staff_user=planner)
    assert (item.title, item.survey_item_id) == (roof.title, roof.id)
    sign_in_staff(client, *make_staff(Role.PLANNER, estate))
    base = f"/console/{estate.code}/renovation/{project.id}"
    assert roof.title in client.get(base).get_data(as_text=True)
    assert client.post(f"{base}/scope", data={"survey_item": str(lighting.id)}).status_code == 422
    assert client.post(f"{base}/scope", data={"title": ""}).status_code == 422
    assert client.post(f"{base}/scope", data={"survey_item": str(roof.id)}).status_code == 303
