"""Posters for the estate and its stairwells, and who to contact, printed on them and on the
letters."""

from flask import abort, g, redirect, render_template, request, session, url_for

from .. import access, print_jobs
from ..access import Permission, require
from ..forms import ConfirmForm
from ..jobs import operations as job_operations
from ..letters import open_items
from ..models import utcnow
from ..pdf import pdf_response, wants_pdf
from . import bp

PRINT_CONTACT = "print.contact"  # the organiser and phone last printed on letters and posters


def print_contact() -> dict:
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


@bp.get("/<estate_code>/posters")
@require(Permission.POSTERS_PRINT)
def posters(estate_code):
    return render_template("console/posters.html", estate=g.estate, contact=print_contact())


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
    html = print_jobs.posters_html(estate, sheets, contact=print_contact())
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
        params={"estate_code": g.estate.code, "contact": print_contact()},
        base_url=request.host_url,
    )
    return redirect(url_for("jobs.page", job_id=job.id), code=303)
