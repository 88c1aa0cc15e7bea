"""The one read model of a mention: one query, one view type, used by every face that shows mentions.

The CLI (``mentions``, ``stories explain``), the digest and the alerts, the web list, the JSON API and the
Atom feeds all read mentions through :func:`mention_select` (:func:`select_views`, :func:`load_views`,
:func:`views_by_id`), so they name the same source for the same mention, hide the same ones, and show only
links that passed :func:`erepwatch.links.safe_url`.

A mention's **source** is, in this order: the publisher the item names (a news-search result's outlet), the
domain of its canonical URL, the name of the feed that first brought it.

To add a filter or an ordering, extend :class:`MentionFilter` and :func:`mention_select` here; callers keep
their code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from erepwatch.batching import chunked
from erepwatch.db.models import Item, Mention, Source, Watch
from erepwatch.db.search import earliest_of_story, full_text, has_tag, muted, story_head
from erepwatch.enums import is_alarming
from erepwatch.links import safe_url

#: A select of any columns, kept as precise as the caller wrote it.
_AnySelect = TypeVar("_AnySelect", bound=Select)


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Another mention of the same story (same cluster)."""

    id: int
    url: str | None
    source: str | None
    title: str
    #: how it joined the story: {"how": founder|lexical|semantic|follow_up|merged, "score": …, "matched": mention id}
    joined: dict[str, Any] = field(default_factory=dict)

    @property
    def mention_id(self) -> int:
        return self.id

    @property
    def name(self) -> str | None:
        return self.source

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "source": self.source, "title": self.title, "joined": self.joined}


@dataclass(frozen=True, slots=True)
class MentionView:
    """One mention joined with its item, watch and source, as every face shows it.

    ``url`` is always filtered by :func:`~erepwatch.links.safe_url` (None when the feed gave an unsafe one).
    ``duplicates`` is filled only when asked for (:func:`select_views` with ``with_duplicates``).
    """

    id: int
    watch_id: int
    watch: str
    cluster_id: int
    title: str
    url: str | None
    source: str | None
    published: datetime
    created: datetime
    sentiment: str = "neutral"
    tags: tuple[str, ...] = ()
    snippet: str = ""
    snippet_marks: tuple[tuple[int, int], ...] = ()
    language: str | None = None
    score: float = 0.0
    keywords: tuple[str, ...] = ()
    #: the matched spans, explained: {"field", "start", "end", "term", "fuzzy"} each
    spans: tuple[dict[str, Any], ...] = ()
    duplicates: tuple[Duplicate, ...] = field(default=())
    #: the words that decided the sentiment and each tag: {"sentiment": [...], "tags": {"crisis": [...]}}
    why: dict[str, Any] = field(default_factory=dict)
    #: how it joined its story: {"how": founder|lexical|semantic|follow_up|merged, "score": …, "matched": mention id}
    joined: dict[str, Any] = field(default_factory=dict)
    #: the publisher's domain (what a person mutes)
    domain: str | None = None
    starred: bool = False
    irrelevant: bool = False
    #: the item's stable key (canonical URL or GUID): survives a backup and restore, unlike database ids
    key: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", safe_url(self.url))

    @property
    def alarming(self) -> bool:
        return is_alarming(self.sentiment, self.tags)

    @property
    def publisher(self) -> str | None:
        """The source, under the name the web templates use."""
        return self.source

    @property
    def others(self) -> tuple[Duplicate, ...]:
        """The other members of the story, under the name the web templates use."""
        return self.duplicates

    @property
    def other_sources(self) -> tuple[Duplicate, ...]:
        """The story's other publishers, each once (its first member), this mention's own left out: the
        "+N sources" of every face (web page, Atom, digest) counts these."""
        seen = {self.source}
        out = []
        for d in self.duplicates:
            if d.source not in seen:
                seen.add(d.source)
                out.append(d)
        return tuple(out)

    @property
    def publishers(self) -> list[str]:
        """Every source of the story, this mention's first, each once."""
        names = [self.source, *(d.source for d in self.duplicates)]
        return list(dict.fromkeys(n for n in names if n))

    def as_dict(self) -> dict[str, Any]:
        """The ``mentions --json`` object (see the CLI contract in the README)."""
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
            "keywords": list(self.keywords),
            "tags": list(self.tags),
            "snippet": self.snippet,
            "snippet_marks": [list(m) for m in self.snippet_marks],
            "spans": list(self.spans),
            # The first name of `spans`, kept so that scripts written against it keep working.
            "matches": list(self.spans),
            "cluster_id": self.cluster_id,
            "domain": self.domain,
            "starred": self.starred,
            "irrelevant": self.irrelevant,
            "duplicates": [d.as_dict() for d in self.duplicates],
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


@dataclass(frozen=True, slots=True)
class MentionFilter:
    """Which mentions to read; every field left at its default filters nothing."""

    #: only these watches (an empty collection selects nothing)
    watch_ids: Collection[int] | None = None
    #: only these mentions
    ids: Collection[int] | None = None
    #: only the members of this story (a story's id is its founder's mention id)
    story_id: int | None = None
    sentiment: str | None = None
    #: carries this tag
    tag: str | None = None
    #: from this publisher's domain (``lemonde.fr``)
    publisher_domain: str | None = None
    #: in this language (ISO 639-1)
    language: str | None = None
    #: published at or after / before
    published_since: datetime | None = None
    published_before: datetime | None = None
    starred: bool = False
    #: every word of this full-text search (a word ending in ``*`` is a prefix) in the item's title or text
    text: str | None = None
    #: stored (``created_at``) in [stored_from, stored_before)
    stored_from: datetime | None = None
    stored_before: datetime | None = None
    #: only news (not the history a first poll brings, see ``Mention.notify``)
    news_only: bool = False
    #: one mention per story cluster: its earliest-published member (the CLI's line of a story)
    one_per_story: bool = False
    #: one mention per story cluster: its founder, whose id is the cluster's (cheap, so the web's keyset pages)
    founders_only: bool = False
    #: keyset page: only what comes after (published, id) in newest-first order
    before: tuple[datetime, int] | None = None
    #: False: only what nobody hid (marked irrelevant, muted publisher: db.search.visible); True: only what was
    #: hidden; None: both
    hidden: bool | None = False


def _source_name(first_source: Any) -> Any:
    """The SQL expression of a mention's source (see the module's docstring)."""
    return func.coalesce(Item.publisher, Item.publisher_domain, first_source.name)


def mention_select(session: Session, f: MentionFilter) -> Select[Any]:
    """The query behind every read: (Mention, Item, watch name, source name) rows, filtered, not ordered.

    ``session`` tells the database's dialect (tag and full-text clauses differ between SQLite and PostgreSQL).
    """
    first_source = aliased(Source)
    query = (
        select(Mention, Item, Watch.name, _source_name(first_source))
        .join(Item, Item.id == Mention.item_id)
        .join(Watch, Watch.id == Mention.watch_id)
        .outerjoin(first_source, first_source.id == Item.first_source_id)
    )
    return _filtered(session, f, query)


def mention_keys(session: Session, f: MentionFilter) -> Select[int, datetime]:
    """(id, published_at) of the mentions :func:`mention_select` would give, read from the mentions table and
    narrow indexes only: the cheap first step of a page (see ``service.browse.find_mentions``)."""
    return _filtered(session, f, select(Mention.id, Mention.published_at))


def _filtered(session: Session, f: MentionFilter, query: _AnySelect) -> _AnySelect:
    """Every filter, written so that none needs ``Item`` joined: an item's columns are tested through
    ``item_id IN (…)`` or a correlated lookup that indexes answer without reading the item's long row."""
    if f.watch_ids is not None:
        query = query.where(Mention.watch_id.in_([int(i) for i in f.watch_ids]))
    if f.ids is not None:
        query = query.where(Mention.id.in_([int(i) for i in f.ids]))
    if f.story_id is not None:
        query = query.where(func.coalesce(Mention.cluster_id, Mention.id) == f.story_id)
    if f.sentiment is not None:
        query = query.where(Mention.sentiment == f.sentiment)
    if f.tag is not None:
        query = query.where(has_tag(session, f.tag))
    if f.publisher_domain is not None:
        domain = f.publisher_domain.lower().removeprefix("www.")
        query = query.where(Mention.item_id.in_(select(Item.id).where(Item.publisher_domain == domain)))
    if f.language is not None:
        # Row by row through the covering index ix_items_id_domain_language: a language is never rare enough
        # for a set of its items to pay.
        query = query.where(exists().where(Item.id == Mention.item_id, Item.language == f.language.lower()))
    if f.published_since is not None:
        query = query.where(Mention.published_at >= f.published_since)
    if f.published_before is not None:
        query = query.where(Mention.published_at < f.published_before)
    if f.starred:
        query = query.where(Mention.starred.is_(True))
    if f.text:
        clause = full_text(session, f.text)
        if clause is not None:
            query = query.where(clause)
    if f.before is not None:
        published, last_id = f.before
        query = query.where(
            or_(Mention.published_at < published, and_(Mention.published_at == published, Mention.id < last_id))
        )
    if f.founders_only:
        query = query.where(story_head())
    if f.stored_from is not None:
        query = query.where(Mention.created_at >= f.stored_from)
    if f.stored_before is not None:
        query = query.where(Mention.created_at < f.stored_before)
    if f.news_only:
        query = query.where(Mention.notify.is_(True))
    if f.hidden is not None:
        hidden_sites = muted(session)
        hidden = (
            Mention.irrelevant.is_(True) if hidden_sites is None else or_(Mention.irrelevant.is_(True), hidden_sites)
        )
        query = query.where(hidden if f.hidden else ~hidden)
    if f.one_per_story:
        # One line per story: its earliest-published member represents the cluster (a NOT EXISTS on an earlier
        # member that walks the newest-first index; a row_number() over every story sorted the whole table).
        query = query.where(earliest_of_story(session, visible_only=f.hidden is False))
    return query


def newest_first(query: _AnySelect) -> _AnySelect:
    return query.order_by(Mention.published_at.desc(), Mention.id.desc())


def oldest_id_first(query: _AnySelect) -> _AnySelect:
    return query.order_by(Mention.id)


def _view(mention: Mention, item: Item, watch: str, source: str | None) -> MentionView:
    return MentionView(
        id=mention.id,
        watch_id=mention.watch_id,
        watch=watch,
        cluster_id=mention.cluster_id or mention.id,
        title=item.title,
        url=item.url,
        source=source,
        published=mention.published_at,
        created=mention.created_at,
        sentiment=mention.sentiment,
        tags=tuple(mention.tags or ()),
        snippet=mention.snippet or "",
        snippet_marks=tuple((int(m[0]), int(m[1])) for m in mention.snippet_marks or ()),
        language=item.language,
        score=mention.score,
        keywords=tuple(mention.keywords or ()),
        spans=tuple(mention.spans or ()),
        why=why_of(mention.why, mention.keywords),
        joined=joined_of(mention.cluster_reason, mention.cluster_score, mention.cluster_match_id),
        domain=item.publisher_domain,
        starred=bool(mention.starred),
        irrelevant=bool(mention.irrelevant),
        key=item.key,
    )


def load_views(session: Session, query: Select[Any], *, with_duplicates: bool = False) -> list[MentionView]:
    """Run a :func:`mention_select` query (ordered and limited as the caller wants) into views."""
    views = [_view(*row) for row in session.execute(query).all()]
    if not with_duplicates or not views:
        return views
    members = _cluster_members(session, {v.cluster_id for v in views})
    return [_with_duplicates(v, tuple(d for d in members.get(v.cluster_id, ()) if d.id != v.id)) for v in views]


def _with_duplicates(view: MentionView, duplicates: tuple[Duplicate, ...]) -> MentionView:
    return replace(view, duplicates=duplicates)


def select_views(
    session: Session,
    f: MentionFilter,
    *,
    limit: int | None = None,
    newest: bool = True,
    with_duplicates: bool = False,
) -> list[MentionView]:
    """Mentions matching ``f``: newest first (or by id), at most ``limit``."""
    query = mention_select(session, f)
    query = newest_first(query) if newest else oldest_id_first(query)
    if limit:
        query = query.limit(limit)
    return load_views(session, query, with_duplicates=with_duplicates)


def views_by_id(session: Session, ids: Iterable[int]) -> list[MentionView]:
    """These mentions (those still stored), by id."""
    wanted = sorted({int(i) for i in ids})
    out: list[MentionView] = []
    for chunk in chunked(wanted):
        out.extend(load_views(session, mention_select(session, MentionFilter(ids=chunk, hidden=None))))
    return sorted(out, key=lambda v: v.id)


def _cluster_members(session: Session, cluster_ids: set[int]) -> dict[int, list[Duplicate]]:
    members: dict[int, list[Duplicate]] = defaultdict(list)
    first_source = aliased(Source)
    # A member someone marked irrelevant, or from a publisher muted for its watch, no longer counts as another
    # source of the story (the mute hides that publisher's mentions everywhere).
    shown: ColumnElement[bool] = Mention.irrelevant.is_(False)
    hidden_sites = muted(session)
    if hidden_sites is not None:
        shown = and_(shown, ~hidden_sites)
    for chunk in chunked(sorted(cluster_ids)):
        rows = session.execute(
            select(
                Mention.id,
                Mention.cluster_id,
                Item.url,
                _source_name(first_source),
                Item.title,
                Mention.cluster_reason,
                Mention.cluster_score,
                Mention.cluster_match_id,
            )
            .join(Item, Item.id == Mention.item_id)
            .outerjoin(first_source, first_source.id == Item.first_source_id)
            .where(Mention.cluster_id.in_(chunk), shown)
            .order_by(Mention.published_at, Mention.id)
        )
        for mention_id, cluster_id, url, source, title, how, score, matched in rows:
            members[cluster_id].append(
                Duplicate(mention_id, safe_url(url), source, title, joined_of(how, score, matched))
            )
    return members


def why_of(stored: dict[str, Any] | None, keywords: list[Any] | None) -> dict[str, Any]:
    """A mention's "why", also for mentions stored before it was recorded (their sentiment keywords only)."""
    if stored:
        return {"sentiment": list(stored.get("sentiment") or []), "tags": dict(stored.get("tags") or {})}
    return {"sentiment": list(keywords or []), "tags": {}}


def joined_of(how: str | None, score: float | None, matched: int | None) -> dict[str, Any]:
    return {"how": how, "score": score, "matched": matched}
