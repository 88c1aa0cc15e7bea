"""Typed records passed between the stages of a poll: fetch → parse → normalize → store.

They are plain frozen dataclasses: no I/O, no database handles, so each stage can be tested alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional GET sends back to the server (RFC 9110 §13.1)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A completed HTTP exchange. ``content`` is None when the server answered 304 Not Modified."""

    url: str
    final_url: str
    status: int
    content: bytes | None
    headers: Mapping[str, str]
    validators: Validators
    elapsed_ms: int

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One entry as the feed carries it, before any cleaning."""

    guid: str | None
    link: str | None
    title: str
    title_type: str
    summary: str
    summary_type: str
    content: str
    content_type: str
    published: datetime | None
    author: str | None = None
    source_title: str | None = None
    source_url: str | None = None
    #: the publisher's own link when the feed's goes through a proxy (Feedburner's ``feedburner:origLink``)
    orig_link: str | None = None
    #: a plain-text version of the content given beside it (JSON Feed's ``content_text``)
    content_text: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    language: str | None
    entries: tuple[ParsedEntry, ...]
    ttl_minutes: int | None = None
    #: feedparser's "bozo" reason when the feed was malformed but still readable.
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class ItemDraft:
    """A normalized entry, ready to be stored once whatever number of sources carried it."""

    canonical_url: str | None
    guid: str | None
    url: str | None
    title: str
    text: str
    published: datetime
    author: str | None = None
    publisher: str | None = None
    publisher_domain: str | None = None

    @property
    def key(self) -> str:
        """Identity of the item: canonical URL, else the GUID (never empty, see normalize)."""
        return self.canonical_url or f"guid:{self.guid}"
