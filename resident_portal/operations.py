"""State changes: each function is one transaction, audited when staff make it.

Routes and CLI commands call these; they never write to the database themselves.
"""

import functools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.security import check_password_hash, generate_password_hash

from . import access
from .common import N_, OperationError
from .estates import estate_by_code
from .extensions import db
from .models import (
    ApiToken,
    AuditEntry,
    AuthSession,
    Building,
    CodeBatch,
    DistrictGrant,
    Estate,
    Household,
    PendingImport,
    Role,
    RoleGrant,
    StaffUser,
    Unit,
    utcnow,
)
from .ratelimit import Blocked, sign_in_limiter
from .registry import ParsedRegistry, RegistryRow


def audit(action: str, *, staff_user: StaffUser | None, estate: Estate | None = None, **detail):
    db.session.add(
        AuditEntry(
            action=action,
            staff_user_id=staff_user.id if staff_user else None,
            estate_id=estate.id if estate else None,
            detail=detail,
        )
    )


T = TypeVar("T")


def retry_on_conflict(attempt: Callable[[], T], tries: int = 3) -> T:
    """Run `attempt`, a transaction ending in its commit, up to `tries` times. An upsert that a
    concurrent submission of the same row won (IntegrityError from the unique constraint), or
    an update of a row that a concurrent submission changed since it was read (StaleDataError,
    from a version column: SQLite has no SELECT … FOR UPDATE), is rolled back and tried again,
    reading the row afresh; any other error is rolled back and raised."""
    for _try in range(tries):
        try:
            return attempt()
        except (IntegrityError, StaleDataError):
            db.session.rollback()
        except Exception:
            db.session.rollback()
            raise
    raise OperationError(N_("Many submissions arrived at once; please try again."))


# Features that keep their own copy of register facts are told before the register changes,
# inside the same transaction (a survey that has opened freezes its roll first: the register
# as it stood at opening is what its vote is about). A registration point, so that this
# package does not import the features it hosts.
BEFORE_REGISTER_CHANGE: list[Callable[[Estate], None]] = []


def before_register_change(function: Callable[[Estate], None]) -> Callable[[Estate], None]:
    BEFORE_REGISTER_CHANGE.append(function)
    return function


# --- estates and staff --------------------------------------------------------------------

ESTATE_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")


def create_estate(
    code: str, name: str, district: str | None = None, street: str | None = None, *, staff_user=None
) -> Estate:
    code = code.strip().lower()
    if not ESTATE_CODE.match(code):
        raise OperationError(
            N_("The estate code %(code)s must be 2 to 32 lowercase letters, digits or dashes."),
            code=code,
        )
    if estate_by_code(code):
        raise OperationError(N_("An estate with the code %(code)s already exists."), code=code)
    estate = Estate(
        code=code,
        name=name.strip(),
        district=(district or "").strip() or None,
        street=(street or "").strip() or None,
    )
    db.session.add(estate)
    db.session.flush()
    audit("estate.create", staff_user=staff_user, estate=estate, code=code, name=estate.name)
    db.session.commit()
    return estate


def grant_staff_role(
    username: str,
    role: Role,
    estate: Estate | None,
    password: str | None = None,
    *,
    district: str | None = None,
) -> tuple[StaffUser, str | None]:
    """Create the user if needed and grant the role in one estate, or in every estate of a
    district. Returns the user and a new password if one was set (generated when a new user
    gets none)."""
    district = (district or "").strip() or None
    if estate is not None and district is not None:
        raise OperationError(N_("Grant a role in an estate or in a district, not both."))
    if role != Role.ADMIN and estate is None and district is None:
        raise OperationError(N_("Only an administrator may be granted a role without an estate."))
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]{2,64}", username):
            raise OperationError(N_("Usernames are 2 to 64 letters, digits, dots or dashes."))
        password = password or secrets.token_urlsafe(12)
        user = StaffUser(username=username, password_hash="")  # nosec B106 - placeholder, hashed below
        db.session.add(user)
    if password:
        if len(password) < 10:
            raise OperationError(N_("Passwords must have at least 10 characters."))
        user.password_hash = access.hash_password(password)
        db.session.flush()
        access.revoke_sessions(staff_user_id=user.id)
    if district is not None:
        if not any(g.role == role and g.district == district for g in user.district_grants):
            user.district_grants.append(DistrictGrant(role=role, district=district))
    else:
        estate_id = estate.id if estate else None
        if not any(g.role == role and g.estate_id == estate_id for g in user.grants):
            user.grants.append(RoleGrant(role=role, estate_id=estate_id))
    db.session.flush()
    audit(
        "staff.grant",
        staff_user=None,
        estate=estate,
        username=username,
        role=role.value,
        district=district,
    )
    db.session.commit()
    return user, password


# --- registry import ----------------------------------------------------------------------

REGISTRY_FIELDS = ("floor", "area_centi_m2", "owner_ref", "owner_name", "phone")


@dataclass
class ImportPlan:
    new: list[RegistryRow] = field(default_factory=list)
    updated: list[tuple[Household, RegistryRow, list[str]]] = field(default_factory=list)
    unchanged: int = 0
    # Households in the database that the file does not list: kept, never deleted, because
    # ballots and pledges may refer to them.
    not_in_file: list[Household] = field(default_factory=list)

    @property
    def owner_changes(self) -> list[Household]:
        return [h for h, _row, fields in self.updated if "owner_ref" in fields]


def _estate_households(estate: Estate) -> dict[tuple[str, str, str], Household]:
    query = select(Household).join(Unit).join(Building).where(Building.estate_id == estate.id)
    return {(h.unit.building.number, h.unit.number, h.room): h for h in db.session.scalars(query)}


def plan_import(estate: Estate, parsed: ParsedRegistry) -> ImportPlan:
    existing = _estate_households(estate)
    plan = ImportPlan()
    for row in parsed.rows:
        household = existing.pop(row.key, None)
        if household is None:
            plan.new.append(row)
            continue
        changed = [f for f in REGISTRY_FIELDS if getattr(household, f) != getattr(row, f)]
        if changed:
            plan.updated.append((household, row, changed))
        else:
            plan.unchanged += 1
    plan.not_in_file = sorted(existing.values(), key=lambda h: h.sort_key)
    return plan


def import_registry(
    estate: Estate, parsed: ParsedRegistry, *, staff_user=None, commit: bool = True
) -> ImportPlan:
    """Write the register: all of it or, on any problem, nothing. With `commit=False` the
    caller commits (a job commits the import with its own completion)."""
    if not parsed.ok:
        raise OperationError(N_("The register has problems; nothing was imported."))
    try:
        for listener in BEFORE_REGISTER_CHANGE:
            listener(estate)
        plan = plan_import(estate, parsed)
        buildings = {b.number: b for b in estate.buildings}
        units = {(b.number, u.number): u for b in estate.buildings for u in b.units}
        top_floor: dict[str, int] = {}
        for row in parsed.rows:
            top_floor[row.building] = max(top_floor.get(row.building, 0), row.floor)
        for number, floors in top_floor.items():
            building = buildings.get(number)
            if building is None:
                building = buildings[number] = Building(estate=estate, number=number, floors=floors)
                db.session.add(building)
            building.floors = max(building.floors, floors)
        for row in plan.new:
            if (row.building, row.unit) not in units:
                units[(row.building, row.unit)] = Unit(
                    building=buildings[row.building], number=row.unit
                )
                db.session.add(units[(row.building, row.unit)])
        db.session.flush()  # buildings and units get their ids
        if plan.new:
            # Plain rows in one multi-row INSERT: a 20,000-household register would spend most
            # of its time building ORM objects otherwise (bench/import_print.py).
            db.session.execute(
                insert(Household),
                [
                    {
                        "unit_id": units[(row.building, row.unit)].id,
                        "room": row.room,
                        **{f: getattr(row, f) for f in REGISTRY_FIELDS},
                    }
                    for row in plan.new
                ],
            )
        new_owner = [h.id for h, _row, changed in plan.updated if "owner_ref" in changed]
        # A new owner must not sign in with the previous owner's letter.
        access.revoke_sessions(household_ids=new_owner)
        for household, row, changed in plan.updated:
            for name in changed:
                setattr(household, name, getattr(row, name))
            if "owner_ref" in changed:
                household.access_code_hash = None
                household.code_issued_at = None
        db.session.flush()
        audit(
            "registry.import",
            staff_user=staff_user,
            estate=estate,
            new=len(plan.new),
            updated=len(plan.updated),
            unchanged=plan.unchanged,
            owner_changes=len(plan.owner_changes),
        )
        if commit:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return plan


def hold_upload(
    estate: Estate, staff_user: StaffUser, filename: str, content: bytes
) -> PendingImport:
    """Keep an uploaded register between its preview and the secretary's confirmation.

    A new upload replaces the same secretary's unconfirmed one for that estate.
    """
    db.session.execute(
        db.delete(PendingImport).where(
            PendingImport.estate_id == estate.id, PendingImport.staff_user_id == staff_user.id
        )
    )
    pending = PendingImport(
        estate_id=estate.id, staff_user_id=staff_user.id, filename=filename[:255], content=content
    )
    db.session.add(pending)
    db.session.commit()
    return pending


def discard_upload(pending: PendingImport) -> None:
    db.session.delete(pending)
    db.session.commit()


# --- access codes -------------------------------------------------------------------------


def _issue_codes(estate, staff_user, reissue, household_ids, new_code, progress=None):
    """issue_codes without the commit: (issued, sessions ended, the moment of issue).
    `progress(done, total)`, when given, is told after each household (hashing takes time)."""
    households = sorted(_estate_households(estate).values(), key=lambda h: h.sort_key)
    if household_ids is not None:
        households = [h for h in households if h.id in set(household_ids)]
    if not reissue:
        households = [h for h in households if not h.access_code_hash]
    # Old codes die with their sessions: one statement, before any new code is set.
    ended = access.revoke_sessions(household_ids=[h.id for h in households if h.access_code_hash])
    issued = []
    now = utcnow()
    for household in households:
        code = new_code(household)
        household.access_code_hash = access.hash_access_code(code)
        household.code_issued_at = now
        issued.append((household, code))
        if progress:
            progress(len(issued), len(households))
    audit(
        "codes.issue",
        staff_user=staff_user,
        estate=estate,
        count=len(issued),
        reissue=reissue,
        sessions_ended=ended,
        households=[h.id for h, _ in issued][:50],
    )
    return issued, ended, now


def issue_codes(
    estate: Estate,
    *,
    staff_user: StaffUser | None = None,
    reissue: bool = False,
    household_ids: list[int] | None = None,
    progress=None,
) -> list[tuple[Household, str]]:
    """Give new access codes and return them; this is the only time they exist in clear.

    Without `reissue`, only households without a code get one. With it, every chosen household
    gets a new code, which invalidates its old code and every session made with it.
    """
    issued, _ended, _now = _issue_codes(
        estate, staff_user, reissue, household_ids, lambda _h: access.new_access_code(), progress
    )
    db.session.commit()
    return issued


def issue_and_hold_codes(
    estate: Estate,
    auth_session: AuthSession,
    key: str,
    *,
    reissue: bool = False,
    household_ids: list[int] | None = None,
) -> CodeBatch | None:
    """issue_codes for the console: the codes are held (models.CodeBatch) for the letters of
    this staff sign-in, whose `key` (access.codes_key) they are derived from, until the batch
    expires. None when no household needed a code. One transaction, with the audit entry."""
    now = utcnow()
    db.session.execute(db.delete(CodeBatch).where(CodeBatch.expires_at <= now))
    salt = secrets.token_hex(32)
    issued, ended, issued_at = _issue_codes(
        estate,
        auth_session.staff_user,
        reissue,
        household_ids,
        lambda h: access.held_access_code(key, salt, h.id),
    )
    batch = None
    if issued:
        batch = CodeBatch(
            estate_id=estate.id,
            auth_session_id=auth_session.id,
            salt=salt,
            household_ids=[h.id for h, _code in issued],
            issued_at=issued_at,
            expires_at=issued_at + current_app.config["HELD_CODES_LIFETIME"],
            reissue=reissue,
            sessions_ended=ended,
        )
        db.session.add(batch)
    db.session.commit()
    return batch


def held_codes(batch: CodeBatch, key: str) -> tuple[list[tuple[Household, str]], int]:
    """The codes of a held batch, in letter order, with how many were left out because their
    household has had a newer code (or lost it to a new owner) since."""
    query = (
        select(Household)
        .join(Unit)
        .join(Building)
        .where(Building.estate_id == batch.estate_id, Household.code_issued_at == batch.issued_at)
    )
    current = {h.id: h for h in db.session.scalars(query)}
    issued = [
        (current[household_id], access.held_access_code(key, batch.salt, household_id))
        for household_id in batch.household_ids
        if household_id in current
    ]
    return issued, len(batch.household_ids) - len(issued)


def forget_held_codes(auth_session_ids) -> None:
    """Delete the batches held for these sign-ins (a list of ids, or a SELECT of them) when
    they sign out. The caller commits."""
    db.session.execute(db.delete(CodeBatch).where(CodeBatch.auth_session_id.in_(auth_session_ids)))


# --- signing in ---------------------------------------------------------------------------


def sign_in_household(household: Household, typed_code: str, address: str) -> Blocked | bool:
    """True when signed in; False for a wrong code; Blocked when this client must wait."""
    result = sign_in_limiter().attempt(
        f"household:{household.id}",
        f"estate:{household.estate.id}",
        address,
        lambda: access.check_access_code(household, typed_code),
    )
    if result is True:
        access.start_session(household=household)
        db.session.commit()
    return result


@functools.cache
def _dummy_password_hash() -> str:
    # Checked when the username is unknown, so a wrong name costs as long as a wrong password.
    return generate_password_hash(secrets.token_hex(16))


def sign_in_staff(username: str, password: str, address: str) -> Blocked | bool:
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))

    def check() -> bool:
        if user is None:
            check_password_hash(_dummy_password_hash(), password)
            return False
        return user.is_active and access.check_password(user, password)

    account = f"staff:{username.strip().lower()}"
    result = sign_in_limiter().attempt(account, account, address, check)
    if result is True:
        access.start_session(staff_user=user)
        audit("staff.sign_in", staff_user=user, address=address)
        db.session.commit()
    return result


def sign_out() -> None:
    record = access.current_session()
    if record is not None and record.staff_user_id is not None:
        forget_held_codes([record.id])
    access.end_session()
    db.session.commit()


def sign_out_everywhere(staff_user: StaffUser) -> int:
    forget_held_codes(select(AuthSession.id).where(AuthSession.staff_user_id == staff_user.id))
    count = access.revoke_sessions(staff_user_id=staff_user.id)
    audit("staff.sign_out_everywhere", staff_user=staff_user, sessions=count)
    db.session.commit()
    return count


# --- API tokens ---------------------------------------------------------------------------


def create_api_token(staff_user: StaffUser, name: str) -> tuple[str, ApiToken]:
    """A new token for the read-only API; the token itself is returned once, stored hashed."""
    token, token_hash = access.new_api_token()
    record = ApiToken(staff_user_id=staff_user.id, name=name.strip()[:100], token_hash=token_hash)
    db.session.add(record)
    db.session.flush()
    audit("api_token.create", staff_user=staff_user, token=record.id, name=record.name)
    db.session.commit()
    return token, record


def revoke_api_token(record: ApiToken, staff_user: StaffUser) -> None:
    record.revoked_at = utcnow()
    audit("api_token.revoke", staff_user=staff_user, token=record.id, name=record.name)
    db.session.commit()
