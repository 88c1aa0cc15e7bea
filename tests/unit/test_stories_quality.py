"""Semantic story folding measured on labelled real headline pairs (issue 16 point 2).

The pairs are those of ``tests/data/dedup`` (real pairs only; see tests/data/stories/README.md for why and for the
labelling rule): ``duplicate`` and ``same_story`` are one story, ``distinct`` two. The decision measured is the one
the pipeline makes: the lexical rule, or else the title embeddings' cosine ≥ cut_for(a, b) with no guard splitting.
Split tune / held-out by ``crc32(title_a + TAB + title_b) % 2`` (0 = tune); the cut was chosen on tune only.
"""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

import pytest

from erepwatch.analyze.dedup import prepare, prepared_near_duplicate
from erepwatch.analyze.stories import cut_for, semantic_split, story_text

pytestmark = pytest.mark.slow  # embeds ~900 headlines (≈ 15-30 s)

DATA = Path(__file__).resolve().parents[1] / "data" / "dedup"

# Floors on the held-out half: the figures measured when the cuts were chosen (en P 0.973 R 0.676, fr P 0.913
# R 0.700), minus a small margin. Recall in both languages and French precision are below the targets
# (precision 0.97 and recall 0.80 per language): see tests/data/stories/README.md.
FLOORS = {
    # lang: (min precision, min recall) on held-out
    "en": (0.96, 0.65),
    "fr": (0.89, 0.67),
}


def _pairs() -> list[dict[str, str]]:
    rows = []
    for name in ("pairs.tsv", "xpub_pairs.tsv"):
        with (DATA / name).open(newline="", encoding="utf-8") as fh:
            rows.extend(r for r in csv.DictReader(fh, delimiter="\t") if r["kind"] == "real")
    return rows


@pytest.fixture(scope="module")
def decided() -> list[tuple[str, str, bool, bool, bool]]:
    from erepwatch.analyze.embedding import embed

    rows = _pairs()
    titles = sorted({t for r in rows for t in (r["title_a"], r["title_b"])})
    vectors = dict(zip(titles, embed([story_text(t) for t in titles]), strict=True))
    out = []
    for r in rows:
        a, b = r["title_a"], r["title_b"]
        lexical = prepared_near_duplicate(prepare(a), prepare(b))
        cosine = float(vectors[a] @ vectors[b])
        semantic = lexical or (cosine >= cut_for(a, b) and not semantic_split(a, b))
        split = "tune" if zlib.crc32(f"{a}\t{b}".encode()) % 2 == 0 else "held-out"
        out.append((r["lang"], split, r["label"] in ("duplicate", "same_story"), lexical, semantic))
    return out


def _pr(rows: list[tuple[str, str, bool, bool, bool]], which: int) -> tuple[float, float]:
    tp = sum(1 for r in rows if r[2] and r[which])
    fp = sum(1 for r in rows if not r[2] and r[which])
    positives = sum(1 for r in rows if r[2])
    return (tp / (tp + fp) if tp + fp else 1.0), tp / positives


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_held_out_precision_and_recall(decided, lang: str) -> None:
    held = [r for r in decided if r[0] == lang and r[1] == "held-out"]
    precision, recall = _pr(held, 4)
    _, lexical_recall = _pr(held, 3)
    min_p, min_r = FLOORS[lang]
    assert precision >= min_p, f"{lang} held-out precision {precision:.3f}"
    assert recall >= min_r, f"{lang} held-out recall {recall:.3f}"
    assert recall > lexical_recall + 0.15, "the semantic stage must fold what the lexical rule cannot"
