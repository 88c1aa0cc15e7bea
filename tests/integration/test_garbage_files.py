"""No traceback for a garbage file (issue 18 point 10): every import command answers a hostile file with one
line naming the problem, and imports nothing from it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from erepwatch.catalog.opml import MAX_DEPTH, MAX_FEEDS


def _opml(body: str) -> bytes:
    return f'<?xml version="1.0"?><opml version="2.0"><body>{body}</body></opml>'.encode()


def _feeds(n: int) -> str:
    return "".join(f'<outline type="rss" text="f{i}" xmlUrl="https://h{i % 97}.example/f{i}.xml"/>' for i in range(n))


BINARY = os.urandom(4096)
BACKUP = '{"erepwatch_backup": 1, '

FILES: dict[str, tuple[list[str], bytes, str]] = {
    # name: (command, file content, words the one line must contain)
    "OPML nested 5,000 deep": (
        ["source", "import"],
        _opml('<outline text="x">' * 5000 + _feeds(1) + "</outline>" * 5000),
        f"nested more than {MAX_DEPTH} levels",
    ),
    "OPML with 200,000 outlines": (["source", "import"], _opml(_feeds(200_000)), f"more than {MAX_FEEDS:,} feeds"),
    "binary OPML": (["source", "import"], BINARY, "OPML"),
    "OPML billion laughs": (
        ["source", "import"],
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><opml><body>'
        b'<outline text="&b;" xmlUrl="https://x.example/f"/></body></opml>',
        "entities",
    ),
    "binary Google Alerts export": (["import", "google-alerts"], BINARY, "UTF-8"),
    "deeply nested Google Alerts export": (
        ["import", "google-alerts"],
        b"[" * 100_000 + b"]" * 100_000,
        "nested too deeply",
    ),
    "Google Alerts export with 1e400": (
        ["import", "google-alerts"],
        b'[{"query": "acme", "deliveryTime": {"hours": 1e400}}]',
        "out of range",
    ),
    "non-UTF-8 watch import": (["watch", "import"], '{"name": "café", "query": "café"}\n'.encode("latin-1"), "UTF-8"),
    "binary watch import": (["watch", "import"], BINARY, "UTF-8"),
    "deeply nested watch import": (["watch", "import"], b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deeply"),
    "truncated backup": (["import"], (BACKUP + '"watches": [{"name": "a"').encode(), "not a valid JSON backup"),
    "binary backup": (["import"], BINARY, "UTF-8"),
    "backup with 1e400": (
        ["import"],
        (BACKUP + '"watches": [{"name": "a", "query": "a", "fuzzy": 1e400}]}').encode(),
        "out of range",
    ),
    "backup with a 5,000-digit number": (
        ["import"],
        (BACKUP + '"sources": [{"url": "https://x.example/f", "interval": 1' + "0" * 5000 + "}]}").encode(),
        "unreadable number",
    ),
    "deeply nested backup": (
        ["import"],
        (BACKUP + '"watches": ' + "[" * 100_000 + "]" * 100_000 + "}").encode(),
        "nested",
    ),
}

SUFFIX = {"source": ".opml", "google-alerts": ".json", "watch": ".jsonl", "import": ".json"}


def _nothing_imported(cli: Callable[..., object]) -> None:
    for what in ("watch", "source", "recipient"):
        assert cli(what, "list", "--json").json() == [], what  # type: ignore[attr-defined]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", list(FILES))
def test_a_garbage_file_gets_one_line_and_imports_nothing(name, cli, tmp_path: Path):
    command, content, says = FILES[name]
    path = tmp_path / f"garbage{SUFFIX[command[-1]] if command[-1] in SUFFIX else SUFFIX[command[0]]}"
    path.write_bytes(content)
    result = cli(*command, str(path), ok=False)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err[:2000]
    assert says in lines[0], lines[0]
    assert "unexpected" not in lines[0] and "Traceback" not in result.err
    _nothing_imported(cli)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_opml_at_the_limit_imports_whole(cli, tmp_path: Path):
    path = tmp_path / "big.opml"
    path.write_bytes(_opml(_feeds(MAX_FEEDS)))
    report = cli("source", "import", str(path), "--json").json()
    assert len(report["added"]) == MAX_FEEDS and not report["refused"]
    again = cli("source", "import", str(path), "--json").json()
    assert again["added"] == [] and len(again["existing"]) == MAX_FEEDS


def test_a_backup_row_out_of_range_is_skipped_alone(cli, tmp_path: Path):
    path = tmp_path / "b.json"
    rows = [{"url": "https://x.example/f", "interval": 10**300}, {"url": "https://y.example/f"}]
    path.write_text(json.dumps({"erepwatch_backup": 1, "sources": rows}))
    result = cli("import", str(path))
    assert "x.example" in result.err and "Traceback" not in result.err
    assert [s["url"] for s in cli("source", "list", "--json").json()] == ["https://y.example/f"]
