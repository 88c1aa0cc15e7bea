"""The catalog through the CLI: add-search then poll against a local server standing in for the providers,
query edits updating the feeds, OPML and backup round-trips, and the Google Alerts migration."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import FEEDS

DATA = Path(__file__).resolve().parents[1] / "data" / "providers"
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}


@pytest.fixture
def providers(server, monkeypatch):
    """The local server answers every provider's search path with that provider's recorded response."""
    server.routes.update(
        {
            "/rss/search": (200, RSS, (DATA / "google-news-search-fr.xml").read_bytes()),
            "/news/search": (200, RSS, (DATA / "bing-news-search-en.xml").read_bytes()),
            "/search.rss": (200, ATOM, (FEEDS / "reddit-search-atom-01.atom").read_bytes()),
            "/newest": (200, RSS, (DATA / "hnrss-newest.xml").read_bytes()),
            "/newcomments": (200, RSS, (DATA / "hnrss-newcomments.xml").read_bytes()),
            "/tags/acme.rss": (200, RSS, (DATA / "mastodon-tag-acme.rss").read_bytes()),
        }
    )
    monkeypatch.setenv("EREPWATCH_CATALOG_BASE_URL", server.url(""))
    return server


def _sources(cli) -> dict[str, dict]:
    return {s["name"]: s for s in cli("source", "list", "--json").json()}


def test_add_search_then_poll_brings_mentions_from_every_provider(cli, providers):
    cli("watch", "add", "ACME", "--query", "acme -scam", "--lang", "fr,en", "--region", "FR")
    report = cli("source", "add-search", "ACME", "--json").json()
    assert {r["provider"] for r in report["added"]} == {"google-news", "bing-news", "reddit", "hackernews"}
    assert "exclusions are not supported: the matcher applies them" in report["approximations"]["hackernews"]
    sources = _sources(cli)
    assert set(sources) == {
        "ACME · Google News fr-FR", "ACME · Google News en-US", "ACME · Bing News fr-FR", "ACME · Bing News en-US",
        "ACME · Reddit all", "ACME · Hacker News newest", "ACME · Hacker News newcomments",
    }  # fmt: skip
    assert all(s["kind"] == "search" and s["watch"] == "ACME" and s["interval"] == 900 for s in sources.values())
    google = urlsplit(sources["ACME · Google News fr-FR"]["url"])
    assert google.netloc == urlsplit(providers.url("")).netloc
    assert parse_qs(google.query) == {"q": ["acme -scam"], "hl": ["fr"], "gl": ["FR"], "ceid": ["FR:fr"]}

    stats = cli("poll", "--json").json()
    assert stats["failed"] == 0 and stats["fetched"] == 7
    mentions = cli("mentions", "--all", "--limit", "500", "--json").json()
    urls = {m["url"] for m in mentions}
    assert "https://www.leparisien.fr/economie/acme-rappelle-ses-croissants-10-11-2025.php" in urls  # Google id decoded
    assert "https://www.example-times.com/business/acme-recall" in urls  # Bing apiclick unwrapped
    assert "https://github.com/acme-bakery/inventory" in urls  # hnrss story
    # The HN comment calls Acme's support "a scam": the exclusion hnrss could not apply, the matcher did.
    assert "https://news.ycombinator.com/item?id=45800123" not in urls
    assert {m["watch"] for m in mentions} == {"ACME"}


def test_add_search_is_idempotent_and_options_accumulate(cli, providers):
    cli("watch", "add", "ACME", "--query", "acme")
    first = cli("source", "add-search", "ACME", "--provider", "reddit", "--subreddit", "france", "--json").json()
    assert [r["name"] for r in first["added"]] == ["ACME · Reddit all", "ACME · Reddit r/france"]
    again = cli("source", "add-search", "ACME", "--provider", "reddit", "--subreddit", "de", "--json").json()
    assert [r["name"] for r in again["added"]] == ["ACME · Reddit r/de"]
    assert len(again["kept"]) == 2 and again["removed"] == []
    mastodon = cli("source", "add-search", "ACME", "--provider", "mastodon", "--mastodon", "mastodon.social", "--json")
    mastodon = mastodon.json()
    assert [r["url"] for r in mastodon["added"]] == [providers.url("/tags/acme.rss")]
    bad = cli("source", "add-search", "ACME", "--provider", "altavista", ok=False)
    assert bad.code == 1 and "unknown provider" in bad.err


def test_editing_the_watch_updates_its_search_feeds(cli, providers):
    cli("watch", "add", "ACME", "--query", "acme", "--lang", "fr", "--region", "FR,CA")
    cli("source", "add-search", "ACME", "--provider", "google-news", "--provider", "hackernews")
    cli("poll")
    before = _sources(cli)
    gn_fr = before["ACME · Google News fr-FR"]
    assert gn_fr["items"] > 0 and gn_fr["last_success"]

    cli("watch", "edit", "ACME", "--query", "acme OR globex", "--region", "FR")
    after = _sources(cli)
    assert "ACME · Google News fr-CA" not in after  # the region went, so did its edition
    assert after["ACME · Google News fr-FR"]["id"] == gn_fr["id"]  # same row: history and items kept
    assert parse_qs(urlsplit(after["ACME · Google News fr-FR"]["url"]).query)["q"] == ["acme OR globex"]
    assert after["ACME · Google News fr-FR"]["items"] == gn_fr["items"]
    # hnrss has no OR: one feed per alternative, the old single one updated in place.
    hn = sorted(n for n in after if "Hacker News" in n)
    assert hn == [f"ACME · Hacker News {k} {i}/2" for k in ("newcomments", "newest") for i in (1, 2)]
    assert all(urlsplit(after[n]["url"]).netloc == urlsplit(providers.url("")).netloc for n in hn)


def test_opml_export_then_import_round_trips(cli, providers, tmp_path):
    cli("watch", "add", "ACME", "--query", "acme")
    cli("source", "add", providers.feed_url("fr-news-franceinfo-eco-01.xml"), "--name", "franceinfo")
    cli("source", "add-search", "ACME", "--provider", "hackernews")
    out = tmp_path / "subs.opml"
    cli("source", "export", "--out", str(out))
    before = {(s["name"], s["url"], s["kind"], s["watch"], s["interval"]) for s in _sources(cli).values()}

    first = cli("source", "import", str(out), "--json").json()
    assert first["added"] == [] and len(first["existing"]) == 3  # nothing twice

    for name in list(_sources(cli)):
        cli("source", "remove", name)
    cli("source", "import", str(out))
    after = {(s["name"], s["url"], s["kind"], s["watch"], s["interval"]) for s in _sources(cli).values()}
    assert after == before


def test_hostile_opml_is_refused(cli, tmp_path):
    path = tmp_path / "evil.opml"
    path.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b'<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>'
    )
    result = cli("source", "import", str(path), ok=False)
    assert result.code == 1 and "entities" in result.err
    assert cli("source", "list", "--json").json() == []


def _backup(cli, path: Path, *extra: str) -> dict:
    cli("export", "--out", str(path), *extra)
    if path.suffix == ".toml":
        import tomllib

        return tomllib.loads(path.read_text())
    return json.loads(path.read_text())


def test_backup_round_trip_and_idempotent_import(cli, providers, tmp_path):
    cli("watch", "add", "ACME", "--query", '"acme corp" OR acme', "--lang", "fr", "--tag", "crise=rappel,arnaque")
    cli("watch", "add", "Globex", "--query", "globex", "--fuzzy")
    cli("source", "add", providers.feed_url("fr-news-franceinfo-eco-01.xml"), "--name", "franceinfo")
    cli("source", "add-search", "ACME", "--provider", "google-news")
    alerts = tmp_path / "alerts.json"
    alerts.write_text(
        json.dumps(
            [
                {
                    "query": "globex",
                    "delivery_method": "EMAIL",
                    "delivery_frequency": "WEEKLY",
                    "email_address": "a@b.example",
                    "delivery_time": {"hour": 9, "day_of_week": 1},
                }
            ]
        )
    )
    cli("import", "google-alerts", str(alerts))  # a recipient to back up too  # fmt: skip
    json_data = _backup(cli, tmp_path / "backup.json")
    toml_data = _backup(cli, tmp_path / "backup.toml")
    assert json_data == toml_data
    assert [w["name"] for w in json_data["watches"]] == ["ACME", "Globex", "globex"]  # the alert's own watch
    assert json_data["recipients"][0]["watches"] == ["globex"]

    again = cli("import", str(tmp_path / "backup.json"), "--json").json()
    assert again["created"] == {"watches": 0, "sources": 0, "recipients": 0, "groups": 0}
    assert again["updated"] == {"watches": 0, "sources": 0, "recipients": 0, "groups": 0}
    assert again["problems"] == []

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    cli("--database", fresh, "init")
    restored = cli("--database", fresh, "import", "file", str(tmp_path / "backup.toml"), "--json").json()
    counts = {k: len(json_data[k]) for k in ("watches", "sources", "recipients", "groups")}
    assert restored["created"] == counts and counts["sources"] > 2
    cli("--database", fresh, "export", "--out", str(tmp_path / "fresh.json"))
    assert json.loads((tmp_path / "fresh.json").read_text()) == json_data


def test_import_refuses_what_is_not_a_backup(cli, tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"watches": []}')
    result = cli("import", str(path), ok=False)
    assert result.code == 1 and "not an erepwatch backup" in result.err


def test_google_alerts_import(cli, providers):
    first = cli("import", "google-alerts", str(DATA / "google-alerts-export.json"), "--json").json()
    assert first["watches_created"] == ['"acme corp" OR acme -scam', "globex site:globex.example", "initech",
                                        "umbrella"]  # fmt: skip
    assert len(first["refused"]) == 1 and "hooli" in first["refused"][0]
    recipients = {r["email"]: r for r in first["recipients"]}
    assert recipients["com@acme.example"]["frequency"] == "daily"  # daily beats weekly for one address
    assert recipients["com@acme.example"]["at"] == "07:30"
    assert any("one schedule per address" in line for line in first["unmapped"])
    assert any("inurl:reviews" in line for line in first["unmapped"])
    sources = _sources(cli)
    acme = [s for s in sources.values() if s["watch"] == '"acme corp" OR acme -scam']
    assert {s["name"].rsplit(" · ", 1)[1] for s in acme} == {"Google News fr-FR", "Bing News fr-FR"}

    text = cli("import", "google-alerts", str(DATA / "google-alerts-export.json"))
    assert "0 watches created, 4 already present, 0 search feeds added" in text.out
    assert "not mapped:" in text.out and "not imported:" in text.out
    assert len(_sources(cli)) == len(sources)


def test_discover_finds_and_adds_the_announced_feed(cli, server):
    page = (
        "<!doctype html><html><head><title>Acme blog</title>"
        f'<link rel="alternate" type="application/rss+xml" title="Acme news" '
        f'href="{server.feed_url("fr-news-franceinfo-eco-01.xml")}">'
        '<link rel="alternate" type="application/atom+xml" href="/comments.atom"></head><body></body></html>'
    ).encode()
    server.routes["/blog/"] = (200, {"Content-Type": "text/html; charset=utf-8"}, page)
    found = cli("source", "discover", server.url("/blog/"), "--add", "--json").json()
    assert [f["url"] for f in found["feeds"]] == [
        server.feed_url("fr-news-franceinfo-eco-01.xml"),
        server.url("/comments.atom"),
    ]
    assert found["added"]["name"] == "Acme news"
    assert [s["url"] for s in cli("source", "list", "--json").json()] == [found["feeds"][0]["url"]]
