"""Bytes → :class:`ParsedFeed`: RSS 0.9x/1.0/2.0 and Atom with lxml (:mod:`erepwatch.ingest.fastparse`),
feedparser for whatever that fast path is not sure of, JSON Feed 1.0/1.1 by hand.

feedparser is always given the *bytes* and the response headers, never a URL: given a URL it would
fetch it itself, with no timeout, no size cap and no address checks.
"""

from __future__ import annotations

import calendar
import gzip
import html
import io
import json
import re
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from erepwatch.errors import FeedParseError, SourceErrorKind
from erepwatch.ingest.fastparse import read_xml_feed
from erepwatch.records import ParsedEntry, ParsedFeed

GZIP_MAGIC = b"\x1f\x8b"
_MAX_INFLATED = 64 * 2**20
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<!doctype html|^\s*<html[\s>]", re.IGNORECASE | re.DOTALL)
_JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/1(\.1)?/?$")
# A complete character reference (``&#8211;``, ``&#x2013;``, ``&amp;``): what a publisher's CMS left escaped in a
# JSON Feed's plain-text title. A bare ``&`` ("Data & Metrics", "AT&T") is not one and stays as written.
_CHAR_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Headers that describe the transfer, not the bytes we hand over: httpx already decoded the body.
_TRANSFER_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


def parse_feed(content: bytes, headers: Mapping[str, str] | None = None, url: str | None = None) -> ParsedFeed:
    """Parse feed bytes. Raises :class:`FeedParseError` when nothing readable is in them — and only that: a
    parser's own crash on a hostile document (feedparser's ``KeyError: 'tags'``, a ``RecursionError``) is this
    document's fault, said as such."""
    try:
        return _parse_feed(content, headers, url)
    except FeedParseError:
        raise
    except MemoryError as exc:
        raise FeedParseError(SourceErrorKind.TOO_LARGE, "the document is too large to parse in memory") from exc
    except Exception as exc:
        raise FeedParseError(
            SourceErrorKind.PARSE, f"the parser failed on this document ({type(exc).__name__}: {str(exc)[:200]})"
        ) from exc


def _parse_feed(content: bytes, headers: Mapping[str, str] | None, url: str | None) -> ParsedFeed:
    headers = {k.lower(): v for k, v in (headers or {}).items() if k.lower() not in _TRANSFER_HEADERS}
    content = _maybe_gunzip(content)
    if not content.strip():
        raise FeedParseError(SourceErrorKind.EMPTY, "the document is empty")
    if _looks_like_json(content, headers):
        return _parse_json_feed(content)
    fast = read_xml_feed(content, headers, url)
    if fast is not None:
        return fast
    if _HTML_START.search(content[:4096]):
        # Not XML a feed reader could use; feedparser would say the same, ten times slower.
        raise FeedParseError(SourceErrorKind.NOT_A_FEED, "this is an HTML page, not a feed")
    return parse_with_feedparser(content, headers, url)


def parse_with_feedparser(content: bytes, headers: dict[str, str], url: str | None = None) -> ParsedFeed:
    """The reader of everything the fast path is not sure of (and the reference it is tested against)."""
    if url:
        # Lets feedparser resolve relative links against the address the feed was really served from.
        headers.setdefault("content-location", url)
    # No sanitizing or link rewriting inside feedparser: normalize reduces every field to plain text
    # (and templates escape it), so that work (half of feedparser's time) would be thrown away.
    parsed = feedparser.parse(
        io.BytesIO(content), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    warning = _bozo_message(parsed)
    if not parsed.get("version") and not parsed.entries:
        if _HTML_START.search(content[:4096]):
            raise FeedParseError(SourceErrorKind.NOT_A_FEED, "this is an HTML page, not a feed")
        raise FeedParseError(SourceErrorKind.PARSE, f"not a readable feed: {warning or 'no feed element'}")
    if not parsed.entries and warning:
        raise FeedParseError(SourceErrorKind.PARSE, f"malformed feed with no readable entry: {warning}")
    feed = parsed.feed
    return ParsedFeed(
        title=_text(feed.get("title")),
        link=feed.get("link"),
        language=_language(feed.get("language") or headers.get("content-language")),
        entries=tuple(_entry(e) for e in parsed.entries),
        ttl_minutes=_int(feed.get("ttl")),
        warning=warning,
    )


def _maybe_gunzip(content: bytes) -> bytes:
    # Some servers gzip twice or send gzip without Content-Encoding; the magic number tells.
    if not content.startswith(GZIP_MAGIC):
        return content
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = inflater.decompress(content, _MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise FeedParseError(SourceErrorKind.TOO_LARGE, "gzip body inflates past the size cap")
        return data
    except (zlib.error, gzip.BadGzipFile, EOFError) as exc:
        raise FeedParseError(SourceErrorKind.PARSE, f"corrupt gzip data: {exc}") from exc


def _looks_like_json(content: bytes, headers: Mapping[str, str]) -> bool:
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype in {"application/feed+json", "application/json"} or content.lstrip()[:1] == b"{"


def _bozo_message(parsed: Any) -> str | None:
    if not parsed.get("bozo"):
        return None
    exc = parsed.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}" if exc else "malformed feed"


def _text(value: Any) -> str | None:
    return str(value).strip() if value else None


def _int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _language(value: Any) -> str | None:
    if not value:
        return None
    return str(value).strip().lower().replace("_", "-") or None


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _detail(entry: Any, name: str) -> tuple[str, str]:
    detail = entry.get(f"{name}_detail") or {}
    return entry.get(name) or "", detail.get("type") or "text/html"


def _entry(entry: Any) -> ParsedEntry:
    title, title_type = _detail(entry, "title")
    summary, summary_type = _detail(entry, "summary")
    content, content_type = "", "text/html"
    for block in entry.get("content") or ():
        # Several content blocks (text + html alternatives): keep the longest, it carries most text.
        if len(block.get("value") or "") > len(content):
            content, content_type = block.get("value") or "", block.get("type") or "text/html"
    source = entry.get("source") or {}
    return ParsedEntry(
        guid=_text(entry.get("id")),
        link=_text(entry.get("link")),
        title=title,
        title_type=title_type,
        summary=summary,
        summary_type=summary_type,
        content=content,
        content_type=content_type,
        published=_struct_to_datetime(entry.get("published_parsed") or entry.get("updated_parsed")),
        author=_text(entry.get("author")),
        # RSS <source> (Google News), or Bing News' <News:Source> which feedparser names news_source.
        source_title=_text(source.get("title")) or _text(entry.get("news_source")),
        source_url=_text(source.get("href") or source.get("url")),
        orig_link=_text(entry.get("feedburner_origlink")),
    )


# --- JSON Feed (https://www.jsonfeed.org/version/1.1/) ---------------------------------------------


def _parse_json_feed(content: bytes) -> ParsedFeed:
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedParseError(SourceErrorKind.PARSE, f"invalid JSON: {exc}") from exc
    if not isinstance(document, dict) or not _JSON_FEED_VERSION.match(str(document.get("version", ""))):
        raise FeedParseError(SourceErrorKind.NOT_A_FEED, "JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedParseError(SourceErrorKind.PARSE, "JSON Feed without an items list")
    entries = tuple(entry for entry in (_json_entry_or_none(item) for item in items) if entry is not None)
    return ParsedFeed(
        title=_plain(_text(document.get("title"))),
        link=_text(document.get("home_page_url")),
        language=_language(document.get("language")),
        entries=entries,
    )


def _plain(text: str | None) -> str | None:
    """A JSON Feed text field as a person reads it: JSON Feed titles are plain text, yet WordPress exports
    write ``Blog &#8211; InfluxData``. Only complete character references are decoded (see _CHAR_REFERENCE)."""
    if not text or "&" not in text:
        return text
    return _CHAR_REFERENCE.sub(lambda ref: html.unescape(ref.group()), text)


def _json_date(value: Any) -> datetime | None:
    """RFC 3339 as the JSON Feed spec says, else RFC 822 (``Fri, 31 May 2019 12:17:58 -0700``), which feeds
    converted from RSS carry over; anything else is no date (the fetch time stands in)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _json_entry_or_none(item: Any) -> ParsedEntry | None:
    """One item, or None when it is not an object or its fields have types no reader could use
    (``"authors": 5``): that item is skipped, the feed's others are kept."""
    if not isinstance(item, dict):
        return None
    try:
        return _json_entry(item)
    except (TypeError, ValueError, AttributeError, RecursionError):
        return None


def _json_entry(item: dict[str, Any]) -> ParsedEntry:
    authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
    if not isinstance(authors, list):
        authors = []
    author = ", ".join(str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")) or None
    if item.get("content_html"):
        content, content_type = str(item["content_html"]), "text/html"
    else:
        content, content_type = str(item.get("content_text") or ""), "text/plain"
    text = item.get("content_text")
    guid = item.get("id")
    return ParsedEntry(
        guid=str(guid) if guid not in (None, "") else None,
        link=_text(item.get("url") or item.get("external_url")),
        title=_plain(str(item.get("title") or "")) or "",
        title_type="text/plain",
        summary=str(item.get("summary") or ""),
        summary_type="text/plain",
        content=content,
        content_type=content_type,
        published=_json_date(item.get("date_published")) or _json_date(item.get("date_modified")),
        author=author,
        content_text=str(text) if text else None,
    )
