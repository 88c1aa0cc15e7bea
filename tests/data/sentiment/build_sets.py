"""Write en_news.tsv and fr_reviews.tsv from their public source files (see README.md in this folder).

    python tests/data/sentiment/build_sets.py SOURCES_DIR

SOURCES_DIR holds ``twitter_sent_valid.csv`` and ``test_data_allocine.csv`` (URLs and SHA-256 in README.md).
Split rule, the same for every set written here and for ``fr_news.tsv``/``mentions.tsv``: a line is ``tune`` when
the SHA-1 of its text, read as an integer, is divisible by 3, else ``test``.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_URL = re.compile(r"https?://\S+")
#: Twitter Financial News labels: 0 bearish, 1 bullish, 2 neutral.
TWITTER = {"0": "negative", "1": "positive", "2": "neutral"}
#: Share of the Twitter validation file kept (by hash), to keep the repository small.
NEWS_PERCENT = 36


def digest(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)


def split_of(text: str) -> str:
    return "tune" if digest(text) % 3 == 0 else "test"


def clean(text: str) -> str:
    return " ".join(_URL.sub(" ", text).split())


def write(name: str, rows: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    lines = []
    for label, text in rows:
        if text and text not in seen:
            seen.add(text)
            lines.append(f"{split_of(text)}\t{label}\t{text}")
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(name, len(lines))


def main(sources: Path) -> None:
    with (sources / "twitter_sent_valid.csv").open(encoding="utf-8", newline="") as f:
        news = [(TWITTER[r["label"]], clean(r["text"])) for r in csv.DictReader(f)]
    write("en_news.tsv", [(label, text) for label, text in news if digest(text) % 100 < NEWS_PERCENT])
    with (sources / "test_data_allocine.csv").open(encoding="utf-8", newline="") as f:
        write(
            "fr_reviews.tsv",
            [("positive" if r["label"] == "1" else "negative", clean(r["text"])) for r in csv.DictReader(f)],
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
