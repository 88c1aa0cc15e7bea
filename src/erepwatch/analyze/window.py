"""The mention's window: the part of an item that speaks about the watched name.

Sentiment and tags describe what is said *about the brand*, not the whole page: a 1,200-word article that
names Tesla once and "backlash" in an unrelated paragraph is not a Tesla crisis. The window is the title, then
each sentence that names a matched term, in text order, each clipped to :data:`SENTENCE_REACH` characters
around its match; at most :data:`MAX_SENTENCES` of them, and :data:`MAX_CHARS` in all, so an article of any
length costs what its mention costs. Words outside the window are never read by sentiment or tags.

``segments`` tells which parts of the window name the term: the title when it does, and every sentence. Tags
read those segments only (a title that does not name the brand describes the article, not the brand);
sentiment reads the whole window and weighs the segments that name the term most, the title first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from erepwatch.analyze.matcher import Span

__all__ = ["MAX_CHARS", "Window", "mention_window"]

#: Characters kept on each side of a match inside its sentence (a run-on sentence, a paragraph without stops).
SENTENCE_REACH = 220
#: Sentences of the text kept in a window (the first ones that name the term).
MAX_SENTENCES = 4
#: A window's length cap; under the embedding model's input (``embedding.MAX_CHARS``).
MAX_CHARS = 900
#: What separates the title from the sentences, and sentences from each other, inside a window.
SEPARATOR = " … "

_END = re.compile(r"[.!?…]+[\s\"'»”)\]]|\n")


@dataclass(frozen=True, slots=True)
class Window:
    text: str
    #: (start, end) of every matched term inside ``text``.
    focus: tuple[tuple[int, int], ...]
    #: (start, end) parts of ``text`` that name the term (the title if it does, each kept sentence).
    segments: tuple[tuple[int, int], ...]
    #: Where the title ends in ``text`` (0 when the item has no title).
    title_end: int
    #: Whether the title itself names the term.
    title_named: bool


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around ``text[start:end]``, at most :data:`SENTENCE_REACH` characters each side."""
    left = max(0, start - SENTENCE_REACH)
    cut = left
    for m in _END.finditer(text, left, start):
        cut = m.end()
    if cut == left and left > 0:
        # No sentence start within reach: begin at a word boundary.
        space = text.find(" ", left, start)
        cut = space + 1 if space >= 0 else left
    right = min(len(text), end + SENTENCE_REACH)
    found = _END.search(text, end, right)
    stop = found.start() + len(found.group().rstrip()) if found else right
    if not found and right < len(text):
        space = text.rfind(" ", end, right)
        stop = space if space > end else right
    return cut, stop


def mention_window(title: str, text: str, spans: Sequence[Span]) -> Window:
    """The window of one mention (``spans``: the watch's matches in ``title`` and ``text``)."""
    raw_title, title = title, " ".join(title.split())
    title_spans = [s for s in spans if s.field == "title"]
    ranges: list[tuple[int, int]] = []
    for span in sorted((s for s in spans if s.field == "text"), key=lambda s: s.start):
        if ranges and span.start < ranges[-1][1]:
            continue  # several matches in one sentence
        ranges.append(_sentence(text, span.start, span.end))
        if len(ranges) == MAX_SENTENCES:
            break

    parts: list[str] = []
    focus: list[tuple[int, int]] = []
    segments: list[tuple[int, int]] = []
    pos = 0
    if title:
        parts.append(title)
        pos = len(title)
        if title_spans:
            segments.append((0, pos))
            for span in title_spans:
                surface = " ".join(raw_title[span.start : span.end].split())
                found = span.start if raw_title == title else title.find(surface)
                if found >= 0 and surface:
                    focus.append((found, found + len(surface)))
    title_end = pos
    text_spans = [s for s in spans if s.field == "text"]
    for start, stop in ranges:
        raw = text[start:stop]
        lead = len(raw) - len(raw.lstrip())
        sentence = " ".join(raw.split())
        if not sentence:
            continue
        room = MAX_CHARS - pos - (len(SEPARATOR) if parts else 0)
        if room < 40:
            break
        if parts:
            parts.append(SEPARATOR)
            pos += len(SEPARATOR)
        sentence = sentence[:room]
        parts.append(sentence)
        segments.append((pos, pos + len(sentence)))
        # Offsets inside the collapsed sentence: exact when the raw text had single spaces (the usual case),
        # otherwise found again by the matched surface text.
        for span in text_spans:
            if start <= span.start and span.end <= stop:
                surface = " ".join(text[span.start : span.end].split())
                guess = span.start - start - lead
                if sentence[guess : guess + len(surface)] != surface:
                    guess = sentence.find(surface)
                if guess >= 0:
                    focus.append((pos + guess, pos + guess + len(surface)))
        pos += len(sentence)
    return Window("".join(parts), tuple(focus), tuple(segments), title_end, bool(title_spans))
