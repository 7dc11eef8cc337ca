"""State changes of renovation projects: one transaction each, every change audited.

The `_apply_*` functions check and change without committing, so that the spreadsheet import
applies a whole file through the same rules in one transaction (all or nothing).
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from ..common import CHINA, MAX_FEN, N_, OperationError
from ..estates import estate_by_code
from ..extensions import db
from ..models import Estate, Role, StaffUser, utcnow
from ..operations import audit
from ..registry import Problem
from ..reports.photos import Photo, photo_store
from .models import (
    STAGES,
    Acceptance,
    DistrictTarget,
    Funding,
    FundingSource,
    InvestmentRecord,
    Party,
    PartyRole,
    ProgressNote,
    ProgressPhoto,
    Project,
    ProjectStage,
    ReceivedRecord,
    ScopeItem,
    Stage,
)

MAX_PHOTOS = 3
MAX_NOTE = 2000


def today_in_china() -> date:
    return datetime.now(CHINA).date()


def _committed(change: Callable[[], object]):
    """Run a change and commit it; a refused change leaves nothing behind."""
    try:
        result = change()
        db.session.commit()
        return result
    except Exception:
        db.session.rollback()
        raise


def _text(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


# --- the project ---------------------------------------------------------------------------


def _check_year(batch_year: int) -> None:
    if not isinstance(batch_year, int) or not 2000 <= batch_year <= 2100:
        raise OperationError(N_("The batch year must be between 2000 and 2100."))


def _apply_create(estate: Estate, name: str, batch_year: int, hotline: str, staff_user):
    name = _text(name, 200)
    if not name:
        raise OperationError(N_("Name the project."))
    _check_year(batch_year)
    if db.session.scalar(
        select(Project.id).where(
            Project.estate_id == estate.id, Project.batch_year == batch_year, Project.name == name
        )
    ):
        raise OperationError(
            N_("The estate already has a project %(name)s in batch %(year)s."),
            name=name,
            year=batch_year,
        )
    project = Project(
        estate_id=estate.id, name=name, batch_year=batch_year, hotline=_text(hotline, 40)
    )
    project.stages = [ProjectStage(stage=s, position=i) for i, s in enumerate(STAGES)]
    db.session.add(project)
    db.session.flush()
    audit(
        "renovation.create",
        staff_user=staff_user,
        estate=estate,
        project=project.id,
        name=name,
        batch_year=batch_year,
    )
    return project


def create_project(estate: Estate, name: str, batch_year: int, hotline: str = "", *, staff_user):
    return _committed(lambda: _apply_create(estate, name, batch_year, hotline, staff_user))


def _apply_details(project: Project, name, batch_year, hotline, invested_fen, staff_user):
    name = _text(name, 200)
    if not name:
        raise OperationError(N_("Name the project."))
    _check_year(batch_year)
    _check_amount(invested_fen, N_("investment completed"))
    clash = db.session.scalar(
        select(Project.id).where(
            Project.estate_id == project.estate_id,
            Project.batch_year == batch_year,
            Project.name == name,
            Project.id != project.id,
        )
    )
    if clash:
        raise OperationError(
            N_("The estate already has a project %(name)s in batch %(year)s."),
            name=name,
            year=batch_year,
        )
    before = (project.name, project.batch_year, project.hotline, project.invested_fen)
    if invested_fen != project.invested_fen:
        # Dated, so that an earlier month's bulletin shows the investment reported by then.
        db.session.add(InvestmentRecord(project_id=project.id, invested_fen=invested_fen))
    project.name, project.batch_year = name, batch_year
    project.hotline, project.invested_fen = _text(hotline, 40), invested_fen
    if before != (project.name, project.batch_year, project.hotline, project.invested_fen):
        project.updated_at = utcnow()
        audit(
            "renovation.details",
            staff_user=staff_user,
            estate=project.estate,
            project=project.id,
            name=name,
            batch_year=batch_year,
            hotline=project.hotline,
            invested_fen=invested_fen,
        )


def update_details(project, name, batch_year, hotline, invested_fen, *, staff_user):
    _committed(lambda: _apply_details(project, name, batch_year, hotline, invested_fen, staff_user))


# --- parties and scope -------------------------------------------------------------------------


def _apply_party(project: Project, role: PartyRole, name, contact, phone, staff_user):
    name = _text(name, 200)
    party = project.party(role)
    if not name:
        if party is not None:
            project.parties.remove(party)
            audit(
                "renovation.party_remove",
                staff_user=staff_user,
                estate=project.estate,
                project=project.id,
                role=role.value,
            )
        return
    values = (name, _text(contact, 100), _text(phone, 40))
    if party is None:
        party = Party(role=role)
        project.parties.append(party)
    elif (party.name, party.contact, party.phone) == values:
        return
    party.name, party.contact, party.phone = values
    project.updated_at = utcnow()
    audit(
        "renovation.party",
        staff_user=staff_user,
        estate=project.estate,
        project=project.id,
        role=role.value,
        name=name,
    )


def set_party(project, role: PartyRole, name, contact="", phone="", *, staff_user):
    _committed(lambda: _apply_party(project, role, name, contact, phone, staff_user))


def add_scope_item(project: Project, title: str, survey_item_id: int | None = None, *, staff_user):
    def change():
        text = _text(title, 200)
        if survey_item_id is not None:
            from .record import approved_items

            approved = dict(approved_items(project.estate))
            if survey_item_id not in approved:
                raise OperationError(N_("The residents did not approve that item."))
            text = text or approved[survey_item_id][:200]
        if not text:
            raise OperationError(N_("Say what is renovated."))
        item = ScopeItem(title=text, survey_item_id=survey_item_id)
        project.scope_items.append(item)
        db.session.flush()
        audit(
            "renovation.scope_add",
            staff_user=staff_user,
            estate=project.estate,
            project=project.id,
            item=item.id,
            title=text,
            survey_item=survey_item_id,
        )
        return item

    return _committed(change)


def remove_scope_item(project: Project, item: ScopeItem, *, staff_user):
    def change():
        project.scope_items.remove(item)
        audit(
            "renovation.scope_remove",
            staff_user=staff_user,
            estate=project.estate,
            project=project.id,
            item=item.id,
            title=item.title,
        )

    _committed(change)


# --- stages ------------------------------------------------------------------------------------


def _check_order(rows: list[tuple[Stage, date | None]], which: str) -> None:
    """Dates along the stages never go back: a later stage cannot come before an earlier one."""
    previous: tuple[Stage, date] | None = None
    for stage, on in rows:
        if on is None:
            continue
        if previous is not None and on < previous[1]:
            raise OperationError(
                N_("The %(which)s date of %(stage)s (%(date)s) is before that of %(earlier)s."),
                which=which,
                stage=stage.value,
                date=on.isoformat(),
                earlier=previous[0].value,
            )
        previous = (stage, on)


def _apply_planned(project: Project, planned: dict[Stage, date | None], staff_user) -> None:
    rows = [(r.stage, planned.get(r.stage, r.planned_on)) for r in project.stages]
    _check_order(rows, N_("planned"))
    changed = {}
    for row in project.stages:
        if row.stage in planned and planned[row.stage] != row.planned_on:
            row.planned_on = planned[row.stage]
            changed[row.stage.value] = row.planned_on.isoformat() if row.planned_on else None
    if changed:
        project.updated_at = utcnow()
        audit(
            "renovation.plan",
            staff_user=staff_user,
            estate=project.estate,
            project=project.id,
            planned=changed,
        )


def plan_stages(project: Project, planned: dict[Stage, date | None], *, staff_user):
    _committed(lambda: _apply_planned(project, planned, staff_user))


def _apply_complete(
    project: Project, stage: Stage, on: date, staff_user, *, accepting: bool = False
) -> None:
    if stage is Stage.ACCEPTED and not accepting:
        raise OperationError(
            N_("Completion acceptance is completed by passing the acceptance record.")
        )
    if on is None:
        raise OperationError(N_("Give the date the stage was completed."))
    if on > today_in_china():
        raise OperationError(N_("A stage cannot be completed in the future."))
    current = project.current_stage
    if current != stage:
        if project.stage_row(stage).actual_on is not None:
            raise OperationError(N_("That stage is already completed."))
        raise OperationError(
            N_("Complete %(stage)s first: stages are completed in their order."),
            stage=current.value if current else "",
        )
    rows = [(r.stage, on if r.stage == stage else r.actual_on) for r in project.stages]
    _check_order(rows, N_("actual"))
    project.stage_row(stage).actual_on = on
    project.updated_at = utcnow()
    audit(
        "renovation.complete_stage",
        staff_user=staff_user,
        estate=project.estate,
        project=project.id,
        stage=stage.value,
        on=on.isoformat(),
    )


def complete_stage(project: Project, stage: Stage, on: date, *, staff_user):
    _committed(lambda: _apply_complete(project, stage, on, staff_user))


def _apply_reopen(project: Project, stage: Stage, reason: str, staff_user) -> None:
    reason = _text(reason, 500)
    if not reason:
        raise OperationError(N_("Give the reason for going back to an earlier stage."))
    row = project.stage_row(stage)
    if row.actual_on is None:
        raise OperationError(N_("That stage is not completed yet."))
    cleared = {}
    if project.acceptance is not None and stage.index <= Stage.ACCEPTED.index:
        # The acceptance was of the works as they stood: going back before it voids it.
        record = project.acceptance
        cleared["acceptance"] = {
            "representatives": record.names,
            "signed_on": record.signed_on.isoformat(),
            "passed_on": record.passed_on.isoformat() if record.passed_on else None,
        }
        project.acceptance = None
    for later in project.stages[stage.index :]:
        if later.actual_on is not None:
            cleared[later.stage.value] = later.actual_on.isoformat()
            later.actual_on = None
    project.updated_at = utcnow()
    audit(
        "renovation.reopen_stage",
        staff_user=staff_user,
        estate=project.estate,
        project=project.id,
        stage=stage.value,
        reason=reason,
        cleared=cleared,
    )


def reopen_stage(project: Project, stage: Stage, reason: str, *, staff_user):
    """Go back: the stage and every later one are no longer completed (their dates kept in the
    audit log)."""
    _committed(lambda: _apply_reopen(project, stage, reason, staff_user))


# --- funding -----------------------------------------------------------------------------------


def _check_amount(fen, field: str) -> None:
    if not isinstance(fen, int) or isinstance(fen, bool) or fen < 0 or fen > MAX_FEN:
        raise OperationError(N_("The %(field)s must be an amount of at least 0 yuan."), field=field)


def _apply_funding(project, source: FundingSource, planned_fen, received_fen, note, staff_user):
    if not isinstance(source, FundingSource):
        raise OperationError(N_("Unknown funding source: %(source)s."), source=str(source))
    _check_amount(planned_fen, N_("planned amount"))
    _check_amount(received_fen, N_("received amount"))
    note = _text(note, 500)
    if source is FundingSource.RESIDENTS and received_fen:
        raise OperationError(
            N_("Residents' money received is counted from the estate's pledge campaigns.")
        )
    if received_fen > planned_fen and not note:
        raise OperationError(
            N_("%(source)s: more received than planned needs a note saying why."),
            source=source.value,
        )
    line = project.funding_line(source)
    if line is None:
        line = Funding(source=source, position=list(FundingSource).index(source))
        project.funding.append(line)
    elif (line.planned_fen, line.received_fen, line.note) == (planned_fen, received_fen, note):
        return
    if received_fen != (line.received_fen or 0) and source is not FundingSource.RESIDENTS:
        # Dated, so that an earlier month's bulletin counts only the money recorded by then.
        db.session.add(
            ReceivedRecord(project_id=project.id, source=source, received_fen=received_fen)
        )
    line.planned_fen, line.received_fen, line.note = planned_fen, received_fen, note
    project.updated_at = utcnow()
    audit(
        "renovation.funding",
        staff_user=staff_user,
        estate=project.estate,
        project=project.id,
        source=source.value,
        planned_fen=planned_fen,
        received_fen=received_fen,
        note=note,
    )


def set_funding(project, source, planned_fen: int, received_fen: int, note="", *, staff_user):
    _committed(lambda: _apply_funding(project, source, planned_fen, received_fen, note, staff_user))


def set_budget(project: Project, lines: dict, *, staff_user):
    """Several sources at once (the console's budget form): all of them or none.
    `lines`: source -> (planned_fen, received_fen, note)."""

    def change():
        for source, (planned, received, note) in lines.items():
            _apply_funding(project, source, planned, received, note, staff_user)

    _committed(change)


# --- progress notes ------------------------------------------------------------------------------


def author_role(staff_user: StaffUser, estate: Estate) -> str:
    """Contractor, planner or administrator: what the public timeline says wrote the note."""
    roles = {g.role for g in staff_user.grants if g.estate_id in (None, estate.id)}
    roles |= {g.role for g in staff_user.district_grants if g.district == estate.district}
    for role in (Role.CONTRACTOR, Role.PLANNER, Role.ADMIN):
        if role in roles:
            return role.value
    return Role.ADMIN.value


def add_note(
    project: Project,
    text: str,
    photos: list[Photo],
    *,
    staff_user: StaffUser | None,
    role: Role | None = None,
):
    """A note on the timeline; `role` only where no staff member writes it (the demo)."""

    def change():
        body = (text or "").strip()
        if not body:
            raise OperationError(N_("Write what was done."))
        if len(body) > MAX_NOTE:
            raise OperationError(
                N_("The note is longer than %(limit)s characters."), limit=MAX_NOTE
            )
        if len(photos) > MAX_PHOTOS:
            raise OperationError(N_("Attach at most 3 photos."))
        if role is not None:
            written_by = role.value
        elif staff_user is not None:
            written_by = author_role(staff_user, project.estate)
        else:
            written_by = Role.PLANNER.value
        note = ProgressNote(
            text=body,
            author_role=written_by,
            staff_user_id=staff_user.id if staff_user else None,
        )
        project.notes.append(note)
        store = photo_store()
        for photo in photos:
            store.put(photo)  # content-addressed: a failed transaction leaves a harmless file
            if not any(p.photo_key == photo.key for p in note.photos):
                note.photos.append(ProgressPhoto(photo_key=photo.key))
        db.session.flush()
        audit(
            "renovation.note",
            staff_user=staff_user,
            estate=project.estate,
            project=project.id,
            note=note.id,
            photos=len(note.photos),
        )
        return note

    return _committed(change)


# --- district targets --------------------------------------------------------------------------


def set_target(
    district: str, year: int, to_start, to_finish, to_accept, investment_fen, *, staff_user
):
    def change():
        name = _text(district, 100)
        if not name:
            raise OperationError(N_("Name the district."))
        _check_year(year)
        for value, field in (
            (to_start, N_("projects to start")),
            (to_finish, N_("projects to finish")),
            (to_accept, N_("projects to accept")),
        ):
            if not isinstance(value, int) or not 0 <= value <= 100_000:
                raise OperationError(
                    N_("The %(field)s must be a whole number of at least 0."), field=field
                )
        _check_amount(investment_fen, N_("investment target"))
        target = db.session.scalar(
            select(DistrictTarget).where(
                DistrictTarget.district == name, DistrictTarget.year == year
            )
        )
        if target is None:
            target = DistrictTarget(district=name, year=year)
            db.session.add(target)
        target.to_start, target.to_finish, target.to_accept = to_start, to_finish, to_accept
        target.investment_fen = investment_fen
        audit(
            "renovation.target",
            staff_user=staff_user,
            district=name,
            year=year,
            to_start=to_start,
            to_finish=to_finish,
            to_accept=to_accept,
            investment_fen=investment_fen,
        )
        return target

    return _committed(change)


# --- the planner's spreadsheet ----------------------------------------------------------------


def _apply_actuals(project: Project, actual: dict[Stage, date], staff_user) -> None:
    """Completion dates from a spreadsheet: added or corrected, never taken away (going back
    needs a reason, in the console)."""
    merged = {row.stage: actual.get(row.stage, row.actual_on) for row in project.stages}
    if any(on is not None and on > today_in_china() for on in merged.values()):
        raise OperationError(N_("A stage cannot be completed in the future."))
    gap = None
    for stage in STAGES:
        if merged[stage] is None:
            gap = gap or stage
        elif gap is not None:
            raise OperationError(
                N_("Complete %(stage)s first: stages are completed in their order."),
                stage=gap.value,
            )
    _check_order([(s, merged[s]) for s in STAGES], N_("actual"))
    accepted = project.stage_row(Stage.ACCEPTED).actual_on
    if merged[Stage.ACCEPTED] != accepted:
        raise OperationError(
            N_("Completion acceptance is completed by passing the acceptance record.")
        )
    for row in project.stages:
        if merged[row.stage] != row.actual_on:
            audit(
                "renovation.complete_stage",
                staff_user=staff_user,
                estate=project.estate,
                project=project.id,
                stage=row.stage.value,
                on=merged[row.stage].isoformat(),
                previous=row.actual_on.isoformat() if row.actual_on else None,
                source="import",
            )
            row.actual_on = merged[row.stage]
            project.updated_at = utcnow()


def import_projects(
    parsed, *, staff_user, may_manage: Callable[[Estate], bool], dry_run: bool = False
):
    """Create or update every project of a checked spreadsheet (spreadsheet.parse_projects) in
    one transaction, through the same rules as the console. Returns (created, updated) or the
    problems by line, in which case nothing is written. A dry run applies every row the same
    way and then writes nothing."""
    problems, created, updated = list(parsed.problems), 0, 0
    if problems:
        return None, problems
    try:
        for row in parsed.rows:
            estate = estate_by_code(row.estate_code)
            if estate is None or not may_manage(estate):
                problems.append(
                    Problem(
                        row.line, N_("No estate has the code %(code)s."), {"code": row.estate_code}
                    )
                )
                continue
            try:
                # A refused row may leave changes half made: the whole file is rolled back.
                _import_row(estate, row, staff_user)
            except OperationError as error:
                problems.append(Problem(row.line, error.message, error.params))
                continue
            if row.created:
                created += 1
            else:
                updated += 1
        if problems:
            db.session.rollback()
            return None, problems
        if dry_run:
            db.session.rollback()
            return (created, updated), []
        audit("renovation.import", staff_user=staff_user, created=created, updated=updated)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return (created, updated), []


def _import_row(estate: Estate, row, staff_user) -> None:
    project = db.session.scalar(
        select(Project).where(
            Project.estate_id == estate.id,
            Project.batch_year == row.batch_year,
            Project.name == row.name,
        )
    )
    row.created = project is None
    if project is None:
        project = _apply_create(estate, row.name, row.batch_year, row.hotline or "", staff_user)
    if row.hotline is not None or row.invested_fen is not None:
        _apply_details(
            project,
            project.name,
            project.batch_year,
            row.hotline if row.hotline is not None else project.hotline,
            row.invested_fen if row.invested_fen is not None else project.invested_fen,
            staff_user,
        )
    for role, typed in row.parties.items():
        party = project.party(role)
        _apply_party(
            project,
            role,
            typed["name"] or (party.name if party else ""),
            typed["contact"] or (party.contact if party else ""),
            typed["phone"] or (party.phone if party else ""),
            staff_user,
        )
    if row.planned:
        _apply_planned(project, row.planned, staff_user)
    if row.actual:
        _apply_actuals(project, row.actual, staff_user)
    for source, (planned, received) in row.funding.items():
        line = project.funding_line(source)
        _apply_funding(
            project,
            source,
            planned if planned is not None else (line.planned_fen if line else 0),
            received if received is not None else (line.received_fen if line else 0),
            row.note or (line.note if line else ""),
            staff_user,
        )
    db.session.flush()


# --- completion acceptance (竣工验收) ----------------------------------------------------------


def _names(text: str) -> list[str]:
    return [line.strip()[:50] for line in (text or "").splitlines() if line.strip()]


def record_signoff(project: Project, representatives: str, signed_on: date, *, staff_user):
    """The residents' representatives' sign-off, their names typed by the secretary from the
    signed paper, once 完工 is completed. Typing it again replaces it until acceptance passes."""

    def change():
        names = _names(representatives)
        if not names:
            raise OperationError(N_("Type the names of the residents' representatives who signed."))
        if len(names) > 20:
            raise OperationError(N_("Type at most 20 names."))
        if signed_on is None:
            raise OperationError(N_("Give the date the representatives signed."))
        if project.current_stage is not Stage.ACCEPTED:
            raise OperationError(N_("The sign-off is recorded once construction is finished."))
        finished = project.stage_row(Stage.COMPLETED).actual_on
        if signed_on > today_in_china() or signed_on < finished:
            raise OperationError(
                N_("The sign-off date must be between the end of construction and today.")
            )
        record = project.acceptance
        if record is None:
            record = Acceptance(representatives="\n".join(names), signed_on=signed_on)
            project.acceptance = record
        record.representatives = "\n".join(names)
        record.signed_on = signed_on
        record.signed_by_id = staff_user.id if staff_user else None
        project.updated_at = utcnow()
        audit(
            "renovation.signoff",
            staff_user=staff_user,
            estate=project.estate,
            project=project.id,
            representatives=len(names),
            signed_on=signed_on.isoformat(),
        )
        return record

    return _committed(change)


def pass_acceptance(project: Project, on: date, override_reason: str = "", *, staff_user):
    """The planner passes the acceptance: it needs the representatives' sign-off, and no open
    safety report unless the planner overrides with a reason. The open reports are kept with
    the record as they were; the 竣工验收 stage is completed on `on`."""
    from .record import report_summary

    def change():
        record = project.acceptance
        if record is None:
            raise OperationError(N_("Record the residents' representatives' sign-off first."))
        reports = report_summary(project.estate)
        reason = _text(override_reason, 500)
        if reports.open_safety and not reason:
            raise OperationError(
                N_(
                    "%(count)s safety reports are still open: acceptance passes only with the "
                    "reason for going ahead."
                ),
                count=reports.open_safety,
            )
        if on is not None and on < record.signed_on:
            raise OperationError(N_("Acceptance cannot pass before the representatives signed."))
        _apply_complete(project, Stage.ACCEPTED, on, staff_user, accepting=True)
        record.passed_on = on
        record.passed_by_id = staff_user.id if staff_user else None
        record.open_reports = reports.open
        record.open_safety_reports = reports.open_safety
        record.override_reason = reason if reports.open_safety else ""
        audit(
            "renovation.accept",
            staff_user=staff_user,
            estate=project.estate,
            project=project.id,
            on=on.isoformat(),
            open_reports=reports.open,
            open_safety_reports=reports.open_safety,
            override_reason=record.override_reason,
        )

    _committed(change)


# --- the satisfaction survey (满意度测评) ------------------------------------------------------

MAX_SATISFACTION_DAYS = 60


def open_satisfaction(project: Project, closes_on: date, *, staff_user) -> int:
    """Open the project's satisfaction survey, one item per scope item, from now until the
    end of `closes_on` (China): once construction is finished (完工 completed) and before the
    acceptance passes, once per project. Returns the survey's id."""
    from . import satisfaction

    def change():
        source = satisfaction.surveys()
        if source is None:
            raise OperationError(N_("Surveys are not available on this server."))
        if project.satisfaction_survey_id is not None:
            raise OperationError(N_("The satisfaction survey of this project is already open."))
        if project.current_stage is not Stage.ACCEPTED:
            raise OperationError(
                N_(
                    "The satisfaction survey opens once construction is finished and before "
                    "the acceptance."
                )
            )
        if not project.scope_items:
            raise OperationError(N_("Add the scope items first: residents rate each of them."))
        today = today_in_china()
        if closes_on is None or not today < closes_on <= today + timedelta(
            days=MAX_SATISFACTION_DAYS
        ):
            raise OperationError(
                N_("The survey must close after today and within %(days)s days."),
                days=MAX_SATISFACTION_DAYS,
            )
        closes_at = datetime.combine(closes_on + timedelta(days=1), time(), CHINA)
        survey_id = source.open(
            project,
            [item.title for item in project.scope_items],
            closes_at.astimezone(UTC).replace(tzinfo=None),
            staff_user,
        )
        project.satisfaction_survey_id = survey_id
        project.updated_at = utcnow()
        audit(
            "renovation.satisfaction",
            staff_user=staff_user,
            estate=project.estate,
            project=project.id,
            survey=survey_id,
            closes_on=closes_on.isoformat(),
        )
        return survey_id

    return _committed(change)
