"""Fuzzing every input a user or a feed host controls (issue 18 point 11), each for a bounded number of
examples: the parse stage (bytes → entries → items), OPML, the Google Alerts export, the watch import lines and
the backup. Any exception other than the project's named errors is a defect.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erepwatch.catalog.google_alerts import read_alerts_export
from erepwatch.catalog.opml import read_opml
from erepwatch.errors import ErepwatchError, FeedParseError, InvalidInputError
from erepwatch.ingest.items import items_from_feed
from erepwatch.ingest.limit import newest_entries
from erepwatch.ingest.parse import parse_feed
from erepwatch.ingest.prepare import prepare_document
from erepwatch.service.backup import import_backup, load_backup
from erepwatch.service.watch_import import parse_jsonl

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 12, 1, tzinfo=UTC)

# Pieces of feeds, glued at random: well-formed, broken, hostile (entities, char refs, controls, surrogates).
_XML_PIECES = [
    '<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0" encoding="iso-8859-1"?>', "<rss version=\"2.0\">",
    "</rss>", "<channel>", "</channel>", "<item>", "</item>", "<title>", "</title>", "<link>", "</link>",
    "<guid>", "</guid>", "<description>", "</description>", "<pubDate>", "</pubDate>", "<category>", "</category>",
    '<feed xmlns="http://www.w3.org/2005/Atom">', "</feed>", "<entry>", "</entry>", '<link href="', '"/>',
    "<content type=\"html\">", "</content>", "<source>", "</source>", "<![CDATA[", "]]>", "&amp;", "&lt;b&gt;",
    "&#xD800;", "&#0;", "&#x1b;", "&nbsp;", "&bogus;", '<!DOCTYPE rss [<!ENTITY e "ee">]>', "&e;",
    '<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">', "Acme", "Mon, 30 Nov 2026 10:00:00 GMT",
    "2026-11-30T10:00:00Z", "https://news.example.com/a?utm_source=x", "javascript:alert(1)", "\x00", "\x1b", "é",
    "\ud800", " ", "\n", "<", ">", '"', "'",
    "<textinput>", "</tags>", "<keywords>", "</keywords>", "<dc:subject xmlns:dc='http://purl.org/dc/elements/1.1/'>",
    "</dc:subject>", "<media:category xmlns:media='http://search.yahoo.com/mrss/'>", "</media:category>", "<br>",
]  # fmt: skip
_xml_docs = st.lists(st.sampled_from(_XML_PIECES), max_size=40).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["id", "url", "title", "content_html", "content_text", "summary", "authors", "author", "date_published",
         "items", "version", "name", "external_url", "date_modified"]), inner, max_size=5),
    max_leaves=15,
)  # fmt: skip
_json_feeds = st.builds(
    lambda items, extra: json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items, **extra}).encode(),
    st.lists(_json_values, max_size=4),
    st.dictionaries(st.sampled_from(["title", "home_page_url", "language"]), _json_values, max_size=2),
)


def _parse_stage(content: bytes, headers: dict[str, str]) -> None:
    try:
        feed = parse_feed(prepare_document(content, 50), headers, url="https://feed.example.com/rss")
    except FeedParseError:
        return
    items = items_from_feed(newest_entries(feed, 50), fetched_at=NOW)
    for item in items:
        for value in (item.title, item.text, item.url or "", item.guid or "", item.author or ""):
            value.encode("utf-8")  # storable: no lone surrogate
            assert "\x00" not in value


@FUZZ
@given(_xml_docs, st.sampled_from(["application/rss+xml", "text/html", "application/octet-stream"]))
def test_parse_stage_on_xml_pieces(content, ctype):
    _parse_stage(content, {"content-type": ctype})


@FUZZ
@given(_json_feeds)
def test_parse_stage_on_json_feeds(content):
    _parse_stage(content, {"content-type": "application/feed+json"})


@FUZZ
@given(st.binary(max_size=2000))
def test_parse_stage_on_bytes(content):
    _parse_stage(content, {})


_OPML_PIECES = [
    '<?xml version="1.0"?>', '<opml version="2.0">', "</opml>", "<body>", "</body>", "<head>", "</head>",
    '<outline text="folder">', "</outline>", '<outline type="rss" xmlUrl="https://a.example/f.xml" text="a"/>',
    '<outline xmlUrl="javascript:x"/>', '<outline type="atom" url="http://b.example/"/>',
    '<outline xmlUrl="https://c.example/f" erepwatch:interval="99999999999999999999" '
    'xmlns:erepwatch="https://github.com/erepwatch/erepwatch/ns/opml"/>', '<!DOCTYPE opml [<!ENTITY a "a">]>', "&a;",
    "<", "&", "é", "\x00",
]  # fmt: skip


@FUZZ
@given(st.one_of(st.lists(st.sampled_from(_OPML_PIECES), max_size=30).map(lambda p: "".join(p).encode()),
                 st.binary(max_size=500)))  # fmt: skip
def test_opml_is_feeds_or_a_named_error(data):
    try:
        feeds = read_opml(data)
    except InvalidInputError:
        return
    assert all(f.url for f in feeds)


_ALERT_KEYS = ["query", "language", "country", "deliveryMethod", "deliveryFrequency", "emailAddress", "deliveryTime",
               "hours", "dayOfWeek", "timeZone", "sources", "howMany", "region", "frequency"]  # fmt: skip
_alert_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=15)
    | st.sampled_from(["acme", "EMAIL", "RSS", "weekly", "daily", "Mars/Olympus", "Europe/Paris", "fr", "(", '"']),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_ALERT_KEYS), inner, max_size=5),
    max_leaves=12,
)  # fmt: skip


@FUZZ
@given(st.one_of(_alert_values.map(json.dumps), st.text(max_size=200), st.binary(max_size=200)))
def test_google_alerts_export_is_read_or_refused_by_name(data):
    try:
        export = read_alerts_export(data)
    except (InvalidInputError, UnicodeDecodeError):
        return  # the CLI words a decode error itself ("not UTF-8 text")
    assert all(a.query for a in export.alerts)


_WATCH_KEYS = ["name", "query", "lang", "fuzzy", "tags", "region", "x"]


@FUZZ
@given(st.lists(st.one_of(
    st.dictionaries(st.sampled_from(_WATCH_KEYS), _alert_values, max_size=5).map(json.dumps),
    st.text(max_size=60),
), max_size=4))  # fmt: skip
def test_watch_import_lines_are_watches_or_one_named_error(lines):
    try:
        parse_jsonl(io.StringIO("\n".join(lines) + "\n"), source="fuzz.jsonl")
    except InvalidInputError as exc:
        assert "\n" not in str(exc)


_BACKUP_ROWS = {
    "watches": ["name", "query", "lang", "region", "fuzzy", "tags"],
    "sources": ["url", "name", "kind", "interval", "watch", "provider", "enabled"],
    "recipients": ["email", "frequency", "at", "timezone", "weekday", "locale", "min_sentiment", "watches",
                   "send_empty", "notify_urls"],
}  # fmt: skip
_backups = st.fixed_dictionaries(
    {"erepwatch_backup": st.just(1)},
    optional={
        table: st.lists(st.one_of(st.dictionaries(st.sampled_from(keys), _alert_values, max_size=6), _alert_values),
                        max_size=3)
        for table, keys in _BACKUP_ROWS.items()
    },
)  # fmt: skip


@pytest.fixture(scope="module")
def backup_sessions(tmp_path_factory):
    from erepwatch.db.engine import make_engine, session_factory
    from erepwatch.db.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'b.db'}")
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.one_of(_backups.map(json.dumps), st.text(max_size=100)))
def test_backup_import_reports_problems_and_never_raises_anything_else(backup_sessions, text):
    from datetime import timedelta

    try:
        data = load_backup(text, "json")
    except InvalidInputError:
        return
    with backup_sessions() as session:
        try:
            import_backup(session, data, default_interval=timedelta(hours=1), now=NOW)
        except ErepwatchError:
            pass
        finally:
            session.rollback()
