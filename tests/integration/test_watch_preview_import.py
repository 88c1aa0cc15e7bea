"""`watch test` (preview), `watch import` (JSON Lines, all or nothing) and the query help, through the CLI."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import feedparser
import pytest

from tests.conftest import FEEDS

FR_FEED = "fr-news-lefigaro-consommation-01.xml"
EN_FEED = "en-news-bbc-world-01.xml"


def _longest_title_word(name: str) -> str:
    """A word of the feed's first entry title, found with feedparser alone (independent of our code)."""
    parsed = feedparser.parse(io.BytesIO((FEEDS / name).read_bytes()))
    words = [w.strip(",.:;!?«»\"'()’") for w in parsed.entries[0].title.split()]
    return max(words, key=len)


def _entries_newer_than(name: str, seconds: float) -> int:
    parsed = feedparser.parse(io.BytesIO((FEEDS / name).read_bytes()))
    now = time.time()
    return sum(
        1 for e in parsed.entries if e.get("published_parsed") and now - time.mktime(e.published_parsed) < seconds
    )


@pytest.fixture
def polled(cli, server):
    word = _longest_title_word(FR_FEED)
    cli("watch", "add", "probe", "--query", word)
    cli("source", "add", server.feed_url(FR_FEED), "--name", "figaro")
    cli("source", "add", server.feed_url(EN_FEED), "--name", "bbc")
    stats = cli("poll", "--json").json()
    assert stats["new_items"] > 0
    return word, stats


def test_preview_of_a_saved_watch_equals_what_the_poll_found(cli, polled):
    _, stats = polled
    preview = cli("watch", "test", "probe", "--json", "--limit", "1000").json()
    mentions = cli("mentions", "--watch", "probe", "--all", "--json", "--limit", "1000").json()
    assert preview["matched"] == len(mentions) >= 1
    assert preview["scanned"] == stats["new_items"]
    assert sorted(i["title"] for i in preview["items"]) == sorted(m["title"] for m in mentions)
    assert preview["per_source"] == {"figaro": preview["matched"]}


def test_preview_of_an_unsaved_query_explains_matches(cli, polled):
    word, _ = polled
    before = cli("watch", "list", "--json").json()
    preview = cli("watch", "test", "--query", f"{word} OR zzzyzzx", "--json").json()
    assert preview["canonical_query"] == f"{word} OR zzzyzzx"
    assert preview["matched"] >= 1
    first = preview["items"][0]
    assert first["sources"] == ["figaro"]
    assert first["spans"] and all(s["term"] == word for s in first["spans"])
    for start, end in first["snippet_marks"]:
        assert first["snippet"][start:end].lower() == word.lower()
    assert cli("watch", "list", "--json").json() == before  # a preview saves nothing


def test_preview_text_output_counts_per_source_and_highlights(cli, polled):
    word, _ = polled
    out = cli("watch", "test", "--query", word).out
    assert "stored items would match" in out
    assert "figaro" in out
    assert f"[{word}]".lower() in out.lower()


def test_preview_since_excludes_older_items(cli, polled):
    everything = cli("watch", "test", "probe", "--json").json()
    recent = cli("watch", "test", "probe", "--since", "1h", "--json").json()
    expected = _entries_newer_than(FR_FEED, 3600) + _entries_newer_than(EN_FEED, 3600)
    assert recent["scanned"] == expected < everything["scanned"]


def test_preview_of_an_excluded_term_finds_nothing_more(cli, polled):
    word, _ = polled
    plain = cli("watch", "test", "--query", word, "--json").json()
    excluded = cli("watch", "test", "--query", f"{word} -{word}", "--json").json()
    assert excluded["matched"] == 0 < plain["matched"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--query", '"unclosed'], 1, "query error at column 1: unclosed quote"),
        (["--query", "acme OR"], 1, "query error at column 6: OR needs a term on its right"),
        ([], 2, "give either a watch NAME or --query Q"),
        (["probe", "--query", "x"], 2, "give either a watch NAME or --query Q"),
        (["nosuchwatch"], 1, "no watch named or numbered 'nosuchwatch'"),
        (["--query", "acme", "--since", "soon"], 1, "--since"),
    ],
    ids=["unclosed quote", "dangling OR", "neither", "both", "unknown watch", "bad since"],
)
def test_preview_errors(cli, args, code, message):
    result = cli("watch", "test", *args, ok=False)
    assert result.code == code
    assert message in result.err
    assert result.out == ""


def _write(tmp_path: Path, lines: list[object]) -> str:
    path = tmp_path / "watches.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", "utf-8")
    return str(path)


CRISE = {"crise": ["rappel"]}


def test_import_adds_then_updates(cli, tmp_path):
    first = _write(
        tmp_path,
        [
            {"name": "Acme", "query": "acme|acmé -jobs", "lang": "fr,en", "fuzzy": True, "tags": CRISE},
            {"name": "L'Oréal", "query": "oréal OR loreal", "lang": ["fr"]},
            "",
            {"name": "Globex", "query": 'intitle:"globex corp"', "tags": ["produit=gamme,prix"]},
        ],
    )
    assert cli("watch", "import", first, "--json").json() == {
        "added": ["Acme", "L'Oréal", "Globex"],
        "updated": [],
        "unchanged": [],
        "stored_mentions": 0,
    }
    rows = {w["name"]: w for w in cli("watch", "list", "--json").json()}
    assert rows["Acme"]["canonical_query"] == "(acme OR acmé) -jobs"
    assert rows["Acme"]["lang"] == ["fr", "en"] and rows["Acme"]["fuzzy"] is True
    assert rows["Acme"]["tags"] == {"crise": ["rappel"]}
    assert rows["Globex"]["tags"] == {"produit": ["gamme", "prix"]}

    second = _write(
        tmp_path,
        [
            {
                "name": "Acme",
                "query": "acme -jobs -stage",
                "lang": "fr,en",
                "fuzzy": True,
                "tags": {"crise": ["rappel"]},
            },
            {"name": "L'Oréal", "query": "oréal OR loreal", "lang": ["fr"]},
            {"name": "Initech", "query": "initech"},
        ],
    )
    assert cli("watch", "import", second, "--json").json() == {
        "added": ["Initech"],
        "updated": ["Acme"],
        "unchanged": ["L'Oréal"],
        "stored_mentions": 0,
    }
    assert cli("watch", "show", "Acme", "--json").json()["canonical_query"] == "acme -jobs -stage"
    assert "imported 3 watches: 0 added, 0 updated, 3 unchanged; 0 new mentions" in cli("watch", "import", second).out


A = {"name": "A", "query": "a"}
BAD_FILES = [
    ("bad query", [A, {"name": "B", "query": "(b OR"}], "line 2: query '(b OR': query error at column 4"),
    ("not json", [A, "{name: 'B'}"], "line 2: not JSON"),
    ("not an object", ["[1, 2]"], "line 1: each line must be a JSON object"),
    ("missing name", [{"query": "a"}], 'line 1: "name" must be a non-empty string'),
    ("unknown key", [{**A, "langs": "fr"}], "line 1: unknown key 'langs'"),
    ("bad language", [A, {"name": "B", "query": "b", "lang": "french"}], "line 2: language 'french'"),
    ("fuzzy not bool", [{**A, "fuzzy": "yes"}], 'line 1: "fuzzy" must be true or false'),
    ("bad tags", [{**A, "tags": ["crise"]}], "line 1: tag 'crise' must look like GROUP=word,word"),
    ("duplicate name", [A, "", {"name": "A", "query": "b"}], "line 3: watch 'A' already given on line 1"),
    ("empty file", [""], "no watch in it"),
]


@pytest.mark.parametrize(("lines", "message"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_import_is_all_or_nothing(cli, tmp_path, lines, message):
    cli("watch", "add", "A", "--query", "original")
    result = cli("watch", "import", _write(tmp_path, lines), ok=False)
    assert result.code == 1
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1
    rows = cli("watch", "list", "--json").json()
    assert [(w["name"], w["query"]) for w in rows] == [("A", "original")]


def test_add_help_documents_the_grammar(cli):
    out = cli("watch", "add", "--help").out
    for needle in ('"acme corp"', "OR", "-recall", "site:example.com", "intitle:acme", "coca-cola", "column"):
        assert needle in out


def test_add_refuses_malformed_query_with_column(cli):
    result = cli("watch", "add", "x", "--query", "acme )", ok=False)
    assert "column 6" in result.err and "')' without a matching '('" in result.err
