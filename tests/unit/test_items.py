"""Normalize: entries → items. Plain text, UTC dates, one identity per entry, the publisher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erepwatch.ingest import items
from erepwatch.ingest.html import html_to_text, plain_text
from erepwatch.ingest.items import entry_identities, item_from_entry, items_from_feed
from erepwatch.ingest.parse import parse_feed
from erepwatch.records import ParsedEntry, ParsedFeed
from tests.conftest import FEEDS

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def entry(**fields) -> ParsedEntry:
    base = dict(
        guid=None,
        link=None,
        title="",
        title_type="text/plain",
        summary="",
        summary_type="text/html",
        content="",
        content_type="text/html",
        published=None,
    )
    base.update(fields)
    return ParsedEntry(**base)


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>Hello&nbsp;<b>world</b></p><p>again</p>", "Hello world again"),
        ("L&#8217;Or&eacute;al &amp; Cie", "L’Oréal & Cie"),
        ("<script>alert(1)</script><style>p{}</style>visible", "visible"),
        ("a<br>b<div>c</div>", "a b c"),
        ("no markup   at\n\tall", "no markup at all"),
        ('<img src=x onerror="alert(1)">caption', "caption"),
    ],
    ids=["tags", "entities", "script", "blocks", "plain", "hostile-attr"],
)
def test_html_to_text(markup, text):
    assert html_to_text(markup) == text


def _text_by_css_selector(markup: str) -> str:
    # html_to_text as it read before the invisible elements were removed by tag name: the reference it must equal.
    from selectolax.lexbor import LexborHTMLParser

    from erepwatch.ingest.html import _LOOKS_LIKE_HTML, fold_whitespace

    if not markup:
        return ""
    if ("<" not in markup and "&" not in markup) or not _LOOKS_LIKE_HTML.search(markup):
        return fold_whitespace(markup)
    tree = LexborHTMLParser(markup)
    for node in tree.css("script, style, noscript, template, iframe, object, svg, head"):
        node.decompose()
    root = tree.body or tree.root
    return fold_whitespace(root.text(separator=" ") if root is not None else "")


_HIDDEN = [
    "<SCRIPT>x()</SCRIPT>seen",
    "<noscript><p>no <script>s</script> js</p></noscript>after",
    "<svg><title>t</title><text>drawn</text></svg>shown <object><param>o</object>end",
    "a<template><b>tpl</b></template>b<iframe src=x>frame</iframe>c",
    "<title>head's</title><style>p{}</style>body <head><meta>in</head>text",
    "<html><head><script>1</script></head><body>only <Style>x</Style>this</body></html>",
]


@pytest.mark.parametrize("markup", _HIDDEN)
def test_invisible_elements_removed_as_the_css_selector_did(markup):
    assert html_to_text(markup) == _text_by_css_selector(markup)


@given(st.lists(st.sampled_from([*_HIDDEN, "<p>", "</p>", "word", "<b>", "&amp;", " ", "<SVG>", "</svg>"])))
def test_invisible_elements_removed_as_the_css_selector_did_anywhere(parts):
    markup = "".join(parts)
    assert html_to_text(markup) == _text_by_css_selector(markup)


def test_corpus_html_read_as_the_css_selector_did():
    # Every title, summary and content of the corpus that is read as HTML (A/B with the previous reading).
    from tests.conftest import corpus_feeds

    fields = 0
    for path in corpus_feeds():
        try:
            feed = parse_feed(path.read_bytes(), {"content-type": "application/xml"}, url=f"http://x/{path.name}")
        except Exception:  # the corpus holds feeds no parser reads: their text is not read either
            continue
        for entry in feed.entries:
            for value, kind in (
                (entry.title, entry.title_type),
                (entry.summary, entry.summary_type),
                (entry.content, entry.content_type),
            ):
                if value and kind in {"text/html", "application/xhtml+xml"}:
                    assert html_to_text(value) == _text_by_css_selector(value), (path.name, value[:200])
                    fields += 1
    assert fields > 3000


def test_text_plain_is_literal_and_html_is_parsed():
    assert plain_text("1 < 2 <b>", "text/plain") == "1 < 2 <b>"
    assert plain_text("1 &lt; 2 <b>bold</b>", "text/html") == "1 < 2 bold"


@given(st.text(max_size=300))
def test_html_to_text_never_crashes_and_folds_whitespace(markup):
    text = html_to_text(markup)
    assert "  " not in text and text == text.strip()


def test_summary_repeated_in_content_is_kept_once():
    item = item_from_entry(
        entry(
            link="https://a.example/x",
            title="T",
            summary="<p>Lead sentence.</p>",
            content="<p>Lead sentence.</p><p>Body.</p>",
        ),
        fetched_at=NOW,
    )
    assert item.text == "Lead sentence. Body."


def test_dates_missing_or_in_the_future_become_fetch_time():
    assert item_from_entry(entry(link="https://a.example/1", title="x"), fetched_at=NOW).published == NOW
    future = NOW + timedelta(days=30)
    assert (
        item_from_entry(entry(link="https://a.example/2", title="x", published=future), fetched_at=NOW).published == NOW
    )
    past = NOW - timedelta(days=3)
    assert (
        item_from_entry(entry(link="https://a.example/3", title="x", published=past), fetched_at=NOW).published == past
    )


def test_identity_canonical_url_then_guid_then_content():
    with_link = item_from_entry(entry(link="https://A.example:443/x?utm_source=rss#top", title="t"), fetched_at=NOW)
    assert with_link.key == "https://a.example/x"
    with_guid = item_from_entry(entry(guid="tag:x,2025:1", title="t"), fetched_at=NOW)
    assert with_guid.key == "guid:tag:x,2025:1"
    bare = item_from_entry(entry(title="only a title"), fetched_at=NOW)
    again = item_from_entry(entry(title="only a title"), fetched_at=NOW)
    assert bare.key == again.key and bare.key.startswith("guid:sha1:")
    assert item_from_entry(entry(), fetched_at=NOW) is None


def test_entries_sharing_a_link_with_distinct_guids_stay_distinct():
    feed = ParsedFeed(
        "t",
        None,
        None,
        (
            entry(link="https://blog.example/post#comment-1", guid="c1", title="first comment"),
            entry(link="https://blog.example/post#comment-2", guid="c2", title="second comment"),
            entry(link="https://blog.example/other", guid="p2", title="post"),
            entry(link="https://blog.example/other", guid="p2", title="post (repeated in the feed)"),
        ),
    )
    keys = [d.key for d in items_from_feed(feed, fetched_at=NOW)]
    assert keys == ["guid:c1", "guid:c2", "https://blog.example/other"]


def test_news_search_publisher_suffix_is_split_off():
    item = item_from_entry(
        entry(
            link="https://www.lemonde.fr/a",
            title="Acme rappelle ses yaourts - Le Monde",
            source_title="Le Monde",
            source_url="https://www.lemonde.fr",
        ),
        fetched_at=NOW,
    )
    assert item.title == "Acme rappelle ses yaourts" and item.publisher == "Le Monde"
    assert item.publisher_domain == "lemonde.fr"


def test_google_alerts_links_unwrapped():
    feed = parse_feed((FEEDS / "google-alerts-atom-en-01.xml").read_bytes())
    items = items_from_feed(feed, fetched_at=NOW)
    assert items and all("google.com/url" not in (i.url or "") for i in items)
    assert all("<b>" not in i.title for i in items)


def test_bing_news_source_names_the_publisher():
    feed = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:News="https://www.bing.com/news/search?q=x&amp;format=rss">'
        b"<channel><title>x - BingNews</title><item><title>Acme recalls croissants</title>"
        b"<link>http://www.bing.com/news/apiclick.aspx?ref=FexRss&amp;url=https%3a%2f%2fwww.example-times.com%2fa"
        b"&amp;c=1&amp;mkt=en-us</link><News:Source>Example Times</News:Source></item></channel></rss>"
    )
    item = items_from_feed(parse_feed(feed), fetched_at=NOW)[0]
    assert item.publisher == "Example Times" and item.url == "https://www.example-times.com/a"


def test_stored_items_are_known_by_identity_and_their_text_is_not_read_again(monkeypatch):
    feed = ParsedFeed(
        "t",
        None,
        None,
        (
            entry(link="https://blog.example/old?utm_source=rss", title="old", summary="<p>long <b>html</b></p>"),
            entry(guid="tag:blog,1", title="old too", summary="<p>more html</p>"),
            entry(link="https://blog.example/new", title="new", summary="<p>fresh <b>text</b></p>"),
        ),
    )
    identities = entry_identities(feed)
    assert [i.key for i in identities] == ["https://blog.example/old", "guid:tag:blog,1", "https://blog.example/new"]
    full = items_from_feed(feed, fetched_at=NOW)
    read: list[str] = []
    monkeypatch.setattr(items, "plain_text", lambda value, kind: read.append(value) or plain_text(value, kind))
    drafts = items_from_feed(feed, fetched_at=NOW, identities=identities, stored={i.key for i in identities[:2]})
    # Every entry is still there (the source is linked to each), the stored ones by identity only.
    assert [d.key for d in drafts] == [d.key for d in full]
    assert drafts[0].text == "" and drafts[0].url == full[0].url and drafts[2] == full[2]
    assert read and not any("old" in value or "more html" in value for value in read)
    assert "<p>fresh <b>text</b></p>" in read
