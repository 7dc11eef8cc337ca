"""Configuration read from the environment.

Everything that differs between a laptop, CI and production comes from environment variables,
so the same code runs on SQLite or PostgreSQL, with in-memory or Redis rate limits.
"""

import os
from datetime import timedelta
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
LANGUAGES = ("zh_Hans_CN", "en")


def resource_dir(name: str) -> Path:
    """`templates` or `translations`: inside the package when installed from a wheel (setup.py
    copies them there at build time), else at the top of the checkout, where they are kept."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PROJECT_ROOT / name


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app refuses to start."""


def from_environment(instance_path: str) -> dict:
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "resident_portal.sqlite3")
    )
    public_base_url = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL"),
        "PUBLIC_BASE_URL": public_base_url,
        # Number of reverse proxies in front of the app whose X-Forwarded-For we trust.
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
        # Where report photos are kept (reports/photos.py): directory, database or s3; by
        # default s3 when a bucket is named, the database on PostgreSQL, else a directory.
        "PHOTO_STORE": os.environ.get("PHOTO_STORE") or None,
        # The directory store's folder (outside the static folder); default: instance/photos.
        "PHOTO_DIR": os.environ.get("PHOTO_DIR"),
        # The S3 store; credentials come the usual boto3 way (AWS_ACCESS_KEY_ID, …).
        "PHOTO_S3_BUCKET": os.environ.get("PHOTO_S3_BUCKET") or None,
        "PHOTO_S3_ENDPOINT_URL": os.environ.get("PHOTO_S3_ENDPOINT_URL") or None,
        "PHOTO_S3_REGION": os.environ.get("PHOTO_S3_REGION") or None,
        "PHOTO_S3_PREFIX": os.environ.get("PHOTO_S3_PREFIX", "photos/"),
        # Namespace of the sign-in counters in Redis, when several deployments share one.
        "RATE_LIMIT_PREFIX": os.environ.get("RATE_LIMIT_PREFIX", "resident-portal"),
        # Client addresses or networks allowed to read /metrics (after PROXY_COUNT proxies).
        "METRICS_ALLOWED_ADDRESSES": os.environ.get("METRICS_ALLOWED_ADDRESSES", "127.0.0.1 ::1"),
        # The language of pages before a visitor chooses one, and of the command line.
        "BABEL_DEFAULT_LOCALE": os.environ.get("DEFAULT_LANGUAGE") or "zh_Hans_CN",
        # Without Redis, each app process serves the job queue with a thread of its own;
        # 0 turns that off (then run `flask --app resident_portal worker`).
        "JOBS_EMBEDDED_WORKER": os.environ.get("JOBS_EMBEDDED_WORKER", "1") != "0",
        # Nightly SQLite backups (periodic.py): where, and how many are kept.
        "BACKUP_DIR": os.environ.get("BACKUP_DIR"),
        "BACKUP_KEEP": int(os.environ.get("BACKUP_KEEP", "7")),
    }


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "rp_session",
    "SESSION_COOKIE_SECURE": None,  # decided by finish()
    # The signed session cookie is sent again only when its content changed or when the last
    # use is written (operations.record_last_use, at most once a minute, which also moves the
    # cookie's expiry with the session's): Flask's default re-signed and re-sent it on every
    # request, about a twentieth of a ballot page's CPU.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    # Three phone photos of up to 10 MB each, plus the form; each photo is checked on its own.
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "BABEL_TRANSLATION_DIRECTORIES": str(resource_dir("translations")),
    # A household session ends after this long without use (each use extends it, see
    # operations.record_last_use); a staff session this long after signing in, used or not.
    "HOUSEHOLD_SESSION_LIFETIME": timedelta(days=30),
    "STAFF_SESSION_LIFETIME": timedelta(hours=12),
    # How often at most the last use of a session or an API token is written: not on every
    # request, which would make every page view a write.
    "LAST_USE_RESOLUTION": timedelta(minutes=1),
    # Lifetimes a staff member may choose for a new API token, in days; the first is the default.
    "API_TOKEN_LIFETIME_DAYS": (90, 30, 180, 365),
    # How long after the password the second factor (or enrolment in one) may be completed.
    "SECOND_FACTOR_WINDOW": timedelta(minutes=10),
    # Failed sign-in attempts allowed before a pause (docs/domain.md; ratelimit.py).
    # Nothing here pauses an account for everyone: a household or staff member signs in from
    # another address, or from a browser that signed in before, whatever others typed.
    # Per account and client address, a growing delay:
    "SIGN_IN_DELAYS": "3 per minute; 6 per 10 minutes; 10 per hour; 20 per day",
    # Per client address (an IPv6 /64), whatever the account:
    "SIGN_IN_LIMIT_PER_ADDRESS": "30 per 15 minutes",
    # The ceilings on what many addresses together may try, per estate and per staff account:
    "SIGN_IN_LIMIT_PER_ESTATE": "600 per 15 minutes",
    "SIGN_IN_LIMIT_PER_STAFF_ACCOUNT": "50 per 15 minutes",
    # A browser that signed in as the account before, on its own:
    "SIGN_IN_LIMIT_PER_DEVICE": "10 per hour",
    # Failures of one account in a day from which the console lists it as unusual.
    "SIGN_IN_FAILURES_UNUSUAL": 5,
    # How long codes just issued in the console can still be printed, by the sign-in that
    # issued them only (models.CodeBatch). After that a lost letter needs a new code.
    "HELD_CODES_LIFETIME": timedelta(minutes=30),
    # pbkdf2 work factor for household access codes; see access.hash_access_code.
    "ACCESS_CODE_HASH_METHOD": "pbkdf2:sha256:10000",
    # Jobs (resident_portal/jobs): None means "run them inside the caller" in tests only.
    "JOBS_IMMEDIATE": None,
    "JOBS_SQLITE_PATH": None,  # default: instance/jobs.sqlite3
    # A running job marks itself alive this often; one silent for JOB_STALE_SECONDS has lost
    # its worker and is failed by the sweep (its work was never committed).
    "JOB_HEARTBEAT_SECONDS": 15,
    "JOB_STALE_SECONDS": 120,
    # Up to these sizes the work is done in the request; beyond, it becomes a job.
    "SYNC_LETTERS_LIMIT": 100,
    "REGISTRY_JOB_ROWS": 5_000,
    "EXPORT_JOB_ROWS": 10_000,
}


def finish(config) -> None:
    """Settings that follow from others, once environment and overrides are applied."""
    if config.get("JOBS_IMMEDIATE") is None:
        config["JOBS_IMMEDIATE"] = bool(config.get("TESTING"))
    if "SESSION_COOKIE_SECURE" not in config or config["SESSION_COOKIE_SECURE"] is None:
        # Cookies are marked Secure whenever the public address is HTTPS.
        config["SESSION_COOKIE_SECURE"] = (config.get("PUBLIC_BASE_URL") or "").startswith(
            "https://"
        )


def check(config) -> None:
    store = config.get("PHOTO_STORE")
    if store not in (None, "", "directory", "database", "s3"):
        raise ConfigError(f"PHOTO_STORE must be directory, database or s3, not {store!r}")
    if store == "s3" and not config.get("PHOTO_S3_BUCKET"):
        raise ConfigError("PHOTO_STORE=s3 needs PHOTO_S3_BUCKET, the bucket's name")
    if config.get("BABEL_DEFAULT_LOCALE") not in LANGUAGES:
        raise ConfigError(
            f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, "
            f"not {config.get('BABEL_DEFAULT_LOCALE')!r}"
        )
    if not config.get("SECRET_KEY") and not (config.get("TESTING") or config.get("DEBUG")):
        raise ConfigError(
            "SECRET_KEY is not set. Set it to a long random value, e.g. "
            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
