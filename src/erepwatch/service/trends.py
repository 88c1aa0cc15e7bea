"""Trends: mentions per day by sentiment, share of voice between watches, the most active sites, spikes.

Counts are of stories (one per cluster) that nobody hid, by day in the reader's time zone. A day is a spike
when it exceeds the mean of the seven days before it by ``k`` standard deviations (and counts at least
``min_count``), the rule the spike alerts use.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, case, cast, func, select
from sqlalchemy.orm import Session

from erepwatch.db.models import Item, Mention, Watch
from erepwatch.db.search import muted, story_head
from erepwatch.enums import Sentiment, values
from erepwatch.notify.digest import DayVolume
from erepwatch.settings import DEFAULTS

SENTIMENTS = values(Sentiment)
#: One day's stories by sentiment: the digest's chart and the trends page count the same way.
DayCount = DayVolume


@dataclass(frozen=True, slots=True)
class WatchTrend:
    watch: str
    days: list[DayCount]
    spikes: frozenset[date] = frozenset()

    @property
    def total(self) -> int:
        return sum(d.total for d in self.days)


@dataclass(frozen=True, slots=True)
class TrendsReport:
    start: date
    end: date
    watches: list[WatchTrend]
    #: (watch, stories) over the period, largest first
    share: list[tuple[str, int]]
    #: (site, stories) over the period for the watches shown
    publishers: list[tuple[str, int]] = field(default_factory=list)


def spike_days(
    counts: Sequence[int],
    *,
    k: float = DEFAULTS.notify_spike_k,
    min_count: int = DEFAULTS.notify_spike_min_count,
    history: int = 7,
) -> set[int]:
    """Indexes of the days that exceed the mean of the ``history`` days before by ``k`` deviations."""
    out = set()
    for i in range(history, len(counts)):
        before = counts[i - history : i]
        mean = statistics.fmean(before)
        spread = max(statistics.pstdev(before), 1.0)
        if counts[i] >= min_count and counts[i] > mean + k * spread:
            out.add(i)
    return out


def trends(
    session: Session, watches: Sequence[str], *, days: int, now: datetime, tz: str = "UTC",
    k: float = DEFAULTS.notify_spike_k, min_count: int = DEFAULTS.notify_spike_min_count,
) -> TrendsReport:  # fmt: skip
    zone = ZoneInfo(tz)
    end = now.astimezone(zone).date()
    start = end - timedelta(days=days - 1)
    # Seven more days before the window, so a spike on its first days is judged like any other.
    read_from = datetime.combine(start - timedelta(days=7), datetime.min.time(), tzinfo=zone)
    ids = dict(session.execute(select(Watch.name, Watch.id).where(Watch.name.in_(list(watches)))).all())
    per: dict[str, dict[date, Counter[str]]] = {name: defaultdict(Counter) for name in ids}
    sites: Counter[str] = Counter()
    if ids:
        names = {v: k_ for k_, v in ids.items()}
        # Counted by the database per day of the reader's zone, with the zone's rules on each date (summer time).
        day_of = _day(session, zone, read_from, now).label("day")
        story = and_(
            Mention.watch_id.in_(list(ids.values())),
            Mention.published_at >= read_from,
            story_head(),
            Mention.irrelevant.is_(False),
        )
        hidden = muted(session)
        if hidden is not None:
            story = and_(story, ~hidden)
        rows = session.execute(
            select(Mention.watch_id, day_of, Mention.sentiment, func.count())
            .where(story)
            .group_by(Mention.watch_id, day_of, Mention.sentiment)
        )
        for watch_id, stamp, sentiment, count in rows:
            day = stamp if isinstance(stamp, date) else date.fromisoformat(str(stamp))
            per[names[watch_id]][day][sentiment if sentiment in SENTIMENTS else "neutral"] += count
        window_start = datetime.combine(start, datetime.min.time(), tzinfo=zone)
        top = session.execute(
            select(Item.publisher_domain, func.count())
            .join(Mention, Mention.item_id == Item.id)
            .where(story, Mention.published_at >= window_start, Item.publisher_domain.is_not(None))
            .group_by(Item.publisher_domain)
            .order_by(func.count().desc(), Item.publisher_domain)
            .limit(10)
        )
        sites.update({domain: count for domain, count in top if domain is not None})
    out = []
    span = [start - timedelta(days=7) + timedelta(days=i) for i in range(days + 7)]
    for name in watches:
        if name not in per:
            continue
        counts = [DayCount(d, **{s: per[name][d][s] for s in SENTIMENTS}) for d in span]
        spikes = spike_days([c.total for c in counts], k=k, min_count=min_count)
        shown = counts[7:]
        out.append(WatchTrend(name, shown, frozenset(counts[i].day for i in spikes if i >= 7)))
    share = sorted(((w.watch, w.total) for w in out), key=lambda p: (-p[1], p[0]))
    return TrendsReport(start, end, out, share, sorted(sites.items(), key=lambda p: (-p[1], p[0])))


def offset_periods(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime | None, timedelta]]:
    """The zone's UTC offsets between two instants: ``(until, offset)`` pairs in order, the last one's ``until``
    None (it lasts to ``end`` and beyond). Each change is found to the second (hourly steps, then halving)."""

    def offset(at: datetime) -> timedelta:
        return at.astimezone(zone).utcoffset() or timedelta(0)

    periods: list[tuple[datetime | None, timedelta]] = []
    at = start.astimezone(UTC)
    current = offset(at)
    step = timedelta(hours=1)
    while at < end:
        nxt = min(at + step, end)
        if offset(nxt) != current:
            low, high = at, nxt  # offset(low) == current != offset(high)
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == current else (low, middle)
            periods.append((high, current))
            current = offset(high)
            at = high
            continue
        at = nxt
    periods.append((None, current))
    return periods


def _shift(offset: timedelta) -> str:
    """SQLite's date modifier for an offset: ``+02:00``, ``-04:00``, ``+05:30``."""
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _day(session: Session, zone: ZoneInfo, start: datetime, now: datetime) -> Any:
    """The SQL expression of a mention's local day in ``zone``."""
    if session.get_bind().dialect.name != "sqlite":
        return cast(func.timezone(zone.key, Mention.published_at), Date)
    # SQLite knows no time zones: each stretch of one UTC offset (summer time, winter time) shifts by its own.
    periods = offset_periods(zone, start, now + timedelta(days=1))
    if len(periods) == 1:
        return func.date(Mention.published_at, _shift(periods[0][1]))
    whens = [
        (Mention.published_at < until, func.date(Mention.published_at, _shift(off))) for until, off in periods[:-1]
    ]
    return case(*whens, else_=func.date(Mention.published_at, _shift(periods[-1][1])))
