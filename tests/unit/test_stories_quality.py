"""Semantic story folding measured on labelled real headline pairs (issue 16 point 2).

The pairs are those of ``tests/data/dedup`` (real pairs only; see tests/data/stories/README.md for why and for the
labelling rule): ``duplicate`` and ``same_story`` are one story, ``distinct`` two. Pairs taken from the feed corpus
carry the start of each entry's lead (``tests/data/stories/leads.tsv``); the others have headlines only. The
decision measured is the one the pipeline makes: the lexical rule (headline, and lead when there is one), or else
:func:`~erepwatch.analyze.stories.semantic_score` on the headlines' and the (headline + lead) embeddings' cosines,
with no guard splitting. Split tune / held-out by ``crc32(title_a + TAB + title_b) % 2`` (0 = tune); the cuts and
guards were chosen on tune only.
"""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

import pytest

from erepwatch.analyze.dedup import prepare, prepared_near_duplicate
from erepwatch.analyze.stories import lead_key, lead_text, semantic_score, semantic_split, story_text

pytestmark = pytest.mark.slow  # embeds ~1,300 texts (≈ 20-40 s)

DATA = Path(__file__).resolve().parents[1] / "data"

# Floors on the held-out half: the figures measured when the cuts were chosen, minus a small margin (see
# tests/data/stories/README.md for the figures and for what stays below the targets).
FLOORS = {
    # lang: (min precision, min recall) on held-out
    "en": (0.96, 0.73),
    "fr": (0.90, 0.72),
}
# French / English reports (tests/data/stories/xlang_pairs.tsv: 3 of one story, 17 of two; nothing was tuned on
# them): measured 1 of 3 folded, no false merge.
CROSS_LANGUAGE_FLOORS = (1.0, 0.33)

Decided = tuple[str, str, bool, bool, bool]  # lang, split, one story (label), lexical rule, pipeline's decision


def _pairs() -> list[dict[str, str]]:
    rows = []
    for path in (DATA / "dedup" / "pairs.tsv", DATA / "dedup" / "xpub_pairs.tsv", DATA / "stories" / "xlang_pairs.tsv"):
        with path.open(newline="", encoding="utf-8") as fh:
            rows.extend(r for r in csv.DictReader(fh, delimiter="\t") if r["kind"] == "real")
    with (DATA / "stories" / "leads.tsv").open(newline="", encoding="utf-8") as fh:
        leads = {(r["feed"], r["title"]): r["lead"] for r in csv.DictReader(fh, delimiter="\t")}
    for r in rows:
        feeds = r["source"].split(":", 1)[1].split("|") if r["source"].startswith("corpus:") else ["", ""]
        r["lead_a"], r["lead_b"] = leads.get((feeds[0], r["title_a"]), ""), leads.get((feeds[1], r["title_b"]), "")
    return rows


@pytest.fixture(scope="module")
def decided() -> list[Decided]:
    from erepwatch.analyze.embedding import embed

    rows = _pairs()
    texts = sorted(
        {story_text(r[f"title_{s}"]) for r in rows for s in "ab"}
        | {lead_text(r[f"title_{s}"], r[f"lead_{s}"]) for r in rows for s in "ab"} - {""}
    )
    vectors = dict(zip(texts, embed(texts), strict=True))
    out = []
    for r in rows:
        a, b = r["title_a"], r["title_b"]
        lexical = prepared_near_duplicate(prepare(a, r["lead_a"]), prepare(b, r["lead_b"]))
        title_cosine = float(vectors[story_text(a)] @ vectors[story_text(b)])
        lead_a, lead_b = lead_text(a, r["lead_a"]), lead_text(b, r["lead_b"])
        # As assign_semantic: a lead both share word for word is boilerplate, not evidence (lead_key).
        shared = lead_key(r["lead_a"]) is not None and lead_key(r["lead_a"]) == lead_key(r["lead_b"])
        lead_cosine = float(vectors[lead_a] @ vectors[lead_b]) if lead_a and lead_b and not shared else None
        languages = r["lang"].split("-") if "-" in r["lang"] else [r["lang"]] * 2
        score = semantic_score(a, b, title_cosine, lead_cosine, *languages)
        semantic = score is not None and not semantic_split(a, b)
        split = "tune" if zlib.crc32(f"{a}\t{b}".encode()) % 2 == 0 else "held-out"
        out.append((r["lang"], split, r["label"] in ("duplicate", "same_story"), lexical, lexical or semantic))
    return out


def _pr(rows: list[Decided], which: int) -> tuple[float, float]:
    tp = sum(1 for r in rows if r[2] and r[which])
    fp = sum(1 for r in rows if not r[2] and r[which])
    positives = sum(1 for r in rows if r[2])
    return (tp / (tp + fp) if tp + fp else 1.0), tp / positives


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_held_out_precision_and_recall(decided: list[Decided], lang: str) -> None:
    held = [r for r in decided if r[0] == lang and r[1] == "held-out"]
    precision, recall = _pr(held, 4)
    _, lexical_recall = _pr(held, 3)
    min_p, min_r = FLOORS[lang]
    assert precision >= min_p, f"{lang} held-out precision {precision:.3f}"
    assert recall >= min_r, f"{lang} held-out recall {recall:.3f}"
    assert recall > lexical_recall + 0.15, "the semantic stage must fold what the lexical rule cannot"


def test_cross_language_pairs(decided: list[Decided]) -> None:
    pairs = [r for r in decided if r[0] == "fr-en"]
    precision, recall = _pr(pairs, 4)
    min_p, min_r = CROSS_LANGUAGE_FLOORS
    assert precision >= min_p, f"French/English precision {precision:.3f}"
    assert recall >= min_r, f"French/English recall {recall:.3f}"
