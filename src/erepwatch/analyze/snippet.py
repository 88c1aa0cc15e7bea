"""Snippets: about 200 characters of an item around its first match, cut on word boundaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from erepwatch.analyze.matcher import MatchItem, Span


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    #: (start, end) offsets of matched terms inside ``text``, for highlighting.
    marks: tuple[tuple[int, int], ...]


def make_snippet(item: MatchItem, spans: Sequence[Span], width: int = 200) -> Snippet:
    text_spans = sorted((s for s in spans if s.field == "text"), key=lambda s: s.start)
    source = item.text if text_spans else item.title
    chosen = text_spans or sorted((s for s in spans if s.field == "title"), key=lambda s: s.start)
    if not source:
        return Snippet("", ())
    if not chosen:
        start, end = 0, min(len(source), width)
    else:
        first = chosen[0]
        centre = (first.start + first.end) // 2
        start = max(0, min(centre - width // 2, len(source) - width))
        end = min(len(source), start + width)
    # Move the cut points outwards to the nearest whitespace so no word is chopped.
    while start > 0 and not source[start - 1].isspace():
        start -= 1
    while end < len(source) and not source[end].isspace():
        end += 1
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(source) else ""
    body = source[start:end].strip()
    lead = len(source[start:end]) - len(source[start:end].lstrip())
    offset = len(prefix) - start - lead
    marks = tuple(
        (s.start + offset, s.end + offset)
        for s in chosen
        if s.start >= start + lead and s.end <= start + lead + len(body)
    )
    return Snippet(prefix + body + suffix, marks)
