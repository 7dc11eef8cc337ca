"""How fast is the planner's overview of a generated city of 500 estates on PostgreSQL?

    python -m bench.overview            # generates the city first if it is missing

Prints the median of repeated runs for: the overview figures (overview.estate_rows) with the
tally cache cold (as after a restart) and warm (every later view while no ballot arrives), the
12-month trends, the whole page as an administrator sees it (figures, trends, HTML), and the
baseline, one raw SQL
GROUP BY that counts households, voting owners and pledged money per estate (the least any
overview must do). The ratio says what the complete, correct overview costs over that floor.
"""

import statistics
import time

from sqlalchemy import create_engine, inspect, select, text

from bench.city import bench_url, create_database, generate
from bench.staff import sign_in_staff

RUNS = 7
BASELINE = text("""
SELECT b.estate_id, count(h.id) AS households,
       (SELECT count(*) FROM ballot x JOIN survey s ON s.id = x.survey_id
         WHERE s.estate_id = b.estate_id) AS voted,
       (SELECT coalesce(sum(p.amount_fen), 0) FROM pledge p JOIN campaign c ON c.id = p.campaign_id
         WHERE c.estate_id = b.estate_id AND p.withdrawn_at IS NULL) AS pledged
FROM building b JOIN unit u ON u.building_id = b.id JOIN household h ON h.unit_id = u.id
GROUP BY b.estate_id
""")


def median_seconds(function) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    url = bench_url()
    try:
        engine = create_engine(url)
        ready = (
            "estate" in inspect(engine).get_table_names()
            and engine.connect().execute(text("SELECT count(*) FROM estate")).scalar() >= 500
        )
        engine.dispose()
    except Exception:  # noqa: BLE001 - no database yet
        ready = False
    if not ready:
        print("generating the city (python -m bench.city)…")
        generate(create_database())

    from resident_portal import create_app, operations, overview
    from resident_portal.extensions import db
    from resident_portal.models import Estate, Role

    app = create_app(
        {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False}
    )
    with app.app_context():
        estates = list(db.session.scalars(select(Estate).order_by(Estate.code)))
        households = sum(r.households for r in overview.estate_rows(estates[:1])) * len(estates)
        baseline = median_seconds(lambda: db.session.execute(BASELINE).all())

        def cold():
            app.extensions.pop("overview_tally_cache", None)  # as after a restart
            overview.estate_rows(estates)

        figures_cold = median_seconds(cold)
        overview.estate_rows(estates)
        figures = median_seconds(lambda: overview.estate_rows(estates))
        trends = median_seconds(lambda: overview.trends(estates, months=12))
        operations.grant_staff_role("bench-admin", Role.ADMIN, None, "bench password 1")
    client = app.test_client()
    sign_in_staff(app, client, "bench-admin", "bench password 1")
    assert client.get("/console/overview").status_code == 200
    page = median_seconds(lambda: client.get("/console/overview"))
    with app.app_context():
        db.engine.dispose()
    print(f"city: {len(estates)} estates, about {households} households (PostgreSQL)")
    print(f"baseline, one raw SQL GROUP BY:      {baseline * 1000:8.1f} ms")
    print(
        f"overview figures, cold cache:        {figures_cold * 1000:8.1f} ms  "
        f"ratio {figures_cold / baseline:5.1f} × baseline"
    )
    print(
        f"overview figures (estate_rows):      {figures * 1000:8.1f} ms  "
        f"ratio {figures / baseline:5.1f} × baseline"
    )
    print(f"trends, 12 months:                   {trends * 1000:8.1f} ms")
    print(
        f"whole overview page (GET, HTML):     {page * 1000:8.1f} ms  "
        f"ratio {page / baseline:5.1f} × baseline"
    )


if __name__ == "__main__":
    main()
