"""Tune-split evaluation of semantic story folding (issue 16 point 2): figures and errors of the **tune** half only.

    .venv/bin/python benchmarks/tune_stories.py [--errors] [--cache /tmp/stories_vectors.npz] [--folds 5] [--merge]
        [--neighbours] [--mutual 0.91]

Runs the decisions of ``tests/unit/test_stories_quality.py`` (pairs decided alone, and the stories the stage makes of
every labelled headline) with the code as it is, and prints precision / recall per language and level on the tune
half (``crc32(title_a + TAB + title_b) % 2 == 0``); ``en-fresh`` is the fresh English set of session 11
(``uci_fresh_pairs.tsv``, its own watch), reported apart from the older English pairs. Never prints a held-out
figure or a held-out pair: held-out is read once, by the slow test, after a choice is frozen (see
tests/data/stories/README.md).

``--errors`` lists the tune half's false merges and missed pairs with their cosines and the guard that split them.
``--folds K`` also prints the tune figures on K folds of the tune half (by another hash), to see how much one or two
pairs move them. Vectors are cached (``--cache``, keyed by the texts and the model version) so a sweep over the
constants of ``erepwatch.analyze.stories`` costs seconds: patch them in a copy of this script's ``main``.

``--mutual C`` runs both levels with a second cut: two founders that are each other's nearest in their block when the
later arrives are one story from cosine C, guards permitting (session 11's trial, not shipped).
``--neighbours`` measures (pair level, tune only) what the watch's block says besides the pair (session 11, not
shipped): the ROC AUC of the block's features over the pairs the shipped rule leaves apart, and two rules — a second cut
for mutual nearest neighbours, a third headline close to both ("bridge") — on the whole tune half and as a choice
cross-validated over 5 folds of tune, four fold assignments.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

import test_stories_quality as q  # noqa: E402

from erepwatch.analyze import stories  # noqa: E402
from erepwatch.analyze.dedup import prepare, prepared_near_duplicate  # noqa: E402
from erepwatch.analyze.stories import (  # noqa: E402
    lead_key,
    lead_text,
    semantic_split,
    story_text,
    title_cosine,
)


def load_vectors(cache: Path) -> dict[str, Any]:
    return q.cached_vectors(q.texts_to_embed(), cache)


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
    score = stories.semantic_score(a, b, title_cos, lead_cos, *languages)
    lexical = prepared_near_duplicate(prepare(a, r["lead_a"]), prepare(b, r["lead_b"]))
    lead = f" lead {lead_cos:.3f}" if lead_cos is not None else ""
    return (
        f"cos {title_cos:.3f}{lead} score {'-' if score is None else f'{score:.3f}'}"
        f" split {semantic_split(a, b) or '-'} lexical {int(lexical)}"
    )


NEIGHBOUR_FLOOR = 0.88  # the lowest pair cosine either rule below may fold


def _blocks() -> tuple[dict[q.Node, Any], dict[q.Node, int], dict[int, int], dict[str, list[q.Node]]]:
    """What the stage's blocks hold, as ``q.decide_stories`` builds them (one watch per source, the whole UCI stream in
    the English one): every headline, its mention id (its place in the arrival order), the lexical story of each
    mention id, and the founders (the headlines the stage embeds) of each watch in arrival order."""
    nodes = q._stream()
    order, at, _, story = q.lexical_stories(nodes)
    founders: dict[str, list[q.Node]] = {}
    for n in order:
        if story[at[n]] == at[n]:
            founders.setdefault(n[0], []).append(n)
    return nodes, at, story, founders


def mutual_pairs(vectors: dict[str, Any]) -> set[tuple[str, str]]:
    """(later, earlier) headlines of two founders of one watch that are each other's nearest founder (headline cosine)
    when the later arrives, among the founders known then within 72 h — what the stage could read in its block."""
    nodes, _, _, founders = _blocks()
    window = timedelta(hours=72)
    out = set()
    for block in founders.values():
        times = [nodes[n][2] or q.T0 for n in block]
        matrix = np.vstack([vectors[story_text(n[2])] for n in block])
        cosines = matrix @ matrix.T
        for p in range(1, len(block)):
            known = [j for j in range(p) if abs(times[j] - times[p]) <= window]
            if not known:
                continue
            o = max(known, key=lambda j: cosines[p, j])
            others = [j for j in range(p + 1) if j != o and abs(times[j] - times[o]) <= window]
            if max(others, key=lambda j: cosines[o, j]) == p:
                out.add((block[p][2], block[o][2]))
    return out


def with_mutual_cut(low: float, mutual: set[tuple[str, str]]) -> None:
    """Patch the pair decision (for the stage and the pair level alike): two founders that are each other's nearest
    (``mutual``) are one story from ``low``, guards permitting."""
    shipped = stories.semantic_score

    def score(a: str, b: str, cosine: float, *args: Any) -> float | None:
        found = shipped(a, b, cosine, *args)
        if found is None and cosine >= low and ((a, b) in mutual or (b, a) in mutual):
            return cosine
        return found

    stories.semantic_score = score  # type: ignore[assignment]
    q.semantic_score = score  # type: ignore[assignment]


def neighbour_features(
    vectors: dict[str, Any], rows: list[Any], decided: list[q.Decided]
) -> dict[int, tuple[float, ...]]:
    """For each tune pair (English, French) the shipped pair rule leaves apart, whose headlines' cosine reaches
    NEIGHBOUR_FLOOR and that no guard splits: (cosine, rank, bridge, margin, z), read in the pair's block as the stage
    would see it when the later of the two arrives — the founders of the same watch (:func:`_blocks`) known by then,
    within 72 h of both.
    ``rank``: the larger of the two sides' number of founders of other (lexical) stories closer to it than the other
    side (0: mutual nearest neighbours); ``bridge``: the best min(cosine to a, cosine to b) over a third founder that
    no guard splits from either; ``margin``, ``z``: see below."""
    nodes, at, story, founders = _blocks()
    window = timedelta(hours=72)

    def vec(n: q.Node) -> Any:
        return vectors[story_text(n[2])]

    def time(n: q.Node) -> datetime:
        return nodes[n][2] or q.T0

    out: dict[int, tuple[float, ...]] = {}
    for i, (r, d) in enumerate(zip(rows, decided, strict=True)):
        if d[1] != "tune" or d[0] not in ("en", "fr") or d[4]:
            continue
        a, b = q._nodes(r)
        cosine = title_cosine(a[2], b[2], float(vec(a) @ vec(b)), q._rest(vectors, a[2]), q._rest(vectors, b[2]))
        if cosine < NEIGHBOUR_FLOOR or semantic_split(a[2], b[2]):
            continue
        known = [
            m
            for m in founders[a[0]]
            if m not in (a, b)
            and at[m] <= max(at[a], at[b])
            and abs(time(m) - time(a)) <= window
            and abs(time(m) - time(b)) <= window
        ]
        ranks = [
            sum(
                1 for m in known if story[at[m]] not in (story[at[x]], story[at[y]]) and float(vec(x) @ vec(m)) > cosine
            )
            for x, y in ((a, b), (b, a))
        ]
        bridge = max(
            (
                min(float(vec(a) @ vec(m)), float(vec(b) @ vec(m)))
                for m in known
                if not semantic_split(a[2], m[2]) and not semantic_split(b[2], m[2])
            ),
            default=0.0,
        )
        # How far the pair's cosine stands above each side's five nearest founders, and above each side's cosines to
        # the whole block (a z-score): the lower of the two sides.
        near = [sorted((float(vec(x) @ vec(m)) for m in known), reverse=True) for x in (a, b)]
        margin = min(cosine - float(np.mean(c[:5])) for c in near) if all(near) else 0.0
        z = min((cosine - float(np.mean(c))) / (float(np.std(c)) or 1.0) for c in near) if all(near) else 0.0
        out[i] = (cosine, float(max(ranks)), bridge, margin, z)
    return out


def neighbour_trials(vectors: dict[str, Any], rows: list[Any], decided: list[q.Decided]) -> None:
    features = neighbour_features(vectors, rows, decided)
    rules: dict[str, Any] = {"shipped": lambda f: False}
    for low in (0.88, 0.89, 0.90, 0.91):
        for k in (0, 1):
            rules[f"mutual nn, cos >= {low}, rank <= {k}"] = lambda f, low=low, k=k: f[0] >= low and f[1] <= k
    for low in (0.88, 0.90):
        for cut in (0.92, 0.93, 0.94):
            rules[f"bridge >= {cut}, cos >= {low}"] = lambda f, low=low, cut=cut: f[0] >= low and f[2] >= cut
    items = [
        (r, d[0], d[2], {name: d[4] or (i in features and rule(features[i])) for name, rule in rules.items()})
        for i, (r, d) in enumerate(zip(rows, decided, strict=True))
        if d[1] == "tune" and d[0] in ("en", "fr")
    ]

    def pr(chosen: list[Any], name: str, lang: str) -> tuple[float, float, int, int]:
        tp = sum(1 for x in chosen if x[1] == lang and x[2] and x[3][name])
        fp = sum(1 for x in chosen if x[1] == lang and not x[2] and x[3][name])
        positives = sum(1 for x in chosen if x[1] == lang and x[2])
        return (tp / (tp + fp) if tp + fp else 1.0), tp / positives, tp, fp

    def show(chosen: list[Any], name: str) -> str:
        return "  ".join(
            f"{lang} {p:.3f} / {rc:.3f} ({tp}, {fp} fp)"
            for lang in ("en", "fr")
            for p, rc, tp, fp in [pr(chosen, name, lang)]
        )

    print("\npairs the shipped rule leaves apart (cosine >= 0.88, no guard), ROC AUC of one story against two:")
    for lang in ("en", "fr"):
        kept = [(features[i], d[2]) for i, d in enumerate(decided) if i in features and d[0] == lang]
        pos = [f for f, one in kept if one]
        neg = [f for f, one in kept if not one]
        aucs = []
        for j, name, sign in ((0, "cosine", 1), (1, "rank", -1), (2, "bridge", 1), (3, "margin", 1), (4, "z", 1)):
            wins = sum((sign * p[j] > sign * n[j]) + 0.5 * (p[j] == n[j]) for p in pos for n in neg)
            aucs.append(f"{name} {wins / (len(pos) * len(neg)):.3f}")
        print(f"  {lang} ({len(pos)} of one story, {len(neg)} of two): " + ", ".join(aucs))
    print("\npairs level, tune half, rules reading the block (whole tune):")
    for name in rules:
        print(f"  {name:32} {show(items, name)}")
    folds = 5
    for seed in range(4):
        picks, oof = [], {}
        fold = {id(x): zlib.crc32(f"{seed}\t{x[0]['title_b']}\t{x[0]['title_a']}".encode()) % folds for x in items}
        for k in range(folds):
            train = [x for x in items if fold[id(x)] != k]
            ok = [n for n in rules if all(pr(train, n, lang)[0] >= 0.97 for lang in ("en", "fr"))]
            best = max(min(pr(train, n, lang)[1] for lang in ("en", "fr")) for n in ok)
            tied = [n for n in ok if min(pr(train, n, lang)[1] for lang in ("en", "fr")) == best]
            pick = "shipped" if "shipped" in tied else tied[len(tied) // 2]
            picks.append(pick)
            oof.update({id(x): x[3][pick] for x in items if fold[id(x)] == k})
        scored = [(x[0], x[1], x[2], {"oof": oof[id(x)]}) for x in items]
        print(f"  cross-validated, assignment {seed}: out of fold {show(scored, 'oof')}; picked {picks}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--errors", action="store_true", help="list the tune half's errors")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/stories_vectors.npz"))
    parser.add_argument("--folds", type=int, default=0)
    parser.add_argument("--neighbours", action="store_true", help="the block-reading rules of session 11 (pairs)")
    parser.add_argument(
        "--mutual", type=float, default=None,
        help="fold two founders that are each other's nearest from this cosine (session 11's trial, both levels)",
    )  # fmt: skip
    parser.add_argument(
        "--merge", action=argparse.BooleanOptionalAction, default=None,
        help="merge two stories a founder joins both of (default: the shipped setting, analysis.merge_stories)",
    )  # fmt: skip
    args = parser.parse_args()
    vectors = load_vectors(args.cache)
    rows = q._pairs()
    if args.mutual is not None:
        with_mutual_cut(args.mutual, mutual_pairs(vectors))
    levels = {
        "pairs": tune(rows, q.decide_pairs(vectors)),
        "stories": tune(rows, q.decide_stories(vectors, merge=args.merge)),
    }
    print("tune half only (precision / recall)")
    for level, pairs in levels.items():
        for lang in ("en", "fr", "en-fresh"):
            print(f"  {level:8} {lang}: {figures(pairs, lang)}")
    if args.folds:
        for level, pairs in levels.items():
            for lang in ("en", "fr", "en-fresh"):
                per = []
                for k in range(args.folds):
                    fold = [
                        (r, d)
                        for r, d in pairs
                        if zlib.crc32(f"{r['title_b']}\t{r['title_a']}".encode()) % args.folds == k
                    ]
                    per.append(figures(fold, lang).split(" (")[0])
                print(f"  folds {level:8} {lang}: " + " | ".join(per))
    if args.neighbours:
        neighbour_trials(vectors, rows, q.decide_pairs(vectors))
    if args.errors:
        for level, pairs in levels.items():
            for lang in ("en", "fr", "en-fresh"):
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
