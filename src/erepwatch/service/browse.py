"""Mentions as a person browses them: combined filters, full-text search, one row per story, keyset pages.

Every face reads the same way: the web list, the JSON API and the Atom feeds build a :class:`MentionFilter`
(from the URL's query string, see :meth:`MentionFilter.from_params`) and call :func:`find_mentions`. Pages are
keyed by (published, id) of the last row shown, never by an offset, so the hundredth page costs what the first
does. Hidden mentions (irrelevant, muted publisher) are left out unless ``hidden`` asks for exactly them.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from erepwatch.db.models import Item, Mention, Source, Watch
from erepwatch.db.search import full_text, has_tag, visible
from erepwatch.errors import InvalidInputError
from erepwatch.service.watches import get_watch

SENTIMENTS = ("positive", "negative", "neutral")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class MentionFilter:
    """What a list shows; every field is optional and they combine (AND)."""

    watch: str | None = None
    sentiment: str | None = None
    tag: str | None = None
    #: the publisher's domain (``lemonde.fr``)
    source: str | None = None
    language: str | None = None
    #: first and last day included, in the reader's time zone ``tz``
    start: date | None = None
    end: date | None = None
    starred: bool = False
    #: only what was hidden (marked irrelevant or from a muted publisher), to review and undo
    hidden: bool = False
    q: str | None = None
    tz: str = "UTC"

    #: the URL parameters, in the order they are written back
    PARAMS = ("watch", "sentiment", "tag", "source", "lang", "from", "to", "starred", "hidden", "q")

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, tz: str = "UTC") -> MentionFilter:
        """From a URL query string; a value that cannot be read raises InvalidInputError naming the parameter."""

        def text(name: str, limit: int = 200) -> str | None:
            value = (params.get(name) or "").strip()
            return value[:limit] or None

        def day(name: str) -> date | None:
            value = text(name, 10)
            if value is None:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise InvalidInputError(f"{name}: {value!r} is not a date such as 2026-03-31") from exc

        sentiment = text("sentiment")
        if sentiment is not None and sentiment not in SENTIMENTS:
            raise InvalidInputError(f"sentiment: use one of {', '.join(SENTIMENTS)}")
        return cls(
            watch=text("watch"), sentiment=sentiment, tag=text("tag"), source=text("source", 300),
            language=text("lang", 10), start=day("from"), end=day("to"),
            starred=params.get("starred") in ("1", "true", "on"), hidden=params.get("hidden") in ("1", "true", "on"),
            q=text("q", 300), tz=tz,
        )  # fmt: skip

    def as_params(self) -> dict[str, str]:
        values = {
            "watch": self.watch, "sentiment": self.sentiment, "tag": self.tag, "source": self.source,
            "lang": self.language, "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None, "starred": "1" if self.starred else None,
            "hidden": "1" if self.hidden else None, "q": self.q,
        }  # fmt: skip
        return {k: v for k, v in values.items() if v}

    def but(self, **changes: Any) -> MentionFilter:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Publisher:
    mention_id: int
    name: str | None
    url: str | None
    title: str


@dataclass(frozen=True, slots=True)
class StoryRow:
    """One story of a list: its representative mention and the other publishers that told it."""

    id: int
    watch: str
    watch_id: int
    title: str
    url: str | None
    publisher: str | None
    domain: str | None
    published: datetime
    language: str | None
    sentiment: str
    score: float
    tags: list[str]
    snippet: str
    snippet_marks: list[list[int]]
    starred: bool
    irrelevant: bool
    cluster_id: int
    others: list[Publisher] = field(default_factory=list)
    #: the words that decided the sentiment and the tags: {"sentiment": [...], "tags": {"crisis": [...]}}
    why: dict[str, Any] | None = None
    #: the item's stable key (canonical URL or GUID): survives a backup and restore, unlike database ids
    key: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "watch": self.watch, "title": self.title, "url": self.url, "source": self.publisher,
            "domain": self.domain, "published": self.published.isoformat(), "language": self.language,
            "sentiment": self.sentiment, "score": round(self.score, 4), "tags": self.tags, "snippet": self.snippet,
            "snippet_marks": self.snippet_marks, "starred": self.starred, "irrelevant": self.irrelevant,
            "cluster_id": self.cluster_id, "why": self.why,
            "duplicates": [{"id": p.mention_id, "source": p.name, "url": p.url, "title": p.title} for p in self.others],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class MentionPage:
    rows: list[StoryRow]
    #: give it back as ``after`` for the next page; None on the last page
    next_cursor: str | None


def encode_cursor(published: datetime, mention_id: int) -> str:
    raw = f"{published.astimezone(UTC).isoformat()}|{mention_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        published = datetime.fromisoformat(stamp)
        if published.tzinfo is None:
            raise ValueError("naive")
        return published, int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError("after: not a page cursor given by a previous page") from exc


def _day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def find_mentions(
    session: Session, filters: MentionFilter, *, limit: int = PAGE_SIZE, after: str | None = None
) -> MentionPage:
    """One page of stories, newest first, matching every filter."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    first_source = aliased(Source)
    query = (
        select(Mention, Item, Watch.name, first_source.name)
        .join(Item, Item.id == Mention.item_id)
        .join(Watch, Watch.id == Mention.watch_id)
        .outerjoin(first_source, first_source.id == Item.first_source_id)
        # One line per story: the cluster's representative (its id is the cluster's id).
        .where(or_(Mention.cluster_id.is_(None), Mention.cluster_id == Mention.id))
        .order_by(Mention.published_at.desc(), Mention.id.desc())
    )
    query = query.where(~visible()) if filters.hidden else query.where(visible())
    if filters.watch:
        query = query.where(Mention.watch_id == get_watch(session, filters.watch).id)
    if filters.sentiment:
        query = query.where(Mention.sentiment == filters.sentiment)
    if filters.tag:
        query = query.where(has_tag(session, filters.tag))
    if filters.source:
        query = query.where(Item.publisher_domain == filters.source.lower().removeprefix("www."))
    if filters.language:
        query = query.where(Item.language == filters.language.lower())
    if filters.start:
        query = query.where(Mention.published_at >= _day_start(filters.start, filters.tz))
    if filters.end:
        query = query.where(Mention.published_at < _day_start(filters.end + timedelta(days=1), filters.tz))
    if filters.starred:
        query = query.where(Mention.starred.is_(True))
    if filters.q:
        clause = full_text(session, filters.q)
        if clause is not None:
            query = query.where(clause)
    if after:
        published, last_id = decode_cursor(after)
        query = query.where(
            or_(Mention.published_at < published, and_(Mention.published_at == published, Mention.id < last_id))
        )
    rows = session.execute(query.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    others = _other_publishers(session, {m.id for m, *_ in rows if m.cluster_id is not None})
    out = [_story(mention, item, watch, source, others.get(mention.id, [])) for mention, item, watch, source in rows]
    cursor = encode_cursor(rows[-1][0].published_at, rows[-1][0].id) if more and rows else None
    return MentionPage(out, cursor)


def get_story(session: Session, mention_id: int) -> StoryRow:
    from erepwatch.errors import NotFoundError

    first_source = aliased(Source)
    row = session.execute(
        select(Mention, Item, Watch.name, first_source.name)
        .join(Item, Item.id == Mention.item_id)
        .join(Watch, Watch.id == Mention.watch_id)
        .outerjoin(first_source, first_source.id == Item.first_source_id)
        .where(Mention.id == mention_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no mention numbered {mention_id}")
    mention, item, watch, source = row
    others = _other_publishers(session, {mention.cluster_id or mention.id})
    return _story(mention, item, watch, source, others.get(mention.cluster_id or mention.id, []))


def _story(mention: Mention, item: Item, watch: str, source: str | None, others: list[Publisher]) -> StoryRow:
    return StoryRow(
        id=mention.id, watch=watch, watch_id=mention.watch_id, title=item.title, url=item.url,
        publisher=item.publisher or item.publisher_domain or source, domain=item.publisher_domain,
        published=mention.published_at, language=item.language, sentiment=mention.sentiment, score=mention.score,
        tags=list(mention.tags or []), snippet=mention.snippet or "",
        snippet_marks=[list(m) for m in mention.snippet_marks or []], starred=bool(mention.starred),
        irrelevant=bool(mention.irrelevant), cluster_id=mention.cluster_id or mention.id,
        others=[p for p in others if p.mention_id != mention.id], why=getattr(mention, "why", None), key=item.key,
    )  # fmt: skip


def _other_publishers(session: Session, cluster_ids: set[int]) -> dict[int, list[Publisher]]:
    members: dict[int, list[Publisher]] = defaultdict(list)
    ids = sorted(cluster_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Mention.id, Mention.cluster_id, Item.url, Item.publisher, Item.publisher_domain, Item.title)
            .join(Item, Item.id == Mention.item_id)
            .where(Mention.cluster_id.in_(ids[start : start + 500]), Mention.irrelevant.is_(False))
            .order_by(Mention.published_at, Mention.id)
        )
        for mention_id, cluster_id, url, publisher, domain, title in rows:
            if cluster_id is not None:
                members[cluster_id].append(Publisher(mention_id, publisher or domain, url, title))
    return members


def facet_values(session: Session, watch: str | None = None) -> dict[str, list[str]]:
    """The values the filter menus offer: watches, languages, publishers (most frequent first), tags."""
    watches = list(session.scalars(select(Watch.name).order_by(Watch.name)))
    langs_q = select(Item.language).join(Mention, Mention.item_id == Item.id).where(Item.language.is_not(None))
    pubs_q = (
        select(Item.publisher_domain, func.count())
        .join(Mention, Mention.item_id == Item.id)
        .where(Item.publisher_domain.is_not(None))
        .group_by(Item.publisher_domain)
        .order_by(func.count().desc())
        .limit(100)
    )
    if watch:
        watch_id = get_watch(session, watch).id
        langs_q = langs_q.where(Mention.watch_id == watch_id)
        pubs_q = pubs_q.where(Mention.watch_id == watch_id)
    languages = sorted({lang for lang in session.scalars(langs_q.distinct()) if lang})
    publishers = [d for d, _ in session.execute(pubs_q) if d]
    tags: set[str] = set()
    for value in session.scalars(select(Mention.tags).order_by(Mention.id.desc()).limit(2000)):
        tags.update(str(t) for t in value or [])
    return {"watches": watches, "languages": languages, "publishers": publishers, "tags": sorted(tags)}
