"""Reading mentions back: newest first, one line per story cluster unless every member is asked for.

The query and the view type are the one read model (:mod:`erepwatch.db.mention_views`); this use case turns
a person's filters (a watch by name, a period, a sentiment) into it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erepwatch.clock import utcnow
from erepwatch.db.mention_views import MentionFilter, MentionView, mention_keys, select_views, why_of
from erepwatch.enums import Sentiment, values
from erepwatch.errors import InvalidInputError

__all__ = ["SENTIMENTS", "MentionView", "count_mentions", "list_mentions", "why_of"]

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
    found = _filter(session, watch, since, sentiment, every_member, now)
    return select_views(session, found, limit=limit, with_duplicates=True)


def count_mentions(
    session: Session,
    *,
    watch: str | None = None,
    since: timedelta | None = None,
    sentiment: str | None = None,
    every_member: bool = False,
    now: datetime | None = None,
) -> int:
    """How many lines :func:`list_mentions` gives without a limit (the CLI says how many more there are)."""
    # The same filters on the mentions table alone: nothing to join, a small statement to compile.
    query = mention_keys(session, _filter(session, watch, since, sentiment, every_member, now))
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _filter(
    session: Session,
    watch: str | None,
    since: timedelta | None,
    sentiment: str | None,
    every_member: bool,
    now: datetime | None,
) -> MentionFilter:
    now = now or utcnow()
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise InvalidInputError(f"sentiment must be one of {', '.join(SENTIMENTS)}")
    return MentionFilter(
        watch_ids=None if watch is None else [_watch_id(session, watch)],
        sentiment=sentiment,
        published_since=None if since is None else now - since,
        one_per_story=not every_member,
    )


def _watch_id(session: Session, ref: str) -> int:
    # Imported here: the watches' module brings the query parser, which listing mentions does not otherwise need
    # (`erepwatch mentions` starts faster, benchmarks/bench_cli_startup.py).
    from erepwatch.service.watches import get_watch

    return get_watch(session, ref).id
