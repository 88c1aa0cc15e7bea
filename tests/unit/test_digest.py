"""Digest content decisions: who wants what, grouping and order, chart days, sources in trouble, schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from erepwatch.db.mention_views import MentionView
from erepwatch.notify.digest import (
    SourceHealth,
    build_digest,
    chart_days,
    digest_due,
    last_slot,
    troubled_sources,
    wanted,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def row(
    id_: int,
    watch: str = "Acme",
    *,
    cluster: int | None = None,
    sentiment: str = "neutral",
    tags=(),
    publisher: str = "Le Monde",
    hours_ago: float = 1,
) -> MentionView:
    when = NOW - timedelta(hours=hours_ago)
    return MentionView(
        id_,
        hash(watch) % 100,
        watch,
        cluster or id_,
        f"title {id_}",
        f"https://ex.org/{id_}",
        publisher,
        when,
        when,
        sentiment,
        tuple(tags),
    )


@pytest.mark.parametrize(
    ("sentiment", "tags", "min_sentiment", "expected"),
    [
        ("positive", (), None, True),
        ("positive", (), "negative", False),
        ("neutral", (), "negative", False),
        ("negative", (), "negative", True),
        ("neutral", (), "neutral", True),
        ("positive", ("crisis",), "negative", True),
        ("positive", ("crise",), "neutral", True),
    ],
    ids=["no-filter", "pos-vs-neg", "neu-vs-neg", "neg-vs-neg", "neu-vs-neu", "crisis-passes", "crise-passes"],
)
def test_min_sentiment_filter(sentiment, tags, min_sentiment, expected):
    assert wanted(row(1, sentiment=sentiment, tags=tags), min_sentiment) is expected


def test_grouped_by_watch_alarming_first_then_cluster_size_then_newest():
    rows = [
        row(1, "Zed"),
        row(2, "acme", hours_ago=1),  # newest plain story
        row(3, "acme", hours_ago=5),
        row(4, "acme", cluster=3, publisher="Libé", hours_ago=4),
        row(5, "acme", cluster=3, publisher="Libé", hours_ago=3),
        row(6, "acme", cluster=3, publisher="AFP"),
        row(7, "acme", hours_ago=9, sentiment="negative"),
        row(8, "acme", hours_ago=8, tags=("crisis",)),
        row(9, "acme", hours_ago=2),
    ]
    digest = build_digest(rows, start=NOW - timedelta(days=1), end=NOW)
    assert [s.watch for s in digest.sections] == ["acme", "Zed"]
    entries = digest.sections[0].entries
    assert [e.mention.id for e in entries] == [8, 7, 3, 2, 9]
    big = entries[2]
    assert big.size == 4 and big.others == ("Libé", "AFP")  # distinct other publishers, head's own left out
    assert digest.sections[0].counts.total == 5 and digest.sections[0].counts.negative == 1
    assert digest.mention_ids == tuple(range(1, 10))


def test_chart_counts_local_days_and_sentiments():
    points = [
        (datetime(2026, 3, 9, 23, 30, tzinfo=UTC), "negative"),  # already 10 March in Paris
        (datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "positive"),
        (datetime(2026, 2, 20, 12, 0, tzinfo=UTC), "neutral"),  # older than 14 days
    ]
    days = chart_days(points, end=NOW, tz="Europe/Paris")
    assert len(days) == 14 and days[-1].day == date(2026, 3, 10) and days[0].day == date(2026, 2, 25)
    assert (days[-1].negative, days[-2].positive) == (1, 1)
    assert sum(d.total for d in days) == 2


def test_sources_in_trouble():
    old = NOW - timedelta(days=10)
    sources = [
        SourceHealth("ok", "u1", old, 0, None, NOW, NOW - timedelta(hours=2)),
        SourceHealth("down", "u2", old, 3, "http_5xx", NOW - timedelta(days=2), NOW - timedelta(days=2)),
        SourceHealth("mute", "u3", old, 0, None, NOW, NOW - timedelta(days=3)),
        SourceHealth("young", "u4", NOW - timedelta(hours=3), 0, None, NOW, None),
    ]
    troubles = troubled_sources(sources, NOW)
    assert [(t.name, t.problem) for t in troubles] == [("down", "failing"), ("mute", "silent")]
    assert troubles[0].detail == "http_5xx"


@pytest.mark.parametrize(
    ("frequency", "at", "weekday", "now", "expected"),
    [
        ("daily", "08:00", None, datetime(2026, 3, 10, 12, 0, tzinfo=UTC), datetime(2026, 3, 10, 7, 0, tzinfo=UTC)),
        ("daily", "14:00", None, datetime(2026, 3, 10, 12, 0, tzinfo=UTC), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
        # after the change to summer time, 08:00 in Paris is 06:00 UTC
        ("daily", "08:00", None, datetime(2026, 3, 30, 12, 0, tzinfo=UTC), datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
        ("weekly", "08:00", "monday", datetime(2026, 3, 10, 12, 0, tzinfo=UTC), datetime(2026, 3, 9, 7, 0, tzinfo=UTC)),
        (
            "weekly",
            "08:00",
            "wednesday",
            datetime(2026, 3, 10, 12, 0, tzinfo=UTC),
            datetime(2026, 3, 4, 7, 0, tzinfo=UTC),
        ),
    ],
    ids=["daily-today", "daily-yesterday", "daily-dst", "weekly-yesterday", "weekly-last-week"],
)
def test_last_slot(frequency, at, weekday, now, expected):
    assert last_slot(frequency=frequency, at=at, tz="Europe/Paris", weekday=weekday, now=now) == expected


@pytest.mark.parametrize(
    ("frequency", "covered_hours_ago", "expected"),
    [("daily", 30, True), ("daily", 2, False), ("instant", 30, False), ("weekly", 24 * 8, True)],
    ids=["daily-due", "daily-done", "instant-never", "weekly-due"],
)
def test_digest_due(frequency, covered_hours_ago, expected):
    covered = NOW - timedelta(hours=covered_hours_ago)
    assert (
        digest_due(frequency=frequency, at="08:00", tz="Europe/Paris", weekday="monday", covered_until=covered, now=NOW)
        is expected
    )
