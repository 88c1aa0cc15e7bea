"""The semantic story stage of a poll: fold stories told in other words (or another language) into one.

Runs after the poll's sources are stored and before alerts are planned (the daemon's next notify cycle, or the
CLI's digest). Each run:

1. finds the *pending* founders: mentions that started a story within the window, have no title embedding of the
   current model yet, and whose watch has at least one other story in the window (a lone mention needs none);
2. embeds their headlines, and their headlines with the start of their leads, in batches
   (:func:`erepwatch.analyze.embedding.embed`), once, and stores the vectors with the model's version (a model
   change makes them pending again), within a time budget — what is left waits for the next run;
3. decides with the pure :func:`erepwatch.analyze.stories.assign_semantic` against the embedded founders of the
   same watches, and re-points the members of each folded story to the older story (an older story never moves).
   Two stories that a new founder shows to be one are merged the same way: the younger one's members move to the
   older story, and its founder records ``merged`` (the score, and the founder that linked them), so the younger
   id still resolves to the story (:func:`erepwatch.service.stories.explain_story` reads a story through any
   member's id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.analyze import embedding
from erepwatch.analyze.stories import (
    JoinReason,
    StoryProbe,
    assign_semantic,
    lead_key,
    lead_text,
    story_text,
    topic_rest,
)
from erepwatch.batching import chunked
from erepwatch.db.models import Item, Mention, MentionEmbedding
from erepwatch.db.store import load_embeddings, save_embeddings
from erepwatch.settings import DEFAULTS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

#: ``mention_embeddings.kind`` of the vectors this stage makes: the headline, and the headline with the start of
#: the lead (:func:`erepwatch.analyze.stories.lead_text`; only for mentions with a lead).
KIND = "title"
LEAD_KIND = "title_lead"
#: What follows a headline's long topic label (:func:`erepwatch.analyze.stories.topic_rest`; only for headlines with
#: one, about one in twenty): two founders under one label are compared by it too.
REST_KIND = "title_rest"
#: Version stored beside this stage's vectors: e5's query side, read on both headlines (symmetric similarity). On
#: the tune half of the labelled pairs its headline cosines separate one story from two better than the passage
#: side's (ROC AUC en 0.948 vs 0.938, fr 0.906 vs 0.875; tests/data/stories/README.md). Vectors of another version
#: are stale: the founders are embedded again.
VERSION = embedding.QUERY_VERSION
#: Characters of an item's text read for its lead (more than is embedded: lead_text cuts at a word).
_LEAD_READ = 400
#: Characters of an older founder's text read for its lead_key (the 60 it keeps, after spaces are collapsed).
_LEAD_KEY_READ = 200


@dataclass(slots=True)
class StoryStageStats:
    pending: int = 0
    embedded: int = 0
    folded: int = 0
    #: stories merged into an older one (both existed; a new founder joined both)
    merged: int = 0
    follow_ups: int = 0
    #: founders left for the next run (the time budget ran out)
    backlog: int = 0
    ms: int = 0
    #: (watch id, story folded, story it joined): for caches of story ids
    moves: list[tuple[int, int, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("pending", "embedded", "folded", "merged", "follow_ups", "backlog", "ms")}


Embedder = Callable[[Sequence[str]], "npt.NDArray[np.float32]"]


def _has_vector() -> Any:
    return exists().where(
        and_(
            MentionEmbedding.mention_id == Mention.id,
            MentionEmbedding.kind == KIND,
            MentionEmbedding.model_version == VERSION,
        )
    )


def _crowded_watches(since: datetime) -> Any:
    """Watches with at least two stories in the window: only their founders are worth embedding."""
    return (
        select(Mention.watch_id)
        .where(Mention.published_at >= since, Mention.cluster_id == Mention.id)
        .group_by(Mention.watch_id)
        .having(func.count() >= 2)
    )


def fold_stories(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    window: timedelta,
    budget: timedelta,
    embed: Embedder | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    merge: bool = DEFAULTS.analysis_merge_stories,
) -> StoryStageStats:
    """One run of the stage (see the module docstring); ``merge``: two stories a new founder joins both of are
    merged (the setting ``analysis.merge_stories``)."""
    started = monotonic()
    embed = embed or _embed_query
    stats = StoryStageStats()
    since = now - window
    with factory() as session:
        # Ids only: after a poll of 100,000 mentions most are pending, and only a budget's worth is embedded now.
        pending = list(
            session.scalars(
                select(Mention.id)
                .where(
                    Mention.published_at >= since,
                    Mention.cluster_id == Mention.id,
                    Mention.watch_id.in_(_crowded_watches(since)),
                    ~_has_vector(),
                )
                .order_by(Mention.id)
            )
        )
    stats.pending = len(pending)
    if not pending:
        return stats
    done: list[Any] = []
    vectors: list[Any] = []
    lead_vectors: dict[int, Any] = {}
    rest_vectors: dict[int, Any] = {}
    deadline = started + budget.total_seconds()
    for start in range(0, len(pending), embedding.BATCH):
        if vectors and monotonic() > deadline:
            break
        with factory() as session:
            batch = list(
                session.execute(
                    _story_rows(_LEAD_READ)
                    .where(Mention.id.in_(pending[start : start + embedding.BATCH]))
                    .order_by(Mention.id)
                )
            )
        leads = [(row.id, lead_text(row.title, row.lead or "")) for row in batch]
        leads = [(mention_id, text) for mention_id, text in leads if text]
        topics = [(row.id, topic_rest(row.title)) for row in batch]
        rests = [(mention_id, topic[1]) for mention_id, topic in topics if topic is not None]
        embedded = embed(
            [story_text(row.title) for row in batch] + [text for _, text in leads] + [text for _, text in rests]
        )
        done.extend(batch)
        vectors.extend(embedded[: len(batch)])
        after_leads = len(batch) + len(leads)
        lead_vectors.update(zip([i for i, _ in leads], embedded[len(batch) : after_leads], strict=True))
        rest_vectors.update(zip([i for i, _ in rests], embedded[after_leads:], strict=True))
    stats.embedded = len(done)
    stats.backlog = len(pending) - len(done)
    watch_ids = sorted({row.watch_id for row in done})
    with factory() as session, session.begin():
        save_embeddings(session, [row.id for row in done], KIND, VERSION, vectors)
        save_embeddings(session, list(lead_vectors), LEAD_KIND, VERSION, list(lead_vectors.values()))
        save_embeddings(session, list(rest_vectors), REST_KIND, VERSION, list(rest_vectors.values()))
        probes = [
            _probe(r, v, lead_vectors.get(r.id), rest_vectors.get(r.id)) for r, v in zip(done, vectors, strict=True)
        ]
        founders = _founders(session, watch_ids, since)
        assignments = assign_semantic(probes, founders, window=window, merge=merge)
        watch_of = {p.mention_id: p.watch_id for p in probes}
        watch_of.update((f.mention_id, f.watch_id) for f in founders)
        for a in assignments:
            if a.reason in (JoinReason.SEMANTIC, JoinReason.MERGED):
                # Every assignment names its final story, so the order of these updates does not matter.
                session.execute(
                    update(Mention).where(Mention.cluster_id == a.mention_id).values(cluster_id=a.cluster_id)
                )
                if a.reason is JoinReason.MERGED:
                    stats.merged += 1
                else:
                    stats.folded += 1
                stats.moves.append((watch_of[a.mention_id], a.mention_id, a.cluster_id))
            else:
                stats.follow_ups += 1
            session.execute(
                update(Mention)
                .where(Mention.id == a.mention_id)
                .values(cluster_reason=str(a.reason), cluster_score=a.score, cluster_match_id=a.matched_id)
            )
    stats.ms = int((monotonic() - started) * 1000)
    log.info(
        "stories pending=%s embedded=%s folded=%s merged=%s follow_ups=%s backlog=%s ms=%s",
        stats.pending, stats.embedded, stats.folded, stats.merged, stats.follow_ups, stats.backlog, stats.ms,
    )  # fmt: skip
    return stats


def _embed_query(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    return embedding.embed(texts, query=True)


def _story_rows(lead_chars: int) -> Select[*tuple[Any, ...]]:
    """What the stage reads of a mention and its item: who, when, the story it is in, the headline and the start of
    the text (``lead_chars``: what the lead, or only its key, needs)."""
    return select(
        Mention.id,
        Mention.watch_id,
        Mention.published_at,
        Mention.cluster_id,
        Mention.cluster_reason,
        Mention.cluster_score,
        Mention.cluster_match_id,
        Mention.irrelevant,
        Item.title,
        Item.language,
        func.substr(Item.text, 1, lead_chars).label("lead"),
    ).join(Item, Item.id == Mention.item_id)


def _probe(r: Any, vector: Any, lead_vector: Any, rest_vector: Any) -> StoryProbe:
    """A row of :func:`_story_rows` as the pure decisions see it: a founder (of its own story, or folded into an
    older one), with the follow-up link its story carries and a person's mark."""
    follow_up = r.cluster_reason == str(JoinReason.FOLLOW_UP) and r.cluster_match_id is not None
    return StoryProbe(
        r.id,
        r.watch_id,
        r.published_at,
        r.title,
        vector,
        r.language,
        lead_vector,
        r.cluster_id if r.cluster_id not in (None, r.id) else None,
        lead_key(r.lead or ""),
        rest_vector,
        follows=r.cluster_match_id if follow_up else None,
        follow_score=r.cluster_score if follow_up else None,
        irrelevant=bool(r.irrelevant),
    )


def _founders(session: Session, watch_ids: Sequence[int], since: datetime) -> list[StoryProbe]:
    """The embedded founders of these watches within the window: those of a story, and those folded into an older
    story (only founders are embedded: a story's lexical members are its founder's near-duplicates)."""
    rows: list[Any] = []
    for chunk in chunked(watch_ids):
        rows.extend(
            session.execute(
                _story_rows(_LEAD_KEY_READ).where(
                    Mention.watch_id.in_(chunk), Mention.published_at >= since, _has_vector()
                )
            )
        )
    ids = [r.id for r in rows]
    vectors = load_embeddings(session, ids, KIND, VERSION)
    lead_vectors = load_embeddings(session, ids, LEAD_KIND, VERSION)
    rest_vectors = load_embeddings(session, ids, REST_KIND, VERSION)
    return [_probe(r, vectors[r.id], lead_vectors.get(r.id), rest_vectors.get(r.id)) for r in rows if r.id in vectors]
