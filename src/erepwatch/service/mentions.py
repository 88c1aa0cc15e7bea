"""Reading mentions back: newest first, one line per story cluster unless every member is asked for."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from erepwatch.clock import utcnow
from erepwatch.db.models import Item, Mention, Source, Watch
from erepwatch.db.search import visible
from erepwatch.errors import InvalidInputError
from erepwatch.service.watches import get_watch

SENTIMENTS = ("positive", "negative", "neutral")


@dataclass(frozen=True, slots=True)
class MentionView:
    id: int
    watch: str
    title: str
    url: str | None
    source: str | None
    published: datetime
    language: str | None
    sentiment: str
    score: float
    keywords: list[str]
    tags: list[str]
    snippet: str
    snippet_marks: list[list[int]]
    spans: list[dict[str, Any]]
    cluster_id: int
    duplicates: list[dict[str, Any]]
    #: the words that decided the sentiment and each tag: {"sentiment": [...], "tags": {"crisis": [...]}}
    why: dict[str, Any] = field(default_factory=dict)
    #: {"how": founder|lexical|semantic|follow_up, "score": …, "matched": mention id}
    joined: dict[str, Any] = field(default_factory=dict)

    @property
    def publishers(self) -> list[str]:
        """Every source of the story, this mention's first, each once."""
        names = [self.source, *(d.get("source") for d in self.duplicates)]
        return list(dict.fromkeys(n for n in names if n))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "watch": self.watch,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "published": self.published.isoformat(),
            "language": self.language,
            "sentiment": self.sentiment,
            "score": round(self.score, 4),
            "keywords": self.keywords,
            "tags": self.tags,
            "snippet": self.snippet,
            "snippet_marks": self.snippet_marks,
            "spans": self.spans,
            # The first name of `spans`, kept so scripts written against it keep working.
            "matches": self.spans,
            "cluster_id": self.cluster_id,
            "duplicates": self.duplicates,
            # How this mention joined its story and the other sources that carried it ("+N sources").
            "story": {
                "id": self.cluster_id,
                "how": self.joined.get("how"),
                "score": self.joined.get("score"),
                "matched": self.joined.get("matched"),
                "sources": len(self.publishers),
                "publishers": self.publishers,
            },
            "why": self.why,
        }


def list_mentions(
    session: Session,
    *,
    watch: str | None = None,
    since: timedelta | None = None,
    sentiment: str | None = None,
    limit: int | None = 50,
    every_member: bool = False,
    now: datetime | None = None,
) -> list[MentionView]:
    now = now or utcnow()
    first_source = aliased(Source)
    query = (
        select(Mention, Item, Watch.name, first_source.name)
        .join(Item, Item.id == Mention.item_id)
        .join(Watch, Watch.id == Mention.watch_id)
        .outerjoin(first_source, first_source.id == Item.first_source_id)
        .order_by(Mention.published_at.desc(), Mention.id.desc())
        .where(visible())
    )
    if watch is not None:
        query = query.where(Mention.watch_id == get_watch(session, watch).id)
    if since is not None:
        query = query.where(Mention.published_at >= now - since)
    if sentiment is not None:
        if sentiment not in SENTIMENTS:
            raise InvalidInputError(f"sentiment must be one of {', '.join(SENTIMENTS)}")
        query = query.where(Mention.sentiment == sentiment)
    if not every_member:
        # One line per story: its earliest-published member represents the cluster.
        story = func.coalesce(Mention.cluster_id, Mention.id)
        rank = func.row_number().over(partition_by=story, order_by=(Mention.published_at, Mention.id))
        ranked = select(Mention.id.label("id"), rank.label("rank")).subquery()
        query = query.join(ranked, ranked.c.id == Mention.id).where(ranked.c.rank == 1)
    if limit:
        query = query.limit(limit)
    rows = session.execute(query).all()
    members = _cluster_members(session, {m.cluster_id or m.id for m, *_ in rows})
    views = []
    for mention, item, watch_name, source_name in rows:
        cluster = mention.cluster_id or mention.id
        views.append(
            MentionView(
                id=mention.id,
                watch=watch_name,
                title=item.title,
                url=item.url,
                source=item.publisher or source_name,
                published=item.published_at,
                language=item.language,
                sentiment=mention.sentiment,
                score=mention.score,
                keywords=list(mention.keywords or []),
                tags=list(mention.tags or []),
                snippet=mention.snippet,
                snippet_marks=[list(m) for m in mention.snippet_marks or []],
                spans=list(mention.spans or []),
                cluster_id=cluster,
                duplicates=[d for d in members.get(cluster, []) if d["id"] != mention.id],
                why=why_of(mention.why, mention.keywords),
                joined=_joined(mention.cluster_reason, mention.cluster_score, mention.cluster_match_id),
            )
        )
    return views


def _cluster_members(session: Session, cluster_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ids = sorted(cluster_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(
                Mention.id,
                Mention.cluster_id,
                Item.url,
                Item.publisher,
                Item.publisher_domain,
                Item.title,
                Mention.cluster_reason,
                Mention.cluster_score,
                Mention.cluster_match_id,
            )
            .join(Item, Item.id == Mention.item_id)
            .where(Mention.cluster_id.in_(chunk))
            .order_by(Mention.published_at, Mention.id)
        )
        for mention_id, cluster_id, url, publisher, domain, title, how, score, matched in rows:
            members[cluster_id].append(
                {
                    "id": mention_id,
                    "url": url,
                    "source": publisher or domain,
                    "title": title,
                    "joined": _joined(how, score, matched),
                }
            )
    return members


def _joined(how: str | None, score: float | None, matched: int | None) -> dict[str, Any]:
    return {"how": how, "score": score, "matched": matched}


def why_of(stored: dict[str, Any] | None, keywords: list[Any] | None) -> dict[str, Any]:
    """A mention's "why", also for mentions stored before it was recorded (their sentiment keywords only)."""
    if stored:
        return {"sentiment": list(stored.get("sentiment") or []), "tags": dict(stored.get("tags") or {})}
    return {"sentiment": list(keywords or []), "tags": {}}
