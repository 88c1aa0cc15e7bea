"""The first hour of a new user (issue 14), through the CLI: mentions from minute one, and a query language that
says what it does with habits from other tools. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import create_engine, text

from erepwatch.db.engine import normalize_url


def _rss(items: list[tuple[str, str]], *, hours_ago: int = 1) -> bytes:
    when = format_datetime(datetime.now(UTC) - timedelta(hours=hours_ago))
    body = "".join(
        f"<item><title>{title}</title><link>https://news.example/{i}</link><description>{text}</description>"
        f"<pubDate>{when}</pubDate></item>"
        for i, (title, text) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title>{body}</channel></rss>'.encode()


ITEMS = [
    ("Lidl et Aldi baissent leurs prix", "La guerre des prix continue entre les deux enseignes."),
    ("Grève chez Lidl", "Les salariés de Lidl sont en grève ce lundi."),
    ("Lidl ouvre un magasin à Lyon", "Le discounter poursuit son expansion."),
    ("Les lidars arrivent dans les voitures", "Une technologie de mesure par laser."),
    ("Aldi recrute", "Aldi annonce 500 postes."),
]


@pytest.fixture
def stored(cli, server):
    """Items already stored from a local feed, before any watch exists."""
    server.routes["/local.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss(ITEMS))
    cli("source", "add", server.url("/local.xml"), "--name", "local")
    assert cli("poll", "--json").json()["new_items"] == len(ITEMS)
    return cli


def _titles(cli, watch: str) -> set[str]:
    return {m["title"] for m in cli("mentions", "--watch", watch, "--all", "--json").json()}


def test_a_new_watch_finds_the_stored_items_at_once_and_says_how_many(stored):
    out = stored("watch", "add", "lidl", "--query", "lidl").out
    assert "3 mentions among the items already stored" in out
    assert _titles(stored, "lidl") == {ITEMS[0][0], ITEMS[1][0], ITEMS[2][0]}
    added = stored("watch", "add", "aldi", "--query", "aldi", "--json").json()
    assert added["first_results"]["stored_mentions"] == 2


def test_an_edited_watch_is_matched_again(stored):
    stored("watch", "add", "brand", "--query", "aldi")
    assert len(_titles(stored, "brand")) == 2
    out = stored("watch", "edit", "brand", "--query", "aldi OR lidl").out
    assert "2 new mentions among the items already stored" in out  # "Lidl et Aldi" had one already
    assert len(_titles(stored, "brand")) == 5 - 1  # every item but the lidars


def test_watch_import_matches_the_stored_items(stored, tmp_path):
    path = tmp_path / "w.jsonl"
    path.write_text('{"name": "both", "query": "lidl aldi"}\n', encoding="utf-8")
    assert stored("watch", "import", str(path), "--json").json()["stored_mentions"] == 1


def test_upper_case_and_not_are_operators(stored):
    stored("watch", "add", "both", "--query", "Lidl AND Aldi")
    assert _titles(stored, "both") == {ITEMS[0][0]}
    stored("watch", "add", "calm", "--query", "Lidl NOT grève")
    assert _titles(stored, "calm") == {ITEMS[0][0], ITEMS[2][0]}
    assert stored("watch", "show", "calm", "--json").json()["canonical_query"] == "Lidl -grève"


def test_trailing_star_is_a_prefix_of_three_letters_at_least(stored):
    stored("watch", "add", "lid", "--query", "lid* -aldi")
    assert _titles(stored, "lid") == {ITEMS[1][0], ITEMS[2][0], ITEMS[3][0]}
    assert stored("watch", "show", "lid", "--json").json()["canonical_query"] == "lid* -aldi"
    refused = stored("watch", "add", "li", "--query", "li*", ok=False)
    assert refused.code == 1 and "column 3" in refused.err and "at least 3 letters" in refused.err
    refused = stored("watch", "add", "mid", "--query", "acme L*dl", ok=False)
    assert "column 7" in refused.err and "prefix wildcard" in refused.err


@pytest.mark.parametrize(
    ("query", "column", "words"),
    [
        ("Lidl && Aldi", 6, "AND"),
        ("Lidl NEAR/3 Aldi", 6, "proximity"),
        ("inurl:lidl", 1, "site: and intitle:"),
        ("Lidl AND", 6, "AND needs a term on its right"),
        ("NOT Lidl", 1, "only exclusions"),
        ('"lid*"', 1, "inside quotes"),
    ],
)
def test_what_looks_like_an_operator_but_is_not_is_refused_with_its_column(cli, query, column, words):
    refused = cli("watch", "add", "x", "--query", query, ok=False)
    assert refused.code == 1 and f"column {column}" in refused.err and words in refused.err
    assert "Traceback" not in refused.err


def test_lower_case_operators_are_words_with_a_warning(cli):
    done = cli("watch", "add", "x", "--query", "Lidl and Aldi")
    assert "warning: query column 6: 'and' is looked for as a word" in done.err
    assert "Lidl and Aldi" in done.out
    assert "warning" in cli("watch", "test", "--query", "+lidl aldi").err


def test_watch_add_search_subscribes_the_search_feeds_and_polls_them_now(cli, server, monkeypatch):
    monkeypatch.setenv("EREPWATCH_CATALOG_BASE_URL", server.url("/catalog"))
    found = _rss([("Acme lance un produit", "Acme, la marque, annonce.")])
    for path in ("/catalog/rss/search", "/catalog/news/search", "/catalog/search.rss", "/catalog/newest"):
        server.routes[path] = (200, {"Content-Type": "application/rss+xml"}, found)
    result = cli("watch", "add", "acme", "--query", "acme", "--search", "--json").json()
    first = result["first_results"]
    assert len(first["search_feeds"]) >= 3 and first["new_mentions"] >= 1
    assert any("hl=fr" in url and "gl=FR" in url for url in first["search_feeds"]), "the default market, not en-US"
    assert [m["title"] for m in cli("mentions", "--json").json()] == ["Acme lance un produit"]


def test_a_watch_without_lang_or_region_takes_the_default_market(cli, monkeypatch):
    assert cli("watch", "add", "a", "--query", "acme", "--json").json()["region"] == ["FR"]
    assert cli("watch", "add", "b", "--query", "acme", "--lang", "en", "--json").json()["region"] == []
    monkeypatch.setenv("EREPWATCH_WATCH_DEFAULT_REGION", "CA")
    assert cli("watch", "add", "c", "--query", "acme", "--json").json()["region"] == ["CA"]
    for bad, word in ((("--lang", "xx"), "ISO 639-1"), (("--region", "UK"), "did you mean GB")):
        refused = cli("watch", "add", "d", "--query", "acme", *bad, ok=False)
        assert word in refused.err


# --- sources checked when added (point 5) ----------------------------------------------------------------

INDEX = b"""<!doctype html><html><head><title>Nos flux RSS</title></head><body>
<h1>Flux RSS</h1><ul>
<li><a href="/rss/une.xml">A la une</a></li><li><a href="/rss/economie.xml">Economie</a></li>
<li><a href="/sitemap.xml">Plan du site</a></li><li><a href="/contact">Contact</a></li></ul></body></html>"""


def test_source_add_checks_the_feed_with_one_fetch(cli, server):
    server.routes["/rss/"] = (200, {"Content-Type": "text/html; charset=utf-8"}, INDEX)
    missing = cli("source", "add", server.url("/nope.xml"), ok=False)
    assert missing.code == 1 and "http_4xx" in missing.err and "--no-check" in missing.err
    html = cli("source", "add", server.url("/rss/"), ok=False)
    assert "not_a_feed" in html.err and f"erepwatch source discover {server.url('/rss/')}" in html.err
    assert cli("source", "list", "--json").json() == [], "a refused source is not added"
    assert server.hits("/nope.xml") == [404], "one fetch, no retry loop"


def test_discover_finds_plain_links_of_an_rss_index_page(cli, server):
    server.routes["/rss/"] = (200, {"Content-Type": "text/html; charset=utf-8"}, INDEX)
    server.routes["/rss/une.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss(ITEMS[:2]))
    found = cli("source", "discover", server.url("/rss/"), "--add", "--json").json()
    assert [f["url"] for f in found["feeds"]] == [server.url("/rss/une.xml"), server.url("/rss/economie.xml")]
    assert found["feeds"][0]["title"] == "A la une"
    assert found["added"]["url"] == server.url("/rss/une.xml")


def test_last_error_is_cleared_by_the_next_success_and_poll_fails_when_every_source_failed(cli, server, env):
    cli("source", "add", server.url("/later.xml"), "--name", "later", "--no-check")
    failed = cli("poll", "--json", ok=False)
    assert failed.code == 1 and "every source failed" in failed.err and failed.json()["failed"] == 1
    source = cli("source", "list", "--json").json()[0]
    assert source["last_error_kind"] == "http_4xx" and source["last_error"]
    server.routes["/later.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss(ITEMS))
    engine = create_engine(normalize_url(env))  # the backoff has passed
    with engine.begin() as conn:
        conn.execute(text("UPDATE sources SET next_check_at = :t"), {"t": datetime.now(UTC) - timedelta(days=2)})
    engine.dispose()
    assert cli("poll", "--json").json()["fetched"] == 1
    source = cli("source", "list", "--json").json()[0]
    assert source["last_error_kind"] is None and source["last_error"] is None and source["failures"] == 0


def test_a_poll_that_fetches_nothing_says_why_and_a_failing_source_is_polled_by_name(cli, server):
    assert "no source to poll: add one with `erepwatch source add URL`" in cli("poll").out
    cli("source", "add", server.url("/later.xml"), "--name", "later", "--no-check")
    cli("poll", ok=False)
    waiting = cli("poll", "--all").out  # the failing source waits out its backoff, and the user is told so
    assert "nothing due: the next check is at " in waiting and "1 failing source waits out" in waiting
    assert "--source ID" in waiting
    server.routes["/later.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss(ITEMS))
    assert cli("poll", "--source", "later", "--json").json()["fetched"] == 1
    assert cli("source", "list", "--json").json()[0]["failures"] == 0
    assert "nosuch" in cli("poll", "--source", "nosuch", ok=False).err


# --- times and words a person reads (point 9) ------------------------------------------------------------


def test_times_in_the_configured_zone_with_its_name_or_utc(stored, monkeypatch):
    stored("watch", "add", "lidl", "--query", "lidl")
    monkeypatch.setenv("EREPWATCH_DISPLAY_TIMEZONE", "America/Montreal")
    local = stored("mentions").out.splitlines()[0]
    assert " EST  [lidl]" in local or " EDT  [lidl]" in local
    assert " UTC  [lidl]" in stored("mentions", "--utc").out.splitlines()[0]
    assert " UTC" in stored("--utc", "source", "list").out
    stored("mention", "star", str(stored("mentions", "--json").json()[0]["id"]))
    journal = stored("acts").out
    assert " EST  star" in journal or " EDT  star" in journal, journal
    monkeypatch.setenv("EREPWATCH_DISPLAY_TIMEZONE", "Mars/Olympus")
    assert "EREPWATCH_DISPLAY_TIMEZONE" in stored("mentions", ok=False).err


def test_mentions_says_how_many_more_there_are_beyond_the_limit(stored):
    stored("watch", "add", "lidl", "--query", "lidl")
    out = stored("mentions", "--limit", "1").out
    assert "… and 2 more" in out
    assert "more" not in stored("mentions", "--limit", "3").out


def test_one_other_source_is_said_in_the_singular(cli, server):
    same = [("Acme rappelle des milliers de widgets défectueux", "Acme annonce un rappel.")]
    server.routes["/a.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss(same))
    # Another publisher (the feed's title names it) with the same story: "+N sources" counts publishers.
    other = _rss(same).replace(b"https://news.example/0", b"https://other.example/acme-rappel")
    other = other.replace(b"<title>Local</title>", b"<title>Other</title>")
    server.routes["/b.xml"] = (200, {"Content-Type": "application/rss+xml"}, other)
    cli("watch", "add", "acme", "--query", "acme")
    cli("source", "add", server.url("/a.xml"), "--name", "a")
    cli("source", "add", server.url("/b.xml"), "--name", "b")
    cli("poll")
    out = cli("mentions").out
    assert "(+1 source)" in out and "(+1 sources)" not in out
    assert "(+" not in cli("mentions", "--all").out, "--all shows every member on its own line"


def test_lists_say_what_a_person_needs(cli):
    cli("watch", "add", "acme", "--query", "acme", "--lang", "fr,en", "--region", "CA", "--fuzzy",
        "--tag", "crise=rappel,plainte")  # fmt: skip
    line = cli("watch", "list").out
    assert "lang fr,en" in line and "region CA" in line and "fuzzy" in line and "crise=rappel,plainte" in line
    cli("recipient", "add", "a@exemple.fr", "--frequency", "weekly", "--day", "friday", "--at", "09:00")
    added = cli("recipient", "add", "b@exemple.fr", "--frequency", "instant").out
    assert "instant alerts" in added and "08:00" not in added
    rows = {line.split()[0]: line for line in cli("recipient", "list").out.splitlines()}
    assert "weekly, friday at 09:00" in rows["a@exemple.fr"]
    assert "instant alerts" in rows["b@exemple.fr"] and "08:00" not in rows["b@exemple.fr"]


def test_an_interval_below_the_minimum_is_clamped_with_a_message(cli, server):
    server.routes["/a.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss(ITEMS))
    done = cli("source", "add", server.url("/a.xml"), "--interval", "30s", "--json")
    assert "poll.min_interval" in done.err and "every 5m" in done.err
    assert done.json()["interval"] == 300
    server.routes["/b.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss(ITEMS))
    assert cli("source", "add", server.url("/b.xml"), "--interval", "2h").out.rstrip().endswith("every 2h")


def test_a_new_recipients_first_digest_covers_what_its_watches_found(stored, tmp_path):
    stored("watch", "add", "lidl", "--query", "lidl")  # matched at once against the stored items
    stored("recipient", "add", "dir@exemple.fr", "--frequency", "daily")
    html = stored("digest", "preview", "--recipient", "dir@exemple.fr").out
    assert "Lidl ouvre un magasin" in html and "Rien de nouveau" not in html
    sent = stored("digest", "send", "--recipient", "dir@exemple.fr", "--json").json()
    assert sent["sent"] == 1
    # The next digest starts where this one ended: nothing is told twice.
    assert "Lidl ouvre un magasin" not in stored("digest", "preview", "--recipient", "dir@exemple.fr").out


def test_counts_are_said_in_the_singular_for_one(cli, server):
    server.routes["/one.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss(ITEMS[:1]))
    cli("watch", "add", "lidl", "--query", "lidl")
    cli("source", "add", server.url("/one.xml"))
    assert cli("poll").out.startswith("1 source: 1 fetched, 0 unchanged, 0 failed; 1 entry, 1 new item, 1 new mention")
    cli("recipient", "add", "dir@exemple.fr")
    cli("digest", "send", "--recipient", "dir@exemple.fr")
    assert "  1 mention, 1 attempt" in cli("deliveries").out
