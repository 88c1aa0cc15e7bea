"""Database reads for notifications: a recipient's mentions, chart points, source health, spike counts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from erepwatch.db.models import Item, Mention, Recipient, Source, Watch
from erepwatch.db.search import visible, visible_mention_ids
from erepwatch.notify.digest import MentionRow, SourceHealth


def watch_ids_of(session: Session, recipient: Recipient) -> list[int]:
    """The watches a recipient follows (all of them when its list is empty), still existing."""
    query = select(Watch.id).order_by(Watch.id)
    if recipient.watch_ids:
        query = query.where(Watch.id.in_([int(i) for i in recipient.watch_ids]))
    return list(session.scalars(query))


def _select_rows():
    first_source = aliased(Source)
    return (
        select(Mention, Item, Watch.name, first_source.name)
        .join(Item, Item.id == Mention.item_id)
        .join(Watch, Watch.id == Mention.watch_id)
        .outerjoin(first_source, first_source.id == Item.first_source_id)
    )


def _row(mention: Mention, item: Item, watch: str, source: str | None) -> MentionRow:
    return MentionRow(
        id=mention.id,
        watch_id=mention.watch_id,
        watch=watch,
        cluster_id=mention.cluster_id or mention.id,
        title=item.title,
        url=item.url,
        publisher=item.publisher or item.publisher_domain or source,
        published=mention.published_at,
        created=mention.created_at,
        sentiment=mention.sentiment,
        tags=tuple(mention.tags or ()),
        snippet=mention.snippet or "",
        marks=tuple(tuple(m) for m in mention.snippet_marks or ()),  # type: ignore[misc]
    )


def found_between(
    session: Session, watch_ids: Sequence[int], start: datetime, end: datetime, *, exclude: Collection[int] = ()
) -> list[MentionRow]:
    """News mentions (``notify``) of these watches stored in [start, end), minus ``exclude``."""
    if not watch_ids:
        return []
    query = (
        _select_rows()
        .where(
            Mention.watch_id.in_(list(watch_ids)),
            Mention.notify.is_(True),
            Mention.created_at >= start,
            Mention.created_at < end,
            visible(),
        )
        .order_by(Mention.id)
    )
    excluded = set(exclude)
    return [_row(*r) for r in session.execute(query).all() if r[0].id not in excluded]


def rows_by_id(session: Session, ids: Iterable[int]) -> list[MentionRow]:
    wanted = sorted({int(i) for i in ids})
    out: list[MentionRow] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        out.extend(_row(*r) for r in session.execute(_select_rows().where(Mention.id.in_(chunk))).all())
    return sorted(out, key=lambda r: r.id)


def chart_points(session: Session, watch_ids: Sequence[int], since: datetime) -> list[tuple[datetime, str]]:
    if not watch_ids:
        return []
    rows = session.execute(
        select(Mention.published_at, Mention.sentiment).where(
            Mention.watch_id.in_(list(watch_ids)),
            Mention.published_at >= since,
            or_(Mention.cluster_id.is_(None), Mention.cluster_id == Mention.id),
            visible_mention_ids(),
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
    return list(
        session.scalars(
            select(Mention.published_at).where(
                Mention.watch_id == watch_id, Mention.published_at >= since, visible_mention_ids()
            )
        )
    )


def recent_spike_window(days: int = 8) -> timedelta:
    return timedelta(days=days)
