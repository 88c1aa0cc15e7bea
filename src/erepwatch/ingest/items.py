"""Parsed entries → :class:`ItemDraft`: plain text, UTC dates, a canonical identity, the publisher."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta

from erepwatch.ingest.canonical import canonical_url, clean_url, publisher_domain, split_publisher
from erepwatch.ingest.html import plain_text
from erepwatch.records import ItemDraft, ParsedEntry, ParsedFeed

#: A date further in the future than this is a feed's mistake (or time-zone confusion): use the fetch time.
FUTURE_TOLERANCE = timedelta(days=1)
MAX_TITLE = 1000
MAX_TEXT = 100_000


def item_from_entry(entry: ParsedEntry, *, fetched_at: datetime, feed: ParsedFeed | None = None) -> ItemDraft | None:
    """One entry as an item, or None when it carries neither a link, an id, a title nor any text."""
    title = plain_text(entry.title, entry.title_type)[:MAX_TITLE]
    summary = plain_text(entry.summary, entry.summary_type)
    content = plain_text(entry.content, entry.content_type)
    # Feeds often repeat the summary as the start of the full content: keep each sentence once.
    if content and summary and summary[:200] in content:
        summary = ""
    text = " ".join(part for part in (summary, content) if part)[:MAX_TEXT]

    url = canonical_url(entry.link) if entry.link else None
    guid = entry.guid.strip() if entry.guid and entry.guid.strip() else None
    if url is None and guid is None:
        if not title and not text:
            return None
        # No identity at all: the content itself is the identity, so a re-poll is not a new item.
        guid = "sha1:" + hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()

    title, publisher, domain = split_publisher(title, entry.source_title, entry.source_url)
    published = entry.published if entry.published and entry.published <= fetched_at + FUTURE_TOLERANCE else None

    return ItemDraft(
        canonical_url=url,
        guid=guid,
        url=clean_url(entry.link) if url else None,
        title=title,
        text=text,
        published=published or fetched_at,
        author=entry.author,
        publisher=publisher or (feed.title if feed else None),
        publisher_domain=domain or publisher_domain(url),
    )


def items_from_feed(feed: ParsedFeed, *, fetched_at: datetime) -> list[ItemDraft]:
    """Every usable entry of a feed, each identity once (feeds do repeat entries).

    Across sources an article is known by its canonical link. Within one feed, though, entries that share
    a link but carry different GUIDs are different entries (comments of one post, episodes pointing to the
    show's page): those are known by their GUID instead.
    """
    drafts = [d for d in (item_from_entry(e, fetched_at=fetched_at, feed=feed) for e in feed.entries) if d]
    guids_per_url: dict[str, set[str | None]] = {}
    for draft in drafts:
        if draft.canonical_url:
            guids_per_url.setdefault(draft.canonical_url, set()).add(draft.guid)
    unique: dict[str, ItemDraft] = {}
    for draft in drafts:
        shared = draft.canonical_url and len(guids_per_url[draft.canonical_url]) > 1
        if shared and draft.guid:
            draft = replace(draft, canonical_url=None)
        unique.setdefault(draft.key, draft)
    return list(unique.values())
