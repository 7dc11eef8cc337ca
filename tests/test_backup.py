"""Backup and restore: a round trip that loses nothing, taken while the app is writing."""

import sqlite3
import threading

from flask_migrate import upgrade

from resident_portal.extensions import db
from survey import operations as survey_operations
from survey.models import Ballot, BallotRevision
from survey.tally import Choice

from .conftest import empty_tables, household, make_app, make_estate, make_survey


def sqlite_count(path, table):
    with sqlite3.connect(path) as connection:
        value = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    connection.close()
    return value


def test_backup_while_voting_then_restore_loses_nothing(tmp_path):
    path = tmp_path / "live.sqlite3"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        estate = make_estate()
        survey = make_survey(estate)
        households = [
            household(estate, *k) for k in [("1", "1", "101"), ("1", "1", "201"), ("2", "1", "101")]
        ]
        ids = (survey.id, [h.id for h in households])
    acknowledged = []
    stop = threading.Event()

    def voters():
        from resident_portal.models import Household
        from survey.models import Survey

        with app.app_context():
            n = 0
            while not stop.is_set() and n < 400:
                s = db.session.get(Survey, ids[0])
                h = db.session.get(Household, ids[1][n % 3])
                choice = (Choice.SUPPORT, Choice.OPPOSE)[n % 2]
                acknowledged.append(
                    survey_operations.submit_ballot(s, h, {i.id: choice for i in s.items})
                )
                n += 1
            db.session.remove()

    thread = threading.Thread(target=voters)
    thread.start()
    while len(acknowledged) < 20:  # the app is busy writing
        pass
    before = len(acknowledged)
    backup = tmp_path / "backup.sqlite3"
    result = app.test_cli_runner().invoke(args=["backup", str(backup)])
    stop.set()
    thread.join()
    assert result.exit_code == 0, result.output
    saved = sqlite_count(backup, "ballot_revision")
    assert saved >= before  # every submission acknowledged before the backup is in it
    assert sqlite_count(backup, "ballot") == 3
    with sqlite3.connect(backup) as connection:
        receipts = {r for (r,) in connection.execute("SELECT receipt FROM ballot_revision")}
    connection.close()
    assert set(acknowledged[:before]) <= receipts
    # restore: the database is exactly the backup again
    result = app.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.query(BallotRevision).count() == saved
        assert db.session.query(Ballot).count() == 3
        empty_tables()
        db.engine.dispose()
    again = app.test_cli_runner().invoke(args=["backup", str(backup)])
    assert again.exit_code != 0  # never overwrites a backup


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    path = tmp_path / "live.sqlite3"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    result = app.test_cli_runner().invoke(args=["restore", str(junk), "--yes"])
    assert result.exit_code == 1 and "junk.sqlite3" in result.output  # a message, no traceback
    assert isinstance(result.exception, SystemExit)  # click's exit, not an uncaught error


def test_postgresql_is_pointed_to_pg_dump(database_url, tmp_path):
    app = make_app(database_url)
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x")])
    if database_url.startswith("sqlite"):
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0 and "pg_dump" in result.output
    with app.app_context():
        db.engine.dispose()
