"""The parse stage against expected outputs, feed by feed (as lemon24/reader keeps ``full.rss`` beside
``full.rss.py``): for a representative set of corpus feeds, every entry's title, link, date and the head of its
text, after prepare → parse → items, must equal ``tests/data/parse/FEED.expected.json``.

The corpus stays in ``../shared`` (never copied here); the expected files are short derived summaries. After an
intended change of the parse or normalize stages, regenerate them and review the diff::

    .venv/bin/python -m tests.unit.test_parse_golden
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from erepwatch.ingest.items import items_from_feed
from erepwatch.ingest.parse import parse_feed
from erepwatch.ingest.prepare import prepare_document
from tests.conftest import FEEDS

EXPECTED = Path(__file__).resolve().parents[1] / "data" / "parse"
#: Later than every date of the corpus, so that no entry is taken for one dated in the future.
FETCHED_AT = datetime(2030, 1, 1, tzinfo=UTC)
TEXT_HEAD = 80

#: One or two of each shape the parse stage meets: RSS 0.90/0.91/1.0/2.0, Atom, JSON Feed 1.0/1.1, the
#: platforms erepwatch's search feeds use, legacy encodings, gzip, and malformed but readable documents.
GOLDEN_FEEDS = (
    "fr-news-lefigaro-economie-01.xml",
    "fr-news-franceinfo-france-01.xml",
    "fr-news-liberation-forums-single-item-01.xml",
    "en-news-bbc-world-01.xml",
    "fr-planet-jquery-rss10-01.xml",
    "de-news-heise-rss090-01.xml",
    "pt-br-rss091-iso-8859-1-01.xml",
    "ru-news-oren-windows-1251-01.xml",
    "en-kottke-atom-01.xml",
    "en-blogger-feedburner-atom-01.atom",
    "jsonfeed-elastic-1.1-01.json",
    "jsonfeed-inessential-01.json",
    "reddit-search-atom-01.atom",
    "hackernews-frontpage-rss-01.xml",
    "youtube-channel-atom-01.xml",
    "google-alerts-atom-en-01.xml",
    "podcast-transistor-01.xml",
    "gzip-compressed-feed-01.xml.gz",
    "malformed-unescaped-ampersand-01.xml",
    "malformed-fr-cerclepsy-undeclared-latin1-01.xml",
)


def summarize(path: Path) -> dict[str, Any]:
    """What the parse and normalize stages make of one feed, entry by entry."""
    feed = parse_feed(prepare_document(path.read_bytes(), None))
    items = items_from_feed(feed, fetched_at=FETCHED_AT)
    return {
        "feed": path.name,
        "title": feed.title,
        "entries": len(feed.entries),
        "items": [
            {
                "title": item.title,
                "link": item.url,
                "published": item.published.isoformat(),
                "text_head": item.text[:TEXT_HEAD],
            }
            for item in items
        ],
    }


def expected_path(name: str) -> Path:
    return EXPECTED / f"{name}.expected.json"


@pytest.mark.parametrize("name", GOLDEN_FEEDS)
def test_feed_parses_to_its_expected_items(name: str) -> None:
    expected = json.loads(expected_path(name).read_text(encoding="utf-8"))
    actual = summarize(FEEDS / name)
    assert actual["title"] == expected["title"]
    assert actual["entries"] == expected["entries"]
    assert len(actual["items"]) == len(expected["items"])
    for index, (got, want) in enumerate(zip(actual["items"], expected["items"], strict=True)):
        assert got == want, f"{name}: item {index}"


def test_every_expected_file_belongs_to_a_golden_feed() -> None:
    names = {p.name.removesuffix(".expected.json") for p in EXPECTED.glob("*.expected.json")}
    assert names == set(GOLDEN_FEEDS)


def main() -> None:
    EXPECTED.mkdir(parents=True, exist_ok=True)
    for name in GOLDEN_FEEDS:
        text = json.dumps(summarize(FEEDS / name), ensure_ascii=False, indent=1) + "\n"
        expected_path(name).write_text(text, encoding="utf-8")
        print(f"wrote {expected_path(name).relative_to(Path.cwd())}", file=sys.stderr)


if __name__ == "__main__":
    main()
