"""Next-check decisions: hints, publishing rhythm, window overlap, clamping, jitter, backoff, batches."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erepwatch.schedule import (
    MAX_BACKOFF,
    SLOW_FACTOR,
    Hints,
    Limits,
    adapted_interval,
    backoff_delay,
    cache_max_age,
    claim_lease,
    expires_in,
    hints_from,
    is_broken,
    next_check_after_failure,
    next_check_after_success,
    pick_batch,
    publishing_gap,
)

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)
NO_JITTER = Limits(jitter=0)


def rng() -> random.Random:
    return random.Random(42)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("max-age=600", timedelta(seconds=600)),
        ("public, max-age=3600, must-revalidate", H),
        ('max-age="120"', timedelta(seconds=120)),
        ("no-store, max-age=600", None),
        ("no-cache", None),
        ("max-age=soon", None),
        ("private", None),
        (None, None),
    ],
    ids=["plain", "among-others", "quoted", "no-store-wins", "no-cache", "invalid", "absent", "none"],
)
def test_cache_max_age(header, expected):
    assert cache_max_age(header) == expected


@pytest.mark.parametrize(
    ("expires", "date", "expected"),
    [
        ("Sun, 29 Mar 2026 13:00:00 GMT", None, H),
        # The server's clock is 10 minutes ahead: Expires is read against its Date, not ours.
        ("Sun, 29 Mar 2026 13:10:00 GMT", "Sun, 29 Mar 2026 12:10:00 GMT", H),
        ("Sun, 29 Mar 2026 11:00:00 GMT", None, None),
        ("0", None, None),
        (None, None, None),
    ],
    ids=["future", "against-date", "past", "invalid-means-expired", "absent"],
)
def test_expires_in(expires, date, expected):
    assert expires_in(expires, date, NOW) == expected


def test_hints_from_headers_and_ttl():
    hints = hints_from({"cache-control": "max-age=1800", "expires": "Sun, 29 Mar 2026 12:20:00 GMT"}, 90, NOW)
    assert hints == Hints(ttl=90 * M, max_age=30 * M, expires=20 * M)
    assert hints.floor == 90 * M
    assert hints_from({}, None, NOW).floor is None
    assert hints_from({}, 0, NOW).ttl is None


def _every(gap: timedelta, n: int, newest: datetime = NOW) -> list[datetime]:
    return [newest - gap * i for i in range(n)]


@pytest.mark.parametrize(
    ("history", "window", "expected"),
    [
        ((), (), H),
        (_every(30 * M, 10), (), H),  # busier than the base: the base stands
        (_every(6 * H, 10), (), 3 * H),  # every 6 h: check every 3 h
        (_every(timedelta(days=2), 10), (), SLOW_FACTOR * H),  # slower still: capped at SLOW_FACTOR × base
        (_every(H, 10, newest=NOW - timedelta(days=30)), (), SLOW_FACTOR * H),  # idle for a month
        ((), _every(5 * M, 20), 47.5 * M),  # 20 entries over 95 min: come back before half has scrolled by
        (_every(6 * H, 10), _every(2 * M, 10), 9 * M),  # a burst in the window beats the slow history
        ((), _every(M, 3), H),  # too few entries to judge the window
    ],
    ids=["nothing-known", "busy", "every-6h", "slow-capped", "idle", "window-overflow", "burst", "short-window"],
)
def test_adapted_interval(history, window, expected):
    assert adapted_interval(H, history=history, window=window, now=NOW) == expected


def test_publishing_gap_needs_three_dates_and_ignores_duplicates():
    assert publishing_gap([NOW, NOW - H]) is None
    assert publishing_gap([NOW, NOW, NOW - H, NOW - 3 * H]) == 1.5 * H


@pytest.mark.parametrize(
    ("base", "hints", "limits", "expected"),
    [
        (H, Hints(), NO_JITTER, H),
        (H, Hints(ttl=2 * H), NO_JITTER, 2 * H),  # hints push later…
        (H, Hints(max_age=10 * M), NO_JITTER, H),  # …never earlier
        (H, Hints(expires=3 * H), NO_JITTER, 3 * H),
        (M, Hints(), NO_JITTER, 5 * M),  # clamped to the minimum
        (H, Hints(ttl=timedelta(days=7)), NO_JITTER, 24 * H),  # and to the maximum, whatever the hint
        (10 * M, Hints(), Limits(min_interval=timedelta(seconds=1), jitter=0), 10 * M),
    ],
    ids=["base", "ttl-later", "max-age-never-earlier", "expires", "min-clamp", "max-clamp", "custom-min"],
)
def test_next_check_after_success(base, hints, limits, expected):
    assert next_check_after_success(base, now=NOW, hints=hints, limits=limits, rng=rng()) - NOW == expected


def test_jitter_is_seeded_bounded_and_spreads_sources():
    limits = Limits(jitter=0.1)
    delays = [next_check_after_success(H, now=NOW, limits=limits, rng=random.Random(seed)) - NOW for seed in range(50)]
    assert all(0.9 * H <= d <= 1.1 * H for d in delays)
    assert len(set(delays)) > 40  # sources added together do not stay in lockstep
    again = [next_check_after_success(H, now=NOW, limits=limits, rng=random.Random(seed)) - NOW for seed in range(50)]
    assert delays == again


@given(
    base=st.integers(1, 200_000).map(lambda s: timedelta(seconds=s)),
    ttl=st.none() | st.integers(1, 10_000),
    seed=st.integers(0, 2**32),
)
def test_success_never_below_minimum_nor_before_hint(base, ttl, seed):
    limits = Limits()
    delay = (
        next_check_after_success(
            base,
            now=NOW,
            hints=Hints(ttl=timedelta(minutes=ttl) if ttl else None),
            limits=limits,
            rng=random.Random(seed),
        )
        - NOW
    )
    assert delay >= limits.min_interval
    assert delay <= limits.max_interval * (1 + limits.jitter)
    if ttl:
        assert delay >= min(timedelta(minutes=ttl), limits.max_interval)


@pytest.mark.parametrize(
    ("failures", "retry_after", "expected"),
    [
        (1, None, H),
        (2, None, 2 * H),
        (4, None, 8 * H),
        (6, None, MAX_BACKOFF),  # capped: a broken source is still tried daily
        (200, None, MAX_BACKOFF),
        (1, 7200.0, 2 * H),  # Retry-After beats a shorter backoff
        (5, 60.0, 16 * H),  # but never shortens it
    ],
    ids=["first", "second", "fourth", "capped", "huge-count", "retry-after", "retry-after-shorter"],
)
def test_backoff(failures, retry_after, expected):
    assert backoff_delay(H, failures, retry_after) == expected
    got = next_check_after_failure(H, failures, now=NOW, retry_after=retry_after, limits=NO_JITTER, rng=rng())
    assert got - NOW == expected


def test_failure_with_jitter_never_before_retry_after():
    for seed in range(30):
        when = next_check_after_failure(
            10 * M, 1, now=NOW, retry_after=600.0, limits=Limits(jitter=0.1), rng=random.Random(seed)
        )
        assert when - NOW >= 10 * M


def test_broken_after_many_failures():
    assert not is_broken(0) and not is_broken(7) and is_broken(8) and is_broken(50)


@pytest.mark.parametrize(
    ("candidates", "batch", "per_host", "expected"),
    [
        ([(1, "a"), (2, "a"), (3, "a"), (4, "b")], 10, 2, [1, 2, 4]),
        ([(1, "a"), (2, "b"), (3, "c"), (4, "d")], 2, 5, [1, 2]),
        ([(1, "A"), (2, "a"), (3, None), (4, None)], 10, 1, [1, 3]),
        ([], 10, 2, []),
    ],
    ids=["per-host-cap", "batch-size", "case-and-hostless", "empty"],
)
def test_pick_batch(candidates, batch, per_host, expected):
    assert pick_batch(candidates, batch=batch, per_host=per_host) == expected


def test_claim_lease_is_the_shorter():
    assert claim_lease(H, 10 * M) == 10 * M and claim_lease(2 * M, 10 * M) == 2 * M
