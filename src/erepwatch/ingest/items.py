"""Parsed entries → :class:`ItemDraft`: plain text, UTC dates, a canonical identity, the publisher.

This is the boundary where feed text becomes storable: every field is made valid (no lone surrogate, no NUL:
:func:`erepwatch.scrub.valid_text`) and cut to what its column holds, so one hostile entry can neither make
language detection fail nor make PostgreSQL refuse the whole source. The rule for what is too long:
- title and text are cut (``MAX_TITLE``, ``MAX_TEXT``); author and publisher at ``MAX_NAME``, the publisher's
  domain at ``MAX_DOMAIN``;
- a link longer than ``MAX_URL`` is dropped, not cut (a cut URL leads nowhere and would give a wrong identity):
  the entry is then known by its GUID, or by its content;
- a GUID longer than ``MAX_GUID`` is replaced by its SHA-1 (a stable identity that fits).
An entry that still fails here is skipped alone and logged with its id; the rest of the feed goes on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Container, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from erepwatch.ingest.canonical import item_urls, publisher_domain, split_publisher
from erepwatch.ingest.html import plain_text
from erepwatch.records import ItemDraft, ParsedEntry, ParsedFeed
from erepwatch.scrub import valid_optional, valid_text

log = logging.getLogger(__name__)

#: A date further in the future than this is a feed's mistake (or time-zone confusion): use the fetch time.
FUTURE_TOLERANCE = timedelta(days=1)
MAX_TITLE = 1000
MAX_TEXT = 100_000
#: What the item columns hold (db/models.py): url and guid String(2000), author and publisher String(500).
MAX_URL = 2000
MAX_GUID = 2000
MAX_NAME = 500
MAX_DOMAIN = 300
#: Raw markup read per field: far more than MAX_TEXT of visible text, far less than a 14 MiB title.
MAX_RAW = 10 * MAX_TEXT


def _raw(value: str) -> str:
    return valid_text(value[:MAX_RAW])


def _link(url: str | None) -> str | None:
    return url if url is not None and len(url) <= MAX_URL else None


@dataclass(frozen=True, slots=True)
class EntryIdentity:
    """What identifies an entry, read from its link and id alone (no text is reduced for it)."""

    #: the canonical link (None when the entry has none usable, or shares it with other entries of the feed)
    canonical_url: str | None
    #: the link to show (the clean link)
    url: str | None
    guid: str | None
    #: the link's canonical form, even when it is not the entry's key (a link the feed gives several entries)
    link_key: str | None = None

    @property
    def key(self) -> str | None:
        """:attr:`ItemDraft.key` of the entry's item; None when only its content can identify it."""
        if self.canonical_url:
            return self.canonical_url
        return f"guid:{self.guid}" if self.guid is not None else None


def entry_identity(entry: ParsedEntry) -> EntryIdentity:
    # Feedburner serves its own feedproxy.google.com links; the article's is in feedburner:origLink, and only
    # that one merges with the same article from the publisher's direct feed.
    raw_link = entry.orig_link or entry.link
    link = valid_text(raw_link) if raw_link and len(raw_link) <= MAX_URL else None
    key, clean = item_urls(link) if link else (None, None)
    url = _link(key)
    guid = valid_text(entry.guid).strip() if entry.guid and entry.guid.strip() else None
    if guid is not None and len(guid) > MAX_GUID:
        guid = "sha1:" + hashlib.sha1(guid.encode()).hexdigest()
    return EntryIdentity(url, _link(clean) if url else None, guid, url)


def item_from_entry(
    entry: ParsedEntry,
    *,
    fetched_at: datetime,
    feed: ParsedFeed | None = None,
    identity: EntryIdentity | None = None,
) -> ItemDraft | None:
    """One entry as an item, or None when it carries neither a link, an id, a title nor any text."""
    title = plain_text(_raw(entry.title), entry.title_type)[:MAX_TITLE]
    # JSON Feed: content_text is the author's text; content_html is often escaped twice by the generator
    # ("&lt;p&gt;"), which no HTML reading can undo without guessing.
    if entry.content_text:
        content = plain_text(_raw(entry.content_text), "text/plain")
        summary = plain_text(_raw(entry.summary), entry.summary_type)
    else:
        content = plain_text(_raw(entry.content), entry.content_type)
        # The very markup of the content (feeds that repeat it in their description, a reader that gives the
        # content as the summary): its text is the content's, which the rule below drops. A quarter of the corpus's
        # markup is such a copy, and reading it again cost ~25 µs an entry.
        same = entry.summary == entry.content and entry.summary_type == entry.content_type
        summary = "" if same else plain_text(_raw(entry.summary), entry.summary_type)
    # Feeds often repeat the summary as the start of the full content: keep each sentence once.
    if content and summary and summary[:200] in content:
        summary = ""
    text = " ".join(part for part in (summary, content) if part)[:MAX_TEXT]

    identity = identity or entry_identity(entry)
    url, clean, guid = identity.link_key, identity.url, identity.guid
    if url is None and guid is None:
        if not title and not text:
            return None
        # No identity at all: the content itself is the identity, so a re-poll is not a new item.
        guid = "sha1:" + hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()

    source_title = valid_optional(entry.source_title, MAX_NAME)
    source_url = entry.source_url if entry.source_url and len(entry.source_url) <= MAX_URL else None
    title, publisher, domain = split_publisher(title, source_title, valid_optional(source_url, MAX_URL))
    feed_name = feed.title if feed else None
    if feed is not None and is_google_alerts(feed):
        # "Google Alert - Slack" names the alert, not who wrote the article: the article's site does.
        feed_name = publisher_domain(url)
    published = entry.published if entry.published and entry.published <= fetched_at + FUTURE_TOLERANCE else None

    return ItemDraft(
        canonical_url=identity.canonical_url,
        guid=guid,
        url=clean,  # set only when the link had a key (even if a link shared in the feed no longer is the key)
        title=title,
        text=text,
        published=published or fetched_at,
        author=valid_optional(entry.author, MAX_NAME),
        publisher=valid_optional(publisher or feed_name, MAX_NAME),
        publisher_domain=valid_optional(domain or publisher_domain(url), MAX_DOMAIN),
    )


_ALERT_TITLES = ("Google Alert - ", "Google Alert – ", "Alerte Google - ", "Alerte Google – ")


def is_google_alerts(feed: ParsedFeed) -> bool:
    """A Google Alerts feed: its entries are links to other sites, its title is the alert's."""
    return bool(feed.title and feed.title.startswith(_ALERT_TITLES)) or "google.com/alerts" in (feed.link or "")


def items_from_feed(
    feed: ParsedFeed,
    *,
    fetched_at: datetime,
    identities: Sequence[EntryIdentity] | None = None,
    stored: Container[str] = frozenset(),
) -> list[ItemDraft]:
    """Every usable entry of a feed, each identity once (feeds do repeat entries).

    Across sources an article is known by its canonical link. Within one feed, though, entries that share
    a link but carry different GUIDs are different entries (comments of one post, episodes pointing to the
    show's page): those are known by their GUID instead.

    An entry whose key is in ``stored`` (items already stored, looked up with :func:`entry_identities`'
    keys) gets a draft with its identity only: its text is never read again, nothing is recomputed for it.
    """
    identities = entry_identities(feed) if identities is None else identities
    drafts = []
    for entry, identity in zip(feed.entries, identities, strict=True):
        key = identity.key
        if key is not None and key in stored:
            drafts.append(ItemDraft(identity.canonical_url, identity.guid, identity.url, "", "", fetched_at))
            continue
        try:
            draft = item_from_entry(entry, fetched_at=fetched_at, feed=feed, identity=identity)
        except Exception:  # one entry's fault, whatever it is, must not cost the feed's other entries
            log.exception("entry skipped guid=%.200r link=%.200r", entry.guid, entry.link)
            continue
        if draft is not None:
            drafts.append(draft)
    unique: dict[str, ItemDraft] = {}
    for draft in drafts:
        unique.setdefault(draft.key, draft)
    return list(unique.values())


def entry_identities(feed: ParsedFeed) -> list[EntryIdentity]:
    """Each entry's identity, in the feed's order (see :func:`items_from_feed` on links shared within a feed)."""
    identities = []
    for entry in feed.entries:
        try:
            identities.append(entry_identity(entry))
        except Exception:  # an entry without a usable identity is identified by its content, or skipped
            log.exception("entry identity unreadable guid=%.200r link=%.200r", entry.guid, entry.link)
            identities.append(EntryIdentity(None, None, None))
    guids_per_url: dict[str, set[str | None]] = {}
    for identity in identities:
        if identity.canonical_url:
            guids_per_url.setdefault(identity.canonical_url, set()).add(identity.guid)
    return [
        replace(identity, canonical_url=None)
        if identity.canonical_url and identity.guid and len(guids_per_url[identity.canonical_url]) > 1
        else identity
        for identity in identities
    ]
