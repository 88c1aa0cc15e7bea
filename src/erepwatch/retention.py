"""Purge what is older than the retention period, keeping whatever a delivery still waiting to go out needs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.batching import chunked
from erepwatch.db.models import Delivery, Item, ItemSource, Mention, Source
from erepwatch.db.store import rowcount
from erepwatch.enums import WAITING_STATUSES

#: Rows deleted per transaction, so a first purge of a large database never holds a long write lock.
CHUNK = 500
WAITING = WAITING_STATUSES


def _needed_items(session: Session) -> set[int]:
    mention_ids = {
        int(i)
        for ids in session.scalars(select(Delivery.mention_ids).where(Delivery.status.in_(WAITING)))
        for i in ids or ()
    }
    if not mention_ids:
        return set()
    needed: set[int] = set()
    ordered = sorted(mention_ids)
    for chunk in chunked(ordered):
        needed.update(session.scalars(select(Mention.item_id).where(Mention.id.in_(chunk))))
    return needed


def _uncount_links(session: Session, item_ids: list[int]) -> None:
    """Keep ``sources.item_count`` equal to the links stored while links are deleted."""
    gone = session.execute(
        select(ItemSource.source_id, func.count())
        .where(ItemSource.item_id.in_(item_ids))
        .group_by(ItemSource.source_id)
    ).all()
    for source_id, n in gone:
        session.execute(
            update(Source)
            .where(Source.id == source_id)
            .values(item_count=case((Source.item_count > n, Source.item_count - n), else_=0))
        )


def purge(sessions: sessionmaker[Session], *, now: datetime, days: int) -> tuple[int, int]:
    """Delete items fetched and published more than ``days`` ago, with their mentions and "seen in" rows, and
    finished deliveries created before then. Returns (items, deliveries) deleted."""
    cutoff = now - timedelta(days=days)
    items = deliveries = 0
    with sessions() as session:
        needed = _needed_items(session)
    while True:
        with sessions() as session, session.begin():
            ids = [
                i
                for i in session.scalars(
                    select(Item.id)
                    .where(Item.fetched_at < cutoff, Item.published_at < cutoff)
                    .order_by(Item.id)
                    .limit(CHUNK + len(needed))
                )
                if i not in needed
            ][:CHUNK]
            if not ids:
                break
            # Mentions are deleted explicitly too: the cascade is the database's, and an ORM-less bulk delete
            # must not depend on every backend enforcing it.
            session.execute(delete(Mention).where(Mention.item_id.in_(ids)))
            _uncount_links(session, ids)
            session.execute(delete(ItemSource).where(ItemSource.item_id.in_(ids)))
            items += rowcount(session.execute(delete(Item).where(Item.id.in_(ids))))
    with sessions() as session, session.begin():
        deliveries = rowcount(
            session.execute(delete(Delivery).where(Delivery.status.not_in(WAITING), Delivery.created_at < cutoff))
        )
    return items, deliveries
