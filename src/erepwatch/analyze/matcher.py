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
from erepwatch.analyze.textnorm import Token, tokens, words
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


class _Doc:
    """One item as the evaluator sees it; tokens with offsets are computed only when a watch needs them."""

    __slots__ = ("_fuzzy_cache", "_index", "_tokens", "_vocab", "item", "words")

    def __init__(self, item: MatchItem):
        self.item = item
        self.words: dict[Field, list[str]] = {"title": words(item.title), "text": words(item.text)}
        self._tokens: dict[Field, list[Token]] = {}
        self._index: dict[Field, dict[str, list[int]]] = {}
        self._vocab: dict[Field, list[str]] = {}
        self._fuzzy_cache: dict[tuple[Field, str, int], list[str]] = {}

    def tokens(self, field: Field) -> list[Token]:
        if field not in self._tokens:
            self._tokens[field] = tokens(self.item.title if field == "title" else self.item.text)
        return self._tokens[field]

    def positions(self, field: Field) -> dict[str, list[int]]:
        if field not in self._index:
            index: dict[str, list[int]] = defaultdict(list)
            for i, tok in enumerate(self.tokens(field)):
                index[tok.text].append(i)
            self._index[field] = dict(index)
        return self._index[field]

    def near(self, field: Field, word: str, k: int) -> list[str]:
        """Distinct words of ``field`` within ``k`` edits of ``word`` (including itself)."""
        key = (field, word, k)
        if key not in self._fuzzy_cache:
            if field not in self._vocab:
                self._vocab[field] = list(self.positions(field))
            found = process.extract(word, self._vocab[field], scorer=Levenshtein.distance, score_cutoff=k, limit=None)
            self._fuzzy_cache[key] = [choice for choice, _, _ in found]
        return self._fuzzy_cache[key]


# ------------------------------------------------------------------------------------- compiled query

Spans = list[Span]


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

    def eval(self, doc: _Doc) -> Spans | None:
        spans: Spans = []
        first, k0 = self.words[0], self.budgets[0]
        n = len(self.words)
        for field in self.fields:
            positions = doc.positions(field)
            starts = [p for w in doc.near(field, first, k0) for p in positions[w]] if k0 else positions.get(first, [])
            if not starts:
                continue
            toks = doc.tokens(field)
            found = 0
            for p in sorted(starts):
                if p + n > len(toks):
                    continue
                exact = toks[p].text == first
                for i in range(1, n):
                    same = self._same(i, toks[p + i].text)
                    if same is None:
                        break
                    exact = exact and same
                else:
                    spans.append(Span(field, toks[p].start, toks[p + n - 1].end, self.label, not exact))
                    found += 1
                    if found >= MAX_SPANS_PER_TERM:
                        break
        return spans or None


class _Site:
    __slots__ = ("domain", "path")

    def __init__(self, domain: str, path: str):
        self.domain = domain
        self.path = path

    def eval(self, doc: _Doc) -> Spans | None:
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

    def eval(self, doc: _Doc) -> Spans | None:
        return None if self.child.eval(doc) is not None else []


class _And:
    __slots__ = ("children",)

    def __init__(self, children: list[_Node]):
        # Exclusions and site: checks are cheap and often decisive: run them first.
        self.children = sorted(children, key=lambda c: 0 if isinstance(c, _Site) else 1)

    def eval(self, doc: _Doc) -> Spans | None:
        spans: Spans = []
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

    def eval(self, doc: _Doc) -> Spans | None:
        # Every branch is evaluated so that the mention explains all the terms that matched.
        spans: Spans | None = None
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
        self._deletes_cache: dict[tuple[str, int], set[str]] = {}
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

    def _item_deletes(self, word: str, k: int) -> set[str]:
        key = (word, k)
        found = self._deletes_cache.get(key)
        if found is None:
            if len(self._deletes_cache) > 200_000:
                self._deletes_cache.clear()  # bound memory on a long-running daemon
            found = self._deletes_cache[key] = fz.deletes(word, k)
        return found

    def candidates(self, doc: _Doc) -> list[int]:
        vocab = set(doc.words["title"])
        vocab.update(doc.words["text"])
        found: set[int] = set(self._always)
        exact = self._exact
        for word in vocab.intersection(exact):
            found.update(exact[word])
        if self._domains:
            host = _host(doc.item.url)
            parts = host.split(".")
            for i in range(len(parts)):
                found.update(self._domains.get(".".join(parts[i:]), ()))
        for k, index in self._fuzzy.items():
            # A word k edits from a query word of 5+ (k=1) or 9+ (k=2) letters has at least 5+-k letters.
            shortest = 4 if k == 1 else 7
            variants: set[str] = set()
            for word in vocab:
                if len(word) >= shortest:
                    variants |= self._item_deletes(word, k)
            for variant in variants.intersection(index):
                found.update(index[variant])
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
            spans = compiled.root.eval(doc)
            if spans is not None:
                unique = sorted(set(spans), key=lambda s: (s.field != "title", s.start, s.end, s.term))
                out.append(Match(compiled.spec.id, tuple(unique)))
        return out


def compile_matcher(watches: Iterable[WatchSpec]) -> IndexedMatcher:
    """Compile every watch once per poll into one matcher; invalid queries are listed in ``.errors``."""
    return IndexedMatcher(list(watches))
