"""Limits on failed sign-in attempts, per account and per client address (docs/domain.md).

Only failures are counted, so a household that signs in correctly is never slowed down. The
counters live in Redis when REDIS_URL is set, so every app process sees the same counts;
otherwise in this process's memory (fine for one process, e.g. the development server).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Blocked:
    until: datetime  # aware UTC

    @property
    def minutes(self) -> int:
        seconds = (self.until - datetime.now(UTC)).total_seconds()
        return max(1, int(-(-seconds // 60)))


class SignInLimiter:
    def __init__(self, app):
        self.storage = storage_from_string(app.config.get("REDIS_URL") or "memory://")
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.per_account = parse(app.config["SIGN_IN_LIMIT_PER_ACCOUNT"])
        self.per_address = parse(app.config["SIGN_IN_LIMIT_PER_ADDRESS"])
        self.prefix = app.config["RATE_LIMIT_PREFIX"]

    def _checks(self, account: str, address: str):
        return (
            (self.per_account, (self.prefix, "account", account)),
            (self.per_address, (self.prefix, "address", address)),
        )

    def blocked(self, account: str, address: str) -> Blocked | None:
        """The time when the next attempt is allowed, if one is not allowed now."""
        until = None
        for item, keys in self._checks(account, address):
            if not self.limiter.test(item, *keys):
                reset = self.limiter.get_window_stats(item, *keys).reset_time
                until = max(until or 0, reset)
        return Blocked(datetime.fromtimestamp(until, UTC)) if until else None

    def failed(self, account: str, address: str) -> None:
        for item, keys in self._checks(account, address):
            self.limiter.hit(item, *keys)


def init_app(app) -> None:
    app.extensions["sign_in_limiter"] = SignInLimiter(app)


def sign_in_limiter() -> SignInLimiter:
    return current_app.extensions["sign_in_limiter"]
