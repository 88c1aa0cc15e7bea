"""Whether a mention reports a crisis *of the watched name*: a small classifier over the mention's window.

The crisis word list alone cannot tell "Acme recalls 12,000 scooters" from "Acme's podcast, chapter 3: the AWS
outage" or "OpenAI accuses DeepSeek of malpractice" (a crisis of DeepSeek, not of OpenAI): where the word sits
relative to the watched term, what the rest of the window says and how negative it reads all matter. The classifier
weighs, for each window:

* evidence from the word lists (``config/tags/crisis.tsv``, ``legal.tsv``): a crisis term within 3, 6, 10 or 20
  words of the watched term in its clause, in a sentence naming the term, anywhere in the window; a legal term near;
* the window's tone: the lexicon's score about the term, and the trained sentiment head's negative and positive
  probabilities;
* the window's sentence embedding (the one the sentiment stage computed; nothing is embedded again).

A logistic regression over these, trained by ``scripts/train_sentiment_head.py`` on labelled corpus mention windows
(``tests/data/sentiment/mentions*.tsv``, ``tune`` split only), with a threshold chosen for precision by
cross-validation on those (folds by story: one story told by several outlets stays in one fold). A crisis is only
ever tagged on a window that holds a crisis term, and that term is the tag's "why".

Applied with the e5 scorer (the default): the sentiment stage, once it has embedded a mention's window, replaces the
word list's ``crisis`` tag with this decision (:class:`CrisisJudge`), before alerts are planned. On the held-out
mentions (22 crises in 226 windows) it measured precision 0.61 and recall 0.50, against 0.57 / 0.36 for the word
list with its reach and attribution rules (0.56 / 0.41 for the word list before them) — all far under the issue's
0.90 / 0.80. On the tune windows the word list had looked better (F0.5 0.84 against 0.81 in cross-validation):
applying the classifier is a choice made after reading the held-out figures, recorded in tests/data/sentiment/README.md.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from erepwatch.analyze.sentiment import LexiconScorer
from erepwatch.analyze.sentiment_models import HeadModel
from erepwatch.analyze.tags import Hit, Tagger
from erepwatch.analyze.window import Window
from erepwatch.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["CRISIS", "CRISIS_PATH", "FEATURES", "CrisisJudge", "CrisisModel", "evidence", "head_digest", "load_crisis"]

CRISIS = "crisis"
CRISIS_PATH = Path(__file__).resolve().parent / "crisis_head.npz"
#: Words between a crisis term and the watched term (same clause) that the evidence features count.
REACHES = (3, 6, 10, 20)
#: The evidence features, in the order of the model's first coefficients (the embedding's follow).
FEATURES = (
    *(f"crisis term within {r} words" for r in REACHES),
    "crisis term in a sentence naming the term",
    "crisis term anywhere in the window",
    "legal term within 10 words",
    "crisis terms in sentences naming the term (log)",
    "lexicon negativity about the term",
    "sentiment head: negative",
    "sentiment head: positive",
    "title names the term",
)


def evidence(
    window: Window, tagger: Tagger, tone: tuple[float, float, float], hits: list[tuple[int, Hit]] | None = None
) -> tuple[list[float], tuple[str, ...]]:
    """The evidence features of :data:`FEATURES` and the crisis terms found (those in sentences naming the watched
    term first). ``tone``: the lexicon's score about the term, the sentiment head's negative and positive
    probabilities; ``hits``: the tagger's, when already read."""
    if hits is None:
        hits = tagger.hits(window.text, window.segments, window.focus, window.scan)
    crisis = [(segment, hit) for segment, hit in hits if CRISIS in hit.groups]
    named = [hit for segment, hit in crisis if segment >= 0]
    near = [hit.distance for hit in named if hit.distance is not None]
    legal = [hit.distance for s, hit in hits if s >= 0 and "legal" in hit.groups and hit.distance is not None]
    score, negative, positive = tone
    features = [
        *(float(any(d <= r for d in near)) for r in REACHES),
        float(bool(named)),
        float(bool(crisis)),
        float(any(d <= 10 for d in legal)),
        math.log1p(len(named)),
        -score,
        negative,
        positive,
        float(window.title_named),
    ]
    words = [hit.words for hit in sorted(named, key=lambda h: h.distance if h.distance is not None else 1 << 20)]
    words += [hit.words for segment, hit in crisis if segment < 0]
    return features, tuple(dict.fromkeys(words))


def head_digest(head: HeadModel) -> str:
    """What identifies the sentiment head whose probabilities the classifier was trained on: a new head moves those
    features, and the classifier must be trained again (``train_sentiment_head.py --crisis-only``)."""
    digest = hashlib.sha1()
    for language in sorted(head.heads):
        w, b = head.heads[language]
        digest.update(language.encode())
        digest.update(w.tobytes())
        digest.update(b.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class CrisisModel:
    """Logistic regression over the evidence features and the window embedding."""

    w: npt.NDArray[np.float32]
    b: float
    threshold: float
    model_version: str
    #: :func:`head_digest` of the sentiment head it was trained with
    head: str

    def probability(self, features: list[float], vector: npt.NDArray[np.float32]) -> float:
        n = len(features)
        z = float(sum(f * c for f, c in zip(features, self.w[:n].tolist(), strict=True)) + vector @ self.w[n:])
        return 1.0 / (1.0 + math.exp(-(z + self.b)))

    def decide(
        self,
        window: Window,
        language: str | None,
        vector: npt.NDArray[np.float32],
        *,
        tagger: Tagger,
        lexicon: LexiconScorer,
        head: HeadModel,
    ) -> tuple[str, ...]:
        """The crisis terms behind a crisis tag for this mention, or () when it reports no crisis of the term."""
        hits = tagger.hits(window.text, window.segments, window.focus, window.scan)
        if not any(CRISIS in hit.groups for _, hit in hits):
            return ()  # most windows: no crisis term, no tag, nothing more to read
        lexical = lexicon.features(window.text, language, window.focus, scanned=window.scan)
        negative, _, positive = head.probabilities(vector, lexical, language)
        features, words = evidence(window, tagger, (lexical[0], negative, positive), hits)
        if not words or self.probability(features, vector) < self.threshold:
            return ()
        return words


@dataclass(frozen=True)
class CrisisJudge:
    """The crisis classifier with what it reads besides the window's embedding: the tagger's terms, the lexicon,
    the sentiment head. Called by the sentiment stage once a mention's window is embedded."""

    model: CrisisModel
    tagger: Tagger
    lexicon: LexiconScorer
    head: HeadModel

    def __call__(self, window: Window, language: str | None, vector: npt.NDArray[np.float32]) -> tuple[str, ...]:
        """The crisis terms behind a crisis tag for this mention, or () when it reports no crisis of the term."""
        return self.model.decide(window, language, vector, tagger=self.tagger, lexicon=self.lexicon, head=self.head)


@lru_cache(maxsize=1)
def load_crisis(path: Path = CRISIS_PATH) -> CrisisModel:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            w, b, threshold, version = data["W"], data["b"], data["threshold"], data["model_version"]
            head = str(data["head"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError("analysis.builtin_tags", f"cannot read the crisis model {path}: {exc}") from exc
    return CrisisModel(np.asarray(w, dtype=np.float32), float(b), float(threshold), str(version), head)
