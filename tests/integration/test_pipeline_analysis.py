"""The analysis stages inside a poll: language at ingest, sentiment and tags per mention, story clusters.

A real headline from the corpus is "syndicated" by a second local feed (another URL, a tracking parameter,
the " - Publisher" suffix of news-search feeds): the two mentions must form one story.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import feedparser

from tests.conftest import FEEDS

SOURCE_FEED = "fr-news-lefigaro-consommation-01.xml"


def _rss(items: list[dict[str, str]]) -> bytes:
    body = "".join(
        "<item>"
        f"<title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
        f"<guid>{escape(i['link'])}</guid><description>{escape(i['text'])}</description>"
        f"<pubDate>{i['date']}</pubDate>"
        + (f'<source url="{escape(i["source_url"])}">{escape(i["source"])}</source>' if "source" in i else "")
        + "</item>"
        for i in items
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{body}</channel></rss>".encode()


def _real_entry() -> tuple[str, str]:
    parsed = feedparser.parse(io.BytesIO((FEEDS / SOURCE_FEED).read_bytes()))
    entry = next(e for e in parsed.entries if len(e.title.split()) >= 6)
    return entry.title, entry.link


def test_syndicated_story_is_one_cluster_with_sentiment_and_tags(cli, server):
    title, link = _real_entry()
    brand = max(title.split(), key=len).strip(",.:;!?«»\"'()")
    now = datetime.now(UTC)
    server.routes["/publisher.xml"] = (
        200,
        {"Content-Type": "application/rss+xml"},
        _rss(
            [
                {
                    "title": title,
                    "link": link,
                    "text": f"{brand} : une arnaque, rappel de produit. Très décevant.",
                    "date": format_datetime(now - timedelta(hours=2)),
                },
            ]
        ),
    )
    server.routes["/news-search.xml"] = (
        200,
        {"Content-Type": "application/rss+xml"},
        _rss(
            [
                {
                    "title": f"{title} - Le Figaro",
                    "link": "https://syndication.example.net/a/123?utm_source=rss",
                    "text": f"{brand} : une arnaque, rappel de produit.",
                    "date": format_datetime(now - timedelta(hours=1)),
                    "source": "Le Figaro",
                    "source_url": "https://www.lefigaro.fr",
                },
                {
                    "title": f"Un tout autre sujet sur {brand} et les 35 heures",
                    "link": "https://other.example.org/b",
                    "text": "Rien à voir.",
                    "date": format_datetime(now),
                },
            ]
        ),
    )
    cli("watch", "add", "probe", "--query", brand, "--tag", "alerte=arnaque")
    cli("source", "add", server.url("/publisher.xml"), "--name", "publisher")
    cli("source", "add", server.url("/news-search.xml"), "--name", "search")
    stats = cli("poll", "--json").json()
    assert stats["new_mentions"] == 3
    # The default scorer (e5) reads each new mention's window embedding after storage, within its budget.
    assert stats["sentiment"]["scored"] == 3 and stats["sentiment"]["backlog"] == 0

    stories = cli("mentions", "--json").json()
    assert len(stories) == 2, "the syndicated copy folds into the publisher's story"
    story = next(s for s in stories if s["duplicates"])
    assert story["title"] == title, "the earliest-published member represents the story"
    assert [d["source"] for d in story["duplicates"]] == ["Le Figaro"]
    assert story["sentiment"] == "negative" and story["score"] < 0, str(story)
    assert "crisis" in story["tags"] and "alerte" in story["tags"]
    assert story["language"] == "fr"
    # Why: the words that decided the sentiment and each tag, recorded with the mention.
    assert story["why"]["tags"]["alerte"] == ["arnaque"]
    assert "rappel de produit" in story["why"]["tags"]["crisis"]
    assert story["why"]["sentiment"] and set(story["why"]["sentiment"]) <= {
        "arnaque",
        "rappel de produit",
        "très décevant",
        "décevant",
    }

    every = cli("mentions", "--all", "--json").json()
    assert len(every) == 3
    assert len({m["cluster_id"] for m in every}) == 2

    text = cli("mentions").out
    assert "(+1 source)" in text
    assert f"[{brand}]" in text, "the matched term is marked in the snippet (brackets when not a terminal)"


def test_clusters_survive_across_polls(cli, server):
    """A copy arriving in a later poll joins the story found by an earlier one (the index is rebuilt)."""
    title, link = _real_entry()
    brand = max(title.split(), key=len).strip(",.:;!?«»\"'()")
    now = datetime.now(UTC)
    server.routes["/first.xml"] = (
        200,
        {},
        _rss([{"title": title, "link": link, "text": "", "date": format_datetime(now - timedelta(hours=3))}]),
    )
    cli("watch", "add", "probe", "--query", brand)
    cli("source", "add", server.url("/first.xml"))
    cli("poll")
    server.routes["/second.xml"] = (
        200,
        {},
        _rss([{"title": title, "link": "https://mirror.example.com/x", "text": "", "date": format_datetime(now)}]),
    )
    cli("source", "add", server.url("/second.xml"))
    cli("poll")
    every = cli("mentions", "--all", "--json").json()
    assert len(every) == 2 and every[0]["cluster_id"] == every[1]["cluster_id"]
