"""No open redirect (issue 12): `next=` takes only a path on this site.

Browsers do more to a Location than Python's urllib: the WHATWG URL parser strips leading and
trailing spaces and control characters, removes tabs and newlines anywhere, and reads "\\" as
"/" in http(s) URLs, so "/\\t/evil.example" and "/\\\\evil.example" lead off the site. Every
target is checked here the way a browser resolves it, on fixed attacks and under Hypothesis.
"""

import re
import unicodedata
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resident_portal.blueprint import safe_next
from resident_portal.models import Role

from .conftest import make_estate, make_staff, sign_in_staff
from .fuzzing import FUZZ_SETTINGS

FALLBACK = "/fallback"
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")

ATTACKS = [
    "//evil.example",
    "///evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    " //evil.example",
    "\t//evil.example",
    "\x01//evil.example",
    "https://evil.example",
    "http:evil.example",
    "HTTPS:/\\evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/ /evil.example",
    "/\u3000/evil.example",
    "/\u200b/evil.example",
    "/x\nSet-Cookie: a=b",
    "/x\x7f",
    "/" + "a" * 3000,
]


def browser_leaves_site(location: str) -> bool:
    """Whether a browser at https://portal.example.cn/a/b would follow `location` elsewhere
    (the WHATWG URL parser's preprocessing, for a special scheme)."""
    cleaned = location.strip("".join(chr(c) for c in range(0x21)))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    return cleaned.startswith("//") or bool(SCHEME.match(cleaned))


@pytest.mark.parametrize("target", ATTACKS)
def test_known_attacks_fall_back(target):
    assert safe_next(target, FALLBACK) == FALLBACK


@pytest.mark.parametrize(
    "target", ["/", "/console/", "/console/meiyuan?tab=1", "/e/meiyuan/h/3#top", "/e/美苑"]
)
def test_paths_on_the_site_are_kept(target):
    assert safe_next(target, FALLBACK) == target


NASTY_CHARACTERS = "/\\\t\n\r \x00\x0b\x0c\x1f\x7f\x85\u00a0\u2028\u3000\u200b\ufeff:.@%?#"


@FUZZ_SETTINGS
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=NASTY_CHARACTERS + "evil.example"),
        st.builds(lambda s: "/" + s, st.text(alphabet=NASTY_CHARACTERS + "evil")),
    )
)
def test_whatever_is_kept_stays_on_the_site(target):
    kept = safe_next(target, FALLBACK)
    assert kept in (target, FALLBACK)
    if kept == target:
        assert not browser_leaves_site(kept)
        assert kept.startswith("/") and not kept.startswith("//")
        assert not any(c.isspace() or unicodedata.category(c)[0] == "C" for c in kept)
        assert not urlsplit(kept).netloc


def assert_on_site(response):
    assert response.status_code in (302, 303), response.status_code
    location = response.headers["Location"]
    assert not browser_leaves_site(location), location
    assert urlsplit(location).netloc in ("", "localhost"), location


def test_staff_sign_in_next_with_a_newline_is_not_a_500_and_stays_here(app, client):
    estate = make_estate()
    username, password = make_staff(Role.SECRETARY, estate)
    # The secretary's sign-in has a second step: `next` is kept through it.
    for target in ATTACKS:
        response = sign_in_staff(client, username, password, next=target)
        assert_on_site(response)
        assert response.headers["Location"] == "/console/"
    kept = sign_in_staff(client, username, password, next="/console/meiyuan")
    assert kept.headers["Location"] == "/console/meiyuan"


def test_preferences_next_stays_here(app, client):
    for target in ATTACKS:
        response = client.post("/preferences", data={"language": "en", "next": target})
        assert_on_site(response)
        assert response.headers["Location"] == "/"


def test_sign_in_page_with_a_hostile_next_in_the_address(app, client):
    page = client.get("/console/sign-in", query_string={"next": "/\n/evil.example"})
    assert page.status_code == 200


@pytest.mark.fuzz  # Hypothesis inside: the fuzzing kind, out of the fast loop
def test_fuzzed_next_after_staff_sign_in_and_preferences(app):
    username, password = make_staff(Role.ADMIN)

    @FUZZ_SETTINGS
    @given(target=st.one_of(st.text(alphabet=NASTY_CHARACTERS + "evil.example"), st.text()))
    def post(target):
        # NUL characters are refused before any view reads them (see test_fuzz_forms.py).
        target = target.replace("\x00", "")
        client = app.test_client()
        response = sign_in_staff(client, username, password, next=target)
        assert_on_site(response)
        assert_on_site(client.post("/preferences", data={"large_text": "1", "next": target}))

    post()
