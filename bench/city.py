"""A generated city for the benchmarks: 500 estates × 300 households in 10 districts.

Each estate has 5 buildings × 2 units × 30 households (6 floors, 5 per floor), about 5 % of
owners holding two households, one 15-item formal decision (about 70 % of owners voted,
half the estates closed), a campaign with pledges from 30 % of households and payments from
half of those, 5 quality reports, and a renovation project of this year's batch (estates
spread over every stage, a fifth of them behind schedule, each district with yearly targets).
It is written with PostgreSQL COPY into a database of its own (the schema comes from the
migrations), so generating takes seconds, not minutes.

    python -m bench.city [--estates 500] [--households 300]
"""

import argparse
import json
import random
import time
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "resident_portal_bench"
ITEMS = 15
CATEGORIES = ["basic", "improvement", "upgrade"]
CHOICES = ["support", "support", "support", "oppose", "abstain"]  # most support


def bench_url(server_url: str = SERVER_URL) -> str:
    return make_url(server_url).set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def create_database(server_url: str = SERVER_URL) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    admin.dispose()
    url = bench_url(server_url)
    from flask_migrate import upgrade

    from resident_portal import create_app
    from resident_portal.extensions import db

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def generate(url: str, estates: int = 500, households_per_estate: int = 300, seed: int = 1):
    rng = random.Random(seed)
    now = datetime.utcnow().replace(microsecond=0)  # noqa: DTZ003 - naive UTC, as stored
    rows: dict[str, list[tuple]] = {
        t: []
        for t in (
            "estate",
            "building",
            "unit",
            "household",
            "survey",
            "survey_item",
            "ballot",
            "ballot_choice",
            "ballot_revision",
            "campaign",
            "pledge",
            "pledge_event",
            "payment",
            "report",
            "staff_user",
            "renovation_project",
            "renovation_stage",
            "renovation_funding",
            "renovation_received",
            "renovation_investment",
            "renovation_target",
        )
    }
    rows["staff_user"].append((1, "bench-secretary", "!", "", True, now))
    ids = {k: 0 for k in rows}

    def next_id(table):
        ids[table] += 1
        return ids[table]

    per_unit = households_per_estate // 10
    for e in range(estates):
        estate_id = next_id("estate")
        rows["estate"].append(
            (
                estate_id,
                f"e{estate_id:04d}",
                f"第{estate_id}小区",
                f"区{e % 10 + 1:02d}",
                f"街道{e % 37 + 1:02d}",
                now,
            )
        )
        renovation(rows, next_id, rng, estate_id, e, now)
        owners: list[str] = []
        households: list[tuple[int, str, int]] = []  # id, owner, area
        for b in range(1, 6):
            building_id = next_id("building")
            rows["building"].append((building_id, estate_id, str(b), 6, False))
            for u in range(1, 3):
                unit_id = next_id("unit")
                rows["unit"].append((unit_id, building_id, str(u)))
                for n in range(per_unit):
                    floor, door = n // 5 + 1, n % 5 + 1
                    owner = (
                        owners[-1]
                        if owners and rng.random() < 0.05
                        else f"E{estate_id}-O{len(owners) + 1}"
                    )
                    if owner not in owners[-1:]:
                        owners.append(owner)
                    area = rng.randint(4500, 12000)
                    household_id = next_id("household")
                    rows["household"].append(
                        (
                            household_id,
                            unit_id,
                            f"{floor}0{door}",
                            floor,
                            area,
                            owner,
                            "业主",
                            None,
                            None,
                            None,
                        )
                    )
                    households.append((household_id, owner, area))
        closed = e % 2 == 0
        opens = now - timedelta(days=40)
        closes = now - timedelta(days=5) if closed else now + timedelta(days=10)
        survey_id = next_id("survey")
        rows["survey"].append(
            (
                survey_id,
                estate_id,
                None,
                None,
                "改造项目表决",
                "",
                "decision",
                "renovate",
                opens,
                closes,
                0,
                False,
                opens,
            )
        )
        item_ids = []
        for position in range(1, ITEMS + 1):
            item_id = next_id("survey_item")
            item_ids.append(item_id)
            rows["survey_item"].append(
                (
                    item_id,
                    survey_id,
                    position,
                    CATEGORIES[position % 3],
                    f"项目{position}",
                    "",
                    "",
                    "",
                    rng.randint(1, 50) * 10_000_00,
                )
            )
        first_household = {}
        for household_id, owner, _area in households:
            first_household.setdefault(owner, household_id)
        for owner, household_id in first_household.items():
            if rng.random() >= 0.7:
                continue
            ballot_id = next_id("ballot")
            at = opens + timedelta(seconds=rng.randint(0, 30 * 86400))
            receipt = f"R{ballot_id:09d}"
            choices = {item: rng.choice(CHOICES) for item in item_ids}
            rows["ballot"].append(
                (ballot_id, survey_id, owner, household_id, "online", receipt, at, "", None, None)
            )
            for item, choice in choices.items():
                rows["ballot_choice"].append((ballot_id, item, choice, False))
            rows["ballot_revision"].append(
                (
                    next_id("ballot_revision"),
                    survey_id,
                    owner,
                    household_id,
                    "online",
                    receipt,
                    at,
                    json.dumps(
                        {
                            "choices": {str(k): v for k, v in choices.items()},
                            "priorities": [],
                            "suggestion": "",
                        }
                    ),
                    None,
                    None,
                )
            )
        campaign_id = next_id("campaign")
        rows["campaign"].append(
            (
                campaign_id,
                estate_id,
                None,
                None,
                "楼道改造",
                "",
                "",
                survey_id,
                households_per_estate * 500_00,
                now + timedelta(days=30),
                "flat",
                500_00,
                0,
                json.dumps(["direct"]),
                opens,
            )
        )
        for household_id, _owner, _area in households:
            if rng.random() >= 0.3:
                continue
            amount = rng.choice([300_00, 500_00, 800_00])
            at = opens + timedelta(seconds=rng.randint(0, 35 * 86400))
            rows["pledge"].append(
                (
                    next_id("pledge"),
                    campaign_id,
                    household_id,
                    amount,
                    "direct",
                    "",
                    None,
                    "online",
                    None,
                    None,
                    None,
                    at,
                )
            )
            rows["pledge_event"].append(
                (
                    next_id("pledge_event"),
                    campaign_id,
                    household_id,
                    "pledge",
                    amount,
                    "direct",
                    None,
                    "online",
                    None,
                    None,
                    at,
                )
            )
            if rng.random() < 0.5:
                rows["payment"].append(
                    (
                        next_id("payment"),
                        campaign_id,
                        household_id,
                        amount,
                        at.date(),
                        "direct",
                        "",
                        "",
                        1,
                        at,
                    )
                )
        for _ in range(5):
            household_id, _owner, _area = rng.choice(households)
            created = now - timedelta(days=rng.randint(0, 60))
            status = rng.choice(
                ["submitted", "acknowledged", "in_progress", "resolved", "confirmed"]
            )
            resolved = (
                created + timedelta(days=rng.randint(1, 9))
                if status in ("resolved", "confirmed")
                else None
            )
            rows["report"].append(
                (
                    next_id("report"),
                    estate_id,
                    rng.choice(["leak", "cracks", "noise", "dust"]),
                    None,
                    None,
                    household_id,
                    "",
                    "问题描述",
                    status,
                    "",
                    household_id,
                    "resident",
                    created,
                    resolved or created,
                    resolved,
                    None,
                    None,
                )
            )

    for d in range(10):  # each district's targets: most of its projects to start this year
        rows["renovation_target"].append(
            (next_id("renovation_target"), f"区{d + 1:02d}", now.year, 40, 25, 10, 4_000_000_000)
        )
    columns = {
        "staff_user": "id, username, password_hash, display_name, is_active, created_at",
        "estate": "id, code, name, district, street, created_at",
        "building": "id, estate_id, number, floors, has_elevator",
        "unit": "id, building_id, number",
        "household": "id, unit_id, room, floor, area_centi_m2, owner_ref, owner_name, phone, "
        "access_code_hash, code_issued_at",
        "survey": "id, estate_id, building_id, unit_id, title, title_en, kind, matter, "
        "opens_at, closes_at, max_priorities, allow_suggestion, created_at",
        "survey_item": "id, survey_id, position, category, title, title_en, description, "
        "description_en, estimated_cost_fen",
        "ballot": "id, survey_id, owner_ref, household_id, source, receipt, submitted_at, "
        "suggestion, entered_by_id, paper_reason",
        "ballot_choice": "ballot_id, item_id, choice, priority",
        "ballot_revision": "id, survey_id, owner_ref, household_id, source, receipt, "
        "submitted_at, content, entered_by_id, paper_reason",
        "campaign": "id, estate_id, building_id, unit_id, title, title_en, purpose, survey_id, "
        "target_fen, deadline, suggestion_kind, flat_fen, per_m2_fen, channels, "
        "created_at",
        "pledge": "id, campaign_id, household_id, amount_fen, channel, note, share_fen, source, "
        "entered_by_id, reason, withdrawn_at, updated_at",
        "pledge_event": "id, campaign_id, household_id, action, amount_fen, channel, share_fen, "
        "source, entered_by_id, reason, at",
        "payment": "id, campaign_id, household_id, amount_fen, paid_on, channel, receipt_number, "
        "note, recorded_by_id, created_at",
        "report": "id, estate_id, category, building_id, unit_id, household_id, common_area, "
        "description, status, status_notes, reporter_id, source, created_at, "
        "updated_at, resolved_at, hidden_at, hidden_reason",
        "renovation_project": "id, estate_id, name, batch_year, hotline, invested_fen, "
        "created_at, updated_at",
        "renovation_stage": "id, project_id, stage, position, planned_on, actual_on",
        "renovation_funding": "id, project_id, source, position, planned_fen, received_fen, note",
        "renovation_received": "id, project_id, source, recorded_at, received_fen",
        "renovation_investment": "id, project_id, recorded_at, invested_fen",
        "renovation_target": "id, district, year, to_start, to_finish, to_accept, investment_fen",
    }
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        for table, names in columns.items():
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(row)
            if table != "ballot_choice":
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        cursor.execute("ANALYZE")
    take_rolls(url)
    return {table: len(r) for table, r in rows.items()}


RENOVATION_STAGES = [
    "initiation",
    "consultation",
    "design",
    "approval",
    "tender",
    "started",
    "completed",
    "accepted",
    "handover",
]


def renovation(rows, next_id, rng, estate_id: int, e: int, now: datetime) -> None:
    """One project of this year's batch per estate, at every stage in every district: estate
    e (of district e % 10) has completed the first (e // 10 + e) % 10 stages (9: all of them).
    Stages are planned 30 days apart; about a fifth of the projects are a fortnight behind
    their next planned date."""
    project_id = next_id("renovation_project")
    done = (e // 10 + e) % 10
    invested = rng.randint(0, 3_000_000_00) * done // 9
    rows["renovation_project"].append(
        (project_id, estate_id, "综合改造", now.year, "12345", invested, now, now)
    )
    if invested:  # the dated records the bulletin of a month reads
        rows["renovation_investment"].append(
            (next_id("renovation_investment"), project_id, now, invested)
        )
    today = now.date()
    late = rng.random() < 0.2
    # The next stage's planned date falls 14 days ago (late) or 14 days from now.
    anchor = today - timedelta(days=14 if late else -14)
    for position, stage in enumerate(RENOVATION_STAGES):
        planned = anchor + timedelta(days=30 * (position - done))
        actual = planned - timedelta(days=rng.randint(0, 5)) if position < done else None
        if actual is not None and actual > today:
            actual = today
        rows["renovation_stage"].append(
            (next_id("renovation_stage"), project_id, stage, position, planned, actual)
        )
    for position, (source, planned) in enumerate(
        (("central", 2_000_000_00), ("local", 1_000_000_00), ("residents", 300_000_00))
    ):
        received = 0 if source == "residents" else planned * min(done, 6) // 6
        rows["renovation_funding"].append(
            (next_id("renovation_funding"), project_id, source, position, planned, received, "")
        )
        if received:
            rows["renovation_received"].append(
                (next_id("renovation_received"), project_id, source, now, received)
            )


def take_rolls(url: str) -> None:
    """The surveys COPY wrote have opened without a roll or a kept tally: take them as the app
    does when the first ballot arrives (survey/roll.py), then count them in full."""
    from resident_portal import create_app
    from resident_portal.extensions import db
    from survey import counting, roll
    from survey.models import Survey

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        for survey in db.session.scalars(select(Survey)).all():
            roll.freeze(survey)
            counting.rewrite(survey)
        db.session.commit()
        db.engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--estates", type=int, default=500)
    parser.add_argument("--households", type=int, default=300)
    args = parser.parse_args()
    started = time.perf_counter()
    url = create_database()
    counts = generate(url, args.estates, args.households)
    print(
        f"generated in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )


if __name__ == "__main__":
    main()
