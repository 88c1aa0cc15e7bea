"""Rebuild uci_stream.tsv from the stored copy of the UCI News Aggregator file (see README.md).

Usage: python tests/data/stories/build_uci_stream.py PATH/TO/uci-news-aggregator.csv
(`Badal-Singh-DB/Text-Summarization`, commit 0ad83fc410a45cd792ec9c1447901a19f616d810, SHA-256
a7cdd9d2aedc2e140e09183a12f0ee6b936d0d11d47ff9054cc2f6df68dc469f). Keeps every row: id, time, publisher, the
aggregator's story id, the headline as published; URLs and host names are left out.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

SHA256 = "a7cdd9d2aedc2e140e09183a12f0ee6b936d0d11d47ff9054cc2f6df68dc469f"
OUT = Path(__file__).with_name("uci_stream.tsv")


def read_rows(source: Path, sha256: str) -> list[dict[str, str]]:
    """The rows of a stored copy of the aggregator's file, after checking it is the copy a set was built from."""
    if hashlib.sha256(source.read_bytes()).hexdigest() != sha256:
        raise SystemExit(f"{source}: not the stored copy this set was built from")
    with source.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_rows(rows: list[dict[str, str]], out_path: Path) -> None:
    """id, time, publisher, story id and headline of each row; URLs and host names are left out."""
    with out_path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter="\t", lineterminator="\n")
        out.writerow(["id", "timestamp_ms", "publisher", "story", "title"])
        for r in rows:
            out.writerow([r["ID"], r["TIMESTAMP"], r["PUBLISHER"], r["STORY"], r["TITLE"]])
    print(f"{len(rows)} rows -> {out_path}")


def main(source: Path) -> None:
    write_rows(read_rows(source, SHA256), OUT)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
