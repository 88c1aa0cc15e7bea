"""Tune-split evaluation of semantic story folding (issue 16 point 2): figures and errors of the **tune** half only.

    .venv/bin/python benchmarks/tune_stories.py [--errors] [--cache /tmp/stories_vectors.npz] [--folds 5] [--merge]

Runs the decisions of ``tests/unit/test_stories_quality.py`` (pairs decided alone, and the stories the stage makes of
every labelled headline) with the code as it is, and prints precision / recall per language and level on the tune
half (``crc32(title_a + TAB + title_b) % 2 == 0``). Never prints a held-out figure or a held-out pair: held-out is
read once, by the slow test, after a choice is frozen (see tests/data/stories/README.md).

``--errors`` lists the tune half's false merges and missed pairs with their cosines and the guard that split them.
``--folds K`` also prints the tune figures on K folds of the tune half (by another hash), to see how much one or two
pairs move them. Vectors are cached (``--cache``, keyed by the texts and the model version) so a sweep over the
constants of ``erepwatch.analyze.stories`` costs seconds: patch them in a copy of this script's ``main``.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

import test_stories_quality as q  # noqa: E402

from erepwatch.analyze.dedup import prepare, prepared_near_duplicate  # noqa: E402
from erepwatch.analyze.embedding import QUERY_VERSION  # noqa: E402
from erepwatch.analyze.stories import lead_key, lead_text, semantic_score, semantic_split, story_text  # noqa: E402


def load_vectors(cache: Path) -> dict[str, Any]:
    texts = q.texts_to_embed()
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        if str(data["version"]) == QUERY_VERSION:
            known = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
            if all(t in known for t in texts):
                return {t: known[t] for t in texts}
    from erepwatch.analyze.embedding import embed

    vectors = embed(texts, query=True)
    np.savez(cache, texts=np.array(texts), vectors=np.asarray(vectors), version=np.array(QUERY_VERSION))
    return dict(zip(texts, vectors, strict=True))


def tune(rows: list[Any], decided: list[q.Decided]) -> list[tuple[dict[str, str], q.Decided]]:
    return [(r, d) for r, d in zip(rows, decided, strict=True) if d[1] == "tune"]


def figures(pairs: list[tuple[dict[str, str], q.Decided]], lang: str) -> str:
    rows = [d for _, d in pairs if d[0] == lang]
    tp = sum(1 for d in rows if d[2] and d[4])
    fp = sum(1 for d in rows if not d[2] and d[4])
    positives = sum(1 for d in rows if d[2])
    precision = tp / (tp + fp) if tp + fp else 1.0
    return f"{precision:.3f} / {tp / positives if positives else 0:.3f} ({tp} of {positives}, {fp} fp)"


def explain(r: dict[str, str], vectors: dict[str, Any]) -> str:
    a, b = r["title_a"], r["title_b"]
    title_cos = float(vectors[story_text(a)] @ vectors[story_text(b)])
    la, lb = lead_text(a, r["lead_a"]), lead_text(b, r["lead_b"])
    shared = lead_key(r["lead_a"]) is not None and lead_key(r["lead_a"]) == lead_key(r["lead_b"])
    lead_cos = float(vectors[la] @ vectors[lb]) if la and lb and not shared else None
    languages = r["lang"].split("-") if "-" in r["lang"] else [r["lang"]] * 2
    score = semantic_score(a, b, title_cos, lead_cos, *languages)
    lexical = prepared_near_duplicate(prepare(a, r["lead_a"]), prepare(b, r["lead_b"]))
    lead = f" lead {lead_cos:.3f}" if lead_cos is not None else ""
    return (
        f"cos {title_cos:.3f}{lead} score {'-' if score is None else f'{score:.3f}'}"
        f" split {semantic_split(a, b) or '-'} lexical {int(lexical)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--errors", action="store_true", help="list the tune half's errors")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/stories_vectors.npz"))
    parser.add_argument("--folds", type=int, default=0)
    parser.add_argument(
        "--merge", action=argparse.BooleanOptionalAction, default=None,
        help="merge two stories a founder joins both of (default: the shipped setting, analysis.merge_stories)",
    )  # fmt: skip
    args = parser.parse_args()
    vectors = load_vectors(args.cache)
    rows = q._pairs()
    levels = {
        "pairs": tune(rows, q.decide_pairs(vectors)),
        "stories": tune(rows, q.decide_stories(vectors, merge=args.merge)),
    }
    print("tune half only (precision / recall)")
    for level, pairs in levels.items():
        for lang in ("en", "fr"):
            print(f"  {level:8} {lang}: {figures(pairs, lang)}")
    if args.folds:
        for level, pairs in levels.items():
            for lang in ("en", "fr"):
                per = []
                for k in range(args.folds):
                    fold = [
                        (r, d)
                        for r, d in pairs
                        if zlib.crc32(f"{r['title_b']}\t{r['title_a']}".encode()) % args.folds == k
                    ]
                    per.append(figures(fold, lang).split(" (")[0])
                print(f"  folds {level:8} {lang}: " + " | ".join(per))
    if args.errors:
        for level, pairs in levels.items():
            for lang in ("en", "fr"):
                for r, d in pairs:
                    if d[0] != lang or d[2] == d[4]:
                        continue
                    kind = "FALSE MERGE" if d[4] else "missed"
                    print(f"\n[{level} {lang} {kind}] {explain(r, vectors)} ({r['label']}, {r['source'][:40]})")
                    print(f"   a: {r['title_a']}")
                    print(f"   b: {r['title_b']}")
                    if r["lead_a"] or r["lead_b"]:
                        print(f"   lead a: {r['lead_a'][:150]}")
                        print(f"   lead b: {r['lead_b'][:150]}")


if __name__ == "__main__":
    main()
