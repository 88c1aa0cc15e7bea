"""What a new or edited watch finds at once: mentions among the stored items, and a first search-feed poll.

Google Alerts shows a live preview while a query is typed; the closest here is that ``watch add`` reports the
mentions already in the store and, with ``--search``, subscribes the catalog's search feeds and polls them
at once, so that results are there before the next scheduled poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from erepwatch.settings import Settings


@dataclass(slots=True)
class FirstResults:
    #: mentions created among the items already stored (within retention)
    stored_mentions: int = 0
    #: search feeds subscribed and polled at once (``--search``)
    feeds: list[str] = field(default_factory=list)
    polled_failed: int = 0
    new_items: int = 0
    new_mentions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored_mentions": self.stored_mentions,
            "search_feeds": self.feeds,
            "search_failed": self.polled_failed,
            "new_items": self.new_items,
            "new_mentions": self.new_mentions,
        }


def match_stored(factory: sessionmaker[Session], settings: Settings, watch_ids: Iterable[int]) -> int:
    """Mentions of these watches among the items already stored; returns how many were created."""
    from erepwatch.backfill import match_stored_items

    return match_stored_items(factory, settings, watch_ids)


def subscribe_and_poll(factory: sessionmaker[Session], settings: Settings, watch_id: int) -> FirstResults:
    """Subscribe the watch to its default search feeds and poll them now."""
    from erepwatch.db.models import Watch
    from erepwatch.pipeline import run_poll
    from erepwatch.service.search_feeds import add_search_feeds

    results = FirstResults()
    with factory() as session, session.begin():
        watch = session.get_one(Watch, watch_id)
        report = add_search_feeds(
            session, watch, interval=settings.poll_search_interval, base_url=settings.catalog_base_url or None
        )
        sources = [*report.added, *report.updated, *report.kept]
        ids = [s.id for s in sources]
        results.feeds = [s.url for s in sources]
    if ids:
        stats = asyncio.run(run_poll(factory, settings, source_ids=ids))
        results.polled_failed = stats.failed
        results.new_items = stats.new_items
        results.new_mentions = stats.new_mentions
    return results
