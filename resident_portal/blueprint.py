"""The residents' blueprint ("portal"): what the features add to residents' pages (home panels
and tasks, estate landing panels, the estate's contact) and the helpers its pages share. The
pages themselves are in resident_portal/residents/ (the landing pages and the QR codes; the
household's sign-in, home and devices), registered on `bp` as they are imported below.
"""

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Response
from sqlalchemy import select

from .extensions import db
from .models import Building, Estate, Household, Unit

bp = Blueprint("portal", __name__)

# Sections of the household home page, contributed by feature packages (surveys, pledges…) so
# that this package does not depend on them: (template, function(households) -> context).
HOME_PANELS: list[tuple[str, Callable[[list[Household]], dict]]] = []


def home_panel(template: str):
    def register(function):
        HOME_PANELS.append((template, function))
        return function

    return register


@dataclass(frozen=True)
class Task:
    """Something a household should do now, shown first on its home page with one action."""

    title: str
    detail: str  # when it closes, how much, …
    action: str  # the button's words: 去投票, 去认缴, …
    url: str
    sort_key: tuple = ()  # earliest deadline first


# Tasks for the household home, contributed by the features: function(households) -> [Task].
HOME_TASKS: list[Callable[[list[Household]], list[Task]]] = []


def home_task(function):
    HOME_TASKS.append(function)
    return function


# Sections of the estate's landing page (the poster's QR code), contributed by the features:
# open votes, campaigns, results, the problems board, the renovation notice board…
# (template, function(estate) -> context, or None to leave the section out).
ESTATE_PANELS: list[tuple[str, Callable[[Estate], dict | None]]] = []


def estate_panel(template: str):
    def register(function):
        ESTATE_PANELS.append((template, function))
        return function

    return register


@dataclass(frozen=True)
class Contact:
    organiser: str
    phone: str


# Who residents of an estate should contact (the organiser named on its latest vote…): the
# first provider with an answer wins. function(estate) -> Contact | None.
CONTACT_PROVIDERS: list[Callable[[Estate], Contact | None]] = []


def contact_provider(function):
    CONTACT_PROVIDERS.append(function)
    return function


def estate_contact(estate: Estate) -> Contact | None:
    return next((c for c in (p(estate) for p in CONTACT_PROVIDERS) if c), None)


def unit_or_404(estate: Estate, building_number: str, unit_number: str) -> Unit:
    return db.first_or_404(
        select(Unit)
        .join(Building)
        .where(
            Building.estate_id == estate.id,
            Building.number == building_number,
            Unit.number == unit_number,
        )
    )


NEXT_MAX_LENGTH = 2000


def safe_next(target: str | None, fallback: str) -> str:
    """Only a path on this site: never redirect anyone to another site after a form (issue 12).

    Browsers strip spaces and control characters around a Location, drop tabs and newlines
    inside it and read "\\" as "/", so "/\\evil", "/\t/evil" and " //evil" all lead elsewhere.
    Refused: anything not starting with exactly one "/", any backslash, whitespace or control
    character (a newline would also break the header), and anything too long.
    """
    if (
        not target
        or len(target) > NEXT_MAX_LENGTH
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in target)
    ):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def no_store(response: Response) -> Response:
    """Keep a page with a code or a household's data out of every cache (shared phone, proxy)."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


# The pages register on `bp` (imported last: they import `bp` from here).
from .residents import household, landing  # noqa: E402, F401, I001
