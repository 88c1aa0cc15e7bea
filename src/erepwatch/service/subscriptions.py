"""OPML subscriptions in and out of the database (the document itself is :mod:`erepwatch.catalog.opml`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erepwatch.catalog.opml import OpmlFeed, read_opml, write_opml
from erepwatch.db.models import Source, Watch
from erepwatch.errors import ErepwatchError
from erepwatch.service.sources import SourceInput, add_source

__all__ = ["OpmlImportReport", "export_opml", "import_opml"]


@dataclass
class OpmlImportReport:
    added: list[dict[str, Any]] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "existing": self.existing, "refused": self.refused}


def import_opml(
    session: Session, data: bytes, *, default_interval: timedelta, now: datetime | None = None
) -> OpmlImportReport:
    """Add every feed of the OPML document that is not a source yet; importing twice adds nothing."""
    report = OpmlImportReport()
    watches = {w.name: w.id for w in session.scalars(select(Watch))}
    for feed in read_opml(data):
        if session.scalar(select(Source.id).where(Source.url == feed.url.strip())) is not None:
            report.existing.append(feed.url)
            continue
        watch_id = watches.get(feed.watch) if feed.watch else None
        # A search feed whose watch is not here is still a feed worth polling: kept as a plain one.
        kind = "search" if feed.kind == "search" and watch_id else "feed"
        name = (feed.title or "").strip()[:200] or None
        if name and session.scalar(select(Source.id).where(Source.name == name)) is not None:
            name = None  # a name clash falls back to host and path
        try:
            with session.begin_nested():
                source = add_source(
                    session,
                    SourceInput(url=feed.url, name=name, kind=kind, watch_id=watch_id,
                                provider=feed.provider if kind == "search" else None,
                                interval=timedelta(seconds=feed.interval) if feed.interval else None),
                    default_interval=default_interval,
                    now=now,
                )  # fmt: skip
        except ErepwatchError as exc:
            report.refused.append(f"{feed.url}: {exc}")
            continue
        report.added.append({"id": source.id, "name": source.name, "url": source.url, "kind": source.kind})
    return report


def export_opml(session: Session, *, now: datetime | None = None) -> bytes:
    sources = session.scalars(select(Source).order_by(Source.id))
    feeds = []
    for s in sources:
        watch = s.watch.name if s.watch_id and s.watch else None
        feeds.append(
            OpmlFeed(
                url=s.url,
                title=s.name,
                category=f"watch: {watch}" if s.kind == "search" and watch else None,
                kind=s.kind,
                watch=watch,
                provider=s.provider,
                interval=s.interval_seconds,
            )
        )
    return write_opml(feeds, now=now)
