"""A household's own pages: signing in (with the code typed or from the letter's link), the home
page with its tasks first, the devices signed in, signing out and the display preferences.

Routes only parse, authorise and render; changes happen in resident_portal/operations.py.
"""

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import LANGUAGE_COOKIE, LANGUAGES, LARGE_TEXT_COOKIE, access, operations
from ..access import CODE_LENGTH, Permission, public, require
from ..blueprint import HOME_PANELS, HOME_TASKS, bp, estate_contact, no_store, safe_next
from ..estates import estate_or_404, household_in_estate
from ..extensions import db
from ..forms import AccessCodeForm, ConfirmForm, PreferencesForm
from ..models import AuthSession
from ..ratelimit import Blocked

# The code from a household letter's link, kept in the (signed, HttpOnly) session cookie
# between the link and the tap on "Sign in": {"household": id, "code": normalised code}.
LETTER_CODE = "letter_code"


@bp.route("/e/<estate_code>/h/<int:household_id>", methods=["GET", "POST"])
@public
def sign_in(estate_code, household_id):
    estate = estate_or_404(estate_code)
    household = household_in_estate(household_id, estate)
    clean_url = url_for("portal.sign_in", estate_code=estate.code, household_id=household.id)
    if request.method == "GET" and "code" in request.args:
        # The personal QR link on the household letter. The code goes into the session and the
        # phone is sent on to the address without it, so that it stays out of the address bar,
        # the history, server logs and the page itself. Signing in stays a POST.
        code = access.normalise_access_code(request.args.get("code", ""))
        if code:
            session[LETTER_CODE] = {"household": household.id, "code": code[: 2 * CODE_LENGTH]}
        return no_store(redirect(clean_url, 303))
    letter = session.get(LETTER_CODE)
    letter_code = (
        letter.get("code")
        if isinstance(letter, dict) and letter.get("household") == household.id
        else None
    )
    form = AccessCodeForm()
    if request.method == "POST" and letter_code and not (form.code.data or "").strip():
        form.code.data = letter_code  # the tap on "Sign in" after the letter's link
    blocked = replaced = None
    if form.validate_on_submit():
        result = operations.sign_in_household(household, form.code.data, request.remote_addr or "")
        if result is True:
            return no_store(redirect(url_for("portal.home")))
        if isinstance(result, Blocked):
            blocked = result
        else:
            session.pop(LETTER_CODE, None)  # used once: the resident types it from now on
            letter_code = None
            # Checked only after a refused attempt, which the rate limit has counted.
            if access.check_replaced_code(household, form.code.data):
                replaced = household.code_replaced_at
                form.code.errors.append(_("This letter has been replaced by a newer one."))
            else:
                form.code.errors.append(
                    _("That code does not match this household. Check the letter and try again.")
                )
        form.code.data = ""  # never written back into the page
    # A letter opened on a phone signed in for another flat: which flat should it be?
    signed_in = access.current_household()
    other_flat = signed_in if signed_in is not None and signed_in.id != household.id else None
    status = 429 if blocked else (400 if form.errors else 200)
    page = render_template(
        "resident_portal/sign_in.html",
        estate=estate,
        household=household,
        form=form,
        blocked=blocked,
        from_letter=bool(letter_code),
        replaced=replaced,
        other_flat=other_flat,
        contact=estate_contact(estate),
    )
    return no_store(Response(page, status=status))


@bp.get("/home")
@require(Permission.HOUSEHOLD_HOME)
def home():
    household = access.current_household()
    households = access.households_of_owner(household)
    tasks = sorted((t for task in HOME_TASKS for t in task(households)), key=lambda t: t.sort_key)
    return render_template(
        "resident_portal/home.html",
        household=household,
        estate=household.estate,
        households=households,
        tasks=tasks,
        panels=[(template, panel(households)) for template, panel in HOME_PANELS],
        # Shown until the household has acknowledged it once (issue 12).
        show_privacy_notice=household.privacy_acknowledged_at is None,
        ack_form=ConfirmForm(),
        contact=estate_contact(household.estate),
    )


@bp.get("/devices")
@require(Permission.HOUSEHOLD_HOME)
def devices():
    """The phones and computers signed in as this household, with a way to sign out the others
    (a lost phone, a relative's phone used once)."""
    household = access.current_household()
    sessions = db.session.scalars(
        select(AuthSession)
        .where(AuthSession.household_id == household.id, AuthSession.live())
        .order_by(AuthSession.last_used_at.desc(), AuthSession.id.desc())
    )
    page = render_template(
        "resident_portal/devices.html",
        household=household,
        estate=household.estate,
        sessions=list(sessions),
        this_session=access.current_session(),
        form=ConfirmForm(),
    )
    return no_store(Response(page))


@bp.post("/devices/sign-out-others")
@require(Permission.HOUSEHOLD_HOME)
def sign_out_others():
    count = operations.sign_out_other_devices(access.current_household())
    flash(_("%(count)s other devices were signed out.", count=count))
    return redirect(url_for("portal.devices"))


@bp.post("/sign-out")
@public
def sign_out():
    was_household = access.current_household()
    operations.sign_out()
    flash(_("You have signed out."))
    if was_household is not None:
        return redirect(url_for("portal.estate", estate_code=was_household.estate.code))
    return redirect(url_for("portal.index"))


@bp.post("/preferences")
@public
def preferences():
    form = PreferencesForm()
    response = redirect(safe_next(form.next.data, url_for("portal.index")))
    year = 365 * 24 * 3600
    if form.language.data in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, form.language.data, max_age=year, samesite="Lax", httponly=True
        )
    if form.large_text.data in ("0", "1"):
        response.set_cookie(
            LARGE_TEXT_COOKIE, form.large_text.data, max_age=year, samesite="Lax", httponly=True
        )
    return response
