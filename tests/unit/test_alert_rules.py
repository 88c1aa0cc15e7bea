"""Spike detection with its numbers, daily windows, the alert rate limit and what an instant alert carries."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erepwatch.db.mention_views import MentionView
from erepwatch.notify.alert_rules import (
    StoryChange,
    alarming_for,
    alert_allowed,
    alerted_stories,
    daily_counts,
    detect_spike,
    stories_to_alert,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("count", "previous", "expected"),
    [
        (5, [0] * 7, True),  # nothing for a week, then 5
        (4, [0] * 7, False),  # under the minimum count
        (11, [10] * 7, False),  # steady 10 a day: √10 of natural noise
        (30, [10] * 7, True),
        (20, [2, 30, 1, 25, 3, 28, 2], False),  # a watch that is always bursty
        (60, [2, 30, 1, 25, 3, 28, 2], True),
    ],
    ids=["from-zero", "below-min", "steady-noise", "steady-burst", "bursty-normal", "bursty-spike"],
)
def test_detect_spike(count, previous, expected):
    check = detect_spike(count, previous, k=3, min_count=5)
    assert check.is_spike is expected
    assert check.threshold == pytest.approx(check.mean + 3 * max(check.std, math.sqrt(check.mean)))


@given(st.lists(st.integers(0, 200), min_size=7, max_size=7), st.integers(0, 500))
def test_spike_is_exactly_the_stated_rule(previous, count):
    check = detect_spike(count, previous, k=3, min_count=5)
    assert check.is_spike == (count >= 5 and count > check.threshold)
    assert set(check.as_dict()) >= {"count", "mean", "std", "threshold", "k"}


def test_daily_counts_windows():
    published = [NOW - timedelta(hours=h) for h in (1, 23, 25, 47, 49, 24 * 7 + 1, 24 * 8 + 1)]
    published.append(NOW + timedelta(hours=2))  # dated in the future: ignored
    last, previous = daily_counts(published, now=NOW)
    assert last == 2
    assert previous == [1, 0, 0, 0, 0, 1, 2]


@pytest.mark.parametrize(
    ("minutes_ago", "expected"),
    [(None, True), (3, False), (10, True), (60, True)],
    ids=["never", "too-soon", "exactly-interval", "long-ago"],
)
def test_alert_rate_limit(minutes_ago, expected):
    last = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
    assert alert_allowed(last, NOW, timedelta(minutes=10)) is expected


def test_alert_carries_negative_and_crisis_only():
    def m(id_, sentiment, tags=()):
        return MentionView(id_, 1, "Acme", id_, "t", None, None, NOW, NOW, sentiment, tuple(tags))

    rows = [m(1, "negative"), m(2, "neutral"), m(3, "positive", ("crisis",)), m(4, "positive")]
    assert [r.id for r in alarming_for(rows, None)] == [1, 3]


# --- one alert per story (issue 16 point 4) ---------------------------------------------------------------


def _member(id_: int, story: int, sentiment: str = "negative", tags: tuple[str, ...] = (), publisher: str = "p"):
    return MentionView(id_, 1, "Acme", story, f"title {story}", None, publisher, NOW, NOW, sentiment, tags)


def test_a_story_already_alerted_is_not_alerted_again():
    alerted = alerted_stories([_member(1, 1)])
    kept, changes = stories_to_alert([_member(5, 1), _member(6, 6)], alerted)
    assert [r.id for r in kept] == [6] and changes == {}


def test_a_story_alerted_again_when_it_turns_negative_or_gains_a_crisis_tag():
    alerted = alerted_stories([_member(1, 1, "neutral", ("crisis",)), _member(2, 2)])
    kept, changes = stories_to_alert(
        [_member(5, 1, "negative"), _member(6, 2, "negative", ("crisis",)), _member(7, 2, "negative")], alerted
    )
    assert [r.id for r in kept] == [5, 6, 7]
    assert changes == {1: StoryChange.NEGATIVE, 2: StoryChange.CRISIS}


def test_new_members_of_a_new_story_are_all_kept_for_the_count_of_sources():
    kept, changes = stories_to_alert([_member(3, 3, publisher="a"), _member(4, 3, publisher="b")], {})
    assert [r.id for r in kept] == [3, 4] and not changes
