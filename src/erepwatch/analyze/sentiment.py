"""Sentiment of a text: a label, a score in [-1, 1] and the words that decided it.

The default scorer counts lexicon words (``config/lexicons/``) and corrects what makes plain counting
wrong, in the spirit of VADER (Hutto & Gilbert, ICWSM 2014), extended to French:

* negation (``pas``, ``ne … plus``, ``jamais``, ``sans``, ``not``, ``n't``…) flips the sentiment words
  that follow within a short window, up to the next comma or clause end; a second negator inside the
  window extends it instead of flipping back (French ``ne … pas`` is one negation);
* boosters multiply the next sentiment word (``très``, ``very``: x1.5; ``un peu``, ``slightly``: x0.6;
  ``peu``, ``not very``: attenuate and flip);
* contrast (``mais``, ``cependant``, ``but``, ``however``): the clause after weighs 1.5, before 0.5;
* exclamation marks and words IN CAPITALS amplify; emoji and emoticons count like words;
* sentences containing the watched brand (``focus`` offsets) weigh :data:`FOCUS_WEIGHT` times more,
  so an article that praises a competitor and criticizes the brand reads as negative for its watch.

Another scorer can be plugged in by configuration (``analysis.scorer = "package.module:Class"``); it
only has to provide :class:`SentimentScorer`'s ``score`` method.
"""

from __future__ import annotations

import importlib
import math
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from erepwatch.analyze.lexicon import Lexicon, config_dir, lexical, read_lexicon
from erepwatch.analyze.textnorm import Scan, scan
from erepwatch.errors import ConfigError

__all__ = [
    "SCORERS",
    "BatchScorer",
    "LexiconScorer",
    "Reading",
    "Sentiment",
    "SentimentScorer",
    "Tuning",
    "load_scorer",
]

Label = Literal["positive", "negative", "neutral"]


@dataclass(frozen=True, slots=True)
class Sentiment:
    label: Label
    score: float
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reading:
    """What the word lists found in a text: the weighted sum, and each word's contribution."""

    total: float
    contributions: dict[str, float]
    alpha: float

    def features(self) -> tuple[float, float, float]:
        """What a trained model reads from the word lists: the score, and the strength (log) of the positive and
        of the negative words found."""
        score = self.total / math.sqrt(self.total * self.total + self.alpha) if self.total else 0.0
        positive = sum(v for v in self.contributions.values() if v > 0)
        negative = -sum(v for v in self.contributions.values() if v < 0)
        return score, math.log1p(positive), math.log1p(negative)

    def explained(self) -> list[tuple[str, float]]:
        """Every word or expression found, with its weight after negation, boosters and focus, strongest first (at
        most :data:`MAX_KEYWORDS` in each direction)."""
        ranked = sorted(self.contributions.items(), key=lambda kv: -abs(kv[1]))
        pos = [kv for kv in ranked if kv[1] > 0][:MAX_KEYWORDS]
        neg = [kv for kv in ranked if kv[1] < 0][:MAX_KEYWORDS]
        return sorted(pos + neg, key=lambda kv: -abs(kv[1]))


@runtime_checkable
class SentimentScorer(Protocol):
    def score(self, text: str, language: str | None, focus: Sequence[tuple[int, int]] = ()) -> Sentiment: ...


@runtime_checkable
class BatchScorer(Protocol):
    """A scorer that reads many texts at once more cheaply than one by one (a model reading embeddings)."""

    def score(self, text: str, language: str | None, focus: Sequence[tuple[int, int]] = ()) -> Sentiment: ...

    def score_many(self, texts: Sequence[tuple[str, str | None, Sequence[tuple[int, int]]]]) -> list[Sentiment]: ...


@dataclass(frozen=True, slots=True)
class Tuning:
    """Constants of the lexicon scorer; defaults tuned on the ``tune`` split of tests/data/sentiment."""

    negation_window: int = 3
    #: VADER's empirical factor: a negated word keeps most of its strength, reversed.
    negation_factor: float = -0.74
    booster_reach: int = 2
    contrast_before: float = 0.5
    contrast_after: float = 1.5
    caps_factor: float = 1.3
    exclamation_step: float = 0.1
    focus_weight: float = 3.0
    #: Squashes the raw sum into (-1, 1): score = raw / sqrt(raw^2 + alpha).
    alpha: float = 6.0
    #: |score| below this is neutral.
    neutral_band: float = 0.15


FOCUS_WEIGHT = Tuning().focus_weight
MAX_KEYWORDS = 8

_SENTENCE = re.compile(r"[^.!?…\n]+(?:[.!?…]+|\n|$)")
# Punctuation between two words that ends a negation's or a booster's reach.
_CLAUSE_BREAK = re.compile(r"[,;:.!?…()\[\]\n]")


def _lexicon_paths(root: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in sorted((root / "lexicons").glob("*.tsv")):
        found.setdefault(path.stem, []).append(path)
    return found


def _language_of_file(path: Path) -> str | None:
    """``mine.fr.tsv`` → "fr"; a file without a language suffix applies to every language."""
    parts = path.name.split(".")
    return parts[-2] if len(parts) >= 3 and len(parts[-2]) == 2 else None


class LexiconScorer:
    """The default, explainable scorer; needs no download."""

    def __init__(self, lexicons: Mapping[str, Lexicon], symbols: Lexicon, tuning: Tuning = Tuning()):
        self._by_lang = dict(lexicons)
        merged = Lexicon()
        for lex in self._by_lang.values():
            merged = merged.merged(lex)
        self._any = merged
        self._symbols = symbols
        self._symbol_re = (
            re.compile("|".join(re.escape(s) for s in sorted(symbols.symbols, key=len, reverse=True)))
            if symbols.symbols
            else None
        )
        self.tuning = tuning

    @classmethod
    def from_files(cls, extra_lexicons: Sequence[Path] = (), tuning: Tuning = Tuning()) -> LexiconScorer:
        root = config_dir()
        lexicons: dict[str, Lexicon] = {}
        symbols = Lexicon()
        for name, paths in _lexicon_paths(root).items():
            for path in paths:
                entries = read_lexicon(path)
                if len(name) == 2:
                    lexicons.setdefault(name, Lexicon())
                    for entry in entries:
                        lexicons[name].add(*entry)
                else:
                    for entry in entries:
                        symbols.add(*entry)
        for path in extra_lexicons:
            lang = _language_of_file(Path(path))
            targets = [lang] if lang else list(lexicons)
            entries = read_lexicon(Path(path))
            for target in targets:
                lexicons.setdefault(target, Lexicon())
                for entry in entries:
                    lexicons[target].add(*entry)
        return cls(lexicons, symbols, tuning)

    def lexicon(self, language: str | None) -> Lexicon:
        return self._by_lang.get(language or "", self._any)

    def score(
        self, text: str, language: str | None, focus: Sequence[tuple[int, int]] = (), *, scanned: Scan | None = None
    ) -> Sentiment:
        """``scanned``: ``scan(text)`` when the caller has it (a mention window's), so the text is not scanned again."""
        t = self.tuning
        total, contributions = self._read(text, language, focus, scanned)
        score = total / math.sqrt(total * total + t.alpha) if total else 0.0
        label: Label = "positive" if score >= t.neutral_band else "negative" if score <= -t.neutral_band else "neutral"
        ranked = sorted(contributions.items(), key=lambda kv: -abs(kv[1]))
        sign = 1 if label == "positive" else -1 if label == "negative" else 0
        # The words that decided it: those pulling the way the label went, strongest first.
        keywords = tuple(k for k, v in ranked if sign == 0 or v * sign > 0)[:MAX_KEYWORDS]
        return Sentiment(label, round(score, 4), keywords)

    def read(
        self, text: str, language: str | None, focus: Sequence[tuple[int, int]] = (), *, scanned: Scan | None = None
    ) -> Reading:
        """One reading of ``text``, for a trained model's features and for its "why" at once."""
        total, contributions = self._read(text, language, focus, scanned)
        return Reading(total, contributions, self.tuning.alpha)

    def features(
        self, text: str, language: str | None, focus: Sequence[tuple[int, int]] = (), *, scanned: Scan | None = None
    ) -> tuple[float, float, float]:
        return self.read(text, language, focus, scanned=scanned).features()

    def explain(
        self, text: str, language: str | None, focus: Sequence[tuple[int, int]] = ()
    ) -> list[tuple[str, float]]:
        return self.read(text, language, focus).explained()

    def _read(
        self, text: str, language: str | None, focus: Sequence[tuple[int, int]], scanned: Scan | None = None
    ) -> tuple[float, dict[str, float]]:
        t = self.tuning
        lex = self.lexicon(language)
        total = 0.0
        contributions: dict[str, float] = {}
        lexical_words = lexical(scanned.words) if scanned is not None else []
        at = 0
        for m in _SENTENCE.finditer(text):
            start, end = m.span()
            local: dict[str, float] = {}
            if scanned is None:
                sc = scan(text[start:end])
                found, starts, ends = lexical(sc.words), [s + start for s in sc.starts], [e + start for e in sc.ends]
            else:
                # A sentence ends after a stop, a line break or the text's end, where no word is cut (what
                # textnorm.part checks): its words are the scan's own, a slice of it.
                a = bisect_left(scanned.starts, start, at)
                at = bisect_left(scanned.starts, end, a)
                found, starts, ends = lexical_words[a:at], scanned.starts[a:at], scanned.ends[a:at]
            value = self._sentence(text, start, end, found, starts, ends, lex, local)
            weight = t.focus_weight if focus and any(s < end and e > start for s, e in focus) else 1.0
            total += value * weight
            for k, v in local.items():
                contributions[k] = contributions.get(k, 0.0) + v * weight
        return total, contributions

    def _sentence(
        self,
        text: str,
        start: int,
        end: int,
        found: Sequence[str],
        starts: Sequence[int],
        ends: Sequence[int],
        lex: Lexicon,
        contrib: dict[str, float],
    ) -> float:
        """The value of the sentence ``text[start:end]``; ``found``: its words as the lexicon reads them, ``starts``
        and ``ends``: their offsets in ``text``."""
        t = self.tuning
        sentence = text[start:end]
        before = 0.0  # clause(s) before a contrast word
        value = 0.0
        negate_left = 0
        boost = 1.0
        boost_left = 0
        prev_end = start
        i = 0
        # Only the words starting an entry do anything; between two of them, each plain word shortens the reach of
        # a negation and a booster by one, and a clause break ends both (only whether a reach is left counts).
        for at, (entry, n) in lex.matches(found).items():
            if at < i:
                continue  # inside the previous entry
            if _CLAUSE_BREAK.search(text, prev_end, starts[at]) and any(
                # between words, not inside one (a word's offsets may span an entity such as "&eacute;")
                _CLAUSE_BREAK.search(text, ends[k - 1] if k else start, starts[k])
                for k in range(i, at + 1)
            ):
                negate_left = 0
                boost_left = 0
            else:
                negate_left -= at - i
                boost_left -= at - i
            s, e = starts[at], ends[at + n - 1]
            i = at + n
            prev_end = e
            if entry.kind == "negation":
                negate_left = t.negation_window
                continue
            if entry.kind == "contrast":
                before, value = before + value, 0.0
                negate_left = 0
                continue
            if entry.kind == "booster":
                boost = boost * entry.weight if boost_left > 0 else entry.weight
                boost_left = t.booster_reach
                negate_left -= n
                continue
            weight = entry.weight
            if not weight:
                negate_left -= n
                continue  # a neutral expression ("Super Bowl") only stops its words from counting
            if boost_left > 0:
                weight *= boost
                boost_left = 0
            surface = text[s:e]
            if len(surface) > 2 and surface.isupper() and not sentence.isupper():
                weight *= t.caps_factor
            if negate_left > 0:
                weight *= t.negation_factor
                surface = _negated(text, starts, at, negate_left, t.negation_window) + surface
                negate_left = t.negation_window
            value += weight
            key = " ".join(surface.split()).lower()
            contrib[key] = contrib.get(key, 0.0) + weight
            negate_left -= n
        if before and value:
            value = t.contrast_before * before + t.contrast_after * value
        else:
            value += before
        if self._symbol_re is not None:
            for m in self._symbol_re.finditer(sentence):
                weight = self._symbols.symbols[m.group()].weight
                value += weight
                contrib[m.group()] = contrib.get(m.group(), 0.0) + weight
        bangs = sentence.count("!")
        if value and bangs:
            value *= 1 + t.exclamation_step * min(bangs, 3)
        return value


def _negated(text: str, starts: Sequence[int], index: int, left: int, window: int) -> str:
    """The negator's text glued before a negated keyword ("pas ", "not "), for readable keywords."""
    back = max(0, index - (window - left) - 1)
    return text[starts[back] : starts[index]] if index > back else ""


#: Built-in scorers (``analysis.scorer``): the lexicon alone, or a trained model with the lexicon's "why".
SCORERS = ("lexicon", "bow", "e5")


def load_scorer(spec: str = "lexicon", extra_lexicons: Sequence[Path] = ()) -> SentimentScorer:
    """The scorer named by ``analysis.scorer``: "lexicon", "bow", "e5" (see
    :mod:`erepwatch.analyze.sentiment_models`) or "package.module:Class".

    A pluggable class is instantiated without arguments and must have a ``score`` method with
    :class:`SentimentScorer`'s signature.
    """
    if spec in ("", "lexicon"):
        return LexiconScorer.from_files(extra_lexicons)
    if spec in SCORERS:
        from erepwatch.analyze.sentiment_models import ModelScorer

        return ModelScorer(spec, LexiconScorer.from_files(extra_lexicons))  # type: ignore[arg-type]
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        expected = " or ".join(repr(s) for s in SCORERS)
        raise ConfigError("analysis.scorer", f"expected {expected} or 'package.module:Class', got {spec!r}")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError("analysis.scorer", f"cannot load {spec!r}: {exc}") from exc
    try:
        scorer = cls()
    except TypeError as exc:
        raise ConfigError("analysis.scorer", f"cannot create {spec!r} without arguments: {exc}") from exc
    if not isinstance(scorer, SentimentScorer):
        raise ConfigError("analysis.scorer", f"{spec!r} has no score(text, language, focus) method")
    return scorer
