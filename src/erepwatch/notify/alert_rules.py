"""Instant alerts and spike detection: pure decisions with their numbers, so each alert can say why."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from statistics import fmean, pstdev

from erepwatch.db.mention_views import MentionView
from erepwatch.enums import CRISIS_TAGS
from erepwatch.notify.digest import wanted
from erepwatch.settings import DEFAULTS


@dataclass(frozen=True, slots=True)
class SpikeCheck:
    """The numbers behind a spike decision, shown as they are in the alert."""

    count: int  # mentions in the last 24 h
    mean: float  # daily mean over the 7 days before
    std: float  # population standard deviation of those 7 daily counts
    spread: float  # the deviation used: max(std, √mean), a count's own Poisson noise
    k: float
    threshold: float  # mean + k × spread
    min_count: int
    is_spike: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "count": self.count,
            "mean": round(self.mean, 2),
            "std": round(self.std, 2),
            "spread": round(self.spread, 2),
            "k": self.k,
            "threshold": round(self.threshold, 2),
            "min_count": self.min_count,
            "is_spike": self.is_spike,
        }


def spike_from_details(d: dict) -> SpikeCheck:
    """A SpikeCheck back from the numbers a delivery recorded (``SpikeCheck.as_dict``)."""
    return SpikeCheck(
        int(d["count"]),
        float(d["mean"]),
        float(d["std"]),
        float(d["spread"]),
        float(d["k"]),
        float(d["threshold"]),
        int(d["min_count"]),
        bool(d.get("is_spike", True)),
    )


def detect_spike(
    count: int,
    previous_days: Sequence[int],
    *,
    k: float = DEFAULTS.notify_spike_k,
    min_count: int = DEFAULTS.notify_spike_min_count,
) -> SpikeCheck:
    """Is ``count`` (last 24 h) more than ``k`` deviations above the mean of ``previous_days`` (7 daily counts)?

    The deviation is never taken below √mean: a steady 10 a day would otherwise make 11 a "spike", while
    day-to-day counts of independent articles naturally vary by about √mean (Poisson). ``min_count`` keeps a
    quiet watch from alarming on a couple of articles.
    """
    days = list(previous_days) or [0]
    mean = fmean(days)
    std = pstdev(days)
    spread = max(std, math.sqrt(mean))
    threshold = mean + k * spread
    return SpikeCheck(count, mean, std, spread, k, threshold, min_count, count >= min_count and count > threshold)


def daily_counts(published: Sequence[datetime], *, now: datetime, days: int = 7) -> tuple[int, list[int]]:
    """(mentions in the last 24 h, one count per earlier 24-hour window, oldest first)."""
    day = timedelta(days=1)
    last = 0
    previous = [0] * days
    for p in published:
        age = now - p
        if age < timedelta(0):
            continue  # dated in the future: no window holds it
        index = age // day  # 0 is the last 24 h
        if index == 0:
            last += 1
        elif index <= days:
            previous[days - index] += 1
    return last, previous


def alarming_for(rows: Sequence[MentionView], min_sentiment: str | None) -> list[MentionView]:
    """The mentions an instant recipient is alerted about: negative or crisis-tagged, within its filter."""
    return [r for r in rows if r.alarming and wanted(r, min_sentiment)]


def alert_allowed(last_alert_at: datetime | None, now: datetime, min_interval: timedelta) -> bool:
    """At most one alert per ``min_interval``; what is held back goes out in the next one, batched."""
    return last_alert_at is None or now - last_alert_at >= min_interval


@dataclass(frozen=True, slots=True)
class AlertedStory:
    """What an earlier alert already told a recipient about one story."""

    negative: bool
    crisis: bool


class StoryChange(StrEnum):
    """Why a story already alerted is alerted again."""

    NEGATIVE = "negative"  # no member alerted so far was negative; a new one is
    CRISIS = "crisis"  # a new member adds a crisis tag the alerted ones did not have


def alerted_stories(rows: Sequence[MentionView]) -> dict[int, AlertedStory]:
    """The stories (by id) of mentions carried by earlier alerts, with what those alerts said."""
    out: dict[int, AlertedStory] = {}
    for r in rows:
        prior = out.get(r.cluster_id, AlertedStory(False, False))
        out[r.cluster_id] = AlertedStory(
            prior.negative or r.sentiment == "negative", prior.crisis or bool(CRISIS_TAGS.intersection(r.tags))
        )
    return out


def stories_to_alert(
    rows: Sequence[MentionView], alerted: Mapping[int, AlertedStory]
) -> tuple[list[MentionView], dict[int, StoryChange]]:
    """One alert per story: the new alarming ``rows`` whose story was not alerted yet, and those of an alerted
    story that it changes (turns negative, or adds a crisis tag — said in the alert). Returns the rows kept
    (every new member of a kept story, so the alert can say "+N sources") and the change per story id."""
    by_story: dict[int, list[MentionView]] = {}
    for r in rows:
        by_story.setdefault(r.cluster_id, []).append(r)
    kept: list[MentionView] = []
    changes: dict[int, StoryChange] = {}
    for story, members in by_story.items():
        prior = alerted.get(story)
        if prior is not None:
            if not prior.negative and any(m.sentiment == "negative" for m in members):
                changes[story] = StoryChange.NEGATIVE
            elif not prior.crisis and any(CRISIS_TAGS.intersection(m.tags) for m in members):
                changes[story] = StoryChange.CRISIS
            else:
                continue
        kept.extend(members)
    return kept, changes
