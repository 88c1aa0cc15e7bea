"""Database reads for notifications: a recipient's mentions, chart points, source health, spike counts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from erepwatch.db.mention_views import MentionFilter, MentionView, select_views, views_by_id
from erepwatch.db.models import Mention, Recipient, Source, Watch
from erepwatch.db.search import muted, story_head
from erepwatch.notify.digest import SourceHealth


def watch_ids_of(session: Session, recipient: Recipient) -> list[int]:
    """The watches a recipient follows (all of them when its list is empty), still existing."""
    query = select(Watch.id).order_by(Watch.id)
    if recipient.watch_ids:
        query = query.where(Watch.id.in_([int(i) for i in recipient.watch_ids]))
    return list(session.scalars(query))


def found_between(
    session: Session, watch_ids: Sequence[int], start: datetime, end: datetime, *, exclude: Collection[int] = ()
) -> list[MentionView]:
    """News mentions (``notify``) of these watches stored in [start, end), minus ``exclude``, by id."""
    if not watch_ids:
        return []
    found = MentionFilter(watch_ids=watch_ids, stored_from=start, stored_before=end, news_only=True)
    excluded = set(exclude)
    return [v for v in select_views(session, found, newest=False) if v.id not in excluded]


def rows_by_id(session: Session, ids: Iterable[int]) -> list[MentionView]:
    return views_by_id(session, ids)


def _visible(session: Session) -> list[ColumnElement[bool]]:
    """What nobody hid (see ``db.search.visible``), with the muted-publisher test only when something is muted:
    an anti-join on every item made PostgreSQL walk all the mentions by item at a million items (116 ms for the
    digest's chart; 20 ms through the date index without it, benchmarks/bench_scale.py)."""
    hidden = muted(session)
    return [Mention.irrelevant.is_(False)] + ([] if hidden is None else [~hidden])


def chart_points(session: Session, watch_ids: Sequence[int], since: datetime) -> list[tuple[datetime, str]]:
    if not watch_ids:
        return []
    rows = session.execute(
        select(Mention.published_at, Mention.sentiment).where(
            Mention.watch_id.in_(list(watch_ids)),
            Mention.published_at >= since,
            story_head(),
            *_visible(session),
        )
    )
    return [(p, s) for p, s in rows]


def source_health(session: Session, watch_ids: Sequence[int]) -> list[SourceHealth]:
    """Enabled sources relevant to these watches: plain feeds, and search feeds of these watches.

    When each last brought an item is kept on the source by the poll (``last_item_at``), not aggregated
    over all of item_sources."""
    query = (
        select(Source)
        .where(Source.enabled.is_(True), or_(Source.watch_id.is_(None), Source.watch_id.in_(list(watch_ids) or [-1])))
        .order_by(Source.name)
    )
    return [
        SourceHealth(
            s.name, s.url, s.created_at, s.consecutive_failures, s.last_error_kind, s.last_success_at, s.last_item_at
        )
        for s in session.scalars(query)
    ]


def published_since(session: Session, watch_id: int, since: datetime) -> list[datetime]:
    """Publication dates of the watch's stories (one per story: ten outlets carrying one story are not a spike)."""
    return list(
        session.scalars(
            select(Mention.published_at).where(
                Mention.watch_id == watch_id,
                Mention.published_at >= since,
                or_(Mention.cluster_id.is_(None), Mention.cluster_id == Mention.id),
                *_visible(session),
            )
        )
    )


def recent_spike_window(days: int = 8) -> timedelta:
    return timedelta(days=days)
