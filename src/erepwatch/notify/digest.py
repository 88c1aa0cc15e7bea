"""What goes in a digest: pure decisions on plain rows (no database, no clock — ``now`` is given).

Schedules (when is a recipient's digest due), which mentions a recipient wants, how they are grouped and
ordered, the counts of the header, the 14-day chart and the sources in trouble of the footer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from erepwatch.db.mention_views import MentionView
from erepwatch.enums import DIGEST_FREQUENCIES, SEVERITY, Frequency

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CHART_DAYS = 14
#: A source that brought nothing new for this long is "silent" in the footer.
SILENT_AFTER = timedelta(days=1)


def wanted(row: MentionView, min_sentiment: str | None) -> bool:
    """Does a recipient with this ``min_sentiment`` want the mention? Crisis-tagged ones always pass."""
    if not min_sentiment or min_sentiment not in SEVERITY:
        return True
    return row.alarming or SEVERITY.get(row.sentiment, 1) <= SEVERITY[min_sentiment]


@dataclass(frozen=True, slots=True)
class Counts:
    negative: int = 0
    neutral: int = 0
    positive: int = 0

    @property
    def total(self) -> int:
        return self.negative + self.neutral + self.positive

    @classmethod
    def of(cls, sentiments: Iterable[str]) -> Counts:
        c = Counter(s if s in SEVERITY else "neutral" for s in sentiments)
        return cls(c["negative"], c["neutral"], c["positive"])


@dataclass(frozen=True, slots=True)
class Entry:
    """One story: its earliest mention in the period, and the other publishers that carried it."""

    mention: MentionView
    others: tuple[str, ...]
    size: int
    alarming: bool


@dataclass(frozen=True, slots=True)
class Section:
    watch: str
    entries: tuple[Entry, ...]
    counts: Counts


@dataclass(frozen=True, slots=True)
class DayVolume:
    day: date
    negative: int = 0
    neutral: int = 0
    positive: int = 0

    @property
    def total(self) -> int:
        return self.negative + self.neutral + self.positive


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    url: str
    created_at: datetime
    consecutive_failures: int
    last_error_kind: str | None
    last_success_at: datetime | None
    last_new_item_at: datetime | None


@dataclass(frozen=True, slots=True)
class Trouble:
    name: str
    url: str
    problem: str  # failing | silent
    detail: str | None
    since: datetime | None


@dataclass(frozen=True, slots=True)
class Digest:
    period_start: datetime
    period_end: datetime
    sections: tuple[Section, ...]
    chart: tuple[DayVolume, ...] = ()
    troubles: tuple[Trouble, ...] = ()
    mention_ids: tuple[int, ...] = field(default=())

    @property
    def counts(self) -> Counts:
        return Counts(
            sum(s.counts.negative for s in self.sections),
            sum(s.counts.neutral for s in self.sections),
            sum(s.counts.positive for s in self.sections),
        )

    @property
    def empty(self) -> bool:
        return not self.sections


def group_sections(rows: Sequence[MentionView]) -> tuple[Section, ...]:
    """By watch (by name); in a watch: alarming stories first, then bigger clusters, then newer."""
    by_watch: dict[str, list[MentionView]] = defaultdict(list)
    for row in rows:
        by_watch[row.watch].append(row)
    sections = []
    for watch in sorted(by_watch, key=str.casefold):
        clusters: dict[int, list[MentionView]] = defaultdict(list)
        for row in by_watch[watch]:
            clusters[row.cluster_id or row.id].append(row)
        entries = []
        for members in clusters.values():
            members.sort(key=lambda r: (r.published, r.id))
            head = members[0]
            others = []
            for m in members[1:]:
                name = m.source or "?"
                if name != head.source and name not in others:
                    others.append(name)
            alarming = any(m.alarming for m in members)
            entries.append(Entry(head, tuple(others), len(members), alarming))
        entries.sort(key=lambda e: (not e.alarming, -e.size, -e.mention.published.timestamp(), e.mention.id))
        sections.append(Section(watch, tuple(entries), Counts.of(e.mention.sentiment for e in entries)))
    return tuple(sections)


def build_digest(
    rows: Sequence[MentionView],
    *,
    start: datetime,
    end: datetime,
    chart: Sequence[DayVolume] = (),
    troubles: Sequence[Trouble] = (),
) -> Digest:
    return Digest(start, end, group_sections(rows), tuple(chart), tuple(troubles), tuple(sorted(r.id for r in rows)))


def chart_days(
    points: Iterable[tuple[datetime, str]], *, end: datetime, tz: str, days: int = CHART_DAYS
) -> tuple[DayVolume, ...]:
    """Mentions per local day and sentiment for the ``days`` days ending on ``end``'s local date."""
    zone = ZoneInfo(tz)
    last = end.astimezone(zone).date()
    first = last - timedelta(days=days - 1)
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for when, sentiment in points:
        day = when.astimezone(zone).date()
        if first <= day <= last:
            counts[day][sentiment if sentiment in SEVERITY else "neutral"] += 1
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        c = counts.get(day, Counter())
        out.append(DayVolume(day, c["negative"], c["neutral"], c["positive"]))
    return tuple(out)


def troubled_sources(sources: Iterable[SourceHealth], now: datetime) -> tuple[Trouble, ...]:
    """Failing sources, and sources that brought nothing new for a day (once they are a day old)."""
    out = []
    for s in sources:
        if s.consecutive_failures > 0:
            out.append(Trouble(s.name, s.url, "failing", s.last_error_kind, s.last_success_at))
            continue
        latest = s.last_new_item_at or s.created_at
        if now - s.created_at >= SILENT_AFTER and now - latest >= SILENT_AFTER:
            out.append(Trouble(s.name, s.url, "silent", None, s.last_new_item_at))
    return tuple(sorted(out, key=lambda t: (t.problem != "failing", t.name.casefold())))


# --- schedules -------------------------------------------------------------------------------------------


def parse_at(at: str) -> tuple[int, int]:
    hour, sep, minute = at.partition(":")
    if not sep or not hour.isdigit() or not minute.isdigit() or not (0 <= int(hour) < 24 and 0 <= int(minute) < 60):
        raise ValueError(f"time of day must be HH:MM, got {at!r}")
    return int(hour), int(minute)


def last_slot(*, frequency: str, at: str, tz: str, weekday: str | None, now: datetime) -> datetime:
    """The latest scheduled digest time at or before ``now`` (local wall time, so 08:00 stays 08:00 across DST)."""
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {tz!r}") from exc
    local = now.astimezone(zone)
    hour, minute = parse_at(at)
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if frequency == Frequency.WEEKLY:
        day = weekday or "monday"
        if day not in WEEKDAYS:
            raise ValueError(f"weekday must be one of {', '.join(WEEKDAYS)}, got {day!r}")
        slot -= timedelta(days=(local.weekday() - WEEKDAYS.index(day)) % 7)
        if slot > local:
            slot -= timedelta(days=7)
    elif slot > local:
        slot -= timedelta(days=1)
    return slot.astimezone(UTC)


def digest_due(
    *, frequency: str, at: str, tz: str, weekday: str | None, covered_until: datetime, now: datetime
) -> bool:
    """A scheduled digest is due when a slot passed after the end of what earlier digests covered."""
    if frequency not in DIGEST_FREQUENCIES:
        return False
    return covered_until < last_slot(frequency=frequency, at=at, tz=tz, weekday=weekday, now=now)


def counts_by_watch(digest: Digest) -> Mapping[str, Counts]:
    return {s.watch: s.counts for s in digest.sections}
