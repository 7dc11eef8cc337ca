"""CPU per vote in process: the ballot page and the ballot POST through Flask's test client.

    .venv/bin/python -m bench.vote_cpu [--households 30] [--rounds 3] [--database-url URL]
                                       [--profile pyinstrument|cumtime|tottime] [--show-sql]

No HTTP server and no load: each household (signed in first, not measured) loads its ballot
page and submits a ballot, `--rounds` times over, and the process CPU time (time.process_time)
of each request is taken. On SQLite (a temporary file, the default) the database works inside
this process and is counted; on PostgreSQL (--database-url) the server's CPU is not. It also
prints the SQL statements one vote sends. The steadiest figure on a shared machine: compare
two versions of the code by running this in each, one after the other.
"""

import argparse
import contextlib
import io
import re
import statistics
import tempfile
import time

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
BALLOTS = (
    ("support", "support", "support"),
    ("support", "oppose", "abstain"),
    ("oppose", "support", "support"),
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", choices=["pyinstrument", "cumtime", "tottime"])
    parser.add_argument("--show-sql", action="store_true", help="print the statements of a vote")
    args = parser.parse_args(argv)

    from flask_migrate import upgrade
    from sqlalchemy import event

    from bench.residents import prepare_estate
    from resident_portal import create_app
    from resident_portal.extensions import db

    url = args.database_url or "sqlite:///" + tempfile.mkdtemp() + "/vote_cpu.db"
    app = create_app({"SECRET_KEY": "bench-vote-cpu", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        estate = prepare_estate(args.households, code=f"cpu{int(time.time())}")
    clients = []
    for household_id, code in estate.households:
        client = app.test_client()
        page = f"/e/{estate.code}/h/{household_id}"
        assert client.get(f"{page}?code={code}").status_code == 303
        token = CSRF_FIELD.search(client.get(page).text).group(1)
        assert client.post(page, data={"csrf_token": token}).status_code == 302
        clients.append(client)
    ballot_url = f"/surveys/{estate.survey_id}"

    def vote(client, n: int) -> tuple[float, float]:
        started = time.process_time()
        page = client.get(ballot_url)
        assert page.status_code == 200
        loaded = time.process_time()
        data = {"csrf_token": CSRF_FIELD.search(page.text).group(1), "suggestion": ""}
        data.update(dict(zip((f"item_{i}" for i in estate.item_ids), BALLOTS[n % 3], strict=True)))
        answer = client.post(ballot_url, data=data)
        assert answer.status_code == 302, answer.status_code
        return loaded - started, time.process_time() - loaded

    for n, client in enumerate(clients[:5]):  # warm: statement caches, templates
        vote(client, n)
    statements = []
    with app.app_context():

        def count(*args):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count)
        vote(clients[-1], 1)
        event.remove(db.engine, "before_cursor_execute", count)

    profiler = None
    if args.profile == "pyinstrument":
        import pyinstrument

        profiler = pyinstrument.Profiler(interval=0.0005)
        profiler.start()
    elif args.profile:
        import cProfile

        # CPU time, not wall time: on a shared machine the wall clock counts other work too.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    pages, posts = [], []
    for round_ in range(args.rounds):
        for n, client in enumerate(clients):
            page, post = vote(client, n + round_)
            pages.append(page)
            posts.append(post)
    if args.profile == "pyinstrument":
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    elif args.profile:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.profile).print_stats(40)

    def ms(values):
        median, mean = statistics.median(values) * 1000, statistics.mean(values) * 1000
        return f"median {median:5.2f} ms, mean {mean:5.2f} ms"

    print(f"{make_label(url)}: {len(pages)} votes, {len(statements)} SQL statements per vote")
    if args.show_sql:
        for statement in statements:
            print("    " + " ".join(statement.split()))
    print(f"  ballot page (GET):  {ms(pages)}")
    print(f"  ballot (POST):      {ms(posts)}")
    both = (statistics.mean(pages) + statistics.mean(posts)) * 1000
    print(f"  a vote (both):      mean {both:5.2f} ms")


def make_label(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0]


if __name__ == "__main__":
    main()
