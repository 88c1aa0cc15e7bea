"""The parse stage: real feeds, feedparser's own 2,106 test documents, JSON Feed, and broken input.

What happens with bad input: an HTML page → FeedParseError(not_a_feed); nothing readable →
FeedParseError(parse); empty → FeedParseError(empty); malformed but readable → entries plus a warning.
Never any other exception.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.errors import FeedParseError, SourceErrorKind
from erepwatch.ingest.parse import parse_feed
from tests.conftest import CORPUS, FEEDS, corpus_feeds

FEEDPARSER_TESTS = sorted((CORPUS / "feedparser-tests").rglob("*.xml"))


@pytest.mark.parametrize("path", corpus_feeds(), ids=lambda p: p.name)
def test_real_feed_entry_count_matches_feedparser(path: Path):
    content = path.read_bytes()
    if path.suffix == ".json":
        parsed = parse_feed(content)
        assert len(parsed.entries) == len(json.loads(content)["items"])
        return
    try:
        parsed = parse_feed(content)
    except FeedParseError as exc:
        reference = feedparser.parse(io.BytesIO(gzip.decompress(content) if path.suffix == ".gz" else content))
        assert not reference.entries, f"{path.name}: feedparser reads entries we refused ({exc})"
        assert exc.kind in {SourceErrorKind.NOT_A_FEED, SourceErrorKind.PARSE}
        return
    raw = gzip.decompress(content) if path.suffix == ".gz" else content
    assert len(parsed.entries) == len(feedparser.parse(io.BytesIO(raw)).entries)


@pytest.mark.slow  # the whole feedparser corpus: `make test` runs it, `make test-fast` skips it
def test_feedparser_corpus_never_crashes():
    """Every one of feedparser's 2,106 documents gives a feed or a FeedParseError, never a crash."""
    assert len(FEEDPARSER_TESTS) > 2000
    outcomes = {"ok": 0, "refused": 0}
    for path in FEEDPARSER_TESTS:
        try:
            parse_feed(path.read_bytes())
            outcomes["ok"] += 1
        except FeedParseError:
            outcomes["refused"] += 1
    assert outcomes["ok"] > 1500, outcomes


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("malformed-html-404-instead-of-feed-fr-01.xml", SourceErrorKind.NOT_A_FEED),
        ("malformed-cloudflare-challenge-instead-of-feed-01.xml", SourceErrorKind.NOT_A_FEED),
        ("malformed-html-homepage-instead-of-feed-fr-01.xml", SourceErrorKind.NOT_A_FEED),
        ("malformed-truncated-feed-01.xml", SourceErrorKind.PARSE),
    ],
)
def test_unreadable_documents_are_refused_with_a_kind(name, kind):
    with pytest.raises(FeedParseError) as info:
        parse_feed((FEEDS / name).read_bytes())
    assert info.value.kind is kind


@pytest.mark.parametrize(
    "name",
    [
        "malformed-unescaped-ampersand-01.xml",
        "malformed-undefined-entity-01.xml",
        "malformed-invalid-control-char-01.xml",
        "malformed-fr-wordpress-grottebarbu-bad-bytes-01.xml",
    ],
)
def test_malformed_but_readable_keeps_entries_and_says_why(name):
    parsed = parse_feed((FEEDS / name).read_bytes())
    assert parsed.entries and parsed.warning


def test_gzip_bytes_without_content_encoding_are_inflated():
    parsed = parse_feed((FEEDS / "gzip-compressed-feed-01.xml.gz").read_bytes())
    assert parsed.entries


def test_json_feed_fields():
    parsed = parse_feed(
        (FEEDS / "jsonfeed-inessential-01.json").read_bytes(), {"Content-Type": "application/feed+json"}
    )
    first = parsed.entries[0]
    assert parsed.title and first.link and first.published is not None and first.published.tzinfo


def test_json_feed_as_its_publisher_meant():
    """A WordPress JSON Feed (real capture): an RFC 822 date is still the item's date, not the fetch time, and
    a character reference left in a plain-text title is decoded, while a bare '&' stays as written."""
    parsed = parse_feed((FEEDS / "jsonfeed-elastic-1.1-01.json").read_bytes())
    first = parsed.entries[0]
    assert parsed.title == "Blog \u2013 InfluxData"
    assert first.published is not None and first.published.isoformat() == "2019-05-31T19:17:58+00:00"
    assert first.title == "InfluxDB vs. Graphite for Time Series Data & Metrics Benchmark"


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("AT&T &amp; Orange", "AT&T & Orange"),
        ("R&D &#x2013; 2026", "R&D \u2013 2026"),
        ("&notaref and &lt", "&notaref and &lt"),
        ("<b>literal</b> &lt;b&gt;", "<b>literal</b> <b>"),
    ],
)
def test_json_feed_title_decodes_only_complete_references(title, shown):
    body = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": title, "date_published": "x"}]}
    ).encode()
    entry = parse_feed(body).entries[0]
    assert entry.title == shown and entry.published is None


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", SourceErrorKind.EMPTY),
        (b"   \n", SourceErrorKind.EMPTY),
        (b"{not json", SourceErrorKind.PARSE),
        (b'{"hello": "world"}', SourceErrorKind.NOT_A_FEED),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', SourceErrorKind.PARSE),
        (b"\x1f\x8b garbage", SourceErrorKind.PARSE),
        (b"<!DOCTYPE html><html><body>hi</body></html>", SourceErrorKind.NOT_A_FEED),
    ],
    ids=["empty", "blank", "bad-json", "json-not-feed", "items-not-list", "bad-gzip", "html"],
)
def test_bad_bytes(body, kind):
    with pytest.raises(FeedParseError) as info:
        parse_feed(body)
    assert info.value.kind is kind


def test_text_plain_title_stays_literal():
    feed = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b'<entry><title type="text">Why &lt;script&gt; tags matter</title><id>x</id>'
        b"<updated>2025-01-01T00:00:00Z</updated></entry></feed>"
    )
    entry = parse_feed(feed).entries[0]
    assert entry.title == "Why <script> tags matter" and entry.title_type == "text/plain"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(data):
    with contextlib.suppress(FeedParseError):
        parse_feed(data)
