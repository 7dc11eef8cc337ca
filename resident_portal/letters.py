"""Household letters (一户一码): the access code, the personal sign-in link and its QR code.

Codes exist in clear only between issuing and printing, so everything that prints them is made
from the list that operations.issue_codes() returns or, in the console, that
operations.held_codes() makes again for the sign-in that issued them (models.CodeBatch).
"""

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .access import format_access_code
from .models import Estate, Household
from .qr import public_url, qr_png_and_svg, qr_svg
from .spreadsheets import safe


@dataclass(frozen=True)
class Letter:
    household: Household
    code: str  # grouped for reading: ABCDE-FGHJK
    url: str  # personal sign-in link, encoded in the QR code

    @property
    def qr_svg(self) -> str:
        return qr_svg(self.url)

    @property
    def file_stem(self) -> str:
        h = self.household
        return f"{h.unit.building.number}-{h.unit.number}-{h.room}"


@dataclass(frozen=True)
class LetterItem:
    """Something open that a letter lists with its closing date: a vote, a campaign."""

    kind: str  # msgid of its kind ("Vote", "Pledge"), translated where shown
    title: str
    closes_at: datetime  # naive UTC
    covers: Callable[[Household], bool]
    organiser: str = ""  # who organises it, if known: the letters' default contact
    contact: str = ""


# What is open in an estate, contributed by the features (surveys, campaigns) so that this
# package does not import them: function(estate, now) -> [LetterItem].
LETTER_ITEMS: list[Callable[[Estate, datetime], list[LetterItem]]] = []


def letter_items(function):
    if function not in LETTER_ITEMS:
        LETTER_ITEMS.append(function)
    return function


def open_items(estate: Estate, now: datetime) -> list[LetterItem]:
    """Everything open or about to open in the estate, soonest closing first; each letter
    shows those covering its household."""
    items = [item for function in LETTER_ITEMS for item in function(estate, now)]
    return sorted(items, key=lambda item: item.closes_at)


def letters_for(issued: list[tuple[Household, str]]) -> list[Letter]:
    """Needs a request context (a real one, or app.test_request_context() in the CLI)."""
    return [
        Letter(
            household=household,
            code=format_access_code(code),
            url=public_url(
                "portal.sign_in",
                estate_code=household.estate.code,
                household_id=household.id,
                code=code,
            ),
        )
        for household, code in issued
    ]


def codes_csv(letters: list[Letter]) -> bytes:
    """building,unit,room,code,url for mail-merge; UTF-8 with BOM so Excel reads it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["building", "unit", "room", "code", "url"])
    for letter in letters:
        h = letter.household
        row = [h.unit.building.number, h.unit.number, h.room, letter.code, letter.url]
        writer.writerow([safe(value) for value in row])  # opened in Excel: nothing may run
    return out.getvalue().encode("utf-8-sig")


def letters_zip(letters: list[Letter], progress=None) -> bytes:
    """`progress(done, total)`, when given, is told after each household (jobs.Progress)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("codes.csv", codes_csv(letters))
        for done, letter in enumerate(letters, start=1):
            if progress:
                progress(done, len(letters))
            png, svg = qr_png_and_svg(letter.url)
            # PNG is compressed already: deflating it again costs time and saves nothing
            archive.writestr(f"qr/{letter.file_stem}.png", png, zipfile.ZIP_STORED)
            archive.writestr(f"qr/{letter.file_stem}.svg", svg)
    return buffer.getvalue()
