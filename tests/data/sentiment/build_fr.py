"""Extend fr.tsv with short Allociné reviews from the Dong & de Melo files (see README.md).

    python tests/data/sentiment/build_fr.py test.tsv:32000 dev.tsv

Each argument is a source file in the distributors' format (``label<TAB>text``, label 1 positive, 0
negative, CSV-style quoting when the text holds a double quote), optionally followed by ``:N`` to skip
the reviews starting before character N (the first 32,000 characters of test.tsv were the earlier
selection, already at the top of fr.tsv). The script keeps fr.tsv's existing lines as they are and
appends, in file order, every review of at most MAX_CHARS characters that is not already present.
The selection is by length only; labels are the source's. The split continues the pattern: every
third line of the file (lines 1, 4, 7…) is ``tune``, the others ``test``.

It runs offline on files you saved; nothing is fetched at test time.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "fr.tsv"
#: Short texts, like the snippets erepwatch scores; the earlier selection stopped near 200 characters.
MAX_CHARS = 220
LABELS = {"1": "positive", "0": "negative"}


def source_rows(path: Path, skip_chars: int = 0) -> list[tuple[str, str]]:
    rows = []
    offset = 0
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        if start < skip_chars or not line.strip():
            continue
        label, text = next(csv.reader([line.rstrip("\n")], delimiter="\t"))
        rows.append((LABELS[label], " ".join(text.split())))
    return rows


def split_of(index: int) -> str:
    return "tune" if index % 3 == 0 else "test"


def main(argv: list[str]) -> None:
    lines = TARGET.read_text(encoding="utf-8").splitlines()
    seen = {line.split("\t", 2)[2] for line in lines}
    added = 0
    for arg in argv:
        name, _, skip = arg.partition(":")
        for label, text in source_rows(Path(name), int(skip or 0)):
            if len(text) > MAX_CHARS or text in seen:
                continue
            seen.add(text)
            lines.append(f"{split_of(len(lines))}\t{label}\t{text}")
            added += 1
    TARGET.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{TARGET.name}: {len(lines)} lines ({added} added)")


if __name__ == "__main__":
    main(sys.argv[1:])
