"""Matching watches against items: the interface the pipeline relies on, and the indexed matcher.

The pipeline only knows :func:`compile_matcher`, :class:`WatchSpec`, :class:`MatchItem` and
:class:`Match`. Behind them, every watch's query is parsed once per poll (:mod:`.query`) and indexed on
the words it cannot match without ("anchors"): for an item, a set intersection between its words and the
index yields the few candidate watches, and only those are evaluated in full. The cost per item then
depends on the item's length and on the number of candidates, hardly on the number of watches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from erepwatch.analyze import fuzzy as fz
from erepwatch.analyze.query import And, InTitle, Node, Not, Or, Phrase, Site, Word, parse_query, to_canonical
from erepwatch.analyze.query import canonical_query as canonical_query
from erepwatch.analyze.textnorm import Scan, scan
from erepwatch.errors import QuerySyntaxError

__all__ = [
    "Match",
    "MatchItem",
    "Matcher",
    "Span",
    "WatchSpec",
    "canonical_query",
    "compile_matcher",
]

Field = Literal["title", "text"]
_FIELDS: tuple[Field, Field] = ("title", "text")
#: Spans kept per term and field: enough to explain and highlight, bounded for very long texts.
MAX_SPANS_PER_TERM = 20


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


def _primary_language(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-")[0]


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


# ------------------------------------------------------------------------------------ the item's view


_LOOKUPS_BEFORE_INDEX = 16


class _Doc:
    """One item as the evaluator sees it.

    Both fields are scanned once (folded words and their offsets); positions are computed only for the
    words a candidate watch looks up.
    """

    __slots__ = ("_index", "_lookups", "_near", "_positions", "_vocab", "item", "scans", "words")

    def __init__(self, item: MatchItem):
        self.item = item
        self.scans: dict[Field, Scan] = {"title": scan(item.title), "text": scan(item.text)}
        self.words: dict[Field, list[str]] = {f: sc.words for f, sc in self.scans.items()}
        self._vocab: dict[Field, set[str]] = {}
        self._positions: dict[tuple[Field, str], list[int]] = {}
        self._index: dict[Field, dict[str, list[int]]] = {}
        self._lookups = 0
        self._near: dict[tuple[Field, str, int], list[str]] = {}

    def vocab(self, field: Field) -> set[str]:
        found = self._vocab.get(field)
        if found is None:
            found = self._vocab[field] = set(self.words[field])
        return found

    def positions(self, field: Field, word: str) -> list[int]:
        index = self._index.get(field)
        if index is not None:
            return index.get(word, [])
        key = (field, word)
        found = self._positions.get(key)
        if found is None:
            self._lookups += 1
            if self._lookups > _LOOKUPS_BEFORE_INDEX:
                # Many watches look at this item: one pass over its words now beats a scan per lookup.
                index = self._index[field] = {}
                for i, w in enumerate(self.words[field]):
                    index.setdefault(w, []).append(i)
                return index.get(word, [])
            found = []
            if word in self.vocab(field):
                ws = self.words[field]
                i = -1
                try:
                    while True:  # list.index scans in C: far quicker than enumerating in Python
                        i = ws.index(word, i + 1)
                        found.append(i)
                except ValueError:
                    pass
            self._positions[key] = found
        return found

    def near(self, field: Field, word: str, k: int) -> list[str]:
        """Distinct words of ``field`` within ``k`` edits of ``word`` (including itself)."""
        key = (field, word, k)
        if key not in self._near:
            found = process.extract(word, self.vocab(field), scorer=Levenshtein.distance, score_cutoff=k, limit=None)
            self._near[key] = [choice for choice, _, _ in found]
        return self._near[key]


# ------------------------------------------------------------------------------------- compiled query

# A hit before it becomes a Span: field, first word index, number of words, term label, fuzzy.
_Hit = tuple[Field, int, int, str, bool]
Hits = list[_Hit]


class _Seq:
    """A word or phrase: consecutive folded words, each with its typo budget, in one or both fields."""

    __slots__ = ("budgets", "fields", "label", "words")

    def __init__(self, words_: tuple[str, ...], budgets: tuple[int, ...], fields: tuple[Field, ...], label: str):
        self.words = words_
        self.budgets = budgets
        self.fields = fields
        self.label = label

    def _same(self, i: int, candidate: str) -> bool | None:
        """True for an exact word, False for a tolerated typo, None for no match."""
        wanted = self.words[i]
        if candidate == wanted:
            return True
        k = self.budgets[i]
        if k and fz.within(wanted, candidate, k):
            return False
        return None

    def eval(self, doc: _Doc) -> Hits | None:
        hits: Hits = []
        first, k0 = self.words[0], self.budgets[0]
        n = len(self.words)
        if n == 1 and not k0:  # the most common term by far: one exact word
            for field in self.fields:
                hits.extend((field, p, 1, self.label, False) for p in doc.positions(field, first)[:MAX_SPANS_PER_TERM])
            return hits or None
        for field in self.fields:
            if k0:
                starts = sorted(p for w in doc.near(field, first, k0) for p in doc.positions(field, w))
            else:
                starts = doc.positions(field, first)
            if not starts:
                continue
            ws = doc.words[field]
            found = 0
            for p in starts:
                if p + n > len(ws):
                    continue
                exact = ws[p] == first
                for i in range(1, n):
                    same = self._same(i, ws[p + i])
                    if same is None:
                        break
                    exact = exact and same
                else:
                    hits.append((field, p, n, self.label, not exact))
                    found += 1
                    if found >= MAX_SPANS_PER_TERM:
                        break
        return hits or None


class _Site:
    __slots__ = ("domain", "path")

    def __init__(self, domain: str, path: str):
        self.domain = domain
        self.path = path

    def eval(self, doc: _Doc) -> Hits | None:
        host = _host(doc.item.url)
        # The domain itself or a subdomain: "shop.acme.fr" is on acme.fr, "notacme.fr" is not.
        if host != self.domain and not host.endswith("." + self.domain):
            return None
        if self.path:
            path = urlsplit(doc.item.url or "").path
            if not (path == self.path or path.startswith(self.path.rstrip("/") + "/")):
                return None
        return []


class _Not:
    __slots__ = ("child",)

    def __init__(self, child: _Node):
        self.child = child

    def eval(self, doc: _Doc) -> Hits | None:
        return None if self.child.eval(doc) is not None else []


class _And:
    __slots__ = ("children",)

    def __init__(self, children: list[_Node]):
        # Exclusions and site: checks are cheap and often decisive: run them first.
        self.children = sorted(children, key=lambda c: 0 if isinstance(c, _Site) else 1)

    def eval(self, doc: _Doc) -> Hits | None:
        spans: Hits = []
        for child in self.children:
            found = child.eval(doc)
            if found is None:
                return None
            spans.extend(found)
        return spans


class _Or:
    __slots__ = ("children",)

    def __init__(self, children: list[_Node]):
        self.children = children

    def eval(self, doc: _Doc) -> Hits | None:
        # Every branch is evaluated so that the mention explains all the terms that matched.
        spans: Hits | None = None
        for child in self.children:
            found = child.eval(doc)
            if found is not None:
                spans = (spans or []) + found
        return spans


_Node = _Seq | _Site | _Not | _And | _Or


def _compile(node: Node, fuzzy: bool) -> _Node:
    if isinstance(node, Word | Phrase | InTitle):
        term = node.term if isinstance(node, InTitle) else node
        budgets = tuple(fz.edit_budget(w) if fuzzy else 0 for w in term.tokens)
        fields: tuple[Field, ...] = ("title",) if isinstance(node, InTitle) else _FIELDS
        return _Seq(term.tokens, budgets, fields, to_canonical(node))
    if isinstance(node, Site):
        return _Site(node.domain, node.path)
    if isinstance(node, Not):
        return _Not(_compile(node.child, fuzzy))
    if isinstance(node, And):
        return _And([_compile(c, fuzzy) for c in node.children])
    assert isinstance(node, Or)
    return _Or([_compile(c, fuzzy) for c in node.children])


# ---------------------------------------------------------------------------------------------- anchors

# Anchor kinds: an exact word, a word with 1 or 2 tolerated edits (indexed by delete variants), a domain.
_EXACT, _FUZZY1, _FUZZY2, _DOMAIN = range(4)
Anchor = tuple[int, str]


def _word_cost(word: str) -> float:
    # No document frequencies at compile time: long words are rarer than short ones, stop words and
    # elided articles are everywhere.
    if word in fz.STOP_WORDS or word.endswith("'") or len(word) <= 2:
        return 50.0
    return 1.0 + max(0, 8 - len(word))


def _anchors(node: _Node) -> tuple[list[Anchor], float] | None:
    """Keys of which an item must contain at least one for ``node`` to match, with their cost."""
    if isinstance(node, _Seq):
        options = [
            (_word_cost(w) * (1 if k == 0 else 4), [(k, w)]) for w, k in zip(node.words, node.budgets, strict=True)
        ]
        cost, best = min(options, key=lambda o: o[0])
        return best, cost
    if isinstance(node, _Site):
        return [(_DOMAIN, node.domain)], 2.0
    if isinstance(node, _Not):
        return None
    if isinstance(node, _And):
        found = [a for a in (_anchors(c) for c in node.children) if a is not None]
        return min(found, key=lambda a: a[1]) if found else None
    assert isinstance(node, _Or)
    keys: list[Anchor] = []
    total = 0.0
    for child in node.children:
        a = _anchors(child)
        if a is None:
            return None
        keys.extend(a[0])
        total += a[1]
    return keys, total


# ---------------------------------------------------------------------------------------------- matcher


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: WatchSpec
    root: _Node
    languages: frozenset[str]


class IndexedMatcher:
    """All watches of a poll compiled into one inverted index on their anchors."""

    def __init__(self, watches: Sequence[WatchSpec]):
        self.watches: list[_Compiled] = []
        #: Watches whose query could not be parsed, by id; the others still match.
        self.errors: dict[int, QuerySyntaxError] = {}
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._fuzzy: dict[int, dict[str, list[int]]] = {1: defaultdict(list), 2: defaultdict(list)}
        self._domains: dict[str, list[int]] = defaultdict(list)
        self._always: list[int] = []
        self._fuzzy_cache: dict[str, tuple[int, ...]] = {}
        for spec in watches:
            try:
                root = _compile(parse_query(spec.query), spec.fuzzy)
            except QuerySyntaxError as exc:
                self.errors[spec.id] = exc
                continue
            idx = len(self.watches)
            langs = frozenset(_primary_language(lang) for lang in spec.languages if lang.strip())
            self.watches.append(_Compiled(spec, root, langs))
            self._register(idx, _anchors(root))
        self._exact = dict(self._exact)
        self._domains = dict(self._domains)
        self._fuzzy = {k: dict(v) for k, v in self._fuzzy.items() if v}
        # Only item words whose length is within k of a fuzzy anchor's can be k edits from it.
        self._fuzzy_lengths = {
            k: (min(map(len, index)), max(map(len, index)) + 2 * k) for k, index in self._fuzzy.items()
        }

    def _register(self, idx: int, anchors: tuple[list[Anchor], float] | None) -> None:
        if anchors is None:
            self._always.append(idx)
            return
        for kind, key in anchors[0]:
            if kind == _EXACT:
                self._exact[key].append(idx)
            elif kind == _DOMAIN:
                self._domains[key].append(idx)
            else:
                for variant in fz.deletes(key, kind):
                    self._fuzzy[kind][variant].append(idx)

    def _fuzzy_hits(self, word: str) -> tuple[int, ...]:
        """Watches with a fuzzy anchor within reach of ``word``; cached, as item vocabularies repeat."""
        found: set[int] = set()
        for k, index in self._fuzzy.items():
            shortest, longest = self._fuzzy_lengths[k]
            if shortest <= len(word) <= longest:
                for variant in index.keys() & fz.deletes(word, k):
                    found.update(index[variant])
        if len(self._fuzzy_cache) > 500_000:
            self._fuzzy_cache.clear()  # bound memory on a long-running daemon
        hits = self._fuzzy_cache[word] = tuple(found)
        return hits

    def candidates(self, doc: _Doc) -> list[int]:
        vocab = doc.vocab("title") | doc.vocab("text")
        found: set[int] = set(self._always)
        exact = self._exact
        for word in exact.keys() & vocab:  # iterates over the smaller side
            found.update(exact[word])
        if self._domains:
            parts = _host(doc.item.url).split(".")
            for i in range(len(parts)):
                found.update(self._domains.get(".".join(parts[i:]), ()))
        if self._fuzzy:
            cache = self._fuzzy_cache
            for word in vocab:
                hits = cache.get(word)
                if hits is None:
                    hits = self._fuzzy_hits(word)
                if hits:
                    found.update(hits)
        return sorted(found)

    def match(self, item: MatchItem) -> list[Match]:
        doc = _Doc(item)
        lang = _primary_language(item.language) if item.language else None
        out = []
        for idx in self.candidates(doc):
            compiled = self.watches[idx]
            # Items too short for language detection (language None) are kept.
            if compiled.languages and lang and lang not in compiled.languages:
                continue
            hits = compiled.root.eval(doc)
            if hits is not None:
                out.append(Match(compiled.spec.id, _spans(doc, hits)))
        return out


def _spans(doc: _Doc, hits: Hits) -> tuple[Span, ...]:
    spans = set()
    for field, p, n, label, is_fuzzy in hits:
        sc = doc.scans[field]
        spans.add(Span(field, sc.starts[p], sc.ends[p + n - 1], label, is_fuzzy))
    return tuple(sorted(spans, key=lambda s: (s.field != "title", s.start, s.end, s.term)))


def compile_matcher(watches: Iterable[WatchSpec]) -> IndexedMatcher:
    """Compile every watch once per poll into one matcher; invalid queries are listed in ``.errors``."""
    return IndexedMatcher(list(watches))
