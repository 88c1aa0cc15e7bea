"""Feeds read as their publishers meant (issue 14 point 6), through the CLI on the real corpus files:
Feedburner's origLink, Google Alerts' publishers, JSON Feed's content_text. The rules live where entries
become items, so they hold for the fast XML parser and for feedparser alike (checked in both)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from erepwatch.ingest.fastparse import read_xml_feed
from erepwatch.ingest.items import items_from_feed
from erepwatch.ingest.parse import parse_feed
from tests.conftest import FEEDS

FEEDBURNER = "en-blogger-feedburner-atom-01.atom"
ALERTS = "google-alerts-atom-en-01.xml"
JSONFEED = "jsonfeed-blog-01.json"


def _orig_links(name: str) -> list[str]:
    """feedburner:origLink of each entry, read with the standard library (independent of our parsers)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring((FEEDS / name).read_bytes())
    ns = "{http://rssnamespace.org/feedburner/ext/1.0}origLink"
    return [e.text for e in root.iter() if e.tag == ns and e.text]


def test_feedburner_items_are_the_publishers_links_and_merge_with_the_direct_feed(cli, server):
    origins = _orig_links(FEEDBURNER)
    assert origins and "feedproxy" in (FEEDS / FEEDBURNER).read_text()
    direct = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Direct</title>'
        f"<item><title>Same article</title><link>{origins[0]}</link><description>x</description></item>"
        "</channel></rss>"
    ).encode()
    server.routes["/direct.xml"] = (200, {"Content-Type": "application/rss+xml"}, direct)
    cli("watch", "add", "all", "--query", "java OR adwords OR api OR article")
    cli("source", "add", server.feed_url(FEEDBURNER), "--name", "burner")
    cli("source", "add", server.url("/direct.xml"), "--name", "direct")
    stats = cli("poll", "--json").json()
    urls = {m["url"] for m in cli("mentions", "--all", "--limit", "500", "--json").json()}
    assert not any("feedproxy.google.com" in u for u in urls)
    assert stats["new_items"] == len(origins), "the direct feed's article is the Feedburner one, stored once"
    sources = {s["name"]: s["items"] for s in cli("source", "list", "--json").json()}
    assert sources == {"burner": len(origins), "direct": 1}


def test_google_alerts_items_name_the_articles_site(cli, server):
    cli("watch", "add", "slack", "--query", "slack")
    cli("source", "add", server.feed_url(ALERTS), "--name", "alert")
    cli("poll")
    mentions = cli("mentions", "--all", "--limit", "500", "--json").json()
    assert mentions
    for m in mentions:
        assert "Google Alert" not in (m["source"] or "")
        assert m["source"] and m["source"] in m["url"], m


def test_json_feed_items_use_content_text(cli, server):
    document = json.loads((FEEDS / JSONFEED).read_text(encoding="utf-8"))
    item = next(i for i in document["items"] if i.get("content_text") and "&lt;" in i.get("content_html", ""))
    word = next(w for w in item["content_text"].split() if w.isalpha() and len(w) > 8)
    cli("watch", "add", "probe", "--query", word)
    cli("source", "add", server.feed_url(JSONFEED), "--name", "blog")
    cli("poll")
    found = cli("mentions", "--all", "--limit", "500", "--json").json()
    assert found and all("&lt;" not in m["snippet"] and "<p>" not in m["snippet"] for m in found)


@pytest.mark.parametrize("name", [FEEDBURNER, ALERTS])
def test_the_rules_hold_for_both_parsers(name):
    content = (FEEDS / name).read_bytes()
    now = datetime.now(UTC)
    fast = read_xml_feed(content, {}, None)
    slow = parse_feed(content)
    assert fast is not None
    assert items_from_feed(fast, fetched_at=now) == items_from_feed(slow, fetched_at=now)
