"""Household letters (一户一码): the access code, the personal sign-in link and its QR code.

Codes exist in clear only between issuing and printing, so everything that prints them is made
from the list that operations.issue_codes() returns or, in the console, that
operations.held_codes() makes again for the sign-in that issued them (models.CodeBatch).
"""

import csv
import io
import zipfile
from dataclasses import dataclass

from .access import format_access_code
from .models import Household
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
