"""Tune-only look at the crisis classifier (issue #15): the out-of-fold figures of ``train_sentiment_head``'s
cross-validation on the ``tune`` windows (folds by story, a fold's terms left out of its training rows), and the
windows it gets wrong. Never reads a ``test`` line: use it while choosing; ``eval_sentiment.py`` reads held-out.

    .venv/bin/python scripts/crisis_tune.py [--errors] [--l2 0.1] [--fresh]

``--fresh``: train and tune on ``mentions_fresh.tsv`` too (session 8's trial, left out: README.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import train_sentiment_head as T  # noqa: E402
from eval_sentiment import FRESH, MENTION_FILES, EmbeddingCache, labelled_mentions, term_vectors  # noqa: E402

from erepwatch.analyze.crisis import CRISIS, alarm_of, evidence, load_trouble, roles, similarities, term_of  # noqa: E402
from erepwatch.analyze.sentiment import LexiconScorer  # noqa: E402
from erepwatch.analyze.sentiment_models import load_head  # noqa: E402
from erepwatch.analyze.tags import load_tagger  # noqa: E402


def features(rows):  # type: ignore[no-untyped-def]
    """(raw features, gate) of ``rows`` as ``train_crisis`` builds them."""
    tagger, trouble, lexicon, head = load_tagger(), load_trouble(), LexiconScorer.from_files(), load_head()
    windows = [w for _, w, _, _ in rows]
    vectors = EmbeddingCache().embed([w.text for w in windows])
    queries = term_vectors([(w, lang) for _, w, lang, _ in rows])
    feats, gated = [], []
    for (_, window, lang, _), vector in zip(rows, vectors, strict=True):
        lexical = lexicon.features(window.text, lang, window.focus)
        negative, _, positive = head.probabilities(vector, lexical, lang)
        hits = tagger.hits(window.text, window.segments, window.focus, window.scan)
        bad = trouble.hits(window.text, window.segments, window.focus, window.scan)
        f, words = evidence(window, tagger, (lexical[0], negative, positive), hits, bad)
        name = term_of(window)
        f += roles(window, tagger, hits, bad, trouble)
        f += similarities(vector, queries[name], queries[alarm_of(name, lang)])
        feats.append(f)
        gated.append(bool(words))
    return np.array(feats, dtype=np.float64), np.array(gated), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--l2", type=float, nargs="*", default=list(T.CRISIS_L2))
    parser.add_argument("--errors", action="store_true", help="print the tune windows it gets wrong")
    parser.add_argument("--fresh", action="store_true", help=f"with {FRESH} as more tune windows")
    args = parser.parse_args()
    rows = labelled_mentions("tune", (*MENTION_FILES, FRESH) if args.fresh else None)
    raw, gate, _ = features(rows)
    y = np.array([CRISIS in gold for gold, _, _, _ in rows], dtype=np.float64)
    mean, std = raw[gate].mean(0), raw[gate].std(0)
    std[std == 0] = 1.0
    x = (raw - mean) / std
    fold = T.story_folds([w.text[: w.title_end] or w.text[:80] for _, w, _, _ in rows], rows)
    terms = [term_of(w) for _, w, _, _ in rows]
    print(f"{len(rows)} tune windows, {int(y.sum())} crises, {int(gate.sum())} gated")
    for l2 in args.l2:
        p = T.crisis_oof(x, y, gate, fold, terms, l2)
        t, f, pr, rc = T.best_threshold(p, y)
        print(
            f"l2={l2:g}: t {t:.2f} F0.5 {f:.3f} P {pr:.2f} R {rc:.2f};"
            f" R@P0.9 {T.recall_at(p, y, 0.9):.2f} R@P0.8 {T.recall_at(p, y, 0.8):.2f}"
        )
        if args.errors:
            for i in np.argsort(-p):
                wrong = (p[i] >= t) != (y[i] > 0)
                if wrong:
                    kind = "FP" if y[i] == 0 else "FN"
                    print(f"{kind} {p[i]:.2f} [{terms[i]}] {rows[i][1].text[:200]!r}")


if __name__ == "__main__":
    main()
