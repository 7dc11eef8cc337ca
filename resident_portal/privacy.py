"""Masking personal data for staff lists (docs/domain.md: 王**, 138****1590), and keeping access
codes out of logs."""

import logging
import re


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
