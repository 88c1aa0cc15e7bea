"""Reading mentions back: newest first, one line per story cluster unless every member is asked for.

The query and the view type are the one read model (:mod:`erepwatch.db.mention_views`); this use case turns
a person's filters (a watch by name, a period, a sentiment) into it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from erepwatch.clock import utcnow
from erepwatch.db.mention_views import MentionFilter, MentionView, select_views, why_of
from erepwatch.enums import Sentiment, values
from erepwatch.errors import InvalidInputError
from erepwatch.service.watches import get_watch

__all__ = ["SENTIMENTS", "MentionView", "list_mentions", "why_of"]

SENTIMENTS = values(Sentiment)


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
    """Mentions newest first; one per story (with its other members as ``duplicates``) unless ``every_member``."""
    now = now or utcnow()
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise InvalidInputError(f"sentiment must be one of {', '.join(SENTIMENTS)}")
    found = MentionFilter(
        watch_ids=None if watch is None else [get_watch(session, watch).id],
        sentiment=sentiment,
        published_since=None if since is None else now - since,
        one_per_story=not every_member,
    )
    return select_views(session, found, limit=limit, with_duplicates=True)
