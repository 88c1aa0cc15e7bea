"""End to end through the CLI: add sources and watches, poll a real local HTTP server, read mentions.

Runs on SQLite and on PostgreSQL (the ``db_url`` fixture is parametrised over both).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import feedparser
import pytest
from sqlalchemy import create_engine, text

from erepwatch.analyze.textnorm import fold_words
from erepwatch.db.engine import normalize_url
from erepwatch.ingest.canonical import canonical_url
from tests.conftest import FEEDS, corpus_feeds

FR_FEED = "fr-news-lefigaro-consommation-01.xml"


def _first_title_word(name: str) -> str:
    """A word of the feed's first entry title, found with feedparser alone (independent of our code)."""
    parsed = feedparser.parse(io.BytesIO((FEEDS / name).read_bytes()))
    words = [w.strip(",.:;!?«»\"'()") for w in parsed.entries[0].title.split()]
    return max(words, key=len)


def test_init_is_idempotent(cli):
    first = cli("init", "--json").json()
    second = cli("init", "--json").json()
    assert first["to"] == second["to"] == second["from"]
    assert second["changed"] is False


def test_poll_finds_mentions_and_second_poll_gets_304(cli, server):
    word = _first_title_word(FR_FEED)
    cli("watch", "add", "probe", "--query", word)
    cli("source", "add", server.feed_url(FR_FEED), "--name", "figaro")
    cli("source", "add", server.feed_url("en-news-bbc-world-01.xml"), "--name", "bbc")

    first = cli("poll", "--json").json()
    assert first["sources"] == 2 and first["failed"] == 0
    assert first["new_items"] > 0 and first["new_mentions"] >= 1

    mentions = cli("mentions", "--json", "--limit", "500").json()
    assert mentions, "the watched word of the first entry must give a mention"
    m = mentions[0]
    for key in (
        "id",
        "watch",
        "title",
        "url",
        "source",
        "published",
        "language",
        "sentiment",
        "score",
        "tags",
        "snippet",
        "cluster_id",
        "duplicates",
    ):
        assert key in m
    assert m["watch"] == "probe"
    assert "+00:00" in m["published"]
    assert any(word.lower() in x["title"].lower() or word.lower() in x["snippet"].lower() for x in mentions)
    # Every mention explains itself: which term matched, in which field, where (offsets into that field).
    for x in mentions:
        assert x["matches"], x
        for span in x["matches"]:
            assert set(span) == {"field", "start", "end", "term", "fuzzy"}
            assert span["field"] in ("title", "text") and span["fuzzy"] is False
            assert fold_words(span["term"]) == fold_words(word)
            if span["field"] == "title":
                assert fold_words(x["title"][span["start"] : span["end"]]) == fold_words(word)

    second = cli("poll", "--all", "--json").json()
    assert second["not_modified"] == 2 and second["new_items"] == 0 and second["new_mentions"] == 0
    # `source add` fetched it once to check it, the first poll again (the check keeps no validators), then 304.
    assert server.hits(f"/feeds/{FR_FEED}") == [200, 200, 304]

    listed = {s["name"]: s for s in cli("source", "list", "--json").json()}
    assert listed["figaro"]["items"] > 0 and listed["figaro"]["failures"] == 0
    assert listed["figaro"]["last_success"] is not None


def test_poll_without_all_only_takes_due_sources(cli, server):
    cli("source", "add", server.feed_url(FR_FEED), "--interval", "1h")
    assert cli("poll", "--json").json()["sources"] == 1
    assert cli("poll", "--json").json()["sources"] == 0


def test_failures_are_recorded_and_do_not_stop_other_sources(cli, server):
    cli("source", "add", server.url("/status/503?retry_after=120"), "--name", "down", "--no-check")
    cli(
        "source", "add", server.feed_url("malformed-html-404-instead-of-feed-fr-01.xml"), "--name", "html", "--no-check"
    )
    cli("source", "add", server.url("/huge"), "--name", "huge", "--no-check")
    cli("source", "add", server.url("/nope.xml"), "--name", "missing", "--no-check")
    cli("source", "add", server.feed_url(FR_FEED), "--name", "good")
    stats = cli("poll", "--json").json()
    assert stats["failed"] == 4 and stats["fetched"] == 1
    sources = {s["name"]: s for s in cli("source", "list", "--json").json()}
    assert sources["down"]["last_error_kind"] == "http_5xx"
    assert sources["html"]["last_error_kind"] == "not_a_feed"
    assert sources["huge"]["last_error_kind"] == "too_large"
    assert sources["missing"]["last_error_kind"] == "http_4xx"
    assert all(sources[n]["failures"] == 1 for n in ("down", "html", "huge", "missing"))
    assert sources["good"]["failures"] == 0 and sources["good"]["items"] > 0


def test_private_addresses_refused_by_default(cli, server, monkeypatch):
    monkeypatch.delenv("EREPWATCH_ALLOW_PRIVATE")
    refused = cli("source", "add", server.feed_url(FR_FEED), "--name", "local", ok=False)
    assert "forbidden_address" in refused.err and "--no-check" in refused.err
    cli("source", "add", server.feed_url(FR_FEED), "--name", "local", "--no-check")
    polled = cli("poll", "--json", ok=False)
    assert polled.code == 1 and "every source failed" in polled.err
    stats = polled.json()
    assert stats["failed"] == 1
    source = cli("source", "list", "--json").json()[0]
    assert source["last_error_kind"] == "forbidden_address"
    assert server.requests == [], "nothing may reach a private address"


def test_same_item_in_two_sources_is_stored_once_and_linked_to_both(cli, server, env):
    # A mirror serves the same entries under another URL: they are stored once, linked to both sources.
    name = "fr-news-franceinfo-eco-01.xml"
    server.routes["/mirror/eco.xml"] = (200, {"Content-Type": "application/rss+xml"}, (FEEDS / name).read_bytes())
    cli("source", "add", server.feed_url(name), "--name", "a")
    cli("source", "add", server.url("/mirror/eco.xml"), "--name", "b")
    cli("poll")
    cli("poll", "--all")
    sources = {s["name"]: s["items"] for s in cli("source", "list", "--json").json()}
    entries = feedparser.parse(io.BytesIO((FEEDS / name).read_bytes())).entries
    assert sources == {"a": len(entries), "b": len(entries)}
    engine = create_engine(normalize_url(env))
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from items")).scalar_one() == len(entries)
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("source", "add", "not a url"), "malformed URL"),
        (("source", "add", "file:///etc/passwd"), "only http"),
        (("source", "remove", "999"), "no source"),
        (("watch", "show", "ghost"), "no watch"),
        (("watch", "add", "x", "--query", '"unclosed'), "column"),
        (("mentions", "--since", "yesterday"), "--since"),
        (("source", "add", "http://example.com/feed", "--interval", "soon"), "--interval"),
    ],
    ids=["bad-url", "file-scheme", "unknown-source", "unknown-watch", "bad-query", "bad-since", "bad-interval"],
)
def test_errors_are_one_line_on_stderr(cli, args, message):
    result = cli(*args, ok=False)
    assert result.code != 0
    assert result.out == ""
    assert result.err.count("\n") == 1 and message in result.err


def test_duplicates_refused(cli):
    cli("watch", "add", "acme", "--query", "acme")
    assert "already exists" in cli("watch", "add", "acme", "--query", "other", ok=False).err
    cli("source", "add", "http://example.com/feed.xml", "--no-check")
    assert "already" in cli("source", "add", "http://example.com/feed.xml", "--no-check", ok=False).err


def test_watch_lifecycle_json(cli):
    created = cli(
        "watch",
        "add",
        "acme",
        "--query",
        "acme",
        "--lang",
        "fr,en",
        "--region",
        "FR",
        "--tag",
        "crise=rappel,intoxication",
        "--json",
    ).json()
    assert created["lang"] == ["fr", "en"] and created["tags"] == {"crise": ["rappel", "intoxication"]}
    edited = cli("watch", "edit", "acme", "--query", "acme OR acmé", "--no-fuzzy", "--json").json()
    assert edited["query"] == "acme OR acmé"
    assert [w["name"] for w in cli("watch", "list", "--json").json()] == ["acme"]
    cli("watch", "remove", "acme")
    assert cli("watch", "list", "--json").json() == []


def test_wrong_setting_fails_at_start_naming_the_key(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("EREPWATCH_FETCH_TIMEOUT", "forever")
    assert "EREPWATCH_FETCH_TIMEOUT" in cli("watch", "list", ok=False).err
    monkeypatch.delenv("EREPWATCH_FETCH_TIMEOUT")
    config = tmp_path / "bad.toml"
    config.write_text('[fetch]\ntimeot = "10s"\n')
    assert "fetch.timeot" in cli("--config", str(config), "watch", "list", ok=False).err
    config.write_text('[mail]\nsmtp_url = "http://mail"\n')
    assert "mail.smtp_url" in cli("watch", "list", "--config", str(config), ok=False).err


@pytest.mark.slow  # every corpus feed through the CLI: `make test` runs it, `make test-fast` skips it
def test_whole_corpus_ingests_without_a_crash(cli, server):
    """Every real feed is fetched, parsed and stored; item counts agree with feedparser on the same bytes."""
    feeds = corpus_feeds()
    for path in feeds:  # unchecked: the poll is what this test measures (and some files are not feeds)
        cli("source", "add", server.feed_url(path.name), "--name", path.name, "--no-check")
    stats = cli("poll", "--json").json()
    assert stats["sources"] == len(feeds)
    by_name = {s["name"]: s for s in cli("source", "list", "--json").json()}
    for path in feeds:
        source = by_name[path.name]
        parsed = feedparser.parse(io.BytesIO(path.read_bytes()))
        if source["failures"]:
            # Only documents with nothing readable may fail, and they must say why.
            assert not parsed.entries or path.suffix == ".gz", path.name
            assert source["last_error_kind"] in {"not_a_feed", "parse", "empty"}, path.name
            continue
        if path.suffix in {".json", ".gz"}:
            assert source["items"] > 0, path.name
            continue
        expected = {
            canonical_url(e.get("link")) or e.get("id") or (e.get("title"), e.get("summary"))
            for e in parsed.entries
            if e.get("link") or e.get("id") or e.get("title") or e.get("summary")
        }
        assert source["items"] <= len(parsed.entries), path.name
        assert source["items"] >= len(expected), path.name


def test_python_dash_m_runs(env):
    subprocess.run([sys.executable, "-m", "erepwatch", "init"], capture_output=True, check=True)
    out = subprocess.run(
        [sys.executable, "-m", "erepwatch", "watch", "list", "--json"], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
