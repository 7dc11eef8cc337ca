"""The staff console: estates, register import, access codes, posters, audit log."""

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
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import distinct, func, select

from . import access, figures, operations, overview, print_jobs
from .access import Permission, public, require
from .blueprint import safe_next
from .extensions import db
from .forms import (
    ApiTokenForm,
    ConfirmForm,
    IssueCodesForm,
    RegistryUploadForm,
    ReissueAllForm,
    StaffSignInForm,
    form_status,
)
from .jobs import operations as job_operations
from .letters import letters_for, letters_zip
from .messages import describe_error, describe_problem
from .models import (
    ApiToken,
    AuditEntry,
    AuthSession,
    Building,
    CodeBatch,
    Estate,
    Household,
    PendingImport,
    RoleGrant,
    StaffUser,
    Unit,
    utcnow,
)
from .pdf import pdf_response, wants_pdf
from .privacy import mask_name, mask_phone
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
        if isinstance(result, Blocked):
            blocked = result
        else:
            form.password.errors.append(_("The username or password is wrong."))
    status = 429 if blocked else (400 if form.errors else 200)
    page = render_template("console/sign_in.html", form=form, blocked=blocked)
    return Response(page, status=status, headers={"Cache-Control": "private, no-store"})


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
    form = ApiTokenForm()
    new_token = None
    if form.validate_on_submit():
        new_token, _record = operations.create_api_token(staff_user, form.name.data)
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
    return render_template(
        "console/estate.html", estate=g.estate, counts=_household_counts(g.estate)
    )


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
    pdf = wants_pdf(request)
    if pdf and len(issued) > current_app.config["SYNC_LETTERS_LIMIT"]:
        abort(404)
    html = print_jobs.letters_html(g.estate, letters_for(issued), batch.expires_at)
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
        params={"batch_id": batch.id, "format": kind, "estate_code": g.estate.code},
        secrets={"key": key},
        auth_session_id=access.current_session().id,
        expires_at=batch.expires_at,
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)


@bp.get("/<estate_code>/codes/issued/<int:batch_id>/codes.zip")
@require(Permission.CODES_ISSUE)
def codes_zip(estate_code, batch_id):
    batch, key = _held_batch(batch_id)
    issued, _left_out = operations.held_codes(batch, key)
    body = letters_zip(letters_for(issued))
    return _no_store(download(body, f"{g.estate.code}-household-codes.zip"))


@bp.get("/<estate_code>/posters")
@require(Permission.POSTERS_PRINT)
def posters(estate_code):
    return render_template("console/posters.html", estate=g.estate)


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
    html = print_jobs.posters_html(estate, sheets)
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
        params={"estate_code": g.estate.code},
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


def monthly_report(district: str | None, month: str, estates: list[Estate]):
    """Rows, totals and the month's activity: the same numbers for page, XLSX and CLI."""
    start, end = overview.parse_month(month)
    rows = overview.estate_rows(estates)
    return rows, overview.totals(rows), overview.month_activity(estates, start, end)


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
    return render_template(
        "console/monthly.html",
        providers=figures.providers(),
        rows=rows,
        total=total,
        summary=overview.summary_cells(total, activity),
        month=month,
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
