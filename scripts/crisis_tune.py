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
from eval_sentiment import FRESH, MENTION_FILES, EmbeddingCache, labelled_mentions  # noqa: E402

from erepwatch.analyze.crisis import CRISIS, term_of  # noqa: E402
from erepwatch.analyze.sentiment_models import load_head  # noqa: E402


def features(rows):  # type: ignore[no-untyped-def]
    """(raw features, gate, vectors) of ``rows`` as ``train_crisis`` builds them."""
    return T.crisis_features(rows, EmbeddingCache(), load_head())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--l2", type=float, nargs="*", default=list(T.CRISIS_L2))
    parser.add_argument("--errors", action="store_true", help="print the tune windows it gets wrong")
    parser.add_argument("--fresh", action="store_true", help=f"with {FRESH} as more tune windows")
    args = parser.parse_args()
    rows = labelled_mentions("tune", (*MENTION_FILES, FRESH) if args.fresh else None)
    raw, gate, _ = features(rows)
    y = np.array([CRISIS in gold for gold, _, _, _ in rows], dtype=np.float64)
    x = T.standardised(raw, gate)[0]
    fold = T.story_folds(rows)
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
