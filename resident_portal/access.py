"""Who is signed in, and what they may do: the one permission mechanism of the app.

Every view is declared either `@public` or `@require(Permission.X)`; create_app() refuses to
start if a view is neither, and tests/test_authorization.py walks every route for every role.
A permission is granted to a staff role within an estate (or, for an administrator without
estate, in every estate); households hold the resident permissions in their own estate only.
"""

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app, g, has_request_context, redirect, request, session, url_for
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from .devices import device_label
from .estates import estate_or_404
from .extensions import db
from .models import (
    ApiToken,
    AuthSession,
    Building,
    Estate,
    Household,
    Role,
    StaffUser,
    Unit,
    utcnow,
)


class Permission(enum.StrEnum):
    HOUSEHOLD_HOME = "household.home"
    CONSOLE = "console.view"
    REGISTRY_VIEW = "registry.view"
    REGISTRY_CONTACTS = "registry.contacts"
    REGISTRY_IMPORT = "registry.import"
    CODES_ISSUE = "codes.issue"
    POSTERS_PRINT = "posters.print"
    AUDIT_VIEW = "audit.view"
    API_TOKENS = "api.tokens"
    SURVEY_VIEW = "survey.view"  # list surveys, live progress, door-to-door list
    SURVEY_MANAGE = "survey.manage"  # create surveys, edit their items before they open
    SURVEY_RESULTS = "survey.results"  # live results, exports, the results API
    SURVEY_PAPER = "survey.paper"  # enter paper ballots, print sheets, see their evidence
    SURVEY_ROLL = "survey.roll"  # correct an open survey's roll (audited, on the notice)
    VOTE = "survey.vote"  # a household votes in surveys covering it
    PLEDGE = "contributions.pledge"  # a household pledges to campaigns covering it
    CAMPAIGN_VIEW = "contributions.view"  # tracker, door-to-door list, exports, elevators
    CAMPAIGN_MANAGE = "contributions.manage"  # create campaigns and elevator projects
    PAYMENTS_RECORD = "contributions.record"  # record offline pledges and payments received
    REPORT = "reports.file"  # a household files, supports, confirms or reopens reports
    REPORT_PHOTOS = "reports.photos"  # see report photos (households and staff of the estate)
    REPORTS_VIEW = "reports.view"  # the inbox, the summary, exports
    REPORTS_HANDLE = "reports.handle"  # acknowledge, work on, resolve, hide reports
    OPEN311_KEYS = "reports.open311_keys"  # API keys for city systems
    OVERVIEW = "overview.view"  # the cross-estate overview and the monthly report
    VISITS_RECORD = "visits.record"  # record the outcome of door-to-door visits
    # Full names and phones on the door-to-door lists: the estate's own secretary only (not
    # administrators, planners or district staff, who see them masked). Each view is audited.
    DOOR_TO_DOOR_CONTACTS = "visits.contacts"
    RENOVATION_VIEW = "renovation.view"  # the project record in the console
    RENOVATION_MANAGE = "renovation.manage"  # projects, stages, budget, parties, import
    RENOVATION_PROGRESS = "renovation.progress"  # progress notes and photos
    RENOVATION_TARGETS = "renovation.targets"  # districts' yearly targets
    RENOVATION_SIGNOFF = "renovation.signoff"  # type the residents' representatives' sign-off


HOUSEHOLD_PERMISSIONS = frozenset(
    {
        Permission.HOUSEHOLD_HOME,
        Permission.VOTE,
        Permission.PLEDGE,
        Permission.REPORT,
        Permission.REPORT_PHOTOS,
    }
)
# Held by households and staff alike (each in their own estate).
SHARED_PERMISSIONS = frozenset({Permission.REPORT_PHOTOS})
STAFF_PERMISSIONS = frozenset(Permission) - (HOUSEHOLD_PERMISSIONS - SHARED_PERMISSIONS)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: STAFF_PERMISSIONS - {Permission.DOOR_TO_DOOR_CONTACTS},
    Role.SECRETARY: frozenset(
        {
            Permission.CONSOLE,
            Permission.REGISTRY_VIEW,
            Permission.REGISTRY_CONTACTS,
            Permission.REGISTRY_IMPORT,
            Permission.CODES_ISSUE,
            Permission.POSTERS_PRINT,
            Permission.AUDIT_VIEW,
            Permission.API_TOKENS,
            Permission.SURVEY_VIEW,
            Permission.SURVEY_MANAGE,
            Permission.SURVEY_RESULTS,
            Permission.SURVEY_PAPER,
            Permission.SURVEY_ROLL,
            Permission.CAMPAIGN_VIEW,
            Permission.CAMPAIGN_MANAGE,
            Permission.PAYMENTS_RECORD,
            Permission.REPORT_PHOTOS,
            Permission.REPORTS_VIEW,
            Permission.VISITS_RECORD,
            Permission.DOOR_TO_DOOR_CONTACTS,
            Permission.RENOVATION_VIEW,
            Permission.RENOVATION_SIGNOFF,
        }
    ),
    # Planners review the estate and its results, with personal data masked.
    Role.PLANNER: frozenset(
        {
            Permission.CONSOLE,
            Permission.REGISTRY_VIEW,
            Permission.POSTERS_PRINT,
            Permission.API_TOKENS,
            Permission.SURVEY_VIEW,
            Permission.SURVEY_MANAGE,
            Permission.SURVEY_RESULTS,
            Permission.CAMPAIGN_VIEW,
            Permission.CAMPAIGN_MANAGE,
            Permission.REPORT_PHOTOS,
            Permission.REPORTS_VIEW,
            Permission.REPORTS_HANDLE,
            Permission.OPEN311_KEYS,
            Permission.OVERVIEW,
            Permission.RENOVATION_VIEW,
            Permission.RENOVATION_MANAGE,
            Permission.RENOVATION_PROGRESS,
            Permission.RENOVATION_TARGETS,
        }
    ),
    # Contractors answer quality reports.
    Role.CONTRACTOR: frozenset(
        {
            Permission.CONSOLE,
            Permission.REPORT_PHOTOS,
            Permission.REPORTS_VIEW,
            Permission.REPORTS_HANDLE,
            Permission.RENOVATION_VIEW,
            Permission.RENOVATION_PROGRESS,
        }
    ),
}

# Access codes: no 0/O, 1/I/L, U/V that people misread on paper. 29 symbols, 10 of them:
# log2(29**10) ≈ 48.6 bits (docs/domain.md asks for at least 40).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_LENGTH = 10


def new_access_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def held_access_code(key: str, salt: str, household_id: int) -> str:
    """The code of a household in a held batch (models.CodeBatch): HMAC-SHA256 of the batch's
    salt and the household, keyed with the issuing staff session's key (codes_key), read as a
    number in the code alphabet. Without both key and salt the code cannot be made again.
    (2**256 modulo 29**10 leaves a bias of about 2**-207: the codes are as good as random.)"""
    message = f"{salt}:{household_id}".encode()
    number = int.from_bytes(hmac.new(bytes.fromhex(key), message, hashlib.sha256).digest())
    symbols = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        symbols.append(CODE_ALPHABET[index])
    return "".join(symbols)


def normalise_access_code(typed: str) -> str:
    return "".join(ch for ch in (typed or "").upper() if ch.isalnum())


def format_access_code(code: str) -> str:
    """Grouped for reading aloud and typing: ABCDE-FGHJK."""
    return f"{code[:5]}-{code[5:]}"


def hash_access_code(code: str) -> str:
    # A salted pbkdf2 with a modest work factor: codes carry ~48.6 random bits and guesses are
    # rate-limited, so the hash only has to make a stolen table expensive to reverse, while
    # printing letters for thousands of households must stay quick.
    return generate_password_hash(code, method=current_app.config["ACCESS_CODE_HASH_METHOD"])


def check_access_code(household: Household, typed: str) -> bool:
    code = normalise_access_code(typed)
    if not household.access_code_hash or len(code) != CODE_LENGTH:
        return False
    return check_password_hash(household.access_code_hash, code)


def check_replaced_code(household: Household, typed: str) -> bool:
    """Whether `typed` is the code of the household's replaced letter (it no longer signs in)."""
    code = normalise_access_code(typed)
    if not household.replaced_code_hash or len(code) != CODE_LENGTH:
        return False
    return check_password_hash(household.replaced_code_hash, code)


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def check_password(user: StaffUser, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


# --- sessions -----------------------------------------------------------------------------

SESSION_KEY = "sid"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Where the request caches its session record (see current_session).
SESSION_CACHE_KEY = "resident_portal.auth_session"


def start_session(*, household: Household | None = None, staff_user: StaffUser | None = None):
    """Rotate the cookie and record a new server-side session. The caller commits.

    The session this browser held before (another household on a shared phone, say) ends
    here: otherwise its record would live on, unseen, until it expired (issue 12)."""
    lifetime = current_app.config[
        "HOUSEHOLD_SESSION_LIFETIME" if household else "STAFF_SESSION_LIFETIME"
    ]
    now = utcnow()
    previous = current_session()
    if previous is not None:
        previous.revoked_at = now
    token = secrets.token_urlsafe(32)
    record = AuthSession(
        token_hash=_token_hash(token),
        household=household,
        staff_user=staff_user,
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
        client_address=(request.remote_addr or "")[:64],
        device=device_label(request.headers.get("User-Agent")),
    )
    db.session.add(record)
    # Keep the visitor's preferences, drop everything else (including the old CSRF secret).
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = token
    request.environ[SESSION_CACHE_KEY] = record
    return record


# The staff session's half of the secret of held access codes (see held_access_code). It lives
# in the session cookie only, and goes with it at sign-in and sign-out (session.clear()).
CODES_KEY = "codes_key"


def codes_key(*, create: bool = False) -> str | None:
    """This browser session's key for held codes; made on first use when `create` (a POST)."""
    key = session.get(CODES_KEY)
    if key is None and create:
        key = session[CODES_KEY] = secrets.token_hex(32)
    return key


def renew_session_cookie() -> None:
    """Send the session cookie again with a new expiry (HOUSEHOLD_SESSION_LIFETIME from now),
    as the server-side session's is moved when its use is recorded. Otherwise the cookie is sent
    only when its content changes (SESSION_REFRESH_EACH_REQUEST is off)."""
    session.modified = True


def end_session() -> None:
    record = current_session()
    if record is not None:
        record.revoked_at = utcnow()
    session.clear()
    request.environ[SESSION_CACHE_KEY] = None


def revoke_sessions(*, household_ids=None, staff_user_id: int | None = None) -> int:
    """End the live sessions of these households (one statement for all) or of a staff user;
    return how many. Expired sessions are dead already: they are neither touched nor counted."""
    now = utcnow()
    query = db.update(AuthSession).where(
        AuthSession.revoked_at.is_(None), AuthSession.expires_at > now
    )
    if household_ids is not None:
        query = query.where(AuthSession.household_id.in_(list(household_ids)))
    elif staff_user_id is not None:
        query = query.where(AuthSession.staff_user_id == staff_user_id)
    else:  # pragma: no cover - programming error
        raise ValueError("revoke_sessions needs a household or a staff user")
    return db.session.execute(query.values(revoked_at=now)).rowcount


# Loaded with the session record, in the same query: every page of a signed-in resident then
# needs the household, its unit, building and estate (four lazy loads otherwise). Built once:
# loader options are immutable and building them costs on every request.
SESSION_PRINCIPAL = (
    joinedload(AuthSession.household)
    .joinedload(Household.unit)
    .joinedload(Unit.building)
    .joinedload(Building.estate),
    joinedload(AuthSession.staff_user),
)
# The lookup of every signed-in request, built once: building a statement and its cache key
# cost more than running it on SQLite.
SESSION_BY_TOKEN = (
    select(AuthSession)
    .where(AuthSession.token_hash == bindparam("token_hash"))
    .options(*SESSION_PRINCIPAL)
)


def current_session() -> AuthSession | None:
    """The valid server-side session of this request, looked up once per request."""
    if not has_request_context():
        return None
    # Cached in the WSGI environ, which lives exactly as long as the request (g may outlive it
    # when an app context is already pushed, as in tests and CLI commands).
    cache = request.environ
    if SESSION_CACHE_KEY not in cache:
        record = None
        token = session.get(SESSION_KEY)
        if token:
            record = db.session.scalar(SESSION_BY_TOKEN, {"token_hash": _token_hash(token)})
            if record is not None and not (
                record.revoked_at is None
                and record.expires_at > utcnow()
                and (record.staff_user is None or staff_may_sign_in(record.staff_user))
            ):
                record = None
        cache[SESSION_CACHE_KEY] = record
    return cache[SESSION_CACHE_KEY]


def staff_may_sign_in(user: StaffUser) -> bool:
    """Active, and with a second factor if a role requires one: a session made before the
    account was given such a role, or before its second factor was reset, no longer counts."""
    return user.is_active and (user.has_second_factor or not user.needs_second_factor)


def revoke_api_tokens(staff_user_id: int) -> int:
    """Revoke every live API token of a staff user; how many. The caller commits."""
    now = utcnow()
    query = db.update(ApiToken).where(
        ApiToken.staff_user_id == staff_user_id,
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > now,
    )
    return db.session.execute(query.values(revoked_at=now)).rowcount


def replaced_letter() -> Household | None:
    """The household this phone was signed in for, when that sign-in ended because the
    household's letter was replaced (codes reissued) after it began; else None."""
    if not has_request_context() or current_session() is not None:
        return None
    token = session.get(SESSION_KEY)
    if not token:
        return None
    record = db.session.scalar(SESSION_BY_TOKEN, {"token_hash": _token_hash(token)})
    if record is None or record.household is None or record.revoked_at is None:
        return None
    replaced_at = record.household.code_replaced_at
    if replaced_at is None or record.created_at > replaced_at:
        return None
    return record.household


def current_household() -> Household | None:
    record = current_session()
    return record.household if record else None


def current_staff() -> StaffUser | None:
    record = current_session()
    if record is not None:
        return record.staff_user
    return api_token_user()


API_PREFIX = "/api/"


def new_api_token() -> tuple[str, str]:
    """A new token and the hash to store; the token is shown to its owner once."""
    token = "rp_" + secrets.token_urlsafe(32)
    return token, _token_hash(token)


def current_api_token() -> ApiToken | None:
    """The live token of an `Authorization: Bearer` header, on read-only API requests."""
    if not has_request_context() or not request.path.startswith(API_PREFIX):
        return None
    if request.method not in ("GET", "HEAD"):
        return None
    cache = request.environ
    if "resident_portal.api_token" not in cache:
        token = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = db.session.scalar(
                select(ApiToken)
                .where(ApiToken.token_hash == _token_hash(header[7:].strip()))
                .options(joinedload(ApiToken.staff_user), joinedload(ApiToken.estates))
            )
            if token is not None and not (
                token.is_live(utcnow()) and staff_may_sign_in(token.staff_user)
            ):
                token = None
        cache["resident_portal.api_token"] = token
    return cache["resident_portal.api_token"]


def api_token_user() -> StaffUser | None:
    """The staff user of a valid `Authorization: Bearer` token, on read-only API requests."""
    token = current_api_token()
    return token.staff_user if token is not None else None


def token_estate_ids(user: StaffUser | None) -> set[int] | None:
    """The estates `user` may reach in this request when it acts through an API token that is
    limited to chosen estates; None when nothing limits it (a signed-in session, a token for
    every estate)."""
    if user is None or current_session() is not None:
        return None
    token = current_api_token()
    if token is None or token.staff_user_id != user.id or not token.estates:
        return None
    return {estate.id for estate in token.estates}


# --- permissions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What a view declares; read by create_app() and by the authorisation test."""

    permission: Permission | None  # None: public


def estates_with(user: StaffUser, permission: Permission) -> list[Estate] | None:
    """The estates in which `user` holds `permission`; None means every estate. Through an API
    token limited to chosen estates, only those of them."""
    limited = token_estate_ids(user)
    if limited is not None:
        estates = estates_with_grants(user, permission)
        if estates is None:
            estates = db.session.scalars(select(Estate).where(Estate.id.in_(limited)))
        return sorted(
            (e for e in estates if e.id in limited), key=lambda e: (e.district or "", e.code)
        )
    return estates_with_grants(user, permission)


def estates_seen(user: StaffUser, permission: Permission, *order) -> list[Estate]:
    """estates_with as a list: when `user` holds `permission` everywhere, every estate in
    `order` (by district, then code, unless given)."""
    estates = estates_with(user, permission)
    if estates is None:
        order = order or (Estate.district, Estate.code)
        estates = list(db.session.scalars(select(Estate).order_by(*order)))
    return estates


def estates_with_grants(user: StaffUser, permission: Permission) -> list[Estate] | None:
    """estates_with, from the user's role grants alone."""
    estate_ids, districts = set(), set()
    for grant in user.grants:
        if permission in ROLE_PERMISSIONS[grant.role]:
            if grant.estate_id is None:
                return None
            estate_ids.add(grant.estate_id)
    for grant in user.district_grants:
        if permission in ROLE_PERMISSIONS[grant.role]:
            districts.add(grant.district)
    if not estate_ids and not districts:
        return []
    query = select(Estate).where(Estate.id.in_(estate_ids) | Estate.district.in_(districts))
    return list(db.session.scalars(query.order_by(Estate.district, Estate.code)))


# Held only through a grant naming the estate itself: never estate-wide or district-wide.
OWN_ESTATE_ONLY = frozenset({Permission.DOOR_TO_DOOR_CONTACTS})


def staff_may(user: StaffUser | None, permission: Permission, estate: Estate | None) -> bool:
    if user is None or permission not in STAFF_PERMISSIONS:
        return False
    limited = token_estate_ids(user)
    if limited is not None and estate is not None and estate.id not in limited:
        return False  # an API token limited to other estates
    if permission in OWN_ESTATE_ONLY:
        return estate is not None and any(
            permission in ROLE_PERMISSIONS[grant.role] and grant.estate_id == estate.id
            for grant in user.grants
        )
    for grant in user.grants:
        if permission in ROLE_PERMISSIONS[grant.role] and (
            grant.estate_id is None or estate is None or grant.estate_id == estate.id
        ):
            return True
    for grant in user.district_grants:
        if permission in ROLE_PERMISSIONS[grant.role] and (
            estate is None or estate.district == grant.district
        ):
            return True
    return False


def household_may(household: Household | None, permission: Permission, estate: Estate | None):
    return (
        household is not None
        and permission in HOUSEHOLD_PERMISSIONS
        and (estate is None or household.estate.id == estate.id)
    )


def may(permission: Permission, estate: Estate | None = None) -> bool:
    """For templates: show a link only to those who may follow it."""
    return staff_may(current_staff(), permission, estate) or household_may(
        current_household(), permission, estate
    )


def public(view):
    view.access = Access(None)
    return view


def estate_from_url(kwargs: dict) -> Estate | None:
    """The estate named by the `estate_code` URL argument, or by `?estate=` on API lists."""
    code = kwargs.get("estate_code") or (
        request.args.get("estate") if request.path.startswith(API_PREFIX) else None
    )
    if code is None:
        return None
    return estate_or_404(code)


def require(permission: Permission, estate_of=estate_from_url):
    """Allow the view to principals holding `permission` in the view's estate.

    `estate_of(view kwargs)` finds the estate (404 if the URL names none that exists); by
    default from the `estate_code` URL argument. It is put on `g.estate`. Anonymous visitors
    are sent to the matching sign-in page; signed-in principals without the permission, and
    API requests, get 403.
    """

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            anonymous = current_staff() is None and current_household() is None
            if anonymous and request.path.startswith(API_PREFIX):
                # Before anything is looked up: otherwise an unknown id would answer 404 and
                # a known one 401, and anyone could enumerate the ids.
                abort(401)
            estate = estate_of(kwargs)
            g.estate = estate
            if staff_may(current_staff(), permission, estate) or household_may(
                current_household(), permission, estate
            ):
                return view(*args, **kwargs)
            if anonymous:
                if permission in SHARED_PERMISSIONS:
                    abort(403)  # e.g. a photo: there is no one sign-in page to send them to
                if permission in HOUSEHOLD_PERMISSIONS:
                    if estate is not None:
                        return redirect(url_for("portal.estate", estate_code=estate.code))
                    return redirect(url_for("portal.index"))
                return redirect(url_for("console.sign_in", next=request.full_path))
            abort(403)

        wrapped.access = Access(permission)
        return wrapped

    return decorate


def check_every_view_declares_access(app) -> None:
    undeclared = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not isinstance(getattr(view, "access", None), Access)
    ]
    if undeclared:
        raise RuntimeError(f"views without @public or @require: {', '.join(sorted(undeclared))}")


def households_of_owner(household: Household) -> list[Household]:
    """All households of the same owner in the same estate (one owner, many parts)."""
    query = (
        select(Household)
        .join(Unit)
        .join(Building)
        .where(
            Building.estate_id == household.estate.id,
            Household.owner_ref == household.owner_ref,
        )
    )
    return sorted(db.session.scalars(query), key=lambda h: h.sort_key)
