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
from erepwatch.analyze.textnorm import Scan, part, scan

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
    #: ``scan(text)``, read off the item's own scans when it has them: what tags and sentiment read.
    scan: Scan | None = None


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


def mention_window(title: str, text: str, spans: Sequence[Span], scans: tuple[Scan, Scan] | None = None) -> Window:
    """The window of one mention (``spans``: the watch's matches in ``title`` and ``text``; ``scans``: the item's
    ``(scan(title), scan(text))``, from which the window's own scan is read instead of scanning it again)."""
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
    scanned = _Words()
    pos = 0
    if title:
        parts.append(title)
        scanned.add(0, scans[0] if scans is not None and raw_title == title else scan(title))
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
        at = start + lead
        # The item's text is stored with its spaces folded: the sentence is then a slice of it, already scanned.
        if scans is not None and text.startswith(sentence, at):
            scanned.add(pos, part(text, scans[1], at, at + len(sentence)))
        else:
            scanned.add(pos, scan(sentence))
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
    return Window("".join(parts), tuple(focus), tuple(segments), title_end, bool(title_spans), scanned.scan())


class _Words:
    """The window's scan, put together part by part: the separators hold no word, so the window scans as its
    parts do, each shifted to where it sits."""

    __slots__ = ("ends", "starts", "words")

    def __init__(self) -> None:
        self.words: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, pos: int, sc: Scan) -> None:
        self.words += sc.words
        self.starts += [s + pos for s in sc.starts]
        self.ends += [e + pos for e in sc.ends]

    def scan(self) -> Scan:
        return Scan(self.words, self.starts, self.ends)
