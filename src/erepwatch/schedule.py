"""When is a source checked next? Pure decisions, no clock, no I/O (like lemon24/reader's ``Decider``).

Given a source's base interval, what the last response said about caching (RSS ``ttl``, ``Cache-Control:
max-age``, ``Expires``, ``Retry-After``), when its entries were published and how many times it failed in a
row, these functions return the next check time. ``now`` and the random generator are always passed in, so
tests need neither a server nor a database nor a fake clock.

Rules, in order:

1. start from the base interval (the source's own, or the default for its kind);
2. adapt to the feed's publishing rate: a feed that publishes every few days is checked less often (up to
   :data:`SLOW_FACTOR` times the base), and a feed whose window of entries is short is checked often enough
   that two consecutive fetches overlap, so a busy feed never pushes an entry out unseen;
3. honour the publisher's hints, which only ever push the next check *later* (RSS 2.0 ``ttl``; RFC 9111 §5.2.2.1
   ``max-age`` and §5.3 ``Expires``: asking again before the response is stale only gets the same bytes);
4. clamp between the configured minimum and maximum;
5. add jitter, so sources added together do not stay in lockstep and hit hosts at the same second.

A failing source backs off exponentially from its interval (never less than a ``Retry-After``) and is checked
at least once per :data:`MAX_BACKOFF`: it is never silently dropped, and after :data:`BROKEN_AFTER` failures in
a row :func:`is_broken` says so, for ``source list`` and the web page.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from erepwatch.settings import DEFAULTS

#: A failing source is retried later and later, but at least once a day.
MAX_BACKOFF = timedelta(hours=24)
#: Consecutive failures after which a source is shown as broken (still retried, at most daily).
BROKEN_AFTER = 8
#: A quiet feed is checked at most this many times less often than its base interval.
SLOW_FACTOR = 4
#: How many of the newest publication dates tell a feed's rhythm.
HISTORY = 20
#: Entries in a window shorter than this many are too few to tell whether the window overflows.
MIN_WINDOW_ENTRIES = 5
#: A feed whose newest entry is older than this is idle: checked at the slow end.
IDLE_AFTER = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Hints:
    """What the publisher said about when to come back; each is a duration from the response's time."""

    ttl: timedelta | None = None
    max_age: timedelta | None = None
    expires: timedelta | None = None

    @property
    def floor(self) -> timedelta | None:
        values = [v for v in (self.ttl, self.max_age, self.expires) if v is not None and v > timedelta(0)]
        return max(values) if values else None


@dataclass(frozen=True, slots=True)
class Limits:
    min_interval: timedelta = DEFAULTS.poll_min_interval
    max_interval: timedelta = DEFAULTS.poll_max_interval
    jitter: float = DEFAULTS.poll_jitter


def cache_max_age(cache_control: str | None) -> timedelta | None:
    """``max-age`` of a Cache-Control header (RFC 9111 §5.2.2.1); None when absent, invalid or ``no-store``."""
    if not cache_control:
        return None
    directives = {}
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return None
    raw = directives.get("max-age")
    if raw is None or not raw.isdigit():
        return None
    return timedelta(seconds=int(raw))


def expires_in(expires: str | None, date: str | None, now: datetime) -> timedelta | None:
    """How long until ``Expires``, measured against the response's ``Date`` when given (RFC 9111 §4.2.1)
    so that a server with a wrong clock is not misread; an invalid date means "already expired" (§5.3)."""
    if not expires:
        return None
    try:
        when = parsedate_to_datetime(expires)
        origin = parsedate_to_datetime(date) if date else now
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None or origin.tzinfo is None:
        return None
    delta = when - origin
    return delta if delta > timedelta(0) else None


def hints_from(headers: Mapping[str, str], ttl_minutes: int | None, now: datetime) -> Hints:
    """The hints of one response: its (lower-cased) headers and the feed's ``<ttl>``."""
    ttl = timedelta(minutes=ttl_minutes) if ttl_minutes and ttl_minutes > 0 else None
    return Hints(
        ttl=ttl,
        max_age=cache_max_age(headers.get("cache-control")),
        expires=expires_in(headers.get("expires"), headers.get("date"), now),
    )


def publishing_gap(published: Sequence[datetime]) -> timedelta | None:
    """Median time between the newest entries, or None with fewer than three dates."""
    dates = sorted(set(published), reverse=True)[:HISTORY]
    if len(dates) < 3:
        return None
    gaps = [(a - b).total_seconds() for a, b in itertools.pairwise(dates)]
    return timedelta(seconds=statistics.median(gaps))


def window_span(published: Sequence[datetime]) -> timedelta | None:
    """Time covered by the entries of one response (newest - oldest), when it has enough of them."""
    if len(published) < MIN_WINDOW_ENTRIES:
        return None
    return max(published) - min(published)


def adapted_interval(
    base: timedelta,
    *,
    history: Sequence[datetime] = (),
    window: Sequence[datetime] = (),
    now: datetime,
) -> timedelta:
    """The base interval adapted to how the feed publishes (rule 2), before hints and clamping."""
    interval = base
    if history:
        newest = max(history)
        gap = publishing_gap(history)
        if now - newest > IDLE_AFTER:
            interval = base * SLOW_FACTOR
        elif gap is not None and gap / 2 > base:
            interval = min(gap / 2, base * SLOW_FACTOR)
    span = window_span(window)
    if span is not None and span > timedelta(0):
        # Check again before half the window has scrolled by: consecutive fetches then overlap.
        interval = min(interval, span / 2)
    return interval


def clamp(value: timedelta, limits: Limits) -> timedelta:
    return max(limits.min_interval, min(value, limits.max_interval))


def jittered(delay: timedelta, fraction: float, rng: random.Random) -> timedelta:
    """``delay`` spread uniformly by ± ``fraction``."""
    if fraction <= 0:
        return delay
    return delay * (1 + rng.uniform(-fraction, fraction))


def next_check_after_success(
    base: timedelta,
    *,
    now: datetime,
    hints: Hints = Hints(),
    history: Sequence[datetime] = (),
    window: Sequence[datetime] = (),
    limits: Limits = Limits(),
    rng: random.Random,
) -> datetime:
    """When to check a source whose fetch succeeded (200 or 304)."""
    interval = adapted_interval(base, history=history, window=window, now=now)
    floor = hints.floor
    if floor is not None:
        interval = max(interval, floor)
    interval = clamp(interval, limits)
    # Jitter may never take the check below the minimum nor before a publisher's hint.
    lowest = max(limits.min_interval, min(floor, limits.max_interval) if floor else timedelta(0))
    return now + max(jittered(interval, limits.jitter, rng), lowest)


def backoff_delay(interval: timedelta, failures: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff after ``failures`` consecutive failures, honouring Retry-After, capped at a day
    (or at the interval itself when that is longer than a day)."""
    delay = min(interval * (2 ** max(0, min(failures, 32) - 1)), max(MAX_BACKOFF, interval))
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def next_check_after_failure(
    base: timedelta,
    failures: int,
    *,
    now: datetime,
    retry_after: float | None = None,
    limits: Limits = Limits(),
    rng: random.Random,
) -> datetime:
    """When to retry a source that has now failed ``failures`` times in a row."""
    delay = backoff_delay(clamp(base, limits), failures, retry_after)
    lowest = timedelta(seconds=retry_after) if retry_after else limits.min_interval
    # Jitter only ever adds here: a Retry-After is a floor, and the cap (a day) may be exceeded by a few %.
    return now + max(jittered(delay, limits.jitter, rng), lowest)


def is_broken(failures: int) -> bool:
    return failures >= BROKEN_AFTER


def pick_batch(
    candidates: Sequence[tuple[int, str | None]],
    *,
    batch: int,
    per_host: int,
    host_budget: Callable[[str], int] | None = None,
) -> list[int]:
    """Ids of at most ``batch`` sources, in the given (most overdue first) order, with at most ``per_host``
    of them on one host: one slow or throttling site must not fill a batch and starve the others.
    ``host_budget`` lowers the cap of hosts with a politeness interval (see ``HostGate.budget``)."""
    chosen: list[int] = []
    per: dict[str, int] = {}
    caps: dict[str, int] = {}
    for source_id, host in candidates:
        key = (host or "").lower()
        if key not in caps:
            caps[key] = min(per_host, host_budget(key)) if host_budget and key else per_host
        if per.get(key, 0) >= caps[key]:
            continue
        per[key] = per.get(key, 0) + 1
        chosen.append(source_id)
        if len(chosen) >= batch:
            break
    return chosen


def claim_lease(interval: timedelta, lease: timedelta) -> timedelta:
    """How far a claim pushes ``next_check_at`` before fetching: the shorter of the interval and ``lease``.

    The real next check is written when the source's outcome is recorded; the claim only matters when the
    process dies in between, and then the source is retried after the lease rather than a whole interval.
    """
    return min(interval, lease)
