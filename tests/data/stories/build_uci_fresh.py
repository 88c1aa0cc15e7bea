"""Rebuild uci_fresh_stream.tsv from the stored copy of the first 6,367 rows of the UCI News Aggregator (README.md).

Usage: python tests/data/stories/build_uci_fresh.py PATH/TO/uci-news-aggregator.csv
(`pratikaher88/IPythonNotebooks`, commit 8482bf77238c09f993e4e1a16c789bdc8c4a61fe, SHA-256
a5e7e39cffa3fdc02d561031d07792d02b91eba287fbbf3ea1f3e015b5d044a7). Its first 499 rows are ``uci_stream.tsv``
(already labelled from); this keeps the ROWS rows after them, in the file's (publication) order: id, time, publisher,
the aggregator's story id, the headline as published; URLs and host names are left out. The file's last row is cut
short (no publisher, no time) and is never reached.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from build_uci_stream import read_rows, write_rows  # the same columns as uci_stream.tsv

SHA256 = "a5e7e39cffa3fdc02d561031d07792d02b91eba287fbbf3ea1f3e015b5d044a7"
SKIP = 499  # the rows of uci_stream.tsv
ROWS = 2800  # bounded: embedding them adds about 2 min to the slow quality test on the shared machine
OUT = Path(__file__).with_name("uci_fresh_stream.tsv")


def main(source: Path) -> None:
    rows = read_rows(source, SHA256)[SKIP : SKIP + ROWS]
    old = Path(__file__).with_name("uci_stream.tsv")
    with old.open(newline="", encoding="utf-8") as fh:
        known = {r["id"] for r in csv.DictReader(fh, delimiter="\t")}
    if any(r["ID"] in known or not r["TIMESTAMP"] for r in rows):
        raise SystemExit("a row of uci_stream.tsv, or a row cut short, among the rows kept")
    write_rows(rows, OUT)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
