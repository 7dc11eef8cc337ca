"""State changes: each function is one transaction, audited when staff make it.

Routes and CLI commands call these; they never write to the database themselves.
"""

import functools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.security import check_password_hash, generate_password_hash

from . import access, two_factor
from .common import N_, OperationError
from .estates import estate_by_code
from .extensions import db
from .models import (
    ApiToken,
    AuditEntry,
    AuthSession,
    Building,
    CodeBatch,
    CorrectionRequest,
    DistrictGrant,
    Estate,
    Household,
    PendingImport,
    RecoveryCode,
    Role,
    RoleGrant,
    StaffUser,
    Unit,
    utcnow,
)
from .privacy import purge_rule
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
        # A new password ends whatever the old one opened: sessions and API tokens alike.
        access.revoke_sessions(staff_user_id=user.id)
        access.revoke_api_tokens(user.id)
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
        if household.access_code_hash:
            household.replaced_code_hash = household.access_code_hash
            household.code_replaced_at = now
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


@dataclass(frozen=True)
class SecondStep:
    """The password was right; the sign-in needs the second factor, or enrolment in one first
    (`enrol`), before a session starts."""

    staff_user: StaffUser
    enrol: bool


def _staff_account(user: StaffUser) -> str:
    """The sign-in limits' name of a staff account (the same for password and second factor)."""
    return f"staff:{user.username.strip().lower()}"


def _needs_second_step(user: StaffUser) -> bool:
    return user.has_second_factor or user.needs_second_factor


def sign_in_staff(username: str, password: str, address: str) -> Blocked | bool | SecondStep:
    """True when signed in; SecondStep when the password was right and a second factor must
    follow; False for a wrong name or password; Blocked when this client must wait."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))

    def check() -> bool:
        if user is None:
            check_password_hash(_dummy_password_hash(), password)
            return False
        return user.is_active and access.check_password(user, password)

    account = f"staff:{username.strip().lower()}"
    result = sign_in_limiter().attempt(
        account, account, address, check, trust_device=lambda: not _needs_second_step(user)
    )
    if result is True:
        if user.has_second_factor or user.needs_second_factor:
            return SecondStep(user, enrol=not user.has_second_factor)
        access.start_session(staff_user=user)
        audit("staff.sign_in", staff_user=user, address=address)
        db.session.commit()
    return result


def _use_totp(user: StaffUser, secret: str, typed: str) -> bool:
    """Accept a TOTP code once: the step it belongs to becomes the account's last, in one
    conditional UPDATE, so that two requests with the same code cannot both pass."""
    step = two_factor.matching_step(secret, typed, utcnow(), user.totp_last_step)
    if step is None:
        return False
    used = db.session.execute(
        db.update(StaffUser)
        .where(
            StaffUser.id == user.id,
            (StaffUser.totp_last_step.is_(None)) | (StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used:
        user.totp_last_step = step
    return bool(used)


def _use_recovery_code(user: StaffUser, typed: str) -> bool:
    """Accept an unused recovery code once (marked used in a conditional UPDATE)."""
    if not two_factor.looks_like_recovery_code(typed):
        return False
    code = two_factor.normalise_recovery_code(typed)
    unused = db.session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.staff_user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    for record in unused:
        if check_password_hash(record.code_hash, code):
            return bool(
                db.session.execute(
                    db.update(RecoveryCode)
                    .where(RecoveryCode.id == record.id, RecoveryCode.used_at.is_(None))
                    .values(used_at=utcnow())
                    .execution_options(synchronize_session=False)
                ).rowcount
            )
    return False


def sign_in_second_factor(user: StaffUser, typed: str, address: str) -> Blocked | bool:
    """The second step of a staff sign-in: a code from the authenticator app, or one of the
    recovery codes. Failures count in the same sign-in limits as wrong passwords."""
    used = []

    def check() -> bool:
        if not (user.is_active and user.has_second_factor):
            return False
        if _use_totp(user, user.totp_secret, typed):
            used.append("totp")
        elif _use_recovery_code(user, typed):
            used.append("recovery_code")
        return bool(used)

    account = _staff_account(user)
    result = sign_in_limiter().attempt(account, account, address, check)
    if result is True:
        access.start_session(staff_user=user)
        audit("staff.sign_in", staff_user=user, address=address, second_factor=used[0])
        db.session.commit()
    else:
        db.session.rollback()
    return result


def _new_recovery_codes(user: StaffUser) -> list[str]:
    """Replace the account's recovery codes with ten new ones; return them (shown once)."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.staff_user_id == user.id))
    codes = two_factor.new_recovery_codes()
    method = current_app.config["ACCESS_CODE_HASH_METHOD"]
    for code in codes:
        db.session.add(
            RecoveryCode(
                staff_user_id=user.id, code_hash=generate_password_hash(code, method=method)
            )
        )
    return codes


def enable_second_factor(
    user: StaffUser, secret: str, typed: str, address: str, *, sign_in: bool
) -> Blocked | bool | list[str]:
    """Turn the second factor on once a code from the app proves it holds `secret`; return the
    ten recovery codes (shown once). With `sign_in` (enrolment right after the password), the
    session starts too. A wrong code counts in the sign-in limits."""
    if user.has_second_factor:
        raise OperationError(N_("Two-step sign-in is already on for this account."))
    if (
        not secret
        or len(secret) > 64
        or any(ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for ch in secret)
    ):
        raise OperationError(N_("The enrolment has expired; start again."))

    def check() -> bool:
        return user.is_active and _use_totp(user, secret, typed)

    account = _staff_account(user)
    result = sign_in_limiter().attempt(account, account, address, check)
    if result is not True:
        db.session.rollback()
        return result
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    codes = _new_recovery_codes(user)
    audit("staff.second_factor_on", staff_user=user)
    if sign_in:
        access.start_session(staff_user=user)
        audit("staff.sign_in", staff_user=user, address=address, second_factor="enrolled")
    db.session.commit()
    return codes


def replace_recovery_codes(user: StaffUser) -> list[str]:
    if not user.has_second_factor:
        raise OperationError(N_("Turn on two-step sign-in first."))
    codes = _new_recovery_codes(user)
    audit("staff.recovery_codes_new", staff_user=user)
    db.session.commit()
    return codes


def _end_everything(user: StaffUser) -> tuple[int, int]:
    """Revoke every session and every API token of the account. The caller commits."""
    forget_held_codes(select(AuthSession.id).where(AuthSession.staff_user_id == user.id))
    return access.revoke_sessions(staff_user_id=user.id), access.revoke_api_tokens(user.id)


def reset_second_factor(username: str) -> tuple[int, int]:
    """For an administrator (the CLI), when a phone and its recovery codes are lost: the second
    factor is removed, and every session and API token of the account revoked. The account sets
    up a new one at its next sign-in (if its role requires one). (Sessions, tokens) ended."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    if user is None:
        raise OperationError(N_("No staff account is called %(username)s."), username=username)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.staff_user_id == user.id))
    sessions, tokens = _end_everything(user)
    audit("staff.second_factor_reset", staff_user=None, username=user.username)
    db.session.commit()
    return sessions, tokens


def sign_out() -> None:
    record = access.current_session()
    if record is not None and record.staff_user_id is not None:
        forget_held_codes([record.id])
    access.end_session()
    db.session.commit()


def sign_out_everywhere(staff_user: StaffUser) -> int:
    """End every session of the account, this one included, and revoke its API tokens: what to
    do when a phone or laptop is lost or a password may have been seen."""
    count, tokens = _end_everything(staff_user)
    audit("staff.sign_out_everywhere", staff_user=staff_user, sessions=count, tokens=tokens)
    db.session.commit()
    return count


# --- sessions -----------------------------------------------------------------------------


def record_last_use(now=None) -> None:
    """Note that this request's session (or API token) was used, at most once a minute
    (LAST_USE_RESOLUTION): one conditional UPDATE, committed at once. A household session
    then lasts HOUSEHOLD_SESSION_LIFETIME from this use: it ends after that long unused."""
    now = now or utcnow()
    since = now - current_app.config["LAST_USE_RESOLUTION"]
    record = access.current_session()
    if record is not None:
        if record.last_used_at is not None and record.last_used_at > since:
            return
        values = {"last_used_at": now}
        if record.household_id is not None:
            values["expires_at"] = now + current_app.config["HOUSEHOLD_SESSION_LIFETIME"]
        table, row_id, last = AuthSession, record.id, AuthSession.last_used_at
        access.renew_session_cookie()
    else:
        token = access.current_api_token()
        if token is None or (token.last_used_at is not None and token.last_used_at > since):
            return
        values = {"last_used_at": now}
        table, row_id, last = ApiToken, token.id, ApiToken.last_used_at
    db.session.execute(
        db.update(table)
        .where(table.id == row_id, last.is_(None) | (last <= since))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def sign_out_other_devices(household: Household) -> int:
    """End every session of the household except this browser's; how many."""
    record = access.current_session()
    now = utcnow()
    count = db.session.execute(
        db.update(AuthSession)
        .where(
            AuthSession.household_id == household.id,
            AuthSession.id != record.id,
            AuthSession.live(now),
        )
        .values(revoked_at=now)
    ).rowcount
    db.session.commit()
    return count


@purge_rule(N_("expired sessions"))
def purge_expired_sessions(now: datetime) -> int:
    """Delete the records of sessions that expired or were ended before `now` (naive UTC), with
    the codes held for them; how many sessions. For the retention command (issue 12, point 7):
    nothing else needs them once they are over."""
    over = select(AuthSession.id).where(
        (AuthSession.expires_at <= now) | (AuthSession.revoked_at <= now)
    )
    forget_held_codes(over)
    count = db.session.execute(
        db.delete(AuthSession)
        .where((AuthSession.expires_at <= now) | (AuthSession.revoked_at <= now))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return count


# --- API tokens ---------------------------------------------------------------------------


def create_api_token(
    staff_user: StaffUser,
    name: str,
    lifetime_days: int = 90,
    estates: list[Estate] | None = None,
) -> tuple[str, ApiToken]:
    """A new token for the read-only API, valid `lifetime_days` and limited to `estates` (none:
    every estate its owner may read); the token itself is returned once, stored hashed."""
    if not 1 <= lifetime_days <= 366:
        raise OperationError(N_("A token lives from 1 to 366 days."))
    token, token_hash = access.new_api_token()
    now = utcnow()
    record = ApiToken(
        staff_user_id=staff_user.id,
        name=name.strip()[:100],
        token_hash=token_hash,
        created_at=now,
        expires_at=now + timedelta(days=lifetime_days),
        estates=list(estates or []),
    )
    db.session.add(record)
    db.session.flush()
    audit(
        "api_token.create",
        staff_user=staff_user,
        token=record.id,
        name=record.name,
        days=lifetime_days,
        estates=[e.code for e in record.estates],
    )
    db.session.commit()
    return token, record


def revoke_api_token(record: ApiToken, staff_user: StaffUser) -> None:
    record.revoked_at = utcnow()
    audit("api_token.revoke", staff_user=staff_user, token=record.id, name=record.name)
    db.session.commit()


# --- personal data (issue 12, point 7) ----------------------------------------------------


def set_estate_organiser(estate: Estate, organiser: str, contact: str, *, staff_user=None) -> None:
    """Who collects and keeps the estate's residents' data, and how to reach them."""
    organiser, contact = (organiser or "").strip(), (contact or "").strip()
    if len(organiser) > 200 or len(contact) > 100:
        raise OperationError(
            N_("The organiser may have at most 200 characters and the contact at most 100.")
        )
    estate.organiser, estate.contact = organiser, contact
    audit(
        "estate.organiser",
        staff_user=staff_user,
        estate=estate,
        organiser=organiser,
        contact=contact,
    )
    db.session.commit()


def acknowledge_privacy_notice(household: Household) -> bool:
    """The household has read the privacy notice: recorded once, audited. False if it had
    already acknowledged it (nothing changes)."""
    if household.privacy_acknowledged_at is not None:
        return False
    household.privacy_acknowledged_at = utcnow()
    audit(
        "privacy.acknowledge",
        staff_user=None,
        estate=household.estate,
        by="household",
        household=household.id,
    )
    db.session.commit()
    return True


CORRECTION_MAX = 2000


def request_correction(household: Household, text: str) -> CorrectionRequest:
    """A household asks for a correction of its data; it goes to the secretary's queue."""
    text = (text or "").strip()
    if not text:
        raise OperationError(N_("Say what is wrong and what it should be."))
    if len(text) > CORRECTION_MAX:
        raise OperationError(N_("Write at most %(count)s characters."), count=CORRECTION_MAX)
    request = CorrectionRequest(estate_id=household.estate.id, household_id=household.id, text=text)
    db.session.add(request)
    db.session.flush()
    audit(
        "privacy.correction_request",
        staff_user=None,
        estate=household.estate,
        by="household",
        household=household.id,
        request=request.id,
    )
    db.session.commit()
    return request


def handle_correction(request: CorrectionRequest, note: str, *, staff_user: StaffUser) -> None:
    """The secretary has dealt with the request (corrected the register, or explained why
    not): it leaves the queue, with the note, and the audit log says who and when."""
    note = (note or "").strip()
    if not note:
        raise OperationError(N_("Write what was done, for the record."))
    if len(note) > 1000:
        raise OperationError(N_("Write at most %(count)s characters."), count=1000)
    if request.handled_at is not None:
        raise OperationError(N_("This request has already been handled."))
    request.handled_at = utcnow()
    request.handled_by_id = staff_user.id
    request.handled_note = note
    estate = db.session.get(Estate, request.estate_id)
    audit(
        "privacy.correction_handled",
        staff_user=staff_user,
        estate=estate,
        request=request.id,
        household=request.household_id,
        note=note,
    )
    db.session.commit()


def record_personal_data_access(
    action: str, *, staff_user: StaffUser | None, estate: Estate | None, **detail
) -> None:
    """A staff view of a full household record, or an export holding personal data: written
    to the audit log (who, when, what), in a transaction of its own (issue 12)."""
    audit(action, staff_user=staff_user, estate=estate, **detail)
    db.session.commit()


# --- retention: what `flask … purge` deletes (privacy.PURGE_RULES) ------------------------

UNCONFIRMED_UPLOAD_RETENTION = timedelta(hours=24)


@purge_rule(N_("register uploads never confirmed, older than 24 hours"))
def purge_unconfirmed_uploads(now: datetime) -> int:
    removed = db.session.execute(
        db.delete(PendingImport).where(
            PendingImport.created_at < now - UNCONFIRMED_UPLOAD_RETENTION
        )
    ).rowcount
    db.session.commit()
    return removed


@purge_rule(N_("held access codes past their time"))
def purge_expired_code_batches(now: datetime) -> int:
    removed = db.session.execute(db.delete(CodeBatch).where(CodeBatch.expires_at <= now)).rowcount
    db.session.commit()
    return removed


@purge_rule(N_("sign-in failure records older than a day"))
def purge_sign_in_failures(now: datetime) -> int:
    """Failed sign-ins are counted in the limits storage (Redis, or this process's memory),
    never in the database, and every counter carries its own expiry: the longest is the
    one-day count shown on the console (ratelimit.REPORT_WINDOW). Expired ones are cleared
    here where the storage does not do it by itself."""
    return sign_in_limiter().purge_expired()


# --- door-to-door lists (doorstep.py) -------------------------------------------------------

MAX_VISIT_NOTE = 200


def record_visit(
    visit_model,
    household: Household,
    outcome,
    note: str,
    *,
    staff_user: StaffUser,
    estate: Estate,
    list_name: str,
    **owner,
):
    """Add a visit record (a row of a feature's VisitRecord table, whose owner columns, such
    as survey_id, are `owner`); audited. The caller has checked the household is on the list."""
    from .models import VisitOutcome

    try:
        outcome = VisitOutcome(outcome)
    except ValueError:
        raise OperationError(N_("Choose what came of the visit.")) from None
    note = (note or "").strip()
    if len(note) > MAX_VISIT_NOTE:
        raise OperationError(
            N_("The note is longer than %(limit)s characters."), limit=MAX_VISIT_NOTE
        )
    visit = visit_model(
        household_id=household.id,
        outcome=outcome,
        note=note,
        staff_user_id=staff_user.id,
        at=utcnow(),
        **owner,
    )
    db.session.add(visit)
    audit(
        "visit.record",
        staff_user=staff_user,
        estate=estate,
        list=list_name,
        household=household.id,
        outcome=outcome.value,
        **owner,
    )
    db.session.commit()
    return visit


def audit_contacts_view(*, staff_user: StaffUser, estate: Estate, list_name: str, **detail):
    """A door-to-door list was shown with full names and phone numbers: who, when, which."""
    audit("visit.contacts_view", staff_user=staff_user, estate=estate, list=list_name, **detail)
    db.session.commit()
