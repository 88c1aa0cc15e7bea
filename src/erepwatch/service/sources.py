"""Sources: feed URLs with their schedule and health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erepwatch.clock import utcnow
from erepwatch.db.models import Source
from erepwatch.errors import ConflictError, FeedParseError, FetchError, InvalidInputError, SourceErrorKind
from erepwatch.schedule import is_broken
from erepwatch.service.common import find_one
from erepwatch.settings import Settings

#: What the sources.url column holds.
MAX_URL = 2000


def check_feed_url(url: str) -> str:
    """An absolute http(s) URL with a host, or a clear refusal."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidInputError(f"malformed URL {url!r}: {exc}") from exc
    if parts.scheme.lower() not in {"http", "https"}:
        raise InvalidInputError(f"malformed URL {url!r}: only http:// and https:// feeds can be added")
    if not parts.hostname or any(c.isspace() for c in url):
        raise InvalidInputError(f"malformed URL {url!r}: no host name")
    if len(url) > MAX_URL:
        raise InvalidInputError(f"URL longer than {MAX_URL} characters: {url[:80]!r}…")
    return url


def default_name(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return f"{parts.hostname}{path}"[:200] if path else str(parts.hostname)


@dataclass(frozen=True, slots=True)
class SourceInput:
    url: str
    name: str | None = None
    interval: timedelta | None = None
    kind: str = "feed"
    watch_id: int | None = None
    provider: str | None = None


def new_source(data: SourceInput, *, default_interval: timedelta, now: datetime) -> Source:
    """The row for a new source (URL checked, name defaulted), not yet added to any session."""
    url = check_feed_url(data.url)
    interval = data.interval or default_interval
    return Source(
        name=(data.name or default_name(url)).strip(),
        url=url,
        kind=data.kind,
        watch_id=data.watch_id,
        provider=data.provider,
        interval_seconds=max(1, int(interval.total_seconds())),
        enabled=True,
        created_at=now,
        next_check_at=now,
        consecutive_failures=0,
    )


def add_source(
    session: Session, data: SourceInput, *, default_interval: timedelta, now: datetime | None = None
) -> Source:
    source = new_source(data, default_interval=default_interval, now=now or utcnow())
    if session.scalar(select(Source.id).where(Source.url == source.url)) is not None:
        raise ConflictError(f"the feed {source.url} is already a source")
    if session.scalar(select(Source.id).where(Source.name == source.name)) is not None:
        raise ConflictError(f"a source named {source.name!r} already exists; choose another with --name")
    session.add(source)
    session.flush()
    return source


def get_source(session: Session, ref: str | int) -> Source:
    return find_one(session, Source, ref, what="source")


def remove_source(session: Session, ref: str | int) -> Source:
    source = get_source(session, ref)
    session.delete(source)
    session.flush()
    return source


def list_sources(session: Session) -> list[tuple[Source, int]]:
    """Every source with the number of items stored from it (kept on the source by each poll: counting
    item_sources here would read every link ever stored)."""
    return [(source, source.item_count or 0) for source in session.scalars(select(Source).order_by(Source.id))]


@dataclass(frozen=True, slots=True)
class Outlook:
    """Why a poll found nothing to do: how many sources are enabled, how many wait out a failure's backoff
    (``poll --all`` leaves them waiting too), and when the next one is due."""

    enabled: int
    failing: int
    next_check: datetime | None


def outlook(session: Session) -> Outlook:
    enabled = Source.enabled.is_(True)
    next_check, total = session.execute(select(func.min(Source.next_check_at), func.count()).where(enabled)).one()
    failing = session.scalar(select(func.count()).where(enabled, Source.consecutive_failures > 0)) or 0
    return Outlook(enabled=total or 0, failing=failing, next_check=next_check)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def source_as_dict(source: Source, items: int) -> dict[str, Any]:
    return {
        "id": source.id,
        "name": source.name,
        "url": source.url,
        "kind": source.kind,
        "watch": source.watch.name if source.watch_id and source.watch else None,
        "interval": source.interval_seconds,
        "items": items,
        "last_success": _iso(source.last_success_at),
        "last_error": source.last_error_message if source.last_error_kind else None,
        "last_error_kind": source.last_error_kind,
        "last_error_at": _iso(source.last_error_at),
        "failures": source.consecutive_failures,
        "broken": is_broken(source.consecutive_failures),
        "next_check": _iso(source.next_check_at),
    }


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """What one fetch of a new source's URL showed: a readable feed, with its title and entry count."""

    url: str
    title: str | None
    entries: int


async def check_feed(url: str, settings: Settings) -> FeedCheck:
    """Fetch and parse ``url`` once, as a poll would; a failure is refused with the poll's error kind.

    An HTML page gets the advice to look for its feeds with ``source discover``.
    """
    from erepwatch.ingest.fetch import Fetcher
    from erepwatch.ingest.parse import parse_feed
    from erepwatch.pipeline import fetch_policy

    url = check_feed_url(url)
    anyway = "; add it anyway with --no-check"
    async with Fetcher(fetch_policy(settings)) as fetcher:
        try:
            result = await fetcher.fetch(url)
        except FetchError as exc:
            raise InvalidInputError(f"{url}: {exc.kind}: {exc}{anyway}") from exc
    try:
        feed = parse_feed(result.content or b"", result.headers, url=result.final_url)
    except FeedParseError as exc:
        hint = (
            f"; find its feeds with `erepwatch source discover {url}`" if exc.kind == SourceErrorKind.NOT_A_FEED else ""
        )
        raise InvalidInputError(f"{url}: {exc.kind}: {exc}{hint}{anyway}") from exc
    return FeedCheck(url=result.final_url, title=feed.title, entries=len(feed.entries))


def enable_source(session: Session, ref: str | int, *, now: datetime | None = None) -> Source:
    """Put a disabled or broken source back in the schedule: checked at once, its failure count reset."""
    source = get_source(session, ref)
    now = now or utcnow()
    source.enabled = True
    source.consecutive_failures = 0
    source.next_check_at = now
    session.flush()
    return source


def discover_site(url: str, *, policy: Any) -> list[Any]:
    """The feeds a web page announces (``<link rel="alternate">``, YouTube channel pages included), fetched with
    the poll's own rules (``policy``: :func:`erepwatch.pipeline.fetch_policy`, so internal addresses stay refused)."""
    import asyncio

    from erepwatch.catalog.discover import discover_feeds
    from erepwatch.ingest.fetch import Fetcher

    url = check_feed_url(url)

    async def fetch() -> Any:
        async with Fetcher(policy) as fetcher:
            return await fetcher.fetch(url)

    result = asyncio.run(fetch())
    return list(discover_feeds(result.content or b"", result.final_url))
