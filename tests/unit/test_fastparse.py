"""The fast parse path's contract: the reading feedparser gives, or a written rule saying why it is more right.

Both readers run over every file of the real corpus and every well-formed document of feedparser's own test
corpus; per document, the normalised entries (identity, title, link resolved against ``xml:base`` and the
document URL, GUID, date, text) must be the same. The few differences allowed are the rules of
``fastparse.RULES``, each with its own test below saying what the right reading is.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from erepwatch.errors import FeedParseError
from erepwatch.ingest.fastparse import RULES, read_xml_feed
from erepwatch.ingest.fastparse import _date as fast_date
from erepwatch.ingest.items import items_from_feed
from erepwatch.ingest.parse import _looks_like_json, _maybe_gunzip, parse_feed, parse_with_feedparser
from erepwatch.records import ParsedFeed
from tests.conftest import CORPUS, corpus_feeds

NOW = datetime(2030, 1, 1, tzinfo=UTC)
HEADERS = {"content-type": "application/xml"}  # what the test feed server sends
FEEDPARSER_TESTS = CORPUS / "feedparser-tests"

#: Documents where the fast path reads differently, and the rule (in ``RULES``) that says why.
KNOWN = {
    "malformed-undefined-entity-01.xml": "html5-entities",
    "malformed-fr-nextinpact-invalid-charref-01.xml": "control-characters",
    "malformed-invalid-control-char-02.xml": "control-characters",
    "wellformed/node_precedence/atom10_id.xml": "own-elements",
    "en-news-pcmag-odd-nesting-01.xml": "own-elements",
    "wellformed/rss/item_category_image.xml": "own-elements",
    "wellformed/atom10/entry_content_text_plain_brackets.xml": "typed-copy",
}
_CONTROL = re.compile(r"[\s\x00-\x1f]")


def _reading(feed: ParsedFeed) -> list[tuple[object, ...]]:
    return [(d.key, d.url, d.guid, d.title, d.text, d.published) for d in items_from_feed(feed, fetched_at=NOW)]


def _explained(rule: str, fast: list[tuple[object, ...]], ref: list[tuple[object, ...]]) -> bool:
    """Whether the difference between the two readings is exactly what ``rule`` allows."""
    if len(fast) != len(ref):
        return False
    for a, b in zip(fast, ref, strict=True):
        if a[:3] != b[:3] or a[5] != b[5]:
            return False
        for x, y in ((a[3], b[3]), (a[4], b[4])):
            assert isinstance(x, str) and isinstance(y, str)
            if rule == "html5-entities" and x != html.unescape(y):
                return False
            if rule == "control-characters" and _CONTROL.sub("", x) != _CONTROL.sub("", y):
                return False
    return True


def _compare(path: Path, name: str) -> str:
    """'fast', 'fallback' or 'skip'; fails the test when the readings differ without a rule."""
    try:
        content = _maybe_gunzip(path.read_bytes())
    except FeedParseError:
        return "skip"
    if _looks_like_json(content, HEADERS):
        return "skip"
    url = f"http://127.0.0.1:8000/{name}"
    fast = read_xml_feed(content, HEADERS, url)
    if fast is None:
        return "fallback"  # feedparser reads it: the same reading by construction
    try:
        ref = parse_with_feedparser(content, dict(HEADERS), url)
    except FeedParseError:
        # feedparser finds nothing readable where the fast path reads a well-formed feed (undefined
        # entities in feedparser's own tests, declared but absent charsets): only when the fast path
        # has no entry either, or the document needed a repair, is that allowed.
        assert not fast.entries or fast.warning, name
        return "fast"
    a, b = _reading(fast), _reading(ref)
    if a != b:
        rule = KNOWN.get(name)
        assert rule is not None, f"{name}: fast path differs from feedparser with no rule: {_first_diff(a, b)}"
        assert rule in RULES
        if rule in {"html5-entities", "control-characters"}:
            assert _explained(rule, a, b), f"{name}: difference goes beyond rule {rule}: {_first_diff(a, b)}"
    return "fast"


def _first_diff(a: list[tuple[object, ...]], b: list[tuple[object, ...]]) -> str:
    if len(a) != len(b):
        return f"{len(a)} entries against {len(b)}"
    for x, y in zip(a, b, strict=True):
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            if u != v:
                return f"field {i}: {u!r:.200} != {v!r:.200}"
    return "?"


@pytest.mark.slow
def test_every_corpus_feed_reads_as_feedparser_reads_it():
    outcomes = [_compare(path, path.name) for path in corpus_feeds()]
    # Nearly every real feed takes the fast path: only broken encodings, HTML pages and the like fall back.
    assert outcomes.count("fast") >= 125, outcomes.count("fast")
    assert outcomes.count("fallback") <= 15


@pytest.mark.slow
def test_every_wellformed_feedparser_test_document_reads_as_feedparser_reads_it():
    paths = sorted(p for p in FEEDPARSER_TESTS.rglob("*") if p.is_file() and p.suffix != ".md")
    assert len(paths) > 2000
    outcomes = {"fast": 0, "fallback": 0, "skip": 0, "not well-formed": 0}
    strict = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for path in paths:
        try:
            etree.fromstring(path.read_bytes(), strict)
        except (etree.XMLSyntaxError, ValueError):
            outcomes["not well-formed"] += 1
            continue
        outcomes[_compare(path, str(path.relative_to(FEEDPARSER_TESTS)))] += 1
    assert outcomes["fast"] > 1500, outcomes


@pytest.mark.timeout(120)
def test_no_feedparser_test_document_crashes_or_hangs_the_fast_path():
    for path in sorted(p for p in FEEDPARSER_TESTS.rglob("*") if p.is_file() and p.suffix != ".md"):
        feed = read_xml_feed(path.read_bytes(), {}, "http://example.test/feed")
        assert feed is None or isinstance(feed, ParsedFeed)


# --- the rules: where the fast path is more right -------------------------------------------------------


def test_rule_html5_entities_are_decoded():
    doc = b"<rss version='2.0'><channel><item><title>Re&colon; caf&eacute; &amp; co&nbsp;!</title></item>"
    doc += b"</channel></rss>"
    feed = read_xml_feed(doc, HEADERS, None)
    assert feed is not None and feed.entries[0].title == "Re: café & co\xa0!"
    assert feed.warning and "HTML entities decoded" in feed.warning
    # feedparser leaves the HTML5-only entity as it was
    assert "&colon;" in feedparser.parse(doc).entries[0].title
    assert "html5-entities" in RULES


def test_rule_control_characters_are_dropped_not_turned_into_spaces():
    doc = b"<rss version='2.0'><channel><item><title>o&#x1F;ffre \x10sp\x02ciale</title></item></channel></rss>"
    feed = read_xml_feed(doc, HEADERS, None)
    assert feed is not None and feed.entries[0].title == "offre sp" + "ciale"
    assert feed.warning and "control characters dropped" in feed.warning
    assert "control-characters" in RULES


def test_rule_only_an_entrys_own_elements_give_its_id_title_and_link():
    # feedparser's own test says: "The id node which is a child of entry should be used regardless of
    # source order" — feedparser then takes the nested one as the link; the fast path never does.
    feed = read_xml_feed((FEEDPARSER_TESTS / "wellformed/node_precedence/atom10_id.xml").read_bytes(), {}, None)
    assert feed is not None
    assert [e.guid for e in feed.entries] == ["Correct Value", "Correct Value"]
    assert [e.link for e in feed.entries] == ["Correct Value", "Correct Value"]
    # an <image> inside a <category> has a title; it is not the item's
    feed = read_xml_feed((FEEDPARSER_TESTS / "wellformed/rss/item_category_image.xml").read_bytes(), {}, None)
    assert feed is not None and feed.entries[0].title == ""
    assert "own-elements" in RULES


def test_rule_plain_text_content_stays_plain_text():
    # <content type="text">History of the &lt;blink&gt; tag</content>: feedparser copies it to the summary
    # without its type, which then reads as HTML and loses the word "<blink>".
    path = FEEDPARSER_TESTS / "wellformed/atom10/entry_content_text_plain_brackets.xml"
    feed = read_xml_feed(path.read_bytes(), {}, None)
    assert feed is not None
    (draft,) = items_from_feed(feed, fetched_at=NOW)
    assert draft.text == "History of the <blink> tag"
    assert "typed-copy" in RULES


def test_rule_text_xml_without_charset_follows_the_declaration():
    doc = '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><item><title>Euro €</title>'
    doc += "</item></channel></rss>"
    feed = read_xml_feed(doc.encode("cp1252"), {"content-type": "text/xml"}, None)
    assert feed is not None and feed.entries[0].title == "Euro €"
    assert "rfc7303-charset" in RULES


# --- what goes to feedparser ----------------------------------------------------------------------------

_ITEM = "<rss version='2.0'><channel><item><title>{}</title></item></channel></rss>"


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        pytest.param(_ITEM.format("café").encode("latin-1"), {}, id="undeclared Latin-1"),
        pytest.param(
            b'<?xml version="1.0" encoding="iso-8859-1"?>' + _ITEM.format("x").encode(),
            {"content-type": "application/xml; charset=utf-8"},
            id="HTTP charset contradicts the declaration",
        ),
        pytest.param(_ITEM.format("x").encode("utf-16"), {}, id="UTF-16"),
        pytest.param(b'<!DOCTYPE rss SYSTEM "x.dtd">' + _ITEM.format("&nbsp;").encode(), {}, id="DOCTYPE"),
        pytest.param(b"<html><body><p>hello</p></body></html>", {}, id="HTML page"),
        pytest.param(b"<rss version='2.0'><channel><item><title>cut", {}, id="truncated"),
        pytest.param(b"<opml version='2.0'><body/></opml>", {}, id="unknown format"),
        pytest.param(
            b"<feed version='0.3' xmlns='http://purl.org/atom/ns#'><entry><content mode='base64'>aGk=</content>"
            b"</entry></feed>",
            {},
            id="base64 content",
        ),
    ],
)
def test_uncertain_documents_go_to_feedparser(content: bytes, headers: dict[str, str]):
    assert read_xml_feed(content, headers, None) is None


def test_parse_feed_reads_what_the_fast_path_cannot_with_feedparser():
    feed = parse_feed(_ITEM.format("café").encode("latin-1"))
    assert feed.entries[0].title == "café"


# --- the readings themselves ----------------------------------------------------------------------------


def test_links_resolve_against_xml_base_and_the_document_url():
    doc = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a.example/blog/">
      <entry><id>tag:x,1</id><link href="post/1"/><title>one</title></entry>
      <entry xml:base="/other/"><id>tag:x,2</id><link href="2"/><title>two</title></entry>
      <entry><id>tag:x,3</id><link xml:base="http://b.example/x/" href="../3"/><title>three</title></entry>
    </feed>"""
    feed = read_xml_feed(doc, HEADERS, "http://feeds.example/atom")
    assert feed is not None
    assert [e.link for e in feed.entries] == [
        "http://a.example/blog/post/1",
        "http://a.example/other/2",
        "http://b.example/3",
    ]
    relative = read_xml_feed(
        b"<rss version='2.0'><channel><item><link>/a?b=1&amp;c=2</link></item></channel></rss>",
        HEADERS,
        "https://site.example/feed.xml",
    )
    assert relative is not None and relative.entries[0].link == "https://site.example/a?b=1&c=2"


def test_a_permalink_guid_is_the_link_when_there_is_none_whatever_the_attribute_case():
    doc = b"""<rss version="2.0"><channel>
      <item><guid>http://x.example/1</guid></item>
      <item><guid isPermalink="false">2</guid></item>
      <item><guid>http://x.example/guid</guid><link>http://x.example/link</link></item>
    </channel></rss>"""
    feed = read_xml_feed(doc, HEADERS, None)
    assert feed is not None
    assert [(e.guid, e.link) for e in feed.entries] == [
        ("http://x.example/1", "http://x.example/1"),
        ("2", None),
        ("http://x.example/guid", "http://x.example/link"),
    ]


def test_rdf_and_atom03_are_read():
    rdf = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
      xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="http://x/"><title>T</title></channel>
      <item rdf:about="http://x/1"><title>One</title><link>http://x/1</link><dc:date>2024-05-01T10:00:00Z</dc:date>
      </item></rdf:RDF>"""
    feed = read_xml_feed(rdf, HEADERS, None)
    assert feed is not None and feed.title == "T"
    assert feed.entries[0].published == datetime(2024, 5, 1, 10, tzinfo=UTC)
    atom03 = b"""<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title><entry><title>One</title>
      <link rel="alternate" type="text/html" href="http://x/1"/><issued>2024-05-01T10:00:00+02:00</issued>
      <content type="text/html" mode="escaped">&lt;p&gt;Hello&lt;/p&gt;</content></entry></feed>"""
    feed = read_xml_feed(atom03, HEADERS, None)
    assert feed is not None
    entry = feed.entries[0]
    assert (entry.link, entry.content, entry.content_type) == ("http://x/1", "<p>Hello</p>", "text/html")
    assert entry.published == datetime(2024, 5, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 17 Dec 2012 19:02:58 +0100",
        "Tue, 02 Jan 2024 00:30:00 GMT",
        "Wed, 3 Jan 2024 23:59 -0500",
        "Fri, 31 Feb 2012 10:00:00 GMT",
        "2024-01-02T03:04:05Z",
        "2024-01-02T03:04:05.678+05:30",
        "2024-01-02T03:04:05-08:00",
        "2024-01-02",
        "Mon, 17 Dec 2012 19:02:58 EST",
        "Tue, 04 Jun 2024 23:30:00 PST",
        "Sun, 10 Mar 2024 01:59:59 PDT",
        "Wed, 31 Dec 2025 22:00:00 CST",
        "Thu, 01 Aug 2024 00:15:00 MDT",
        "Fri, 30 Feb 2024 10:00:00 EDT",
        "not a date",
    ],
)
def test_dates_are_read_as_feedparser_reads_them(value: str):
    parsed = (
        feedparser.parse(io.BytesIO(f"<rss><channel><item><pubDate>{value}</pubDate></item></channel></rss>".encode()))
        .entries[0]
        .get("published_parsed")
    )
    expected = datetime(*parsed[:6], tzinfo=UTC) if parsed else None
    assert fast_date(value) == expected


def test_a_utf16_declaration_on_one_byte_text_is_read_as_utf8_like_feedparser():
    # Without a BOM, "<?xml" in one-byte characters cannot be UTF-16: feedparser reads such bytes as UTF-8 and
    # says so; the fast path reads them the same (the corpus's malformed-declared-utf16-actually-utf8 feeds).
    content = b'<?xml version="1.0" encoding="utf-16"?>' + _ITEM.format("caf\u00e9").encode()
    fast = read_xml_feed(content, {}, None)
    assert fast is not None and fast.entries[0].title == "caf\u00e9"
    assert fast.warning and "declared as utf-16, but parsed as utf-8" in fast.warning
    assert (
        read_xml_feed(
            b'<?xml version="1.0" encoding="utf-16"?>' + _ITEM.format("caf\u00e9").encode("latin-1"), {}, None
        )
        is None
    )


def test_cdata_sections_are_cut_as_the_pattern_cuts_them():
    from erepwatch.ingest.fastparse import _CDATA, _split_cdata

    documents = [p.read_bytes() for p in corpus_feeds()]
    documents += [b"", b"<![CDATA[", b"a<![CDATA[x]]>b<![CDATA[]]>c", b"<![CDATA[<![CDATA[x]]>]]>", b"x<![CDATA[ab]]"]
    for document in documents:
        assert _split_cdata(document) == _CDATA.split(document)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Caf\u00c3\u00a9 cr\u00c3\u00a8me", "Café crème"),  # UTF-8 read as Latin-1, repaired as feedparser does
        ("Caf\u00c3\u00a9 \u00e0 Paris", "Caf\u00c3\u00a9 \u00e0 Paris"),  # not UTF-8 as a whole: kept
        ("Prix \u00e0 5 \u20ac", "Prix à 5 €"),  # beyond Latin-1: left as it is
        ("Fin \u0096 d\u00e9but", "Fin – début"),  # a raw C1 control: its windows-1252 character
        ("Fin &#150; d\u00e9but", "Fin – début"),
        ("Fin &#x96; d\u00e9but", "Fin – début"),
        ("Fin &#0159; d\u00e9but", "Fin Ÿ début"),
        ("Fin \u2013 d\u00e9but", "Fin – début"),  # no C1 anywhere: nothing to map
    ],
)
def test_utf8_text_is_fixed_as_feedparser_fixes_it(body: str, expected: str):
    document = f"<rss><channel><item><title>{body}</title></item></channel></rss>".encode()
    fast = read_xml_feed(document, HEADERS, None)
    assert fast is not None
    assert fast.entries[0].title == expected
    assert parse_with_feedparser(document, dict(HEADERS)).entries[0].title == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "content_type", ["application/xml", "text/xml", "application/rss+xml; charset=UTF-8", "application/atom+xml"]
)
def test_bytes_that_are_not_utf8_are_read_as_feedparser_reads_them(content_type: str):
    # Bytes taken as UTF-8 that are not: the fast path decodes them as windows-1252, feedparser's next guess, and
    # must then give feedparser's reading to the letter (entries, warning), whatever the content type says.
    documents = [*corpus_feeds(), *sorted(p for p in FEEDPARSER_TESTS.rglob("*") if p.is_file() and p.suffix != ".md")]
    headers = {"content-type": content_type}
    taken = 0
    for path in documents:
        content = path.read_bytes()
        fast = read_xml_feed(content, headers, "http://127.0.0.1/feed")
        if fast is None or not (fast.warning or "").endswith("but parsed as windows-1252"):
            continue
        taken += 1
        assert fast == parse_with_feedparser(content, dict(headers), "http://127.0.0.1/feed"), path.name
    assert taken >= 4


def test_no_content_type_leaves_bytes_that_are_not_utf8_to_feedparser():
    # Without a content type feedparser reads ISO-8859-1 first: not this path's guess.
    document = "<rss><channel><item><title>Caf\xe9</title></item></channel></rss>".encode("latin-1")
    assert read_xml_feed(document, {}, None) is None
    assert read_xml_feed(document, HEADERS, None) == parse_with_feedparser(document, dict(HEADERS))


@given(st.text(st.sampled_from(["a", "é", "\x80", "\x96", "\x9f", "\xa0", "’", "\u0100", "Ω", " "])))
def test_c1_controls_are_told_as_the_pattern_tells_them(text: str):
    from erepwatch.ingest.fastparse import _has_c1

    assert _has_c1(text.encode("iso-8859-1", "ignore")) == bool(re.search("[\x80-\x9f]", text))


@given(
    st.text(st.sampled_from(["a", "é", "Ã", "©", "\xa9", "\x80", "\x96", "\x9f", "\xa0", "’", "\u0100", "Ω", " "])),
    st.sampled_from(["utf-8", "windows-1252", "iso-8859-1"]),
)
def test_a_text_is_fixed_as_feedparser_fixes_it(text: str, encoding: str):
    # UTF-8 read as Latin-1 repaired, then C1 controls mapped to windows-1252's characters, written plainly: the
    # reader encodes the text once for both questions.
    from erepwatch.ingest.fastparse import _CP1252, _Reader

    expected = text
    if encoding == "utf-8":
        with contextlib.suppress(UnicodeError):
            expected = expected.encode("iso-8859-1").decode("utf-8")
    if re.search("[\x80-\x9f]", expected):
        expected = expected.translate(_CP1252)
    assert _Reader(encoding, None)._fix(text) == expected
    assert _Reader("utf-8", None)._fix("CafÃ©") == "Café"
    assert _Reader("utf-8", None)._fix("Caf\xe9 \x96") == "Café –"
