"""From matches to mention records: snippet, explained spans, and whether the mention is news."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from erepwatch.analyze.matcher import Match, MatchItem, Span
from erepwatch.analyze.sentiment import SentimentScorer
from erepwatch.analyze.snippet import make_snippet
from erepwatch.analyze.tags import Tagger

#: Items published this long before a watch or source existed are history, not news: stored, never notified.
BACKFILL_GRACE = timedelta(hours=24)


class WatchLike(Protocol):
    id: int
    created_at: datetime
    tags: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MentionDraft:
    watch_id: int
    item_id: int
    published: datetime
    spans: tuple[Span, ...]
    snippet: str
    snippet_marks: tuple[tuple[int, int], ...]
    notify: bool
    sentiment: str = "neutral"
    score: float = 0.0
    keywords: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def as_row(self, now: datetime) -> dict[str, Any]:
        return {
            "watch_id": self.watch_id,
            "item_id": self.item_id,
            "created_at": now,
            "published_at": self.published,
            "spans": [s._asdict() for s in self.spans],
            "snippet": self.snippet,
            "snippet_marks": [list(m) for m in self.snippet_marks],
            "sentiment": self.sentiment,
            "score": self.score,
            "keywords": list(self.keywords),
            "tags": list(self.tags),
            "notify": self.notify,
        }


def is_news(
    published: datetime,
    *,
    watch_created_at: datetime,
    source_created_at: datetime | None,
    grace: timedelta = BACKFILL_GRACE,
) -> bool:
    """A first poll is not news: only what appeared after (or shortly before, ``grace``) watch and source existed."""
    since = max(watch_created_at, source_created_at or watch_created_at)
    return published >= since - grace


def analysed_text(item: MatchItem, spans: Sequence[Span]) -> tuple[str, list[tuple[int, int]]]:
    """Title and text as one string, with the matched spans' offsets in it (the sentiment's focus)."""
    separator = ". " if item.title and not item.title.rstrip().endswith((".", "!", "?", "…")) else " "
    shift = len(item.title) + len(separator)
    focus = [(s.start, s.end) if s.field == "title" else (s.start + shift, s.end + shift) for s in spans]
    return f"{item.title}{separator}{item.text}", focus


def build_mentions(
    item_id: int,
    item: MatchItem,
    matches: Sequence[Match],
    *,
    published: datetime,
    watches: Mapping[int, WatchLike],
    source_created_at: datetime | None,
    scorer: SentimentScorer,
    tagger: Tagger,
    backfill_grace: timedelta = BACKFILL_GRACE,
) -> list[MentionDraft]:
    """One mention per matching watch: snippet, sentiment about the watched name, keyword tags."""
    drafts = []
    for match in matches:
        watch = watches.get(match.watch_id)
        if watch is None:
            continue
        snippet = make_snippet(item, match.spans)
        text, focus = analysed_text(item, match.spans)
        sentiment = scorer.score(text, item.language, focus)
        tags = tagger.tags(text, item.language, watch.tags or {})
        drafts.append(
            MentionDraft(
                watch_id=match.watch_id,
                item_id=item_id,
                published=published,
                spans=tuple(match.spans),
                snippet=snippet.text,
                snippet_marks=snippet.marks,
                notify=is_news(
                    published,
                    watch_created_at=watch.created_at,
                    source_created_at=source_created_at,
                    grace=backfill_grace,
                ),
                sentiment=sentiment.label,
                score=sentiment.score,
                keywords=tuple(sentiment.keywords),
                tags=tuple(tags),
            )
        )
    return drafts
