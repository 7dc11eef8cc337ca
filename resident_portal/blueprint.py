"""Resident-facing pages: estate QR landing, choosing the household, sign-in, home.

Routes only parse, authorise and render; changes happen in operations.py.
"""

from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from . import LANGUAGE_COOKIE, LANGUAGES, LARGE_TEXT_COOKIE, access, operations
from .access import Permission, public, require
from .estates import estate_or_404
from .extensions import db
from .forms import AccessCodeForm, PreferencesForm
from .models import Building, Estate, Household, Unit
from .qr import public_url, qr_png, qr_svg
from .ratelimit import Blocked

bp = Blueprint("portal", __name__)

# Sections of the household home page, contributed by feature packages (surveys, pledges…) so
# that this package does not depend on them: (template, function(households) -> context).
HOME_PANELS: list[tuple[str, Callable[[list[Household]], dict]]] = []


def home_panel(template: str):
    def register(function):
        HOME_PANELS.append((template, function))
        return function

    return register


def _unit_or_404(estate: Estate, building_number: str, unit_number: str) -> Unit:
    return db.first_or_404(
        select(Unit)
        .join(Building)
        .where(
            Building.estate_id == estate.id,
            Building.number == building_number,
            Unit.number == unit_number,
        )
    )


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site paths: never redirect a resident to another site after a form."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


@bp.get("/")
@public
def index():
    household = access.current_household()
    if household is not None:
        return redirect(url_for("portal.home"))
    code = request.args.get("estate", "").strip().lower()
    if code:
        return redirect(url_for("portal.estate", estate_code=code))
    return render_template("resident_portal/index.html")


@bp.get("/e/<estate_code>")
@public
def estate(estate_code):
    estate = estate_or_404(estate_code)
    return render_template("resident_portal/estate.html", estate=estate)


@bp.get("/e/<estate_code>/b/<building>")
@public
def building(estate_code, building):
    estate = estate_or_404(estate_code)
    building = db.first_or_404(
        select(Building).where(Building.estate_id == estate.id, Building.number == building)
    )
    return render_template("resident_portal/building.html", estate=estate, building=building)


@bp.get("/e/<estate_code>/b/<building>/u/<unit>")
@public
def unit(estate_code, building, unit):
    estate = estate_or_404(estate_code)
    unit = _unit_or_404(estate, building, unit)
    floors: dict[int, list[Household]] = {}
    for household in unit.sorted_households:
        floors.setdefault(household.floor, []).append(household)
    return render_template(
        "resident_portal/unit.html",
        estate=estate,
        unit=unit,
        floors=sorted(floors.items(), reverse=True),
    )


@bp.route("/e/<estate_code>/h/<int:household_id>", methods=["GET", "POST"])
@public
def sign_in(estate_code, household_id):
    estate = estate_or_404(estate_code)
    household = db.get_or_404(Household, household_id)
    if household.estate.id != estate.id:
        abort(404)
    form = AccessCodeForm()
    if request.method == "GET" and request.args.get("code"):
        # The personal QR link on the household letter: the code is filled in and one tap
        # signs in. Signing in itself stays a POST (nothing changes state on GET).
        form.code.data = access.normalise_access_code(request.args["code"])
    blocked = None
    if form.validate_on_submit():
        result = operations.sign_in_household(household, form.code.data, request.remote_addr or "")
        if result is True:
            return redirect(url_for("portal.home"))
        if isinstance(result, Blocked):
            blocked = result
        else:
            form.code.errors.append(
                _("That code does not match this household. Check the letter and try again.")
            )
    status = 429 if blocked else (400 if form.errors else 200)
    return render_template(
        "resident_portal/sign_in.html",
        estate=estate,
        household=household,
        form=form,
        blocked=blocked,
        from_letter=bool(request.args.get("code")),
    ), status


@bp.get("/home")
@require(Permission.HOUSEHOLD_HOME)
def home():
    household = access.current_household()
    households = access.households_of_owner(household)
    return render_template(
        "resident_portal/home.html",
        household=household,
        estate=household.estate,
        households=households,
        panels=[(template, panel(households)) for template, panel in HOME_PANELS],
    )


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


def _qr_response(url: str, fmt: str) -> Response:
    if fmt == "png":
        return Response(qr_png(url), mimetype="image/png")
    if fmt == "svg":
        return Response(qr_svg(url), mimetype="image/svg+xml")
    abort(404)


@bp.get("/e/<estate_code>/qr.<fmt>")
@public
def estate_qr(estate_code, fmt):
    estate_or_404(estate_code)
    return _qr_response(public_url("portal.estate", estate_code=estate_code), fmt)


@bp.get("/e/<estate_code>/b/<building>/u/<unit>/qr.<fmt>")
@public
def unit_qr(estate_code, building, unit, fmt):
    estate = estate_or_404(estate_code)
    unit = _unit_or_404(estate, building, unit)
    url = public_url(
        "portal.unit", estate_code=estate.code, building=unit.building.number, unit=unit.number
    )
    return _qr_response(url, fmt)
