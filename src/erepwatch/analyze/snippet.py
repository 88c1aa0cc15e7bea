"""Snippets: about 200 characters of an item around its first match, cut on word boundaries.

The snippet comes from the item's text, centred on the first match found there; when only the title
matched, it is the opening of the text (the title is shown beside it anyway), and the title itself when
there is no text. Runs of whitespace are collapsed, and ``marks`` give the matched terms' offsets in the
snippet so the CLI, the digest and the web page can highlight them (:func:`highlight`).
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the matcher is not needed to print a stored snippet (the CLI's `mentions`)
    from erepwatch.analyze.matcher import MatchItem, Span

__all__ = ["Snippet", "highlight", "make_snippet"]


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    #: (start, end) offsets of matched terms inside ``text``, for highlighting.
    marks: tuple[tuple[int, int], ...]


_SPACES = re.compile(r"\s+")


def _window(source: str, centre: int, width: int) -> tuple[int, int]:
    start = max(0, min(centre - width // 2, len(source) - width))
    end = min(len(source), start + width)
    # Move the cut points outwards to the nearest whitespace so no word is chopped.
    while start > 0 and not source[start - 1].isspace():
        start -= 1
    while end < len(source) and not source[end].isspace():
        end += 1
    return start, end


def make_snippet(item: MatchItem, spans: Sequence[Span], width: int = 200) -> Snippet:
    text_spans = sorted((s for s in spans if s.field == "text"), key=lambda s: s.start)
    # "has text": not empty and not all whitespace, told at the first letter (strip() would copy a long text)
    if item.text and not item.text.isspace():
        source, chosen = item.text, text_spans
    else:
        source, chosen = item.title, sorted((s for s in spans if s.field == "title"), key=lambda s: s.start)
    if not source or source.isspace():
        return Snippet("", ())
    centre = (chosen[0].start + chosen[0].end) // 2 if chosen else 0
    start, end = _window(source, centre, width)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(source) else ""
    body = source[start:end]
    if body == " ".join(body.split()):
        # Already folded (an item's text is stored so): the snippet is the window itself, each offset shifted.
        shift = len(prefix) - start
        shifted = {(s.start + shift, s.end + shift) for s in chosen if start <= s.start < s.end <= end}
        return Snippet(prefix + body + suffix, tuple(sorted(shifted)))

    # Collapse whitespace, and keep where each run of non-space characters sits in the source and in the snippet:
    # a mark's source offsets map to the snippet inside a run (or at its end), nowhere else.
    pieces: list[str] = []
    runs: list[tuple[int, int, int]] = []  # (source start, source end, snippet start) of each run
    pos = start
    lead = len(body) - len(body.lstrip())
    pos += lead
    out_len = len(prefix)
    for m in _SPACES.finditer(source, pos, end):
        chunk = source[pos : m.start()]
        runs.append((pos, m.start(), out_len))
        pieces.append(chunk)
        out_len += len(chunk)
        if m.end() < end:
            pieces.append(" ")
            out_len += 1
        pos = m.end()
    runs.append((pos, end, out_len))
    pieces.append(source[pos:end])
    text = prefix + "".join(pieces) + suffix
    marks = []
    for s in chosen:
        if s.start < s.end:
            a, b = _at(runs, s.start), _at(runs, s.end)
            if a is not None and b is not None:
                marks.append((a, b))
    return Snippet(text, tuple(sorted(set(marks))))


def _at(runs: list[tuple[int, int, int]], offset: int) -> int | None:
    """Where the source's ``offset`` falls in the snippet, if inside one of its runs or at a run's end."""
    i = bisect_right(runs, offset, key=itemgetter(0)) - 1
    if i < 0:
        return None
    run_start, run_end, out = runs[i]
    return out + offset - run_start if offset <= run_end else None


Style = Literal["ansi", "brackets", "markdown", "html"]
_STYLES: dict[str, tuple[str, str]] = {
    "ansi": ("\x1b[1;33m", "\x1b[0m"),
    "brackets": ("[", "]"),
    "markdown": ("**", "**"),
    "html": ("<mark>", "</mark>"),
}


def highlight(snippet: Snippet, style: Style = "ansi") -> str:
    """The snippet with its marks wrapped; ``html`` also escapes the text (it comes from the web)."""
    opening, closing = _STYLES[style]
    escape = html.escape if style == "html" else (lambda t: t)
    out = []
    pos = 0
    for start, end in snippet.marks:
        if start < pos:
            continue  # overlapping marks: the first one wins
        out.append(escape(snippet.text[pos:start]))
        out.append(opening + escape(snippet.text[start:end]) + closing)
        pos = end
    out.append(escape(snippet.text[pos:]))
    return "".join(out)
