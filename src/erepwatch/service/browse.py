"""Mentions as a person browses them: combined filters, full-text search, one row per story, keyset pages.

Every face reads the same way: the web list, the JSON API and the Atom feeds build a :class:`ListFilter`
(from the URL's query string, see :meth:`ListFilter.from_params`) and call :func:`find_mentions`, which reads
through the one read model (:mod:`erepwatch.db.mention_views`: one query, one view type, one URL filter). Pages are
keyed by (published, id) of the last row shown, never by an offset, so the hundredth page costs what the first
does. Hidden mentions (irrelevant, muted publisher) are left out unless ``hidden`` asks for exactly them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erepwatch.db.mention_views import (
    MentionFilter,
    MentionView,
    load_views,
    mention_keys,
    mention_select,
    newest_first,
)
from erepwatch.db.models import Item, Mention, Watch
from erepwatch.enums import Sentiment, values
from erepwatch.errors import InvalidInputError, NotFoundError
from erepwatch.service.watches import get_watch

SENTIMENTS = values(Sentiment)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What a list shows, as the URL's query string says it; every field is optional and they combine (AND)."""

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
    def from_params(cls, params: Mapping[str, str], *, tz: str = "UTC") -> ListFilter:
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

    def but(self, **changes: Any) -> ListFilter:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class MentionPage:
    rows: list[MentionView]
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


def _query(session: Session, filters: ListFilter, after: str | None) -> MentionFilter:
    """The read model's filter for what a person asked in the list's URL."""
    return MentionFilter(
        watch_ids=[get_watch(session, filters.watch).id] if filters.watch else None,
        sentiment=filters.sentiment,
        tag=filters.tag,
        publisher_domain=filters.source,
        language=filters.language,
        published_since=_day_start(filters.start, filters.tz) if filters.start else None,
        published_before=_day_start(filters.end + timedelta(days=1), filters.tz) if filters.end else None,
        starred=filters.starred,
        text=filters.q,
        hidden=filters.hidden,
        # One line per story, the same line as `erepwatch mentions` and the digest: its earliest-published member.
        one_per_story=True,
        before=decode_cursor(after) if after else None,
    )


def find_mentions(
    session: Session, filters: ListFilter, *, limit: int = PAGE_SIZE, after: str | None = None
) -> MentionPage:
    """One page of stories, newest first, matching every filter."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    # Two steps: the page's ids from the mentions table and narrow indexes (no item row, long text first, is read
    # while scanning), then the page's rows.
    keys = session.execute(newest_first(mention_keys(session, _query(session, filters, after))).limit(limit + 1)).all()
    more = len(keys) > limit
    keys = keys[:limit]
    found = load_views(
        session, mention_select(session, MentionFilter(ids=[k.id for k in keys], hidden=None)), with_duplicates=True
    )
    by_id = {v.id: v for v in found}
    rows = [by_id[k.id] for k in keys if k.id in by_id]
    cursor = encode_cursor(keys[-1].published_at, keys[-1].id) if more and keys else None
    return MentionPage(rows, cursor)


def get_story(session: Session, mention_id: int) -> MentionView:
    """One mention (hidden or not) with the other members of its story."""
    query = mention_select(session, MentionFilter(ids=[mention_id], hidden=None))
    found = load_views(session, query, with_duplicates=True)
    if not found:
        raise NotFoundError(f"no mention numbered {mention_id}")
    return found[0]


#: The filter menus offer the values of this many newest mentions: what a reader filters on is recent, and a menu
#: computed over every mention cost a second at 100,000 (benchmarks/bench_web.py, "first page … computed").
FACET_SAMPLE = 2000


def facet_values(session: Session, watch: str | None = None) -> dict[str, list[str]]:
    """The values the filter menus offer: watches, and the languages, publishers (most frequent first) and tags
    of the newest :data:`FACET_SAMPLE` mentions (of ``watch`` when given)."""
    watches = list(session.scalars(select(Watch.name).order_by(Watch.name)))
    # Newest first by the list's own indexes (ix_mentions_published_id, ix_mentions_watch_published).
    recent_q = newest_first(select(Mention.item_id, Mention.tags)).limit(FACET_SAMPLE)
    if watch:
        recent_q = recent_q.where(Mention.watch_id == get_watch(session, watch).id)
    recent = recent_q.subquery()
    languages = sorted(
        {
            lang
            for lang in session.scalars(
                select(Item.language)
                .join(recent, recent.c.item_id == Item.id)
                .where(Item.language.is_not(None))
                .distinct()
            )
            if lang
        }
    )
    pubs_q = (
        select(Item.publisher_domain, func.count())
        .join(recent, recent.c.item_id == Item.id)
        .where(Item.publisher_domain.is_not(None))
        .group_by(Item.publisher_domain)
        .order_by(func.count().desc(), Item.publisher_domain)
        .limit(100)
    )
    publishers = [d for d, _ in session.execute(pubs_q) if d]
    tags: set[str] = set()
    for value in session.scalars(select(recent.c.tags)):
        tags.update(str(t) for t in value or [])
    return {"watches": watches, "languages": languages, "publishers": publishers, "tags": sorted(tags)}
