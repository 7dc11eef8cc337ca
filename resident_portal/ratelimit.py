"""Limits on failed sign-in attempts that stop guessing without locking anyone out (issue 12).

No number of wrong codes or passwords, typed by anyone, stops a household or staff member from
signing in elsewhere. What is limited, counting failures only:

- per account *and* client address: a growing delay (SIGN_IN_DELAYS, e.g. 3 failures in a
  minute, 6 in 10 minutes, 10 in an hour), so someone mistyping or guessing at one household
  from one address is slowed down, while the right code from another address signs in at once;
- per client address, whatever the account (SIGN_IN_LIMIT_PER_ADDRESS): one address guessing at
  many households is stopped. IPv6 addresses count per /64, which one subscriber holds whole;
- per estate (SIGN_IN_LIMIT_PER_ESTATE) and per staff account (SIGN_IN_LIMIT_PER_STAFF_ACCOUNT),
  whatever the address: the global ceiling on guesses that a crowd of addresses can make.

A browser that signed in as an account before carries a signed "trusted device" cookie naming
it; its attempts at that account count only against that device (SIGN_IN_LIMIT_PER_DEVICE), so
even a guesser on the same address (a shared carrier address) or one that has pushed the
estate's ceiling cannot keep the household's own phone out.

With household codes of about 48.6 bits (access.CODE_ALPHABET, CODE_LENGTH), the estate ceiling
bounds a distributed guesser to 2,400 guesses an hour at the defaults: for an estate of 3,000
households, about one chance in 60,000 a year of hitting any code.

The counters live in Redis when REDIS_URL is set, so every app process sees the same counts;
otherwise in this process's memory (fine for one process, e.g. the development server). The
failures of each account over the last day are counted too (never used to refuse anything),
for the console's list of unusual failure counts.
"""

import ipaddress
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import after_this_request, current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

DEVICE_COOKIE = "rp_device"
DEVICE_COOKIE_AGE = 365 * 24 * 3600
DEVICE_ACCOUNTS = 8  # accounts remembered per browser (a family's phone, a shared PC)
REPORT_WINDOW = 24 * 3600  # seconds: failures per account shown in the console


@dataclass(frozen=True)
class Blocked:
    until: datetime  # aware UTC

    @property
    def minutes(self) -> int:
        seconds = (self.until - datetime.now(UTC)).total_seconds()
        return max(1, int(-(-seconds // 60)))


def address_key(address: str) -> str:
    """What a client address counts as: itself, or its /64 for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "-"
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class SignInLimiter:
    def __init__(self, app):
        self.storage = storage_from_string(app.config.get("REDIS_URL") or "memory://")
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.delays = parse_many(app.config["SIGN_IN_DELAYS"])
        self.per_address = parse(app.config["SIGN_IN_LIMIT_PER_ADDRESS"])
        self.per_device = parse(app.config["SIGN_IN_LIMIT_PER_DEVICE"])
        self.per_scope = {
            "estate": parse(app.config["SIGN_IN_LIMIT_PER_ESTATE"]),
            "staff": parse(app.config["SIGN_IN_LIMIT_PER_STAFF_ACCOUNT"]),
        }
        self.prefix = app.config["RATE_LIMIT_PREFIX"]

    # --- the limits -----------------------------------------------------------------------

    def _checks(self, account: str, scope: str, address: str, device: str | None):
        if device is not None:
            return [(self.per_device, (self.prefix, "device", device, account))]
        where = address_key(address)
        return [
            *((item, (self.prefix, "pair", account, where)) for item in self.delays),
            (self.per_address, (self.prefix, "address", where)),
            (self.per_scope[scope.split(":", 1)[0]], (self.prefix, "scope", scope)),
        ]

    def _blocked(self, checks) -> Blocked | None:
        until = None
        for item, keys in checks:
            if not self.limiter.test(item, *keys):
                reset = self.limiter.get_window_stats(item, *keys).reset_time
                until = max(until or 0, reset)
        return Blocked(datetime.fromtimestamp(until, UTC)) if until else None

    def attempt(
        self,
        account: str,
        scope: str,
        address: str,
        check: Callable[[], bool],
        trust_device: Callable[[], bool] = lambda: True,
    ):
        """Run `check` unless this client must wait; count it when it fails.

        `account` is what is being signed in to ("household:12", "staff:wang"), `scope` what the
        global ceiling counts ("estate:3", "staff:wang"). Returns True when `check` passed,
        False when it failed, or Blocked (when to try again) instead of checking, or after the
        failure that used up what was allowed. After a passed check, the browser becomes a
        trusted device of the account unless `trust_device()` says no (a password whose second
        factor is still to come: otherwise each new browser would get its own allowance of
        guesses at the second factor).
        """
        device = self.trusted_device(account)
        if device is not None and not self.limiter.test(
            self.per_device, self.prefix, "device", device, account
        ):
            device = None  # it used up its own allowance: a device like any other now
        checks = self._checks(account, scope, address, device)
        blocked = self._blocked(checks)
        if blocked:
            return blocked
        if check():
            if trust_device():
                self.remember_device(account)
            return True
        for item, keys in checks:
            self.limiter.hit(item, *keys)
        self.storage.incr(self._report_key(account), REPORT_WINDOW)
        if device is not None:
            return False  # once its own allowance is used up, it waits like any other device
        return self._blocked(checks) or False

    # --- trusted devices ------------------------------------------------------------------

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(current_app.secret_key, salt="trusted-device")

    def _device_cookie(self) -> dict | None:
        if not has_request_context():
            return None
        value = request.cookies.get(DEVICE_COOKIE)
        if not value:
            return None
        try:
            data = self._serializer().loads(value, max_age=DEVICE_COOKIE_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("d"), str):
            return None
        if not isinstance(data.get("a"), list):
            return None
        return data

    def trusted_device(self, account: str) -> str | None:
        """This browser's device id, if it signed in as `account` before."""
        data = self._device_cookie()
        return data["d"] if data and account in data["a"] else None

    def remember_device(self, account: str) -> None:
        """Mark this browser as having signed in as `account` (a cookie on the response)."""
        if not has_request_context():
            return
        data = self._device_cookie() or {"d": secrets.token_urlsafe(12), "a": []}
        accounts = [a for a in data["a"] if a != account][-(DEVICE_ACCOUNTS - 1) :] + [account]
        value = self._serializer().dumps({"d": data["d"], "a": accounts})

        @after_this_request
        def set_cookie(response):
            response.set_cookie(
                DEVICE_COOKIE,
                value,
                max_age=DEVICE_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            )
            return response

    # --- what the console shows -----------------------------------------------------------

    def _report_key(self, account: str) -> str:
        return f"{self.prefix}/failures/{account}"

    def recent_failures(self, accounts: Iterable[str]) -> dict[str, int]:
        """Failed attempts of each account over about the last day (only those with any)."""
        counts = {}
        for account in accounts:
            count = self.storage.get(self._report_key(account))
            if count:
                counts[account] = count
        return counts

    def scope_load(self, scope: str) -> tuple[int, int]:
        """Failures counted now against the ceiling of `scope`, and the ceiling."""
        item = self.per_scope[scope.split(":", 1)[0]]
        stats = self.limiter.get_window_stats(item, self.prefix, "scope", scope)
        return item.amount - stats.remaining, item.amount

    # --- retention (issue 12) --------------------------------------------------------------

    def purge_expired(self) -> int:
        """Delete this deployment's failure counters that carry no expiry; return how many.

        Every counter is written with its own expiry (at most REPORT_WINDOW, a day), so Redis
        drops it by itself and nothing should be found; a counter without one (written by an
        old version, or by hand) would be kept for ever, against the documented retention. The
        in-memory storage lives and dies with its process: there is nothing to purge from
        another one."""
        client = getattr(self.storage, "storage", None)
        if client is None or not hasattr(client, "scan_iter"):
            return 0
        removed = 0
        for key in client.scan_iter(match=f"*{self.prefix}*", count=1000):
            if client.ttl(key) == -1:  # -1: no expiry; -2: gone meanwhile
                removed += client.delete(key)
        return removed


def init_app(app) -> None:
    app.extensions["sign_in_limiter"] = SignInLimiter(app)


def sign_in_limiter() -> SignInLimiter:
    return current_app.extensions["sign_in_limiter"]
