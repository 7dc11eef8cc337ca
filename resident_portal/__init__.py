"""Resident Portal: residents of estates under renovation take part from their phones."""

import logging
import os

import sqlalchemy.exc
from flask import Flask, abort, current_app, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import (
    access,
    assets,
    common,
    config,
    messages,
    models,
    monitoring,
    operations,
    privacy,
    ratelimit,
)
from .config import PACKAGE_DIR, resource_dir
from .extensions import babel, csrf, db, migrate

LANGUAGES = {"zh_Hans_CN": "中文", "en": "English"}
LANGUAGE_COOKIE = "lang"
LARGE_TEXT_COOKIE = "large_text"


def create_app(config_overrides: dict | None = None, instance_path: str | None = None) -> Flask:
    # The instance folder holds the SQLite database, photos and keys of one server. Flask's
    # default is instance/ beside a checkout, or <venv>/var/resident_portal-instance when
    # installed; `instance_path`, or INSTANCE_PATH (override or environment), puts it elsewhere.
    instance_path = (
        instance_path
        or (config_overrides or {}).get("INSTANCE_PATH")
        or os.environ.get("INSTANCE_PATH")
    )
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config.DEFAULTS)
    app.config.update(config.from_environment(app.instance_path))
    app.config.update(config_overrides or {})
    config.finish(app.config)
    config.check(app.config)
    app.permanent_session_lifetime = app.config["HOUSEHOLD_SESSION_LIFETIME"]
    create_sqlite_file_privately(app.config["SQLALCHEMY_DATABASE_URI"])

    if app.config["PROXY_COUNT"]:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"]
        )

    # Before any route is added: every <int:…> in a URL is a row id, so a number beyond the
    # id columns is simply not found (the database would fail on it otherwise).
    app.url_map.converters["int"] = RowIdConverter
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(PACKAGE_DIR / "migrations"),
        render_as_batch=True,
    )
    babel.init_app(app, locale_selector=select_locale)
    messages.install_template_gettext(app)  # after Flask-Babel's own, which it replaces
    csrf.init_app(app)
    ratelimit.init_app(app)
    assets.init_app(app)  # the stylesheets, minified
    # First of the request hooks, so the latency histogram times the others too.
    monitoring.init_app(app)

    # First, so that "my data" lists the register entry before what the features add.
    # The only place in resident_portal/ that imports the features: to register them
    # (tests/test_layering.py checks it).
    from contributions import blueprint as contributions_blueprint
    from contributions import demo as contribution_demo
    from contributions import export_job as contribution_export_job
    from contributions import figures as contribution_figures
    from contributions import openapi as contributions_openapi
    from survey import blueprint as survey_blueprint
    from survey import cli as survey_cli
    from survey import demo as survey_demo
    from survey import export_job as survey_export_job
    from survey import figures as survey_figures
    from survey import openapi as survey_openapi
    from survey import printing as survey_printing
    from survey import renovation_scope
    from survey import rules as legal_rules
    from survey import satisfaction as survey_satisfaction

    from . import (  # noqa: F401, I001
        api,
        blueprint,
        cli,
        console,
        figures,
        jobs,
        periodic,
        personal_data,
        print_jobs,
        registry_job,
    )
    from .jobs import queue as job_queue
    from .jobs import views as job_views
    from .renovation import blueprint as renovation_blueprint
    from .renovation import cli as renovation_cli
    from .renovation import demo as renovation_demo
    from .renovation import figures as renovation_figures
    from .renovation import openapi as renovation_openapi
    from .renovation import record as renovation_record
    from .renovation import satisfaction as renovation_satisfaction
    from .reports import api as reports_api
    from .reports import blueprint as reports_blueprint
    from .reports import export_job as reports_export_job
    from .reports import figures as report_figures
    from .reports import open311, photos

    app.register_blueprint(blueprint.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(survey_blueprint.bp)
    app.register_blueprint(contributions_blueprint.bp)
    app.register_blueprint(reports_blueprint.bp)
    app.register_blueprint(open311.bp)
    app.register_blueprint(personal_data.bp)
    app.register_blueprint(job_views.bp)
    app.register_blueprint(renovation_blueprint.bp)
    photos.init_app(app)
    cli.init_app(app)
    survey_cli.init_app(app)
    renovation_cli.init_app(app)
    # What the features contribute to the overview, the monthly report and the demo.
    for provider in (
        survey_figures.PROVIDER,
        contribution_figures.PROVIDER,
        report_figures.PROVIDER,
        renovation_figures.PROVIDER,
    ):
        figures.register(provider)
    cli.demo_seeder(survey_demo.demo_surveys)
    # Their paths and schemas in the API's one OpenAPI document (/api/v1/openapi.json).
    for part in (
        survey_openapi.PART,
        contributions_openapi.PART,
        reports_api.PART,
        renovation_openapi.PART,
    ):
        api.register_openapi(part)
    cli.demo_seeder(contribution_demo.demo_elevator)
    jobs.register_kind(survey_printing.PAPER_SHEETS)
    jobs.register_kind(contribution_export_job.CAMPAIGN_EXPORT)
    jobs.register_kind(survey_export_job.SURVEY_RESULTS_EXPORT)
    jobs.register_kind(reports_export_job.REPORTS_EXPORT)
    # After every job kind and periodic task is registered (print_jobs, periodic, features).
    job_queue.init_app(app)
    cli.demo_seeder(renovation_demo.demo_project)
    if renovation_scope.approved_items not in renovation_record.APPROVED_ITEM_SOURCES:
        renovation_record.APPROVED_ITEM_SOURCES.append(renovation_scope.approved_items)
    # The renovation's satisfaction survey (满意度测评) is a survey: opened and counted there.
    renovation_satisfaction.register(survey_satisfaction.SATISFACTION)

    register_error_pages(app)
    app.before_request(refuse_nul_characters)
    app.before_request(record_last_use)
    # Registered after db.init_app, so it runs before Flask-SQLAlchemy's own teardown.
    app.teardown_appcontext(release_database_session)
    app.after_request(set_security_headers)
    app.context_processor(template_globals)
    # Every percentage on every page: the one rounding of common.py (half-up, two decimals).
    app.jinja_env.filters["percent"] = common.format_percent
    app.jinja_env.filters["percent_points"] = common.format_points
    app.jinja_env.filters["percent_value"] = common.percent  # a number, for drawing bars
    # The sentences of the law (survey/rules.py), for every page and print that states a rule.
    app.jinja_env.globals["legal"] = legal_rules
    # Public text (reports, their notes) never shows a phone number (issue 12).
    app.jinja_env.filters["mask_phones"] = privacy.mask_phone_numbers
    # The outcomes a door-to-door visit can record (doorstep.py), for the lists' forms.
    app.jinja_env.globals["VISIT_OUTCOMES"] = list(models.VisitOutcome)
    # The development server's access log (werkzeug) and the app's own: never an access code.
    privacy.redact_codes_in(logging.getLogger("werkzeug"), app.logger)
    access.check_every_view_declares_access(app)
    return app


def create_sqlite_file_privately(database_url: str) -> None:
    """A SQLite database holds the register and every ballot: create its file readable by its
    owner only (0600) before SQLite creates it with the umask's mode. SQLite gives its -wal
    and -shm files the database file's mode (issue 12)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
        privacy.create_private(url.database)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers work while a ballot is written; foreign keys are off by default in SQLite.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


class RowIdConverter(IntegerConverter):
    """<int:…> bounded to the id columns (32-bit on PostgreSQL)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def refuse_nul_characters():
    """No text column can hold a NUL character (PostgreSQL refuses it), and no person types
    one: a request carrying one anywhere is refused before anything reads it."""
    texts = [request.path, request.query_string.decode("latin-1")]
    if request.method == "POST":
        texts += [k for k in request.form] + [v for vs in request.form.listvalues() for v in vs]
        texts += [f.filename or "" for fs in request.files.listvalues() for f in fs]
        texts += list(request.files)
    if any("\x00" in text or "%00" in text for text in texts):
        abort(400)


def record_last_use():
    """When the session or API token of this request was last used (at most one write a
    minute): shown on the devices and tokens pages, and what keeps a household signed in."""
    if request.endpoint != "static":
        operations.record_last_use()


def release_database_session(_error) -> None:
    try:
        db.session.remove()
    except DATABASE_UNAVAILABLE:
        # The server went away after the response was made (a restart): discard the broken
        # connection instead of failing a request that has already succeeded.
        db.session().invalidate()
        db.session.remove()


def select_locale() -> str:
    # Outside a request (the command line) and for visitors who chose nothing: the configured
    # default language (DEFAULT_LANGUAGE), Chinese unless set otherwise.
    chosen = request.cookies.get(LANGUAGE_COOKIE) if request else None
    return chosen if chosen in LANGUAGES else current_app.config["BABEL_DEFAULT_LOCALE"]


def large_text() -> bool:
    return request.cookies.get(LARGE_TEXT_COOKIE) == "1"


def template_globals() -> dict:
    return {
        "current_household": access.current_household(),
        "current_staff": access.current_staff(),
        "may": access.may,
        "Permission": access.Permission,
        "languages": LANGUAGES,
        "current_language": str(get_locale()),
        "large_text": large_text(),
        # no choice made yet: the household's first visit, when the switch is offered big
        "large_text_unset": LARGE_TEXT_COOKIE not in request.cookies,
        "replaced_letter": replaced_letter_notice,
    }


def replaced_letter_notice() -> dict | None:
    """For base.html: this phone's sign-in ended because its household's letter was replaced
    (called from the template, so only pages that show it pay for the lookup)."""
    from .blueprint import estate_contact

    if request.environ.get(DATABASE_DOWN):
        return None  # the error page of an unreachable database must render without it
    household = access.replaced_letter()
    if household is None:
        return None
    return {
        "household": household,
        "when": household.code_replaced_at,
        "contact": estate_contact(household.estate),
    }


def set_security_headers(response):
    # No inline script or style and nothing from elsewhere (docs/domain.md); images may be
    # inline data for QR codes, or blob: for the preview of a photo chosen on the phone itself.
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Sign-in links carry the access code: never send them to another site. Same-origin
    # referrers stay, because CSRF protection over HTTPS checks them (WTF_CSRF_SSL_STRICT).
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # Nothing a signed-in person sees may stay in a cache (a shared family phone, a proxy).
    # (Whether an API token is valid is not looked up again here: the database may be down.)
    if access.current_session() is not None or (
        request.path.startswith(access.API_PREFIX) and "Authorization" in request.headers
    ):
        response.headers.setdefault("Cache-Control", "private, no-store")
    return response


ERROR_TEXTS = {
    400: (_l("Something in the request was wrong"), _l("Go back, reload the page and try again.")),
    401: (_l("Sign-in required"), _l("Send a valid API token or sign in.")),
    403: (_l("Not allowed"), _l("Your account may not open this page.")),
    404: (_l("Page not found"), _l("The address may be mistyped, or the page was removed.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (_l("The file is too large"), _l("Choose a smaller file and try again.")),
    429: (_l("Too many attempts"), _l("Please wait a few minutes and try again.")),
    500: (_l("Something went wrong on our side"), _l("Please try again in a moment.")),
    503: (
        _l("The service is busy for a moment"),
        _l("What you just sent may not have been saved. Please try again in a minute."),
    ),
}

# The database did not answer (restarting, unreachable, connection pool exhausted): the
# request changed nothing, so the resident may simply try again.
DATABASE_DOWN = "resident_portal.database_down"  # set while the 503 page renders
DATABASE_UNAVAILABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)


def register_error_pages(app: Flask) -> None:
    def render_error(status: int, detail=None):
        title, text = ERROR_TEXTS.get(status, ERROR_TEXTS[500])
        if request.path.startswith(access.API_PREFIX):
            return jsonify({"error": str(title), "status": status}), status
        return render_template(
            "errors/error.html", status=status, title=title, text=detail or text
        ), status

    @app.errorhandler(CSRFError)
    def csrf_failed(_error):
        return render_error(
            400,
            _l("The form had expired or came from another site. Reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code in ERROR_TEXTS:
            return render_error(error.code)
        return error

    def database_unavailable(error):
        app.logger.warning("database unavailable: %s", error)
        try:
            db.session.rollback()
        except DATABASE_UNAVAILABLE:
            pass  # the connection is gone; the pool discards it
        # The page must render without the database: treat the request as signed out.
        request.environ[access.SESSION_CACHE_KEY] = None
        request.environ[DATABASE_DOWN] = True
        body, status = render_error(503)
        return body, status, {"Retry-After": "30"}

    for exception in DATABASE_UNAVAILABLE:
        app.register_error_handler(exception, database_unavailable)

    @app.errorhandler(Exception)
    def unexpected(error):
        if app.testing:
            raise error  # let the test see the real failure
        app.logger.exception("unhandled error", exc_info=error)
        db.session.rollback()
        return render_error(500)
