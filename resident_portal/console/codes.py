"""Access codes: issued to the households without one, reissued to one household or, after a
page of its own, to every household. The codes issued are held for printing (held_codes.py)."""

from flask import Response, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import distinct, func, select

from .. import access, operations
from ..access import Permission, require
from ..estates import household_in_estate
from ..extensions import db
from ..forms import IssueCodesForm, ReissueAllForm, form_status
from ..models import AuthSession, Building, CodeBatch, Household, Unit
from . import bp


def household_counts(estate) -> dict:
    """The estate's households, and how many of them have an access code."""
    row = db.session.execute(
        select(func.count(Household.id), func.count(Household.access_code_hash))
        .join(Unit)
        .join(Building)
        .where(Building.estate_id == estate.id)
    ).one()
    return {"households": row[0], "with_code": row[1]}


@bp.route("/<estate_code>/codes", methods=["GET", "POST"])
@require(Permission.CODES_ISSUE)
def issue_codes(estate_code):
    form = IssueCodesForm()
    if not form.validate_on_submit():
        return render_template(
            "console/issue_codes.html",
            estate=g.estate,
            form=form,
            counts=household_counts(g.estate),
        ), form_status(form)
    if form.which.data == "all":  # signs every household out: confirmed on a page of its own
        return redirect(url_for("console.reissue_all", estate_code=g.estate.code), code=303)
    batch = _issue_and_hold(reissue=False)
    if batch is None:
        flash(_("Every household already has a code; nothing was issued."))
        return redirect(url_for("console.issue_codes", estate_code=g.estate.code), code=303)
    return _see_held_codes(batch)


@bp.post("/<estate_code>/households/<int:household_id>/code")
@require(Permission.CODES_ISSUE)
def reissue_code(estate_code, household_id):
    household = household_in_estate(household_id)
    return _see_held_codes(_issue_and_hold(reissue=True, household_ids=[household.id]))


def _signed_in_counts(estate) -> dict:
    """Households of the estate signed in now, and their sessions (phones, browsers)."""
    row = db.session.execute(
        select(func.count(AuthSession.id), func.count(distinct(AuthSession.household_id)))
        .join(Household, AuthSession.household_id == Household.id)
        .join(Unit)
        .join(Building)
        .where(Building.estate_id == estate.id, AuthSession.live())
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
        counts=household_counts(estate) | _signed_in_counts(estate),
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
