"""Personal data: masking for staff lists (docs/domain.md: 王**, 138****1590) and public text,
access codes kept out of logs, files only their owner reads, and the registration points of
"my data" and retention (issue 12). Pure: no Flask, no database."""

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .common import in_china


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    # Always two stars: the mask should not tell how long the name is.
    return name[0] + "**"


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) <= 4:
        return "*" * len(phone)
    if len(phone) < 8:
        return "*" * (len(phone) - 4) + phone[-4:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


# --- access codes never in logs (issue 12) ------------------------------------------------

# The household letter's link, /e/<estate>/h/<id>?code=…: the query is dropped whole.
LETTER_QUERY = re.compile(r"(/e/[^/\s?#\"']+/h/\d+)\?[^\s\"']*")
# Any other code= parameter (a receipt check, a mistyped path) loses its value.
CODE_PARAMETER = re.compile(r"(^|[?&;\s])(code=)[^&\s\"'#]*", re.IGNORECASE)


def redact_codes(text: str) -> str:
    """A log line or request line without any access code in it."""
    if "code=" not in text.lower():
        return text
    return CODE_PARAMETER.sub(r"\1\2[redacted]", LETTER_QUERY.sub(r"\1", text))


class RedactCodes(logging.Filter):
    """Rewrites every record of the logger it is put on with redact_codes()."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_codes(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_codes_in(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if not any(isinstance(f, RedactCodes) for f in logger.filters):
            logger.addFilter(RedactCodes())


# --- phone numbers in public text (issue 12, point 6) --------------------------------------

# What a resident might type into a report that anyone can read: a mainland mobile number
# (1[3-9] and nine more digits, perhaps +86 in front, perhaps grouped by spaces or dashes), a
# landline with its area code (010-1234 5678, (021)87654321) or a local one of 7 or 8 digits
# in the usual groups (8765 4321, 876-5432). Dates (2026-11-30), years and amounts do not
# have these shapes. Digits on either side mean it is part of a longer number: left alone.
# Phones type full-width digits too (１３８…): \d matches them, and the leading digits that
# tell a mobile or a landline are given in both widths.
PHONE_LIKE = re.compile(
    r"(?<![\d+])(?:"
    r"(?:\+?[8８][6６][ \-]?)?[1１][3-9３-９](?:[ \-]?\d){9}"  # mobile
    r"|(?:\([0０]\d{2,3}\)|[0０]\d{2,3})[ \-]?\d{3,4}[ \-]?\d{4}"  # landline with area code
    r"|[2-9２-９]\d{2,3}[ \-]?\d{4}"  # local landline
    r")(?!\d)"
)


def mask_phone_numbers(text: str | None) -> str:
    """Text with every phone-number-like sequence's digits turned into stars (the separators
    stay, so that a reader sees a number was there): public report text, and the written
    suggestions staff read."""
    if not text:
        return text or ""
    return PHONE_LIKE.sub(lambda match: re.sub(r"\d", "*", match.group(0)), text)


# --- files with secrets or personal data (issue 12, point 7) ------------------------------


def write_private(path, data: bytes) -> None:
    """Write `data` to `path`, readable and writable by the owner only (0600), whatever the
    umask; a file already there is truncated and gets the same mode."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # an existing file keeps its old mode otherwise
        with os.fdopen(descriptor, "wb") as out:
            descriptor = None
            out.write(data)
    finally:
        if descriptor is not None:
            os.close(descriptor)


def create_private(path) -> bool:
    """Create an empty file with mode 0600 if there is none yet (before SQLite opens it, or a
    backup is copied into it); True when it was created."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.fchmod(descriptor, 0o600)
    os.close(descriptor)
    return True


# --- "my data" and retention: registration points (issue 12, point 7) ---------------------

# What a household may see about itself on its "my data" page and download. The ground
# package contributes the register entry and correction requests; features (surveys, pledges,
# reports) register their own providers when create_app registers them, so this package never
# imports them. A provider gets the households of the signed-in owner (one owner, many parts)
# and returns sections; it must return only rows of those households.


@dataclass
class DataSection:
    key: str  # a stable name: the JSON key and the CSV section
    title: str  # translated, for the page and the CSV
    columns: list[tuple[str, str]]  # (key, translated heading)
    rows: list[dict] = field(default_factory=list)  # column key -> plain value (str, int, None)


MY_DATA_PROVIDERS: list[Callable[[list], list[DataSection]]] = []
# The order of the page and the downloads, whatever order the providers were registered in.
SECTION_ORDER = ["register", "ballots", "pledges", "payments", "reports", "correction_requests"]


def data_time(moment: datetime | None) -> str:
    """A stored (naive UTC) moment as China Standard Time to the minute: "2026-11-30 20:08"."""
    return in_china(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def my_data_provider(function: Callable[[list], list[DataSection]]):
    if function not in MY_DATA_PROVIDERS:
        MY_DATA_PROVIDERS.append(function)
    return function


def my_data(households: list) -> list[DataSection]:
    sections = [section for provider in MY_DATA_PROVIDERS for section in provider(households)]
    rank = {key: number for number, key in enumerate(SECTION_ORDER)}
    return sorted(sections, key=lambda section: rank.get(section.key, len(rank)))


# What `flask --app resident_portal purge` deletes: (what, function(now) -> rows removed). Each
# rule is its own transaction and must be safe to run again at once (it then removes nothing).
PURGE_RULES: list[tuple[str, Callable[[datetime], int]]] = []


def purge_rule(what: str):
    def register(function: Callable[[datetime], int]):
        if all(existing is not function for _what, existing in PURGE_RULES):
            PURGE_RULES.append((what, function))
        return function

    return register


def purge(now: datetime) -> list[tuple[str, int]]:
    """Run every purge rule: (what, rows removed) each. The command line and the nightly
    periodic task (periodic.py) both call this."""
    return [(what, rule(now)) for what, rule in PURGE_RULES]
