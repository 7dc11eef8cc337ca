"""The overview is fed by the providers the features register (resident_portal/figures.py),
and its caches follow the data versions they publish."""

from datetime import timedelta

from contributions import operations as contribution_operations
from contributions.models import Channel
from resident_portal import figures, operations, overview
from resident_portal.extensions import db
from resident_portal.models import utcnow
from survey import operations as survey_operations
from survey.tally import Choice

from .conftest import household, make_estate, make_report, make_survey
from .conftest import make_campaign as conftest_make_campaign


def make_campaign(estate):
    """The conftest factory with this file's round figures: ¥10,000, ¥200 a household."""
    return conftest_make_campaign(
        estate,
        title="楼道",
        title_en="",
        purpose="",
        target_fen=1_000_000,
        deadline=utcnow() + timedelta(days=20),
        suggestion_kind=contribution_operations.SuggestionKind.FLAT,
        flat_fen=20_000,
        per_m2_fen=0,
        channels=[Channel.DIRECT],
    )


def test_the_features_provide_in_the_pages_order(app):
    assert [p.name for p in figures.providers()] == [
        "survey",
        "contributions",
        "reports",
        "renovation",
    ]
    assert 3 + sum(p.columns for p in figures.providers()) == 16  # the overview's columns
    assert [f.key for _, f in overview.filters()] == [
        "attention",
        "no_decision",
        "decided",
        "elevators",
    ]


def test_a_ballot_a_pledge_and_a_report_each_invalidate_their_cached_trend(app, monkeypatch):
    estate = make_estate()
    survey = make_survey(estate)
    campaign = make_campaign(estate)
    now = utcnow() + timedelta(seconds=5)
    providers = {p.name: p for p in figures.providers()}
    computed = []
    for provider in providers.values():
        replay = provider.trend_series

        def counting(ids, ends, now, replay=replay, name=provider.name):
            computed.append(name)
            return replay(ids, ends, now)

        monkeypatch.setattr(provider, "trend_series", counting)

    def versions():
        return {name: p.data_version([estate.id], now) for name, p in providers.items()}

    def latest():
        return overview.trends([estate], months=2, now=now)[-1]

    before = versions()
    point = latest()
    assert (point.participation, point.pledge_rate, point.reports_open) == (0, 0, 0)
    assert sorted(computed) == ["contributions", "reports", "survey"]
    computed.clear()
    latest()
    assert computed == []  # nothing changed: every series from the cache

    # Staff actions are audited, but the audit log is no data version: nothing recomputes.
    operations.audit("test.nothing", staff_user=None, estate=estate)
    db.session.commit()
    assert versions() == before
    latest()
    assert computed == []

    survey_operations.submit_ballot(
        survey, household(estate, "1", "1", "101"), {i.id: Choice.SUPPORT for i in survey.items}
    )
    after_ballot = versions()
    assert after_ballot["survey"] != before["survey"]
    assert {k: v for k, v in after_ballot.items() if k != "survey"} == {
        k: v for k, v in before.items() if k != "survey"
    }
    assert latest().participation == 2500  # 1 of 4 owners: 25.00 %
    assert computed == ["survey"]
    computed.clear()

    contribution_operations.pledge(
        campaign, household(estate, "1", "1", "101"), 20_000, Channel.DIRECT
    )
    after_pledge = versions()
    assert after_pledge["contributions"] != after_ballot["contributions"]
    assert after_pledge["survey"] == after_ballot["survey"]
    assert latest().pledge_rate == 200  # ¥200 of ¥10,000: 2.00 %
    assert computed == ["contributions"]
    computed.clear()

    make_report(estate, household(estate, "1", "1", "101"))
    db.session.commit()
    after_report = versions()
    assert after_report["reports"] != after_pledge["reports"]
    assert after_report["contributions"] == after_pledge["contributions"]
    assert latest().reports_open == 1
    assert computed == ["reports"]
