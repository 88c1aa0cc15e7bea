"""Train the sentiment head shipped in the wheel: a 3-class logistic regression on e5 sentence embeddings.

    .venv/bin/python scripts/train_sentiment_head.py --sources DIR [--cache DIR] [--out PATH]

``DIR`` holds the public training files listed in :data:`SOURCES` (fetch each from its URL; the script checks
their SHA-256, so a different file is refused rather than silently trained on). Besides them, the ``tune`` split
of every evaluation set in ``tests/data/sentiment/`` is trained on; the ``test`` splits never are (they are what
``benchmarks/eval_sentiment.py`` and the tests report). Embeddings come from ``erepwatch.analyze.embedding.embed``
(the model the wheel runs), cached under ``--cache`` by model version and text hash.

The head is fitted with numpy alone (full-batch gradient descent on the class-balanced cross-entropy with an L2
penalty); the penalty is chosen on the tune splits. Writes ``src/erepwatch/analyze/sentiment_head.npz``:
``W`` (384x3 float32), ``b`` (3), ``classes`` and the model version it was trained for.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from eval_sentiment import CACHE, CLASSES, EmbeddingCache, load_set  # noqa: E402

from erepwatch.analyze.embedding import MODEL_VERSION  # noqa: E402
from erepwatch.analyze.sentiment_models import BOW_PATH, bigrams  # noqa: E402
from erepwatch.analyze.textnorm import words  # noqa: E402

OUT = ROOT / "src" / "erepwatch" / "analyze" / "sentiment_head.npz"

#: file name → (URL at a fixed commit, SHA-256, licence)
SOURCES = {
    "twitter_sent_train.csv": (
        "https://raw.githubusercontent.com/umaima-aman/Twee_Sentiment_Analysis-DeepLearning/"
        "0286b19b35c7d658dc28068381c765df4758545a/sent_train.csv",
        "184e6322b7f0e84c3103a83d198f1be8203de8b63a857f67a2964321b71c4e8d",
        "MIT (Twitter Financial News Sentiment v1.0, zeroshot)",
    ),
    "amazon_cells_labelled.txt": (
        "https://raw.githubusercontent.com/kvrao/sentiment_analysis/462f7304ab341f1b5014e6eae56100bfe35d703a/"
        "sentiment%20labelled%20sentences/amazon_cells_labelled.txt",
        "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3",
        "CC BY 4.0 (UCI Sentiment Labelled Sentences)",
    ),
    "imdb_labelled.txt": (
        "https://raw.githubusercontent.com/kvrao/sentiment_analysis/462f7304ab341f1b5014e6eae56100bfe35d703a/"
        "sentiment%20labelled%20sentences/imdb_labelled.txt",
        "c662b9360c1652babb990d164835af12aa105db7991f1fdb19038115f0e93de8",
        "CC BY 4.0 (UCI Sentiment Labelled Sentences)",
    ),
    "yelp_labelled.txt": (
        "https://raw.githubusercontent.com/kvrao/sentiment_analysis/462f7304ab341f1b5014e6eae56100bfe35d703a/"
        "sentiment%20labelled%20sentences/yelp_labelled.txt",
        "b565b1eeb864d76842588c3a256731b08bcdd9faf6de507bfe211a96f8b81912",
        "CC BY 4.0 (UCI Sentiment Labelled Sentences)",
    ),
    "train_data_allocine.csv": (
        "https://raw.githubusercontent.com/rachigh/french-sentiment-analysis-allocine/"
        "65a611560017c74c8d13215c1b458f1e1af6988b/data/train_data_allocine.csv",
        "5c998759318fd1b7c4521b970188b1c057a1ae30443e0f59046554ee10aa2858",
        "MIT (Allociné, T. Blard)",
    ),
}
#: Twitter Financial News labels: 0 bearish, 1 bullish, 2 neutral.
TWITTER_LABELS = {"0": "negative", "1": "positive", "2": "neutral"}
#: Lines of yelp_labelled.txt that tests/data/sentiment/en.tsv holds (evaluation): never trained on.
YELP_EVAL_LINES = 520
_URL = re.compile(r"https?://\S+")
#: Texts trained on per source (the first ones by text hash).
PER_SOURCE = {"twitter": 3500, "uci": 2480, "allocine": 1400}
#: Characters of a long review trained on (its opening).
REVIEW_CHARS = 400


def clean(text: str) -> str:
    """What a text looks like to the model: links dropped (a tweet's t.co link says nothing), spaces collapsed."""
    return " ".join(_URL.sub(" ", text).split())


def opening(text: str, limit: int = REVIEW_CHARS) -> str:
    """A long review's opening, cut after a sentence (or a word) within ``limit`` characters: embedding cost grows
    with length, and a mention window is short anyway."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    return head[: cut + 1] if cut > limit // 3 else head[: head.rfind(" ")]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def public_sets(sources: Path) -> list[tuple[str, str, str]]:
    """(set name, label, text) of every public training file, checked against :data:`SOURCES`."""
    for name, (url, digest, _licence) in SOURCES.items():
        path = sources / name
        if not path.exists():
            raise SystemExit(f"missing {path}: fetch it from {url}")
        if sha256(path) != digest:
            raise SystemExit(f"{path} differs from the file trained on (SHA-256 {digest}); fetch {url}")
    rows: list[tuple[str, str, str]] = []
    with (sources / "twitter_sent_train.csv").open(encoding="utf-8", newline="") as f:
        rows += [("twitter", TWITTER_LABELS[r["label"]], clean(r["text"])) for r in csv.DictReader(f)]
    for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
        lines = (sources / name).read_text(encoding="utf-8").splitlines()
        if name.startswith("yelp"):
            lines = lines[YELP_EVAL_LINES:]
        for line in lines:
            text, _, score = line.rpartition("\t")
            if text.strip():
                rows.append(("uci", "positive" if score.strip() == "1" else "negative", clean(text)))
    with (sources / "train_data_allocine.csv").open(encoding="utf-8", newline="") as f:
        rows += [
            ("allocine", "positive" if r["label"] == "1" else "negative", opening(clean(r["text"])))
            for r in csv.DictReader(f)
        ]
    rows = [r for r in rows if r[2]]
    # A fixed share of each source, by text hash: embedding every text costs more than it adds.
    kept: list[tuple[str, str, str]] = []
    for source, limit in PER_SOURCE.items():
        mine = sorted((r for r in rows if r[0] == source), key=lambda r: hashlib.sha1(r[2].encode()).hexdigest())
        kept += mine[:limit]
    return kept


#: Penalties tried for the e5 head (chosen by 2-fold cross-validation on the tune splits).
L2_GRID = (1e-5, 3e-5, 1e-4, 1e-3)


def fit(x: np.ndarray, y: np.ndarray, l2: float, steps: int = 1000, rate: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, class-balanced, by full-batch gradient descent with momentum."""
    n, d = x.shape
    k = len(CLASSES)
    counts = np.bincount(y, minlength=k).astype(np.float64)
    weights = (n / (k * np.maximum(counts, 1)))[y]
    onehot = np.eye(k)[y]
    w = np.zeros((d, k))
    b = np.zeros(k)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    xs = x.astype(np.float64)
    for _ in range(steps):
        logits = xs @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * weights[:, None] / weights.sum()
        gw = xs.T @ g + l2 * w
        gb = g.sum(axis=0)
        vw = 0.9 * vw - rate * gw
        vb = 0.9 * vb - rate * gb
        w += vw
        b += vb
    return w.astype(np.float32), b.astype(np.float32)


#: A word or pair seen fewer times than this in the training texts is not a feature of the bag-of-words model.
MIN_COUNT = 3


def featurize(texts: Sequence[str], index: dict[str, int] | None = None) -> tuple[list[list[int]], dict[str, int]]:
    feats = [sorted(set(bigrams(words(t)))) for t in texts]
    if index is None:
        counts: dict[str, int] = {}
        for fs in feats:
            for f in fs:
                counts[f] = counts.get(f, 0) + 1
        index = {f: i for i, f in enumerate(sorted(f for f, c in counts.items() if c >= MIN_COUNT))}
    return [[index[f] for f in fs if f in index] for fs in feats], index


def fit_bow(
    ids: Sequence[Sequence[int]], y: np.ndarray, n_features: int, l2: float, steps: int = 400, rate: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """The same class-balanced logistic regression, on sparse binary features (numpy only)."""
    n, k = len(ids), len(CLASSES)
    flat = np.array([i for row in ids for i in row], dtype=np.int64)
    doc = np.repeat(np.arange(n), [len(row) for row in ids])
    counts = np.bincount(y, minlength=k).astype(np.float64)
    weights = (n / (k * np.maximum(counts, 1)))[y]
    onehot = np.eye(k)[y]
    w = np.zeros((n_features, k))
    b = np.zeros(k)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(steps):
        logits = np.tile(b, (n, 1))
        np.add.at(logits, doc, w[flat])
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * weights[:, None] / weights.sum()
        gw = np.zeros_like(w)
        np.add.at(gw, flat, g[doc])
        gw += l2 * w
        vw = 0.9 * vw - rate * gw
        vb = 0.9 * vb - rate * g.sum(axis=0)
        w += vw
        b += vb
    return w.astype(np.float32), b.astype(np.float32)


def predict_bow(w: np.ndarray, b: np.ndarray, ids: Sequence[Sequence[int]]) -> list[str]:
    return [CLASSES[int(np.argmax(b + (w[list(row)].sum(axis=0) if row else 0)))] for row in ids]


def predict(w: np.ndarray, b: np.ndarray, x: np.ndarray) -> list[str]:
    return [CLASSES[i] for i in np.argmax(x @ w + b, axis=1)]


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    f1s = []
    for cls in sorted(set(gold)):
        tp = sum(g == p == cls for g, p in zip(gold, pred, strict=True))
        fp = sum(p == cls != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == cls != p for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s)


def tune_sets() -> dict[str, list[tuple[str, str]]]:
    return {name: load_set(name, "tune") for name in ("en_news", "en", "fr_reviews", "fr_news")}


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, required=True, help="folder holding the files of SOURCES")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--bow-out", type=Path, default=BOW_PATH, help="where the bag-of-words model goes")
    parser.add_argument("--bow-only", action="store_true", help="train the bag-of-words model only (no embedding)")
    parser.add_argument("--head-only", action="store_true", help="train the e5 head only")
    args = parser.parse_args(list(argv) if argv is not None else None)

    public = public_sets(args.sources)
    tunes = tune_sets()
    if args.bow_only:
        train_bow(public, tunes, args.bow_out)
        return
    cache = EmbeddingCache(args.cache)
    print(f"public training texts: {len(public)}; tune texts: {sum(len(v) for v in tunes.values())}")
    x_pub = cache.embed([t for _, _, t in public])
    y_pub = np.array([CLASSES.index(label) for _, label, _ in public])
    tune_x = {name: cache.embed([t for _, t in rows]) for name, rows in tunes.items()}

    # Choose the penalty by 2-fold cross-validation over the tune splits (trained on public data + one half,
    # scored on the other half), then train on everything allowed.
    best: tuple[float, float] | None = None
    for l2 in L2_GRID:
        scores = []
        for fold in (0, 1):
            xs, ys, held = [x_pub], [y_pub], []
            for name, rows in tunes.items():
                idx = np.arange(len(rows))
                train_idx, test_idx = idx[idx % 2 != fold], idx[idx % 2 == fold]
                xs.append(tune_x[name][train_idx])
                ys.append(np.array([CLASSES.index(rows[i][0]) for i in train_idx], dtype=int))
                held.append((name, tune_x[name][test_idx], [rows[i][0] for i in test_idx]))
            w, b = fit(np.vstack(xs), np.concatenate(ys), l2)
            scores += [macro_f1(gold, predict(w, b, x)) for _, x, gold in held if gold]
        mean = float(np.mean(scores))
        print(f"l2={l2:g}: mean tune macro-F1 {mean:.3f}")
        if best is None or mean > best[1]:
            best = (l2, mean)
    assert best is not None
    x_all = np.vstack([x_pub, *tune_x.values()])
    y_all = np.concatenate(
        [y_pub, *(np.array([CLASSES.index(g) for g, _ in rows], dtype=int) for rows in tunes.values())]
    )
    w, b = fit(x_all, y_all, best[0])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, W=w, b=b, classes=np.array(CLASSES), model_version=np.array(MODEL_VERSION), l2=np.array(best[0])
    )
    print(f"wrote {args.out} (l2={best[0]:g}, {len(y_all)} texts)")
    if args.bow_out is not None and not args.head_only:
        train_bow(public, tunes, args.bow_out)


def train_bow(public: list[tuple[str, str, str]], tunes: dict[str, list[tuple[str, str]]], out: Path) -> None:
    """The small model trained from scratch on the same texts: words and word pairs, no embedding."""
    texts = [t for _, _, t in public]
    y_pub = np.array([CLASSES.index(label) for _, label, _ in public])
    best: tuple[float, float] | None = None
    for l2 in (1e-4, 1e-3, 1e-2):
        scores = []
        for fold in (0, 1):
            train_texts, train_y, held = list(texts), [y_pub], []
            for rows in tunes.values():
                idx = np.arange(len(rows))
                train_texts += [rows[i][1] for i in idx[idx % 2 != fold]]
                train_y.append(np.array([CLASSES.index(rows[i][0]) for i in idx[idx % 2 != fold]], dtype=int))
                held.append(([rows[i][1] for i in idx[idx % 2 == fold]], [rows[i][0] for i in idx[idx % 2 == fold]]))
            ids, index = featurize(train_texts)
            w, b = fit_bow(ids, np.concatenate(train_y), len(index), l2)
            for held_texts, gold in held:
                if gold:
                    scores.append(macro_f1(gold, predict_bow(w, b, featurize(held_texts, index)[0])))
        mean = float(np.mean(scores))
        print(f"bag of words l2={l2:g}: mean tune macro-F1 {mean:.3f}")
        if best is None or mean > best[1]:
            best = (l2, mean)
    assert best is not None
    all_texts = texts + [t for rows in tunes.values() for _, t in rows]
    all_y = np.concatenate(
        [y_pub, *(np.array([CLASSES.index(g) for g, _ in rows], dtype=int) for rows in tunes.values())]
    )
    ids, index = featurize(all_texts)
    w, b = fit_bow(ids, all_y, len(index), best[0])
    # Features whose weights stay near zero add size and nothing else.
    keep = np.flatnonzero(np.abs(w).max(axis=1) >= 0.01)
    vocab = sorted(index, key=index.__getitem__)
    np.savez_compressed(
        out,
        vocab=np.array([vocab[i] for i in keep]),
        W=w[keep].astype(np.float16).astype(np.float32),
        b=b,
        classes=np.array(CLASSES),
        l2=np.array(best[0]),
    )
    print(f"wrote {out} (l2={best[0]:g}, {len(keep)} features)")


if __name__ == "__main__":
    main()
