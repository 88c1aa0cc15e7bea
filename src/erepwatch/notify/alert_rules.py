"""Instant alerts and spike detection: pure decisions with their numbers, so each alert can say why."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean, pstdev

from erepwatch.db.mention_views import MentionView
from erepwatch.notify.digest import wanted


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


def detect_spike(count: int, previous_days: Sequence[int], *, k: float = 3.0, min_count: int = 5) -> SpikeCheck:
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
