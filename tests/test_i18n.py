"""Every visible string is translated, in both catalogs, and the language choice sticks."""

from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from .conftest import make_estate

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = {
    "zh_Hans_CN": ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po",
    "en": ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po",
}


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """What the code and templates ask to translate, extracted afresh (as ./dev translations)."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "N_",
            "-o",
            str(pot),
            str(ROOT),
        ]
    )
    with pot.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


@pytest.mark.parametrize("locale", CATALOGS)
def test_every_message_is_translated(source_messages, locale):
    with CATALOGS[locale].open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id: m for m in catalog if m.id}
    missing = sorted(source_messages - set(translated))
    assert not missing, f"not in the {locale} catalog (run ./dev translations): {missing[:10]}"
    untranslated = sorted(
        str(m.id)
        for m in translated.values()
        if m.id in source_messages and (not m.string or m.fuzzy)
    )
    assert not untranslated, f"untranslated in {locale}: {untranslated[:10]}"
    problems = [(str(m.id), [str(e) for e in errors]) for m, errors in catalog.check() if errors]
    assert not problems, f"placeholders differ in {locale}: {problems[:5]}"


def test_chinese_is_the_default_and_english_sticks(app, client):
    make_estate()
    page = client.get("/e/meiyuan").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "第1步（共4步）：选择您的楼栋。" in page
    response = client.post("/preferences", data={"language": "en", "next": "/e/meiyuan"})
    assert response.status_code == 302 and response.headers["Location"] == "/e/meiyuan"
    page = client.get("/e/meiyuan").get_data(as_text=True)
    assert 'lang="en"' in page and "Step 1 of 4: choose your building." in page
    page = client.get("/console/sign-in").get_data(as_text=True)
    assert "Staff sign-in" in page


def test_large_text_mode_sticks(app, client):
    make_estate()
    assert 'class="large"' not in client.get("/e/meiyuan").get_data(as_text=True)
    client.post("/preferences", data={"large_text": "1", "next": "/e/meiyuan"})
    assert 'class="large"' in client.get("/e/meiyuan").get_data(as_text=True)
    client.post("/preferences", data={"large_text": "0"})
    assert 'class="large"' not in client.get("/e/meiyuan").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_preferences_never_redirect_off_site(app, client, target):
    response = client.post("/preferences", data={"language": "en", "next": target})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "language, texts",
    [
        ("zh_Hans_CN", ["找不到页面", "返回首页"]),
        ("en", ["Page not found", "Back to the start page"]),
    ],
)
def test_error_pages_in_both_languages(app, client, language, texts):
    client.post("/preferences", data={"language": language})
    response = client.get("/e/no-such-estate")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    for text in texts:
        assert text in page


def test_template_strings_follow_a_locale_forced_within_the_request(app):
    """The templates' translations are kept for the request (messages.page_translations) only
    while its locale stays: a letter or job rendered with force_locale is in its own language,
    and the page's language comes back after it."""
    from flask import render_template_string
    from flask_babel import force_locale

    template = '{{ _("Resident Portal") }}'
    with app.test_request_context("/"):
        chinese = render_template_string(template)
        with force_locale("en"):
            english = render_template_string(template)
        again = render_template_string(template)
    assert english == "Resident Portal"
    assert chinese == again != english
