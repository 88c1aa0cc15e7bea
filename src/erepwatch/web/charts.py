"""Server-side SVG charts (no script, no library): a day chart per watch with spikes marked, a share-of-voice
bar. Functions return plain geometry; the templates draw it, so every label is escaped like any other text.
The SVGs scale to their container (``viewBox``), so a phone shows them whole."""

from __future__ import annotations

from dataclasses import dataclass

from erepwatch.service.trends import SENTIMENTS, WatchTrend
from erepwatch.web.i18n import Translator

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 600, 180, 28, 20, 14


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    sentiment: str
    title: str


@dataclass(frozen=True, slots=True)
class DayChart:
    width: int
    height: int
    bars: list[Bar]
    #: (x, label) under the axis
    ticks: list[tuple[float, str]]
    #: (x, y) of each spike's marker
    spikes: list[tuple[float, float]]
    top: int
    base: float


def day_chart(trend: WatchTrend, t: Translator) -> DayChart:
    n = max(1, len(trend.days))
    top = max([d.total for d in trend.days] + [1])
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    step = (WIDTH - PAD_LEFT) / n
    bars: list[Bar] = []
    spikes: list[tuple[float, float]] = []
    ticks = []
    base = HEIGHT - PAD_BOTTOM
    every = max(1, n // 6)
    for i, day in enumerate(trend.days):
        x = PAD_LEFT + i * step
        y = base
        label = t.day(day.day)
        for sentiment in SENTIMENTS:
            value = getattr(day, sentiment)
            if not value:
                continue
            h = value / top * plot_h
            y -= h
            bars.append(Bar(round(x + step * 0.1, 1), round(y, 1), round(step * 0.8, 1), round(h, 1), sentiment,
                            f"{label}: {value} {t(sentiment)}"))  # fmt: skip
        if day.day in trend.spikes:
            spikes.append((round(x + step / 2, 1), round(max(y - 6, 6), 1)))
        if i % every == 0:
            ticks.append((round(x + step / 2, 1), label))
    return DayChart(WIDTH, HEIGHT, bars, ticks, spikes, top, base)


@dataclass(frozen=True, slots=True)
class ShareSlice:
    watch: str
    count: int
    percent: float
    x: float
    w: float
    colour: int


def share_bar(share: list[tuple[str, int]]) -> list[ShareSlice]:
    total = sum(c for _, c in share)
    if not total:
        return []
    out = []
    x = 0.0
    for i, (watch, count) in enumerate(share):
        w = count / total * WIDTH
        out.append(ShareSlice(watch, count, round(100 * count / total, 1), round(x, 1), round(w, 1), i % 6))
        x += w
    return out
