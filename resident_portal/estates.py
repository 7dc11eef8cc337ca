"""The one loader of an estate by its code (the code in URLs, letters, the CLI and the API)."""

from flask import abort
from sqlalchemy import select

from .extensions import db
from .models import Estate


def estate_by_code(code: str) -> Estate | None:
    """Codes are kept in lower case (operations.create_estate); one typed in capitals, on a
    poster read aloud or a city system's jurisdiction_id, finds the same estate."""
    return db.session.scalar(select(Estate).where(Estate.code == code.strip().lower()))


def estate_or_404(code: str) -> Estate:
    estate = estate_by_code(code)
    if estate is None:
        abort(404)
    return estate
