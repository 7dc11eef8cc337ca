"""The staff second factor: time-based one-time passwords (TOTP, RFC 6238) and recovery codes.

Pure: no Flask and no database, so that the rules are tested on their own. A code is accepted
for the 30-second step it belongs to and the steps either side (a phone's clock drifts, and a
code typed at the end of its step arrives in the next one); the step accepted is returned and
stored, and a code of that step or an earlier one is refused afterwards: a code seen over a
shoulder, or taken from the form by a proxy, cannot be used a second time.
"""

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

ISSUER = "Resident Portal"
STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # steps accepted either side of the current one
RECOVERY_CODES = 10
# Recovery codes use the access codes' alphabet (no 0/O, 1/I/L, U/V): read off paper.
RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
RECOVERY_LENGTH = 10


def enrolment_secret(key: bytes, staff_user_id: int, nonce: str) -> str:
    """The secret offered to a staff member while enrolling: derived from the app's key, the
    account and a nonce kept in that browser's session, so that it is never written anywhere
    before it is confirmed (a reload shows the same secret; a new enrolment a new one)."""
    message = f"totp-enrolment:{staff_user_id}:{nonce}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:20]  # 160 bits (RFC 4226)
    return base64.b32encode(digest).decode()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// address that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def step_of(moment: datetime) -> int:
    """The 30-second step number of an aware or naive-UTC moment."""
    return pyotp.TOTP(pyotp.random_base32(), interval=STEP_SECONDS).timecode(moment)


def normalise_totp(typed: str | None) -> str:
    return "".join(ch for ch in (typed or "") if ch in "0123456789")


def matching_step(secret: str, typed: str, now: datetime, last_step: int | None) -> int | None:
    """The step whose code was typed, if it is one of the steps around `now` and later than
    `last_step` (the step of the last code accepted); otherwise None."""
    # Six digits, perhaps typed as "123 456" or "123-456"; nothing else.
    if any(ch not in "0123456789 -" for ch in (typed or "").strip()):
        return None
    code = normalise_totp(typed)
    if len(code) != DIGITS:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten random codes of about 48.6 bits each, shown once, kept only as hashes."""
    return [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]


def normalise_recovery_code(typed: str | None) -> str:
    return "".join(ch for ch in (typed or "").upper() if ch.isalnum())


def looks_like_recovery_code(typed: str | None) -> bool:
    code = normalise_recovery_code(typed)
    return len(code) == RECOVERY_LENGTH and all(ch in RECOVERY_ALPHABET for ch in code)


def format_recovery_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"
