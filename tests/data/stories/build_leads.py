"""Rebuild ``leads.tsv``: the start of the lead of every headline of the real corpus pairs (``tests/data/dedup`` and
``xlang_pairs.tsv`` and ``cosine_pairs.tsv`` here).

    .venv/bin/python tests/data/stories/build_leads.py   (needs ../shared/corpus/feeds)

A lead is the feed entry's summary as feedparser reads it, tags removed, entities decoded, spaces collapsed, cut
to ``KEPT`` characters (the stage embeds at most ``analyze.stories.LEAD_CHARS`` of it). ``published`` is the
entry's date (published, else updated) in UTC, ISO 8601, or empty when the feed gives none: the cluster-level test
feeds the headlines to the stage in that order, within its window.
"""

from __future__ import annotations

import csv
import html
import re
from calendar import timegm
from datetime import UTC, datetime
from pathlib import Path

import feedparser

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FEEDS = REPO.parent / "shared" / "corpus" / "feeds"
KEPT = 300


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text or ""))).strip()


def published(entry: feedparser.FeedParserDict) -> str:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime.fromtimestamp(timegm(parsed), UTC).isoformat() if parsed else ""


def main() -> None:
    wanted: set[tuple[str, str]] = set()
    data = REPO / "tests" / "data"
    for path in (
        data / "dedup" / "pairs.tsv",
        data / "dedup" / "xpub_pairs.tsv",
        HERE / "xlang_pairs.tsv",
        HERE / "cosine_pairs.tsv",
    ):
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                if row["kind"] == "real" and row["source"].startswith("corpus:"):
                    feed_a, feed_b = row["source"].split(":", 1)[1].split("|")
                    wanted |= {(feed_a, row["title_a"]), (feed_b, row["title_b"])}
    rows = []
    for feed in sorted({f for f, _ in wanted}):
        for entry in feedparser.parse(str(FEEDS / feed)).entries:
            title = clean(entry.get("title", ""))
            if (feed, title) in wanted:
                rows.append((feed, title, clean(entry.get("summary", ""))[:KEPT], published(entry)))
                wanted.discard((feed, title))
    if wanted:
        raise SystemExit(f"{len(wanted)} headlines not found in the corpus, e.g. {sorted(wanted)[0]}")
    with (HERE / "leads.tsv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter="\t", lineterminator="\n")
        out.writerow(["feed", "title", "lead", "published"])
        out.writerows(sorted(rows))


if __name__ == "__main__":
    main()
