"""A watch's search feeds in the database: added by ``source add-search``, kept in step with the watch.

A search source is a :class:`~erepwatch.db.models.Source` with ``kind="search"``, its watch and its provider;
its name is ``"<watch> · <Provider> <slot>"`` where the slot ("fr-FR", "newcomments", "r/france") does not
depend on the query. When the watch's query, languages or regions change, :func:`refresh_search_feeds`
rebuilds the feeds and matches them to the stored ones by slot: a changed URL is updated in place (its
validators reset, polled at once), a slot that no longer exists is removed, a new one added. Subreddits and
Mastodon instances chosen at ``add-search`` are read back from the stored URLs, so they survive an edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from erepwatch.catalog import PROVIDERS, feeds_for_watch, get_provider
from erepwatch.catalog.base import SearchFeed, feed_name, slot_of
from erepwatch.clock import utcnow
from erepwatch.db.models import Source, Watch
from erepwatch.service.sources import SourceInput, add_source
from erepwatch.settings import DEFAULTS

__all__ = ["SyncReport", "add_search_feeds", "refresh_search_feeds", "search_sources", "sync_search_feeds"]

DEFAULT_INTERVAL = DEFAULTS.poll_search_interval


@dataclass
class SyncReport:
    watch: str
    added: list[Source] = field(default_factory=list)
    updated: list[Source] = field(default_factory=list)
    kept: list[Source] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: feeds another source already polls (same URL): that source's items reach every watch anyway.
    shared: list[tuple[SearchFeed, str]] = field(default_factory=list)
    #: per provider, what its query could not say exactly (the matcher narrows).
    approximations: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        def row(s: Source) -> dict[str, object]:
            return {"id": s.id, "name": s.name, "url": s.url, "provider": s.provider}

        return {
            "watch": self.watch,
            "added": [row(s) for s in self.added],
            "updated": [row(s) for s in self.updated],
            "kept": [row(s) for s in self.kept],
            "removed": self.removed,
            "shared": [{"url": f.url, "provider": f.provider, "source": name} for f, name in self.shared],
            "approximations": {k: list(v) for k, v in self.approximations.items()},
        }


def search_sources(session: Session, watch: Watch) -> list[Source]:
    return list(
        session.scalars(select(Source).where(Source.watch_id == watch.id, Source.kind == "search").order_by(Source.id))
    )


def _free_name(session: Session, name: str, source_id: int | None = None) -> str:
    candidate, n = name, 2
    while True:
        clash = session.scalar(select(Source.id).where(Source.name == candidate))
        if clash is None or clash == source_id:
            return candidate
        candidate, n = f"{name[:195]} ({n})", n + 1


def sync_search_feeds(
    session: Session,
    watch: Watch,
    providers: Sequence[str],
    *,
    options: Mapping[str, Iterable[str]] | None = None,
    interval: timedelta = DEFAULT_INTERVAL,
    base_url: str | None = None,
    now: datetime | None = None,
) -> SyncReport:
    """Make the watch's search sources of ``providers`` exactly the catalog's feeds for it (others untouched)."""
    now = now or utcnow()
    names = [get_provider(p).name for p in providers]
    desired = feeds_for_watch(watch, names, options=options, base_url=base_url)
    report = SyncReport(watch.name)
    for feed in desired:
        report.approximations.setdefault(feed.provider, feed.approximations)
    existing: dict[tuple[str, str], Source] = {}
    for source in search_sources(session, watch):
        if source.provider in names:
            slot = slot_of(source.name, PROVIDERS[source.provider])
            key = (source.provider, slot or f"#{source.id}")
            if key in existing:  # two rows for one slot (hand-made): keep the first
                report.removed.append(source.name)
                session.delete(source)
            else:
                existing[key] = source
    # Unique (provider, slot) feeds; a URL already ours is kept whatever its slot was (alternatives reorder).
    todo: dict[tuple[str, str], SearchFeed] = {}
    for feed in desired:
        todo.setdefault((feed.provider, feed.slot), feed)
    by_url = {source.url: key for key, source in existing.items()}
    assigned: dict[tuple[str, str], Source] = {}
    for key, feed in todo.items():
        old_key = by_url.get(feed.url)
        if old_key is not None:
            assigned[key] = existing.pop(old_key)
    for key in todo:
        if key not in assigned and key in existing:
            assigned[key] = existing.pop(key)
    # Free every name first: rows may swap names, and names are unique.
    for source in assigned.values():
        source.name = f"~{source.id}"
    session.flush()
    for key, feed in todo.items():
        name = feed_name(watch.name, PROVIDERS[feed.provider], feed.slot)
        current = assigned.get(key)
        owner = session.scalar(select(Source).where(Source.url == feed.url))
        if owner is not None and owner is not current:
            report.shared.append((feed, owner.name))
            if current is not None:
                report.removed.append(name)
                session.delete(current)
            continue
        if current is None:
            created = add_source(
                session,
                SourceInput(url=feed.url, name=_free_name(session, name), interval=interval, kind="search",
                            watch_id=watch.id, provider=feed.provider),
                default_interval=interval,
                now=now,
            )  # fmt: skip
            report.added.append(created)
            continue
        current.name = _free_name(session, name, current.id)
        if current.url == feed.url:
            report.kept.append(current)
            continue
        current.url = feed.url
        current.etag = current.last_modified = None  # another query: the old validators mean nothing
        current.next_check_at = now
        report.updated.append(current)
    for source in existing.values():
        report.removed.append(source.name)
        session.delete(source)
    session.flush()
    return report


def add_search_feeds(
    session: Session,
    watch: Watch,
    providers: Sequence[str] | None = None,
    *,
    options: Mapping[str, Iterable[str]] | None = None,
    interval: timedelta = DEFAULT_INTERVAL,
    base_url: str | None = None,
    now: datetime | None = None,
) -> SyncReport:
    """``source add-search``: the default providers (and Mastodon when an instance is named) unless told."""
    opts = {k: tuple(v) for k, v in (options or {}).items() if v}
    if not providers:
        providers = [name for name, p in PROVIDERS.items() if p.default]
        if opts.get("mastodon"):
            providers.append("mastodon")
    # Options given now join those already chosen (another subreddit), never replace them silently.
    stored = _stored_options(search_sources(session, watch))
    merged = {k: tuple(dict.fromkeys([*stored.get(k, ()), *opts.get(k, ())])) for k in {*stored, *opts}}
    return sync_search_feeds(session, watch, providers, options=merged, interval=interval, base_url=base_url,
                             now=now)  # fmt: skip


def _stored_options(sources: Sequence[Source]) -> dict[str, tuple[str, ...]]:
    options: dict[str, list[str]] = {}
    for source in sources:
        provider = PROVIDERS.get(source.provider or "")
        if provider is None or provider.options_from_url is None:
            continue
        for key, values in provider.options_from_url(source.url).items():
            options.setdefault(key, []).extend(v for v in values if v not in options.get(key, []))
    return {k: tuple(v) for k, v in options.items()}


def _stored_base(sources: Sequence[Source]) -> str | None:
    """The origin the feeds were rebased to (catalog.base_url at add time), to keep it across edits."""
    for source in sources:
        provider = PROVIDERS.get(source.provider or "")
        if provider is None or not provider.hosts:
            continue
        parts = urlsplit(source.url)
        if parts.hostname not in provider.hosts:
            return f"{parts.scheme}://{parts.netloc}"
    return None


def refresh_search_feeds(session: Session, watch: Watch, *, now: datetime | None = None) -> SyncReport:
    """Rebuild the watch's search feeds after its query, languages or regions changed (``watch edit``)."""
    sources = search_sources(session, watch)
    providers = list(dict.fromkeys(s.provider for s in sources if s.provider is not None and s.provider in PROVIDERS))
    if not providers:
        return SyncReport(watch.name)
    interval = timedelta(seconds=sources[0].interval_seconds)
    return sync_search_feeds(
        session, watch, providers, options=_stored_options(sources), interval=interval,
        base_url=_stored_base(sources), now=now,
    )  # fmt: skip
