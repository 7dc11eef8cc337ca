"""What the fuzzing tests share: Hypothesis settings, nasty values and the database check.

FUZZ_EXAMPLES=300 runs the long variant of every fuzzer; FUZZ_NO_SHRINK=1 reports a failing
example as found instead of shrinking it first (which can take minutes).
"""

import hashlib
import os

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from sqlalchemy import select

from resident_portal.extensions import db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # inner test functions serve many cases: replaying is meaningless
    # Examples make HTTP requests (some with big bodies) against a real database.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # FUZZ_NO_SHRINK=1 reports the first failing example as found (shrinking can take minutes).
    phases=[p for p in Phase if not (os.environ.get("FUZZ_NO_SHRINK") and p is Phase.shrink)],
)


FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3+cmd|' /C calc'!A0",
    "=1+1",
]
MARKUP = '<script>alert("fuzz")</script>'
NASTY = [
    "",
    " ",
    "-1",
    "0",
    "-0",
    "1e309",
    "1e30",
    "-1e-30",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "９９",
    "٣",
    "0.001",
    "1,2,3",
    "¥1,000.005",
    "99999999999999999999999999",
    "0x10",
    "1_000",
    "true",
    "null",
    "[]",
    "{}",
    *FORMULAS,
    MARKUP,
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE household; --",
    "%s%(x)s{0}{{ 7*7 }}",
    "../../../etc/passwd",
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    "王小明",
    "楼栋一单元一〇一",
    "🏠🏢",
    "\u202eevil\u202c",
    "\ufeffBOM",
    "a\r\nb",
    "\t",
    "\x1b[31m",
    "\x7f\x08",
    "\x01",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2026-02-30T10:00",
    "0001-01-01",
    "9999-12-31",
    "2026-13-45",
]


def _big(text: str, size: int) -> str:
    return (text * (size // len(text) + 1))[:size]


# NUL is left out: see test_fuzz_forms.py::test_nul_characters_are_refused_everywhere.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)
HUGE = st.builds(
    _big,
    st.sampled_from(["9", "x", "漏", "=", "\x1f", "🏠"]),
    st.sampled_from([201, 2001, 20_000]),
)
NASTY_TEXT = st.one_of(st.sampled_from(NASTY), TEXT, HUGE)


# When a failure is reported, Hypothesis warns about the size of the failing example (huge
# values, by design): that warning must not replace the failure under filterwarnings=error.
BIG_REPR_IS_FINE = pytest.mark.filterwarnings(
    "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
)


# Bookkeeping that any request by a signed-in principal may write (at most once a minute): when
# a session or an API token was last used, and the household session's end that each use moves.
# Not a change of state in the sense of these tests.
LAST_USE_COLUMNS = {
    ("api_token", "last_used_at"),
    ("auth_session", "last_used_at"),
    ("auth_session", "expires_at"),
}


def database_state() -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row, per table (read fresh: no transaction left open)."""
    db.session.rollback()
    state = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if (table.name, c.name) not in LAST_USE_COLUMNS]
        query = select(*columns).order_by(*table.primary_key.columns)
        rows = db.session.execute(query).all()
        state[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    db.session.rollback()
    return state


def changed_tables(before: dict) -> list[str]:
    """The tables whose rows differ from the `before` state."""
    after = database_state()
    return sorted(name for name in before if before[name] != after[name])


def contains_nul(value) -> bool:
    """Whether U+0000 is anywhere in a (nested) value: keys, values, list items."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return any(contains_nul(v) for v in value)
    return value is not None and "\x00" in str(value)
