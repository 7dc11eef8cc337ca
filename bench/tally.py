"""How fast are survey results counted, for one estate and for a district, on PostgreSQL?

    python -m bench.tally [--runs 7] [--estate e0001] [--district 区01] [--profile]

On the generated city (bench/city.py: 500 estates × 300 households, a 15-item formal decision
per estate; generated first when the database is missing), it prints the median of repeated
runs for:

(a) one estate: its survey results exactly as the results pages, the notice, the API and the
    exports compute them (survey/results.py `compute`: the overall tally plus the breakdowns by
    building, unit and floor, loaded in a fresh ORM session as every request is), the first call
    in the process (cold: SQLAlchemy's statement cache empty) and later calls (warm; there is no
    results cache), and the whole planner's results page (GET, HTML). Target: < 50 ms.
(b) a district (about 50 estates): what the district's overview computes
    (resident_portal/overview.py `estate_rows`), with the per-process tally cache cold (as after a
    restart) and warm, the kept tallies alone (survey/results.py `scope_results`), and the
    whole overview page filtered to the district (GET, HTML, warm). Target: < 2 s.

The baseline for each is one raw SQL statement that GROUP BYs the same numbers: per survey
the eligible and participating owners (heads, households, area), and per item and choice the
heads, households, area and priority picks among the current ballots. The numbers of the app and
of the baseline are compared field by field (an assertion; "numbers agree" when they do) and the
ratio app / raw is printed. The machine is shared: absolute times are indicative, ratios are
measured in the same run. `--profile` adds a pyinstrument profile (pip install pyinstrument) of
(a) warm and of (b) cold.
"""

import argparse
import os
import statistics
import time

from sqlalchemy import create_engine, inspect, select, text

from bench.city import bench_url, create_database, generate
from bench.staff import sign_in_staff

TARGET_ESTATE_MS = 50
TARGET_DISTRICT_MS = 2000

# Everything after the `surveys` CTE is shared by the two baselines; the CTE picks the surveys.
RAW_BODY = """
owners AS (  -- each owner in each survey's scope: one head, with their households and area
  SELECT s.id AS survey_id, h.owner_ref, count(*) AS households, sum(h.area_centi_m2) AS area
  FROM surveys t
  JOIN survey s ON s.id = t.id
  JOIN building b ON b.estate_id = s.estate_id
  JOIN unit u ON u.building_id = b.id
  JOIN household h ON h.unit_id = u.id
  WHERE (s.building_id IS NULL OR s.building_id = b.id)
    AND (s.unit_id IS NULL OR s.unit_id = u.id)
  GROUP BY s.id, h.owner_ref
),
voters AS (  -- the owners with a current ballot (one per owner per survey)
  SELECT o.survey_id, o.households, o.area, x.id AS ballot_id
  FROM owners o JOIN ballot x ON x.survey_id = o.survey_id AND x.owner_ref = o.owner_ref
)
SELECT survey_id, 'eligible' AS what, NULL::integer AS item_id, NULL::varchar AS choice,
       count(*) AS heads, sum(households) AS households, sum(area) AS area, 0 AS picks
FROM owners GROUP BY survey_id
UNION ALL
SELECT survey_id, 'participated', NULL, NULL, count(*), sum(households), sum(area), 0
FROM voters GROUP BY survey_id
UNION ALL
SELECT v.survey_id, 'choice', c.item_id, c.choice, count(*), sum(v.households), sum(v.area),
       count(*) FILTER (WHERE c.priority)
FROM voters v JOIN ballot_choice c ON c.ballot_id = v.ballot_id
GROUP BY v.survey_id, c.item_id, c.choice
"""
RAW_ONE = text("WITH surveys AS (SELECT CAST(:survey AS integer) AS id),\n" + RAW_BODY)
RAW_DISTRICT = text(
    """
WITH surveys AS (  -- each estate's latest opened formal decision, elevator votes left out
  SELECT DISTINCT ON (s.estate_id) s.id
  FROM survey s JOIN estate e ON e.id = s.estate_id
  WHERE e.district = :district AND s.kind = 'decision' AND s.opens_at <= :now
    AND NOT EXISTS (SELECT 1 FROM elevator_project p WHERE p.survey_id = s.id)
  ORDER BY s.estate_id, s.closes_at DESC
),"""
    + RAW_BODY
)


def round_robin(functions: dict, runs: int) -> dict[str, float]:
    """Median wall time in ms of each function, called in turn within each run so that all of
    them meet the same load on a shared machine. Values are (function, untimed setup or None)."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(runs):
        for name, (function, before) in functions.items():
            if before:
                before()
            started = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def once_ms(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return (time.perf_counter() - started) * 1000, result


def ensure_city() -> str:
    url = bench_url()
    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            ready = (
                "estate" in inspect(connection).get_table_names()
                and connection.execute(text("SELECT count(*) FROM estate")).scalar() >= 500
            )
        engine.dispose()
    except Exception:  # noqa: BLE001 - no database yet
        ready = False
    if not ready:
        print("generating the city (python -m bench.city)…", flush=True)
        generate(create_database())
    return url


# --- the same numbers, from the app and from the baseline --------------------------------


def raw_numbers(rows) -> dict[int, dict]:
    """{survey_id: {"eligible": (households, heads, area), "participated": …,
    "items": {(item_id, choice): (households, heads, area)}, "picks": {item_id: n}}}.

    An item a ballot leaves unanswered counts as an abstention (as survey/tally.py counts it):
    participants minus those who answered the item."""
    numbers: dict[int, dict] = {}
    for survey_id, what, item_id, choice, heads, households, area, picks in rows:
        entry = numbers.setdefault(survey_id, {"items": {}, "picks": {}})
        count = (int(households), int(heads), int(area))
        if what == "choice":
            entry["items"][(item_id, choice)] = count
            entry["picks"][item_id] = entry["picks"].get(item_id, 0) + int(picks)
        else:
            entry[what] = count
    for entry in numbers.values():
        part = entry.setdefault("participated", (0, 0, 0))
        for item_id in {item for item, _choice in entry["items"]}:
            answered = [c for (i, _ch), c in entry["items"].items() if i == item_id]
            unanswered = tuple(p - sum(c[k] for c in answered) for k, p in enumerate(part))
            explicit = entry["items"].get((item_id, "abstain"), (0, 0, 0))
            entry["items"][(item_id, "abstain")] = tuple(
                e + u for e, u in zip(explicit, unanswered, strict=True)
            )
            entry["unanswered"] = entry.get("unanswered", 0) + unanswered[1]
    return numbers


def app_numbers(result, item_ids: list[int]) -> dict:
    """The same shape from a survey/tally.py Tally."""

    def triple(count):
        return (count.households, count.heads, count.area)

    items, picks = {}, {}
    for item_id in item_ids:
        r = result.item(item_id)
        for choice in ("support", "oppose", "abstain"):
            if choice == "abstain" or triple(getattr(r, choice)) != (0, 0, 0):
                items[(item_id, choice)] = triple(getattr(r, choice))
        picks[item_id] = r.priority_picks
    return {
        "eligible": triple(result.eligible),
        "participated": triple(result.participated),
        "items": items,
        "picks": picks,
    }


def assert_equal(app: dict, raw: dict, label: str) -> None:
    raw = {
        "eligible": raw["eligible"],
        "participated": raw["participated"],
        "items": dict(raw["items"]),
        "picks": dict(raw["picks"]),
    }
    for item_id in app["picks"]:  # an item nobody answered has no row in the GROUP BY
        raw["picks"].setdefault(item_id, 0)
        if (item_id, "abstain") not in raw["items"]:
            raw["items"][(item_id, "abstain")] = raw["participated"]
    assert app == raw, f"{label}: the app and the raw SQL disagree\napp {app}\nraw {raw}"


# --- the benchmark -----------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--estate", default="e0001", help="estate code for (a)")
    parser.add_argument("--district", default="区01", help="district for (b)")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profiles")
    args = parser.parse_args()
    runs = args.runs
    url = ensure_city()
    load_before = os.getloadavg()[0]

    from resident_portal import create_app, operations, overview
    from resident_portal.extensions import db
    from resident_portal.models import Estate, Role, utcnow
    from survey import counting, results, roll
    from survey import tally as tally_module
    from survey.models import Survey

    app = create_app(
        {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False}
    )
    with app.app_context():
        operations.grant_staff_role("bench-admin", Role.ADMIN, None, "bench password 1")
        db.session.remove()
    client = app.test_client()
    sign_in_staff(app, client, "bench-admin", "bench password 1")

    # (a) one estate --------------------------------------------------------------------
    with app.app_context():
        estate = db.session.scalar(select(Estate).where(Estate.code == args.estate))
        survey_id = db.session.scalar(
            select(Survey.id).where(Survey.estate_id == estate.id).order_by(Survey.id)
        )
        db.session.remove()

        def compute():
            return results.compute(db.session.get(Survey, survey_id))

        cold, first = once_ms(compute)  # the first call in this process
        item_ids = [i.id for i in first.survey.items]
        rule = first.survey.rule
        raw = raw_numbers(db.session.execute(RAW_ONE, {"survey": survey_id}).all())
        assert_equal(app_numbers(first.overall, item_ids), raw[survey_id], args.estate)
        one_unanswered = raw[survey_id].get("unanswered", 0)
        parts = roll.parts(first.survey)
        ballots = counting.current_ballots(first.survey)
        page_url = f"/console/{args.estate}/surveys/{survey_id}"
        assert client.get(page_url).status_code == 200

        def fresh():  # every request starts with an empty session
            db.session.remove()

        one = round_robin(
            {
                "raw": (lambda: db.session.execute(RAW_ONE, {"survey": survey_id}).all(), None),
                "compute": (compute, fresh),
                "parts": (lambda: roll.parts(db.session.get(Survey, survey_id)), fresh),
                "ballots": (
                    lambda: counting.current_ballots(db.session.get(Survey, survey_id)),
                    fresh,
                ),
                "overall": (lambda: tally_module.tally(parts, ballots, item_ids, rule), None),
                "breakdowns": (
                    lambda: [
                        tally_module.breakdown(parts, ballots, item_ids, key)
                        for key in (
                            lambda p: p.building,
                            lambda p: (p.building, p.unit),
                            lambda p: p.floor,
                        )
                    ],
                    None,
                ),
                "page": (lambda: client.get(page_url), None),
            },
            runs,
        )
        scope = (
            f"{len(parts)} households, {first.overall.participated.heads} voting owners, "
            f"{len(item_ids)} items"
        )

    # (b) a district --------------------------------------------------------------------
    with app.app_context():
        estates = list(
            db.session.scalars(
                select(Estate).where(Estate.district == args.district).order_by(Estate.code)
            )
        )
        assert estates, f"no estate in district {args.district}"
        now = utcnow()

        def cold_rows():
            app.extensions.pop("overview_tally_cache", None)  # as after a restart
            return overview.estate_rows(estates, now)

        rows_first, rows = once_ms(cold_rows)
        surveys = [r.decision.survey for r in rows if r.decision]
        tallies = results.scope_results(surveys)
        params = {"district": args.district, "now": now}
        raw = raw_numbers(db.session.execute(RAW_DISTRICT, params).all())
        assert set(raw) == {s.id for s in surveys}, "the raw SQL picked other surveys"
        for row in rows:
            if row.decision:
                s = row.decision.survey
                ids = [i.id for i in s.items]
                assert_equal(app_numbers(row.decision.result, ids), raw[s.id], row.estate.code)
                assert_equal(app_numbers(tallies[s.id], ids), raw[s.id], row.estate.code)
        district_unanswered = sum(v.get("unanswered", 0) for v in raw.values())
        district_households = sum(r.households for r in rows)
        # the estate pages' own computation for every estate of the district, once: a check
        # of the numbers, and what the district would cost without the SQL-counted tallies
        per_estate, computed = once_ms(
            lambda: [results.compute(db.session.get(Survey, s.id)) for s in surveys]
        )
        for survey_result in computed:
            s = survey_result.survey
            assert_equal(
                app_numbers(survey_result.overall, [i.id for i in s.items]), raw[s.id], s.title
            )
        district_url = "/console/overview?district=" + args.district
        assert client.get(district_url).status_code == 200
        district = round_robin(
            {
                "raw": (lambda: db.session.execute(RAW_DISTRICT, params).all(), None),
                "cold": (
                    lambda: overview.estate_rows(estates, now),
                    lambda: app.extensions.pop("overview_tally_cache", None),
                ),
                "warm": (lambda: overview.estate_rows(estates, now), None),
                "tallies": (lambda: results.scope_results(surveys), None),
                "page": (lambda: client.get(district_url), None),
            },
            runs,
        )
        db.engine.dispose()

    def line(label: str, ms: float, baseline: float | None = None, target: float | None = None):
        ratio = f"  ratio {ms / baseline:6.1f} × raw" if baseline else ""
        goal = ""
        if target is not None:
            goal = f"  (target < {target:,.0f} ms: {'met' if ms < target else 'MISSED'})"
        print(f"  {label:<58}{ms:9.1f} ms{ratio}{goal}")

    print(
        f"city: {url.rsplit('/', 1)[-1]} on PostgreSQL; median of {runs} runs, taken in turn; "
        f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f} (2 cores, shared)"
    )
    print(f"\n(a) one estate, {args.estate}, survey {survey_id}: {scope}")
    base = one["raw"]
    line("baseline: one raw SQL GROUP BY (overall numbers)", base)
    line("results.compute, cold (first call in the process)", cold, base)
    line(
        "results.compute, warm (fresh session; no results cache)",
        one["compute"],
        base,
        TARGET_ESTATE_MS,
    )
    line("for comparison: loading the roll (roll.parts)", one["parts"])
    line("for comparison: loading the ballots (counting.current_ballots)", one["ballots"])
    line("for comparison: a full recount, overall (tally.tally)", one["overall"])
    line("for comparison: a full recount by building, unit, floor", one["breakdowns"])
    line("whole planner's results page (GET, HTML)", one["page"], base)
    print(
        f"  numbers agree: eligible, participated, {len(item_ids)} items × 3 choices "
        f"(households, heads, area) and priority picks; {one_unanswered} unanswered "
        "(owner, item) pairs"
    )
    print(
        f"\n(b) district {args.district}: {len(estates)} estates, {district_households} "
        f"households, {len(surveys)} latest decisions"
    )
    base = district["raw"]
    line("baseline: one raw SQL GROUP BY (every decision's numbers)", base)
    line("overview.estate_rows, tally cache cold (first call)", rows_first, base)
    line(
        "overview.estate_rows, tally cache cold (as after restart)",
        district["cold"],
        base,
        TARGET_DISTRICT_MS,
    )
    line("overview.estate_rows, tally cache warm", district["warm"], base, TARGET_DISTRICT_MS)
    line("  scope_results alone (the kept tallies, one query)", district["tallies"], base)
    line("whole overview page of the district (GET, HTML, warm)", district["page"], base)
    line(f"for comparison: results.compute for each of the {len(surveys)}, once", per_estate, base)
    print(
        f"  numbers agree: {len(surveys)} decisions × (eligible, participated, items × "
        f"choices, priority picks) from estate_rows, scope_results and results.compute; "
        f"{district_unanswered} unanswered (owner, item) pairs"
    )
    if args.profile:
        profile(app, survey_id, estates, runs)


def profile(app, survey_id: int, estates, runs: int) -> None:
    from pyinstrument import Profiler

    from resident_portal import overview
    from resident_portal.extensions import db
    from survey import results
    from survey.models import Survey

    with app.app_context():
        profiler = Profiler(interval=0.0005)
        for _ in range(runs):
            db.session.remove()
            profiler.start()
            results.compute(db.session.get(Survey, survey_id))
            profiler.stop()
        print(f"\nprofile (a): results.compute warm, {runs} runs")
        print(profiler.output_text(unicode=True, color=False))
        profiler = Profiler(interval=0.0005)
        for _ in range(runs):
            app.extensions.pop("overview_tally_cache", None)
            profiler.start()
            overview.estate_rows(estates)
            profiler.stop()
        print(f"profile (b): overview.estate_rows, tally cache cold, {runs} runs")
        print(profiler.output_text(unicode=True, color=False))
        db.engine.dispose()


if __name__ == "__main__":
    main()
