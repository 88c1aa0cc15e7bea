"""The sentiment stage of a poll: the embedding model's sentiment for the poll's new mentions.

With ``analysis.scorer = "e5"``, mentions are stored with the cheap bag-of-words model's sentiment (no embedding
in the poll's hot path), then this stage, after the poll's sources are stored and before alerts are planned:

1. finds the *pending* mentions: created within ``since``, with no window embedding of the current model yet;
2. rebuilds each one's window (title and the sentences naming the term, :func:`mention_window`) from the stored
   item and spans, embeds the windows in batches (:func:`erepwatch.analyze.embedding.embed`) and stores the
   vectors with the model's version (kind ``window``), within a time budget — what is left waits for the next run;
3. replaces the mention's sentiment, score and "why" words with the model's reading, in one transaction per batch;
4. with a crisis judge (``analysis.builtin_tags`` applies ``crisis``), replaces the word list's ``crisis`` tag with
   the crisis classifier's decision (:mod:`erepwatch.analyze.crisis`), before any alert reads it. A mention left
   for the next run keeps the word list's tag until then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.analyze import embedding
from erepwatch.analyze.crisis import CRISIS
from erepwatch.analyze.matcher import Span
from erepwatch.analyze.sentiment_models import ModelScorer, Tone
from erepwatch.analyze.window import Window, mention_window
from erepwatch.db.models import Item, Mention, MentionEmbedding, Watch
from erepwatch.db.store import save_embeddings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

#: ``mention_embeddings.kind`` of the vectors this stage makes.
KIND = "window"
#: Windows embedded per call and stored per transaction.
BATCH = 64

Embedder = Callable[[Sequence[str]], "npt.NDArray[np.float32]"]


class CrisisDecider(Protocol):
    """Whether a mention reports a crisis of its watched name: the terms behind the tag, or () (``CrisisJudge``).
    ``tone``: what the stage's scorer read of the window (``ModelScorer.assess``), so it is not read twice."""

    def __call__(
        self, window: Window, language: str | None, vector: npt.NDArray[np.float32], tone: Tone | None = None
    ) -> tuple[str, ...]: ...


@dataclass(slots=True)
class SentimentStageStats:
    pending: int = 0
    scored: int = 0
    changed: int = 0
    #: mentions left for the next run (the time budget ran out)
    backlog: int = 0
    ms: int = 0

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("pending", "scored", "changed", "backlog", "ms")}


def _pending(session: Session, since: datetime) -> list[int]:
    """Ids only: after a poll of 100,000 mentions most are pending, and only a budget's worth is scored now."""
    has_vector = exists().where(
        and_(
            MentionEmbedding.mention_id == Mention.id,
            MentionEmbedding.kind == KIND,
            MentionEmbedding.model_version == embedding.MODEL_VERSION,
        )
    )
    return list(
        session.scalars(select(Mention.id).where(Mention.created_at >= since, ~has_vector).order_by(Mention.id))
    )


def _rows(
    session: Session, mention_ids: Sequence[int]
) -> list[tuple[int, Any, str, str, str | None, Any, Any, Any, str | None]]:
    rows = session.execute(
        select(
            Mention.id,
            Mention.spans,
            Item.title,
            Item.text,
            Item.language,
            Mention.why,
            Mention.tags,
            Watch.tags,
            Mention.sentiment,
        )
        .join(Item, Item.id == Mention.item_id)
        .join(Watch, Watch.id == Mention.watch_id)
        .where(Mention.id.in_(mention_ids))
        .order_by(Mention.id)
    )
    return [tuple(r) for r in rows]


def _crisis_tag(tags: list[str], why: dict[str, Any], words: tuple[str, ...]) -> list[str]:
    """``tags`` with the ``crisis`` tag as the classifier decided (first, where the built-in groups' order puts it),
    and its words in ``why`` (changed in place)."""
    tag_words = dict(why.get("tags") or {})
    kept = [t for t in tags if t != CRISIS]
    if words:
        tag_words[CRISIS] = list(words)
        kept.insert(0, CRISIS)
    else:
        tag_words.pop(CRISIS, None)
    why["tags"] = tag_words
    return kept


def refine_sentiment(
    factory: sessionmaker[Session],
    *,
    scorer: ModelScorer,
    since: datetime,
    budget: timedelta,
    embed: Embedder = embedding.embed,
    clock: Callable[[], float] = time.monotonic,
    crisis: CrisisDecider | None = None,
) -> SentimentStageStats:
    """Score the pending mentions with the embedding model, within ``budget``; with ``crisis``, decide their crisis
    tag too."""
    started = clock()
    stats = SentimentStageStats()
    with factory() as session:
        pending = _pending(session, since)
    stats.pending = len(pending)
    for start in range(0, len(pending), BATCH):
        if clock() - started > budget.total_seconds():
            stats.backlog = len(pending) - start
            break
        with factory() as session:
            batch = _rows(session, pending[start : start + BATCH])
        windows = [
            mention_window(title or "", text or "", [Span(**s) for s in spans or []])
            for _, spans, title, text, *_ in batch
        ]
        vectors = embed([w.text for w in windows])
        changes: list[dict[str, Any]] = []
        for row, window, vector in zip(batch, windows, vectors, strict=True):
            mention_id, _, _, _, language, why, tags, own_groups, sentiment = row
            got, tone = scorer.assess(window.text, language, window.focus, vector, scanned=window.scan)
            new_why = dict(why or {})
            new_why["sentiment"] = list(got.keywords)
            # A watch with its own "crisis" group keeps the tag its words gave at poll time.
            if crisis is not None and CRISIS not in (own_groups or {}):
                tags = _crisis_tag(list(tags or ()), new_why, crisis(window, language, vector, tone))
            stats.changed += got.label != sentiment
            changes.append(
                {
                    "id": mention_id,
                    "sentiment": got.label,
                    "score": got.score,
                    "keywords": list(got.keywords),
                    "why": new_why,
                    "tags": tags,
                }
            )
        with factory() as session, session.begin():
            # One UPDATE by primary key executed for the whole batch, not statements per mention.
            session.execute(update(Mention), changes)
            save_embeddings(session, [b[0] for b in batch], KIND, embedding.MODEL_VERSION, vectors)
        stats.scored += len(batch)
    stats.ms = int((clock() - started) * 1000)
    log.info("sentiment stage %s", stats.as_dict())
    return stats
