"""The loaders of an estate by its code (the code in URLs, letters, the CLI and the API), and
of a household of the URL's estate."""

from flask import abort, g
from sqlalchemy import select

from .extensions import db
from .models import Estate, Household


def estate_by_code(code: str) -> Estate | None:
    """Codes are kept in lower case (operations.create_estate); one typed in capitals, on a
    poster read aloud or a city system's jurisdiction_id, finds the same estate."""
    return db.session.scalar(select(Estate).where(Estate.code == code.strip().lower()))


def estate_or_404(code: str) -> Estate:
    estate = estate_by_code(code)
    if estate is None:
        abort(404)
    return estate


def household_in_estate(household_id: int, estate: Estate | None = None) -> Household:
    """The household in the form or URL, 404 unless it is in `estate`, by default the estate of
    the URL (g.estate, set by access.require)."""
    household = db.get_or_404(Household, household_id)
    if household.estate.id != (estate if estate is not None else g.estate).id:
        abort(404)
    return household
