"""Matching watches against items: the interface the pipeline relies on.

The pipeline only knows :func:`compile_matcher`, :class:`WatchSpec`, :class:`MatchItem` and
:class:`Match`; whatever sits behind them (today a minimal word/phrase matcher) can be replaced
without touching ingest or storage.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from erepwatch.errors import QuerySyntaxError

Field = Literal["title", "text"]


@dataclass(frozen=True, slots=True)
class WatchSpec:
    id: int
    name: str
    query: str
    languages: frozenset[str] = frozenset()
    fuzzy: bool = False


@dataclass(frozen=True, slots=True)
class MatchItem:
    """What a matcher sees of an item: plain text, already stripped of HTML."""

    title: str
    text: str
    url: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """Where a term matched: offsets into ``MatchItem.title`` or ``MatchItem.text``."""

    field: Field
    start: int
    end: int
    term: str
    fuzzy: bool = False


@dataclass(frozen=True, slots=True)
class Match:
    watch_id: int
    spans: tuple[Span, ...]


class Matcher(Protocol):
    def match(self, item: MatchItem) -> list[Match]: ...


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` with the same length as the input."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0].casefold()
        out.append(base[0] if base else ch)
    return "".join(out)


_TERM = re.compile(r'"([^"]*)"|(\S+)')


def parse_terms(query: str) -> tuple[str, ...]:
    """Split a query into folded words and quoted phrases, all required (implicit AND)."""
    if query.count('"') % 2:
        raise QuerySyntaxError("unclosed quote", query.rindex('"') + 1, query)
    terms = tuple(" ".join(fold(m.group(1) or m.group(2)).split()) for m in _TERM.finditer(query))
    terms = tuple(t for t in terms if t)
    if not terms:
        raise QuerySyntaxError("empty query", 1, query)
    return terms


def canonical_query(query: str) -> str:
    return " ".join(f'"{t}"' if " " in t else t for t in parse_terms(query))


class _TermMatcher:
    def __init__(self, watches: Sequence[WatchSpec]):
        self._watches = [(w, [self._pattern(t) for t in parse_terms(w.query)]) for w in watches]

    @staticmethod
    def _pattern(term: str) -> tuple[str, re.Pattern[str]]:
        words = [re.escape(w) for w in term.split()]
        return term, re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")

    def match(self, item: MatchItem) -> list[Match]:
        fields: tuple[tuple[Field, str], ...] = (("title", fold(item.title)), ("text", fold(item.text)))
        found = []
        for watch, patterns in self._watches:
            if watch.languages and item.language and item.language not in watch.languages:
                continue
            spans = []
            for term, pattern in patterns:
                hits = [
                    Span(name, m.start(), m.end(), term)
                    for name, text in fields
                    for m in pattern.finditer(text)
                ]
                if not hits:
                    break
                spans.extend(hits)
            else:
                found.append(Match(watch.id, tuple(spans)))
        return found


def compile_matcher(watches: Iterable[WatchSpec]) -> Matcher:
    """Compile every watch once per poll into one matcher."""
    return _TermMatcher(list(watches))
