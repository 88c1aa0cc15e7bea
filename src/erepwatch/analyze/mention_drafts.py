"""From matches to mention records: snippet, explained spans, and whether the mention is news."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from erepwatch.analyze.matcher import Match, MatchItem, Span
from erepwatch.analyze.sentiment import BatchScorer, LexiconScorer, SentimentScorer
from erepwatch.analyze.sentiment_models import ModelScorer
from erepwatch.analyze.snippet import make_snippet
from erepwatch.analyze.tags import Tagger
from erepwatch.analyze.window import mention_window
from erepwatch.settings import DEFAULTS

#: Items published this long before a watch or source existed are history, not news: stored, never notified.
BACKFILL_GRACE = DEFAULTS.notify_backfill_grace


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
    #: the words that decided each tag (tag → words), shown as the mention's "why"
    tag_words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

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
            "why": {
                "sentiment": list(self.keywords),
                "tags": {name: list(ws) for name, ws in self.tag_words.items()},
            },
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
    """One mention per matching watch: snippet, sentiment about the watched name, keyword tags.

    Each window's words are read off the item's scan (``item.scans``, made once for the matcher), and that one
    scan of the window serves sentiment and tags (the built-in scorers; a plugged-in one reads the text)."""
    chosen = [(match, watches[match.watch_id]) for match in matches if match.watch_id in watches]
    windows = [mention_window(item.title, item.text, match.spans, item.scans) for match, _ in chosen]
    if isinstance(scorer, ModelScorer):
        # A model reading embeddings embeds the item's windows in one call.
        sentiments = scorer.score_many([(w.text, item.language, w.focus) for w in windows], [w.scan for w in windows])
    elif isinstance(scorer, BatchScorer):
        sentiments = scorer.score_many([(w.text, item.language, w.focus) for w in windows])
    elif isinstance(scorer, LexiconScorer):
        sentiments = [scorer.score(w.text, item.language, w.focus, scanned=w.scan) for w in windows]
    else:
        sentiments = [scorer.score(w.text, item.language, w.focus) for w in windows]
    drafts = []
    for (match, watch), window, sentiment in zip(chosen, windows, sentiments, strict=True):
        snippet = make_snippet(item, match.spans)
        tag_words = tagger.explain(
            window.text,
            item.language,
            watch.tags or {},
            segments=window.segments,
            focus=window.focus,
            scanned=window.scan,
        )
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
                tags=tuple(tag_words),
                tag_words=tag_words,
            )
        )
    return drafts
