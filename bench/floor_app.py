"""The floor of the voting benchmark (bench/voting.py): the least a web app can do per ballot.

A minimal Flask app whose one POST endpoint records one row with one INSERT, in a table of
its own in the same database as the app, through the same stack: Flask-SQLAlchemy with the
app's engine options (resident_portal.config.DEFAULTS, i.e. pool_pre_ping) and, on SQLite,
the app's own connection pragmas (importing resident_portal registers _sqlite_pragmas on
every engine: foreign keys, WAL, busy_timeout). Served like the app:

    DATABASE_URL=… gunicorn -c python:resident_portal.gunicorn_conf 'bench.floor_app:create_app()'

No session, no CSRF, no template, no lookups: whatever the app costs beyond this is the price
of being the app.
"""

import os
from datetime import UTC, datetime

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Integer, String, inspect
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Mapped, mapped_column

import resident_portal  # noqa: F401 - registers the app's SQLite pragmas on every engine
from resident_portal.config import DEFAULTS

db = SQLAlchemy()


class FloorInsert(db.Model):
    __tablename__ = "bench_floor_insert"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(Integer)
    choice: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime)


def create_table() -> None:
    """Create the table if it is missing (inside an app context)."""
    if inspect(db.engine).has_table(FloorInsert.__tablename__):
        return
    try:
        FloorInsert.__table__.create(db.engine, checkfirst=True)
    except DatabaseError:
        # Another worker created it at the same moment.
        if not inspect(db.engine).has_table(FloorInsert.__tablename__):
            raise


def create_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url or os.environ["DATABASE_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = dict(DEFAULTS["SQLALCHEMY_ENGINE_OPTIONS"])
    db.init_app(app)
    with app.app_context():
        create_table()

    @app.get("/")
    def index():
        return "floor\n"

    @app.post("/floor")
    def insert():
        db.session.add(
            FloorInsert(
                household_id=int(request.form.get("household", "0")),
                choice=request.form.get("choice", "")[:64],
                submitted_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )
        db.session.commit()
        return "", 204

    return app
