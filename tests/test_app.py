"""The app factory, configuration, migrations and the security headers on every response."""

import socket

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from resident_portal import create_app
from resident_portal.config import ConfigError
from resident_portal.extensions import db
from resident_portal.models import AuthSession, Household, Role, RoleGrant, utcnow

from .conftest import household, make_estate


def test_production_config_without_secret_key_refuses_to_start(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_database_url_from_environment(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "s")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url
    assert app.config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://portal.example.cn/")
    app = create_app()
    assert app.config["PUBLIC_BASE_URL"] == "https://portal.example.cn"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_migrations_build_exactly_the_models(app):
    """The schema made by `db upgrade` (fixture) matches the models, on SQLite and PostgreSQL."""
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_schema_refuses_impossible_rows(app):
    estate = make_estate()
    h = household(estate, "1", "1", "101")
    cases = [
        lambda: setattr(h, "area_centi_m2", 0),
        lambda: setattr(h, "floor", 0),
        lambda: db.session.add(
            Household(
                unit=h.unit, room="101", floor=1, area_centi_m2=1, owner_ref="X", owner_name="x"
            )
        ),
        lambda: db.session.add(RoleGrant(staff_user_id=None, role=Role.SECRETARY, estate_id=None)),
        lambda: db.session.add(AuthSession(token_hash="t", expires_at=utcnow())),
    ]
    for make_bad in cases:
        make_bad()
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_security_headers_on_every_page(app, client):
    make_estate()
    for url in ["/", "/e/meiyuan", "/console/sign-in", "/nowhere", "/e/meiyuan/qr.png"]:
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_hsts_only_over_https_including_behind_a_trusted_proxy(database_url):
    from .conftest import make_app

    behind_proxy = make_app(database_url, PROXY_COUNT=1)
    plain = behind_proxy.test_client().get("/", base_url="http://portal.example.cn")
    assert "Strict-Transport-Security" not in plain.headers
    proxied = behind_proxy.test_client().get(
        "/", base_url="http://portal.example.cn", headers={"X-Forwarded-Proto": "https"}
    )
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
    # Without a trusted proxy, a client's own X-Forwarded-Proto changes nothing.
    direct = make_app(database_url).test_client()
    spoofed = direct.get(
        "/", base_url="http://portal.example.cn", headers={"X-Forwarded-Proto": "https"}
    )
    assert "Strict-Transport-Security" not in spoofed.headers
    for app in (behind_proxy, direct.application):
        with app.app_context():
            db.engine.dispose()


def test_post_from_another_site_is_refused_over_https(app, client):
    make_estate()
    response = client.post(
        "/preferences", data={"language": "en"}, headers={"Referer": "https://evil.example/"}
    )
    assert response.status_code == 400


def test_pages_load_nothing_from_elsewhere(app, client):
    make_estate()
    for url in ["/", "/e/meiyuan", "/e/meiyuan/b/1", "/e/meiyuan/b/1/u/1", "/console/sign-in"]:
        page = client.get(url).get_data(as_text=True)
        assert "http://" not in page and "https://" not in page and "<script" not in page, url


@pytest.mark.parametrize(
    "language, text",
    [("zh_Hans_CN", "系统出现故障"), ("en", "Something went wrong on our side")],
)
def test_unexpected_error_shows_a_translated_page_not_a_trace(database_url, language, text):
    from resident_portal.access import public

    from .conftest import Client

    app = create_app({"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": database_url})
    app.test_client_class = Client
    app.logger.disabled = True

    @public
    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", view_func=broken)
    client = app.test_client()
    client.post("/preferences", data={"language": language})
    response = client.get("/broken")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert text in page and "boom" not in page and "Traceback" not in page
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    "language, text",
    [("zh_Hans_CN", "请稍等一分钟后再试"), ("en", "Please try again in a minute")],
)
def test_database_down_gives_a_translated_try_again_page(language, text):
    from .conftest import Client

    with socket.socket() as s:  # a port where no database answers
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(
        {
            "SECRET_KEY": "s",
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody@127.0.0.1:{port}/gone",
        }
    )
    app.test_client_class = Client
    app.logger.disabled = True
    client = app.test_client()
    client.post("/preferences", data={"language": language})
    page = client.get("/e/meiyuan")
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    body = page.get_data(as_text=True)
    assert text in body and "Traceback" not in body and "psycopg" not in body
    api = client.get("/api/v1/surveys", headers={"Authorization": "Bearer some-token"})
    assert api.status_code == 503 and api.get_json()["status"] == 503


def test_forbidden_page_is_translated(app, client):
    from .conftest import issue_code, sign_in_household

    estate = make_estate()
    h = household(estate, "1", "1", "101")
    sign_in_household(client, estate, h, issue_code(estate, h))
    response = client.get("/console/meiyuan")
    assert response.status_code == 403
    assert "无权访问" in response.get_data(as_text=True)


def test_an_estate_code_typed_in_capitals_finds_the_estate(app, client):
    from .conftest import close_survey, make_survey

    estate = make_estate("jp", "静平小区")
    assert client.get("/e/JP").status_code == 200
    assert "静平小区" in client.get("/e/Jp").get_data(as_text=True)
    services = client.get("/open311/v2/services.json?jurisdiction_id=JP")
    assert services.status_code == 200 and services.get_json()
    assert client.get("/e/nosuch").status_code == 404
    survey = make_survey(estate)
    close_survey(survey)
    assert client.get(f"/e/JP/results/{survey.id}").status_code == 200
