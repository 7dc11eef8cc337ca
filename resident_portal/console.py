"""The staff console: estates, register import, access codes, posters, audit log."""

import secrets
import time

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import distinct, func, select

from . import access, dashboard, figures, operations, overview, print_jobs, two_factor
from .access import Permission, public, require
from .blueprint import safe_next
from .extensions import db
from .forms import (
    ApiTokenForm,
    ConfirmForm,
    EnrolSecondFactorForm,
    IssueCodesForm,
    RegistryUploadForm,
    ReissueAllForm,
    SecondFactorForm,
    StaffSignInForm,
    form_status,
)
from .jobs import operations as job_operations
from .letters import letters_for, letters_zip, open_items
from .messages import current_locale, describe_error, describe_problem
from .models import (
    ApiToken,
    AuditEntry,
    AuthSession,
    Building,
    CodeBatch,
    Estate,
    Household,
    PendingImport,
    RecoveryCode,
    RoleGrant,
    StaffUser,
    Unit,
    utcnow,
)
from .pdf import pdf_response, wants_pdf
from .privacy import mask_name, mask_phone
from .qr import qr_svg
from .ratelimit import Blocked, sign_in_limiter
from .registry import parse_registry
from .spreadsheets import download

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    form = StaffSignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    blocked = None
    if form.validate_on_submit():
        result = operations.sign_in_staff(
            form.username.data, form.password.data, request.remote_addr or ""
        )
        if result is True:
            return redirect(safe_next(form.next.data, url_for("console.index")))
        if isinstance(result, operations.SecondStep):
            # The password was right: the session starts only after the second factor (or
            # enrolment in one). Until then this browser holds just who is half-way in.
            session[PENDING_STAFF] = {
                "user": result.staff_user.id,
                "until": int(time.time() + _second_factor_window()),
                "next": safe_next(form.next.data, url_for("console.index")),
            }
            if result.enrol:
                return redirect(url_for("console.enrol_second_factor"))
            return redirect(url_for("console.second_factor"))
        if isinstance(result, Blocked):
            blocked = result
        else:
            form.password.errors.append(_("The username or password is wrong."))
    status = 429 if blocked else (400 if form.errors else 200)
    page = render_template("console/sign_in.html", form=form, blocked=blocked)
    return Response(page, status=status, headers={"Cache-Control": "private, no-store"})


# --- the second factor ------------------------------------------------------------------------

# Set in the (signed, HttpOnly) session cookie after a right password: {"user": id, "until":
# unix time, "next": path}. It signs nobody in: it only lets this browser type the second factor
# (or enrol in one) for that account, for SECOND_FACTOR_WINDOW.
PENDING_STAFF = "staff_pending"
# The nonce from which the secret offered while enrolling is derived (two_factor.py):
# {"user": id, "nonce": hex}. The secret itself is stored nowhere until it is confirmed.
ENROLMENT = "totp_enrolment"


def _second_factor_window() -> float:
    return current_app.config["SECOND_FACTOR_WINDOW"].total_seconds()


def _pending_staff() -> tuple[StaffUser | None, str]:
    """The account whose password this browser has just given, and where to go afterwards."""
    pending = session.get(PENDING_STAFF)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int):
        return None, ""
    if not isinstance(pending.get("until"), int) or pending["until"] < time.time():
        session.pop(PENDING_STAFF, None)
        return None, ""
    user = db.session.get(StaffUser, pending["user"])
    if user is None or not user.is_active:
        return None, ""
    return user, safe_next(pending.get("next"), url_for("console.index"))


def _enrolment_secret(user: StaffUser) -> str:
    enrolment = session.get(ENROLMENT)
    if not isinstance(enrolment, dict) or enrolment.get("user") != user.id:
        enrolment = session[ENROLMENT] = {"user": user.id, "nonce": secrets.token_hex(16)}
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return two_factor.enrolment_secret(key, user.id, str(enrolment.get("nonce")))


def _no_store_page(page: str, status: int = 200) -> Response:
    return Response(page, status=status, headers={"Cache-Control": "private, no-store"})


@bp.route("/sign-in/second-factor", methods=["GET", "POST"])
@public
def second_factor():
    user, next_url = _pending_staff()
    if user is None:
        return redirect(url_for("console.sign_in"))
    if not user.has_second_factor:
        return redirect(url_for("console.enrol_second_factor"))
    form = SecondFactorForm()
    blocked = None
    if form.validate_on_submit():
        result = operations.sign_in_second_factor(user, form.code.data, request.remote_addr or "")
        if result is True:
            return redirect(next_url)
        if isinstance(result, Blocked):
            blocked = result
        else:
            form.code.errors.append(
                _("That code is wrong, or it was used already. Wait for the next code.")
            )
        form.code.data = ""
    status = 429 if blocked else form_status(form)
    page = render_template("console/second_factor.html", form=form, blocked=blocked)
    return _no_store_page(page, status)


@bp.route("/two-step-sign-in", methods=["GET", "POST"])
@public
def enrol_second_factor():
    """Enrolment in the second factor: required right after the password for administrators and
    secretaries without one, optional from the account page for everyone else."""
    signed_in = access.current_session()
    user = signed_in.staff_user if signed_in is not None else None
    next_url = url_for("console.account")
    if user is None:
        user, next_url = _pending_staff()
    if user is None:
        return redirect(url_for("console.sign_in"))
    if user.has_second_factor:
        return redirect(url_for("console.account" if signed_in else "console.second_factor"))
    secret = _enrolment_secret(user)
    form = EnrolSecondFactorForm()
    blocked = None
    if form.validate_on_submit():
        try:
            result = operations.enable_second_factor(
                user,
                secret,
                form.code.data,
                request.remote_addr or "",
                sign_in=signed_in is None,
            )
        except operations.OperationError as error:
            flash(describe_error(error), "error")
            return redirect(url_for("console.enrol_second_factor"))
        if isinstance(result, list):
            session.pop(ENROLMENT, None)
            page = render_template(
                "console/recovery_codes.html",
                codes=[two_factor.format_recovery_code(c) for c in result],
                next_url=next_url,
            )
            return _no_store_page(page)
        if isinstance(result, Blocked):
            blocked = result
        else:
            form.code.errors.append(
                _("That code does not match. Check the app shows this account and try again.")
            )
        form.code.data = ""
    uri = two_factor.provisioning_uri(secret, user.username)
    page = render_template(
        "console/enrol_second_factor.html",
        form=form,
        blocked=blocked,
        user=user,
        qr=qr_svg(uri),
        secret=two_factor.grouped(secret),
        required=user.needs_second_factor,
    )
    return _no_store_page(page, 429 if blocked else form_status(form))


@bp.get("/account")
@require(Permission.CONSOLE)
def account():
    user = access.current_staff()
    unused_codes = db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.staff_user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    sessions = db.session.scalars(
        select(AuthSession)
        .where(
            AuthSession.staff_user_id == user.id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        .order_by(AuthSession.created_at.desc())
    )
    page = render_template(
        "console/account.html",
        user=user,
        unused_codes=unused_codes,
        sessions=list(sessions),
        this_session=access.current_session(),
        form=ConfirmForm(),
    )
    return _no_store_page(page)


@bp.post("/account/recovery-codes")
@require(Permission.CONSOLE)
def new_recovery_codes():
    try:
        codes = operations.replace_recovery_codes(access.current_staff())
    except operations.OperationError as error:
        flash(describe_error(error), "error")
        return redirect(url_for("console.account"))
    page = render_template(
        "console/recovery_codes.html",
        codes=[two_factor.format_recovery_code(c) for c in codes],
        next_url=url_for("console.account"),
    )
    return _no_store_page(page)


@bp.get("/")
@require(Permission.CONSOLE)
def index():
    estates = access.estates_with(access.current_staff(), Permission.CONSOLE)
    if estates is None:
        estates = list(db.session.scalars(select(Estate).order_by(Estate.code)))
    return render_template("console/index.html", estates=estates, form=ConfirmForm())


@bp.route("/tokens", methods=["GET", "POST"])
@require(Permission.API_TOKENS)
def tokens():
    staff_user = access.current_staff()
    estates = access.estates_with(staff_user, Permission.API_TOKENS)
    if estates is None:
        estates = list(db.session.scalars(select(Estate).order_by(Estate.code)))
    lifetimes = current_app.config["API_TOKEN_LIFETIME_DAYS"]
    form = ApiTokenForm(lifetime_days=lifetimes[0])  # the default, unless another is chosen
    form.lifetime_days.choices = [(days, _("%(days)s days", days=days)) for days in lifetimes]
    form.estates.choices = [(e.id, e.name) for e in estates]
    new_token = new_record = None
    if form.validate_on_submit():
        chosen = [e for e in estates if e.id in set(form.estates.data or [])]
        new_token, new_record = operations.create_api_token(
            staff_user, form.name.data, form.lifetime_days.data, chosen
        )
    records = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.staff_user_id == staff_user.id)
        .order_by(ApiToken.created_at.desc())
    )
    response = Response(
        render_template(
            "console/tokens.html",
            form=form,
            records=list(records),
            new_token=new_token,
            new_record=new_record,
            now=utcnow(),
            revoke_form=ConfirmForm(),
        ),
        status=form_status(form),
    )
    response.headers["Cache-Control"] = "no-store"  # a new token is shown only here, once
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@require(Permission.API_TOKENS)
def revoke_token(token_id):
    record = db.get_or_404(ApiToken, token_id)
    if record.staff_user_id != access.current_staff().id:
        abort(404)
    operations.revoke_api_token(record, access.current_staff())
    flash(_("Token %(name)s revoked.", name=record.name))
    return redirect(url_for("console.tokens"))


@bp.post("/sign-out-everywhere")
@require(Permission.CONSOLE)
def sign_out_everywhere():
    count = operations.sign_out_everywhere(access.current_staff())
    flash(_("Signed out of %(count)s sessions.", count=count))
    return redirect(url_for("console.sign_in"))


def _household_counts(estate) -> dict:
    row = db.session.execute(
        select(func.count(Household.id), func.count(Household.access_code_hash))
        .join(Unit)
        .join(Building)
        .where(Building.estate_id == estate.id)
    ).one()
    return {"households": row[0], "with_code": row[1]}


@bp.get("/<estate_code>")
@require(Permission.CONSOLE)
def estate(estate_code):
    """The estate's dashboard: open votes against the quorum, pledges against target, open and
    overdue reports, and what to do next (panels registered by the features, dashboard.py)."""
    estate, now = g.estate, utcnow()
    counts = _household_counts(estate)
    panels, tasks = dashboard.panels(estate, now)
    return render_template(
        "console/estate.html",
        estate=estate,
        counts=counts,
        panels=panels,  # (template, its context as `panel`)
        tasks=dashboard.urgent_first(_register_tasks(estate, counts) + tasks),
        locale=current_locale(),
    )


def _register_tasks(estate, counts) -> list:
    """The ground's own next steps: a register to import, codes to issue."""
    if counts["households"] == 0 and access.may(Permission.REGISTRY_IMPORT, estate):
        url = url_for("console.registry_import", estate_code=estate.code)
        return [dashboard.Task(_("Import the household register."), url, urgent=True)]
    missing = counts["households"] - counts["with_code"]
    if missing and access.may(Permission.CODES_ISSUE, estate):
        url = url_for("console.issue_codes", estate_code=estate.code)
        text = _(
            "%(count)s households have no access code yet: print their letters.", count=missing
        )
        return [dashboard.Task(text, url)]
    return []


@bp.get("/<estate_code>/households")
@require(Permission.REGISTRY_VIEW)
def households(estate_code):
    estate = g.estate
    rows = [
        (building, unit, household)
        for building in estate.sorted_buildings
        for unit in building.sorted_units
        for household in unit.sorted_households
    ]
    return render_template(
        "console/households.html",
        estate=estate,
        rows=rows,
        mask_name=mask_name,
        mask_phone=mask_phone,
    )


def _estate_household_or_404(household_id: int) -> Household:
    household = db.get_or_404(Household, household_id)
    if household.estate.id != g.estate.id:
        abort(404)
    return household


@bp.get("/<estate_code>/households/<int:household_id>")
@require(Permission.REGISTRY_CONTACTS)
def household(estate_code, household_id):
    household = _estate_household_or_404(household_id)
    # A full record (name, phone): who looked is written down (issue 12).
    operations.record_personal_data_access(
        "household.view", staff_user=access.current_staff(), estate=g.estate, household=household.id
    )
    return render_template(
        "console/household.html",
        estate=g.estate,
        household=household,
        others=[h for h in access.households_of_owner(household) if h.id != household.id],
        form=ConfirmForm(),
    )


@bp.post("/<estate_code>/households/<int:household_id>/code")
@require(Permission.CODES_ISSUE)
def reissue_code(estate_code, household_id):
    household = _estate_household_or_404(household_id)
    return _see_held_codes(_issue_and_hold(reissue=True, household_ids=[household.id]))


@bp.route("/<estate_code>/registry", methods=["GET", "POST"])
@require(Permission.REGISTRY_IMPORT)
def registry_import(estate_code):
    estate = g.estate
    form = RegistryUploadForm()
    if not form.validate_on_submit():
        return render_template(
            "console/registry_upload.html", estate=estate, form=form
        ), form_status(form)
    upload = form.register.data
    content = upload.read()
    parsed = parse_registry(content, upload.filename or "")
    pending = None
    plan = None
    if parsed.ok:
        plan = operations.plan_import(estate, parsed)
        pending = operations.hold_upload(estate, access.current_staff(), upload.filename, content)
    return render_template(
        "console/registry_preview.html",
        estate=estate,
        parsed=parsed,
        plan=plan,
        pending=pending,
        form=ConfirmForm(),
        describe_problem=describe_problem,
    ), (200 if parsed.ok else 422)


@bp.post("/<estate_code>/registry/<int:pending_id>")
@require(Permission.REGISTRY_IMPORT)
def registry_confirm(estate_code, pending_id):
    pending = db.get_or_404(PendingImport, pending_id)
    if pending.estate_id != g.estate.id or pending.staff_user_id != access.current_staff().id:
        abort(404)
    parsed = parse_registry(pending.content, pending.filename)
    if len(parsed.rows) > current_app.config["REGISTRY_JOB_ROWS"]:
        # A big register is written by a job (registry_job.py): same check, same import.
        job = job_operations.submit(
            "registry_import",
            staff_user=access.current_staff(),
            estates=[g.estate],
            estate=g.estate,
            params={"pending_id": pending.id},
            base_url=request.host_url,
        )
        return redirect(url_for("jobs.page", job_id=job.id), code=303)
    try:
        plan = operations.import_registry(g.estate, parsed, staff_user=access.current_staff())
    except operations.OperationError as error:
        flash(describe_error(error), "error")
        return redirect(url_for("console.registry_import", estate_code=g.estate.code))
    operations.discard_upload(pending)
    flash(
        _(
            "Register imported: %(new)s new, %(updated)s updated, %(unchanged)s unchanged.",
            new=len(plan.new),
            updated=len(plan.updated),
            unchanged=plan.unchanged,
        )
    )
    return redirect(url_for("console.households", estate_code=g.estate.code))


@bp.route("/<estate_code>/codes", methods=["GET", "POST"])
@require(Permission.CODES_ISSUE)
def issue_codes(estate_code):
    form = IssueCodesForm()
    if not form.validate_on_submit():
        return render_template(
            "console/issue_codes.html",
            estate=g.estate,
            form=form,
            counts=_household_counts(g.estate),
        ), form_status(form)
    if form.which.data == "all":  # signs every household out: confirmed on a page of its own
        return redirect(url_for("console.reissue_all", estate_code=g.estate.code), code=303)
    batch = _issue_and_hold(reissue=False)
    if batch is None:
        flash(_("Every household already has a code; nothing was issued."))
        return redirect(url_for("console.issue_codes", estate_code=g.estate.code), code=303)
    return _see_held_codes(batch)


def _signed_in_counts(estate) -> dict:
    """Households of the estate signed in now, and their sessions (phones, browsers)."""
    row = db.session.execute(
        select(func.count(AuthSession.id), func.count(distinct(AuthSession.household_id)))
        .join(Household, AuthSession.household_id == Household.id)
        .join(Unit)
        .join(Building)
        .where(
            Building.estate_id == estate.id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
    ).one()
    return {"sessions": row[0], "signed_in_households": row[1]}


@bp.route("/<estate_code>/codes/reissue-all", methods=["GET", "POST"])
@require(Permission.CODES_ISSUE)
def reissue_all(estate_code):
    """Every household gets a new code: the page says what that ends, and the estate code must
    be typed. Only the POST reissues, and it answers with a redirect (a refresh repeats nothing)."""
    estate = g.estate
    form = ReissueAllForm()
    if form.validate_on_submit():
        if form.typed_estate_code.data.strip() == estate.code:
            batch = _issue_and_hold(reissue=True)
            if batch is None:
                flash(_("The estate has no households yet; nothing was issued."))
                return redirect(url_for("console.issue_codes", estate_code=estate.code), code=303)
            return _see_held_codes(batch)
        form.typed_estate_code.errors.append(
            _(
                "That is not this estate's code. Type %(code)s to reissue every code.",
                code=estate.code,
            )
        )
    return render_template(
        "console/reissue_all.html",
        estate=estate,
        form=form,
        counts=_household_counts(estate) | _signed_in_counts(estate),
    ), (422 if form.errors else 200)


def _issue_and_hold(**kwargs) -> CodeBatch | None:
    return operations.issue_and_hold_codes(
        g.estate, access.current_session(), access.codes_key(create=True), **kwargs
    )


def _see_held_codes(batch: CodeBatch) -> Response:
    """After issuing: 303 to the page of the held codes, so that a refresh only shows it again."""
    return redirect(
        url_for("console.codes_issued", estate_code=g.estate.code, batch_id=batch.id), code=303
    )


def _no_store(response: Response) -> Response:
    # Codes in clear: keep the page out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _held_batch(batch_id: int) -> tuple[CodeBatch, str]:
    """A batch held for this very sign-in, in this estate, not expired, and the key of its
    codes; otherwise 404, whoever asks (other staff, other estates, later sign-ins)."""
    batch = db.session.get(CodeBatch, batch_id)
    record = access.current_session()
    key = access.codes_key()
    if (
        batch is None
        or record is None
        or key is None
        or batch.estate_id != g.estate.id
        or batch.auth_session_id != record.id
        or batch.expires_at <= utcnow()
    ):
        minutes = int(current_app.config["HELD_CODES_LIFETIME"].total_seconds() // 60)
        page = render_template(
            "errors/error.html",
            status=404,
            title=_("These codes can no longer be shown"),
            text=_(
                "Codes just issued can be printed for %(minutes)s minutes, and only from the "
                "sign-in that issued them. To print a letter now, issue a new code for the "
                "household: its old code then stops working.",
                minutes=minutes,
            ),
        )
        abort(_no_store(Response(page, status=404)))
    return batch, key


@bp.get("/<estate_code>/codes/issued/<int:batch_id>")
@require(Permission.CODES_ISSUE)
def codes_issued(estate_code, batch_id):
    batch, key = _held_batch(batch_id)
    issued, left_out = operations.held_codes(batch, key)
    page = render_template(
        "console/codes_issued.html",
        estate=g.estate,
        batch=batch,
        count=len(issued),
        left_out=left_out,
        contact=_print_contact(),
        sync_limit=current_app.config["SYNC_LETTERS_LIMIT"],
        form=ConfirmForm(),
    )
    return _no_store(Response(page))


@bp.get("/<estate_code>/codes/issued/<int:batch_id>/letters")
@require(Permission.CODES_ISSUE)
def codes_letters(estate_code, batch_id):
    """The letters to print; `?format=pdf` the same as a PDF (up to SYNC_LETTERS_LIMIT letters:
    more are made by a job, letters_job)."""
    batch, key = _held_batch(batch_id)
    issued, _left_out = operations.held_codes(batch, key)
    operations.record_personal_data_access(
        "export.letters",
        staff_user=access.current_staff(),
        estate=g.estate,
        batch=batch.id,
        households=len(issued),
    )
    pdf = wants_pdf(request)
    if pdf and len(issued) > current_app.config["SYNC_LETTERS_LIMIT"]:
        abort(404)
    html = print_jobs.letters_html(
        g.estate,
        letters_for(issued),
        batch.expires_at,
        contact=_print_contact(),
        issued_at=batch.issued_at,
    )
    if pdf:
        response = pdf_response(html, f"{g.estate.code}-letters.pdf", request.host_url)
        return _no_store(response)
    return _no_store(Response(html))


@bp.post("/<estate_code>/codes/issued/<int:batch_id>/job")
@require(Permission.CODES_ISSUE)
def letters_job(estate_code, batch_id):
    """The letters of a held batch as a PDF or a ZIP, made in the background. The key of the
    codes goes with the queued task only; the result serves this sign-in until the batch
    expires, then it is deleted."""
    batch, key = _held_batch(batch_id)
    kind = request.form.get("format") if request.form.get("format") in ("pdf", "zip") else "pdf"
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = job_operations.submit(
        "letters",
        staff_user=access.current_staff(),
        estates=[g.estate],
        estate=g.estate,
        params={
            "batch_id": batch.id,
            "format": kind,
            "estate_code": g.estate.code,
            "contact": _print_contact(),
        },
        secrets={"key": key},
        auth_session_id=access.current_session().id,
        expires_at=batch.expires_at,
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)


PRINT_CONTACT = "print.contact"  # the organiser and phone last printed on letters and posters


def _print_contact() -> dict:
    """Who to contact, printed on letters and posters: ?organiser=&phone= (from the form on the
    codes and posters pages), remembered in this browser's session for the next printing; at
    first, the estate's organiser and contact (the privacy notice's), else those of the estate's
    open vote that names them."""
    if "organiser" in request.args or "phone" in request.args:
        contact = {
            "organiser": request.args.get("organiser", "").strip()[:100],
            "phone": request.args.get("phone", "").strip()[:40],
        }
        session[PRINT_CONTACT] = contact
        return contact
    if PRINT_CONTACT in session:
        return session[PRINT_CONTACT]
    if g.estate.organiser or g.estate.contact:
        return {"organiser": g.estate.organiser or "", "phone": g.estate.contact or ""}
    named = [i for i in open_items(g.estate, utcnow()) if i.organiser or i.contact]
    if named:
        return {"organiser": named[0].organiser, "phone": named[0].contact}
    return {"organiser": "", "phone": ""}


@bp.get("/<estate_code>/codes/issued/<int:batch_id>/codes.zip")
@require(Permission.CODES_ISSUE)
def codes_zip(estate_code, batch_id):
    batch, key = _held_batch(batch_id)
    issued, _left_out = operations.held_codes(batch, key)
    operations.record_personal_data_access(
        "export.codes_zip",
        staff_user=access.current_staff(),
        estate=g.estate,
        batch=batch.id,
        households=len(issued),
    )
    body = letters_zip(letters_for(issued))
    return _no_store(download(body, f"{g.estate.code}-household-codes.zip"))


@bp.get("/<estate_code>/posters")
@require(Permission.POSTERS_PRINT)
def posters(estate_code):
    return render_template("console/posters.html", estate=g.estate, contact=_print_contact())


@bp.get("/<estate_code>/posters/print")
@require(Permission.POSTERS_PRINT)
def poster_print(estate_code):
    """The estate poster, or the stairwell poster of every unit (or of one, with ?unit=ID).
    `?format=pdf`: the estate poster or one unit's as a PDF; every unit's is a job
    (posters_job)."""
    estate = g.estate
    what = request.args.get("what", "estate")
    unit_id = request.args.get("unit", type=int)
    if what not in ("estate", "units"):
        abort(404)
    pdf = wants_pdf(request)
    if pdf and what == "units" and unit_id is None:
        abort(404)
    sheets = print_jobs.poster_sheets(estate, what, unit_id)
    if not sheets:
        abort(404)
    html = print_jobs.posters_html(estate, sheets, contact=_print_contact())
    if pdf:
        return pdf_response(html, f"{estate.code}-poster.pdf", request.host_url)
    return html


@bp.post("/<estate_code>/posters/job")
@require(Permission.POSTERS_PRINT)
def posters_job(estate_code):
    """The stairwell posters of every unit as one PDF, made in the background."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = job_operations.submit(
        "posters",
        staff_user=access.current_staff(),
        estates=[g.estate],
        estate=g.estate,
        params={"estate_code": g.estate.code, "contact": _print_contact()},
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)


@bp.get("/<estate_code>/audit")
@require(Permission.AUDIT_VIEW)
def audit(estate_code):
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.estate_id == g.estate.id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(200)
    )
    return render_template("console/audit.html", estate=g.estate, entries=list(entries))


@bp.get("/<estate_code>/sign-in-failures")
@require(Permission.AUDIT_VIEW)
def sign_in_failures(estate_code):
    """Households and staff accounts of the estate with unusually many failed sign-ins over
    about the last day, and the estate's ceiling (ratelimit.py; counted in the limits storage,
    so nothing is written to the database on a failure)."""
    estate = g.estate
    limiter = sign_in_limiter()
    unusual = current_app.config["SIGN_IN_FAILURES_UNUSUAL"]
    households = {
        f"household:{h.id}": h
        for building in estate.sorted_buildings
        for unit in building.sorted_units
        for h in unit.sorted_households
    }
    staff = {
        f"staff:{user.username.lower()}": user
        for user in db.session.scalars(
            select(StaffUser)
            .join(RoleGrant)
            .where(RoleGrant.estate_id == estate.id)
            .distinct()
            .order_by(StaffUser.username)
        )
    }
    counts = limiter.recent_failures([*households, *staff])

    def rows(accounts):
        found = [(n, a) for a, n in counts.items() if a in accounts and n >= unusual]
        return [(accounts[a], n) for n, a in sorted(found, key=lambda row: -row[0])]

    load, ceiling = limiter.scope_load(f"estate:{estate.id}")
    return render_template(
        "console/sign_in_failures.html",
        estate=estate,
        households=rows(households),
        staff=rows(staff),
        unusual=unusual,
        load=load,
        ceiling=ceiling,
    )


# --- the overview across estates and the monthly report ----------------------------------


def _overview_estates(district: str | None) -> list[Estate]:
    estates = access.estates_with(access.current_staff(), Permission.OVERVIEW)
    if estates is None:
        estates = list(db.session.scalars(select(Estate).order_by(Estate.district, Estate.code)))
    if district:
        estates = [e for e in estates if e.district == district]
    return estates


def _districts() -> list[str]:
    estates = access.estates_with(access.current_staff(), Permission.OVERVIEW)
    if estates is None:
        estates = db.session.scalars(select(Estate))
    return sorted({e.district for e in estates if e.district})


@bp.get("/overview")
@require(Permission.OVERVIEW)
def overview_page():
    district = request.args.get("district") or None
    show = request.args.get("show", "")
    sort = request.args.get("sort", "estate")
    descending = request.args.get("desc") == "1"
    estates = _overview_estates(district)
    rows = overview.filter_rows(overview.estate_rows(estates), show)
    rows.sort(key=overview.sort_key(sort), reverse=descending)
    return render_template(
        "console/overview.html",
        providers=figures.providers(),
        filter_choices=overview.filters(),
        rows=rows,
        total=overview.totals(rows),
        trend_points=overview.trends(estates, months=12),
        districts=_districts(),
        district=district,
        show=show,
        sort=sort,
        descending=descending,
        month=_this_month(),
    )


def _this_month() -> str:
    from datetime import timedelta

    from .models import utcnow

    china = utcnow() + timedelta(hours=8)
    return f"{china.year:04d}-{china.month:02d}"


# Estates counted at a time for the monthly report: a city's report tells its progress
# (`report monthly`) between batches; each batch's figures are those of the whole list.
MONTHLY_BATCH = 50


def monthly_report(district: str | None, month: str, estates: list[Estate], progress=None):
    """Rows, totals and the month's activity: the same numbers for page, XLSX and CLI.
    `progress(done, total)`, when given, is told after each batch of estates and after the
    month's activity (total: the estates, and one step for the activity)."""
    start, end = overview.parse_month(month)
    now = utcnow()  # one moment for every batch ("overdue" and the like)
    rows = []
    for first in range(0, len(estates), MONTHLY_BATCH):
        if progress:
            progress(first, len(estates) + 1)
        rows += overview.estate_rows(estates[first : first + MONTHLY_BATCH], now, end)
    if progress:
        progress(len(estates), len(estates) + 1)
    activity = overview.month_activity(estates, start, end)
    if progress:
        progress(len(estates) + 1, len(estates) + 1)
    return rows, overview.totals(rows), activity


def _monthly_from_request():
    """?district=&month=YYYY-MM (default: this month) → (district, month, report); 404 if the
    month is not a month."""
    district = request.args.get("district") or None
    month = request.args.get("month") or _this_month()
    try:
        overview.parse_month(month)
    except ValueError:
        abort(404)
    return district, month, monthly_report(district, month, _overview_estates(district))


@bp.get("/overview/monthly")
@require(Permission.OVERVIEW)
def monthly_page():
    district, month, (rows, total, activity) = _monthly_from_request()
    estates = [row.estate for row in rows]
    return render_template(
        "console/monthly.html",
        providers=figures.providers(),
        rows=rows,
        total=total,
        summary=overview.summary_cells(total, activity),
        trend_points=overview.trends(estates, months=12, now=overview.month_end(month)),
        districts=_districts(),
        month=month,
        this_month=_this_month(),
        district=district,
    )


@bp.get("/overview/monthly.xlsx")
@require(Permission.OVERVIEW)
def monthly_xlsx():
    district, month, (rows, total, activity) = _monthly_from_request()
    body = overview.monthly_workbook(rows, total, activity, month, district, _)
    return download(body, f"monthly-{month}.xlsx")


@bp.post("/overview/monthly/job")
@require(Permission.OVERVIEW)
def monthly_job():
    """The monthly workbook of a district or the city, made in the background. It covers the
    estates this planner sees, and only staff who see all of them may open it."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    district = request.form.get("district") or None
    month = request.form.get("month") or _this_month()
    lang = request.form.get("lang") if request.form.get("lang") in ("zh_Hans_CN", "en") else None
    try:
        overview.parse_month(month)
    except ValueError:
        abort(400)
    job = job_operations.submit(
        "monthly",
        staff_user=access.current_staff(),
        estates=_overview_estates(district),
        district=district,
        params={"month": month, "lang": lang or str(get_locale())},
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)
