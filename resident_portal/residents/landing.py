"""The pages anyone may open: the start page, the estate's landing page (the poster's QR code) with
what the features show there, the building and stairwell pickers, and the QR codes themselves.

Routes only parse, authorise and render.
"""

from flask import Response, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from .. import access
from ..access import public
from ..blueprint import ESTATE_PANELS, bp, estate_contact, unit_or_404
from ..estates import estate_or_404
from ..extensions import db
from ..models import Building, Household
from ..qr import public_url, qr_png, qr_svg


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
    panels = [(template, panel(estate)) for template, panel in ESTATE_PANELS]
    return render_template(
        "resident_portal/estate.html",
        estate=estate,
        panels=[(template, context) for template, context in panels if context],
        contact=estate_contact(estate),
    )


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
    unit = unit_or_404(estate, building, unit)
    floors: dict[int, list[Household]] = {}
    for household in unit.sorted_households:
        floors.setdefault(household.floor, []).append(household)
    return render_template(
        "resident_portal/unit.html",
        estate=estate,
        unit=unit,
        floors=sorted(floors.items(), reverse=True),
    )


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
    unit = unit_or_404(estate, building, unit)
    url = public_url(
        "portal.unit", estate_code=estate.code, building=unit.building.number, unit=unit.number
    )
    return _qr_response(url, fmt)
