"""Preview a query over the items already stored, before anyone saves it (`erepwatch watch test`).

Runs the same matcher as a poll, so what the preview shows is what the watch would find; nothing is
written.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erepwatch.analyze.matcher import MatchItem, WatchSpec, canonical_query, compile_matcher
from erepwatch.analyze.snippet import make_snippet
from erepwatch.batching import chunked
from erepwatch.clock import utcnow
from erepwatch.db.models import Item, ItemSource, Source
from erepwatch.pipeline import matchable_language, text_language
from erepwatch.service.watches import get_watch

#: Items are read from the database in batches of this size, so a large store is never all in memory.
BATCH = 500


@dataclass(frozen=True, slots=True)
class PreviewHit:
    item_id: int
    title: str
    url: str | None
    published: datetime
    language: str | None
    sources: tuple[str, ...]
    snippet: str
    snippet_marks: tuple[tuple[int, int], ...]
    spans: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "title": self.title,
            "url": self.url,
            "published": self.published.isoformat(),
            "language": self.language,
            "sources": list(self.sources),
            "snippet": self.snippet,
            "snippet_marks": [list(m) for m in self.snippet_marks],
            "spans": list(self.spans),
        }


@dataclass(frozen=True, slots=True)
class Preview:
    query: str
    canonical_query: str
    scanned: int
    matched: int
    #: matched items per source name (an item carried by two sources counts for both).
    per_source: dict[str, int]
    hits: list[PreviewHit] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "canonical_query": self.canonical_query,
            "scanned": self.scanned,
            "matched": self.matched,
            "per_source": self.per_source,
            "items": [h.as_dict() for h in self.hits],
        }


def preview_spec(
    session: Session,
    spec: WatchSpec,
    *,
    since: timedelta | None = None,
    limit: int = 20,
    now: datetime | None = None,
    item_ids: Sequence[int] | None = None,
) -> Preview:
    """Match ``spec`` against stored items (published within ``since`` of ``now``; only ``item_ids`` when
    given), newest first.

    ``limit`` bounds the items returned, not the counts, which cover every match.
    """
    canonical = canonical_query(spec.query)  # QuerySyntaxError before any work
    matcher = compile_matcher([spec])
    stmt = select(Item).order_by(Item.published_at.desc(), Item.id.desc())
    if since is not None:
        stmt = stmt.where(Item.published_at >= (now or utcnow()) - since)
    if item_ids is not None:
        stmt = stmt.where(Item.id.in_(list(item_ids)))
    scanned = 0
    kept: list[tuple[Item, Any, str | None]] = []
    matched_ids: list[int] = []
    for item in session.scalars(stmt.execution_options(yield_per=BATCH)):
        scanned += 1
        title, text, language = item.title or "", item.text or "", item.language
        if language is None and spec.languages:
            # A poll detects only the language of items a watch of its day could match (pipeline.Screen).
            could, language = matchable_language(matcher, title, text, item.url, item.id)
            if not could:
                continue
        found = matcher.match(MatchItem(title, text, item.url, language))
        if not found:
            continue
        matched_ids.append(item.id)
        if len(kept) < limit:
            kept.append((item, found[0], language))
    sources = _sources_of(session, matched_ids)
    per_source = Counter(name for item_id in matched_ids for name in sources.get(item_id, ("?",)))
    hits = []
    for item, match, language in kept:
        if language is None:
            language = text_language(item.title or "", item.text or "", item.id)
        snip = make_snippet(MatchItem(item.title or "", item.text or "", item.url, language), match.spans)
        hits.append(
            PreviewHit(
                item_id=item.id,
                title=item.title,
                url=item.url,
                published=item.published_at,
                language=language,
                sources=tuple(sources.get(item.id, ())),
                snippet=snip.text,
                snippet_marks=snip.marks,
                spans=tuple(s._asdict() for s in match.spans),
            )
        )
    return Preview(
        query=spec.query,
        canonical_query=canonical,
        scanned=scanned,
        matched=len(matched_ids),
        per_source=dict(sorted(per_source.items(), key=lambda kv: (-kv[1], kv[0]))),
        hits=hits,
    )


def preview_watch(
    session: Session, ref: str | int, *, since: timedelta | None = None, limit: int = 20, now: datetime | None = None
) -> Preview:
    return preview_spec(session, WatchSpec.of(get_watch(session, ref)), since=since, limit=limit, now=now)


def preview_query(
    session: Session,
    query: str,
    *,
    languages: Sequence[str] = (),
    fuzzy: bool = False,
    since: timedelta | None = None,
    limit: int = 20,
    now: datetime | None = None,
    item_ids: Sequence[int] | None = None,
) -> Preview:
    spec = WatchSpec(id=0, name="(preview)", query=query, languages=frozenset(languages), fuzzy=fuzzy)
    return preview_spec(session, spec, since=since, limit=limit, now=now, item_ids=item_ids)


def _sources_of(session: Session, item_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for chunk in chunked(item_ids):
        rows = session.execute(
            select(ItemSource.item_id, Source.name)
            .join(Source, Source.id == ItemSource.source_id)
            .where(ItemSource.item_id.in_(chunk))
            .order_by(ItemSource.item_id, Source.name)
        )
        for item_id, name in rows:
            out[item_id].append(name)
    return out
