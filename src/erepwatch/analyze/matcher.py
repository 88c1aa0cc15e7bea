"""Matching watches against items: the interface the pipeline relies on, and the indexed matcher.

The pipeline only knows :func:`compile_matcher`, :class:`WatchSpec`, :class:`MatchItem` and
:class:`Match`. Behind them, every watch's query is parsed once per poll (:mod:`.query`) and indexed on
the words it cannot match without ("anchors"): for an item, a set intersection between its words and the
index yields the few candidate watches, and only those are evaluated in full. The cost per item then
depends on the item's length and on the number of candidates, hardly on the number of watches.

What keeps it so at 10,000 watches (issue #3, item 8; ``benchmarks/bench_matcher.py``):

* equal terms of different watches are one object (:class:`_Builder`), evaluated once per item;
* a single word, the most common watch, matches by one set lookup (:class:`_Word`); positions are looked
  up only for the spans of watches that matched;
* fuzzy words are found through :class:`fuzzy.NearIndex` (delete variants, verified), a few dictionary
  probes per distinct item word whatever the number of fuzzy watches;
* an item's words are probed once against the set of all term words; the anchors, the phrases' words
  and the positions worth indexing are then looked for among the few found;
* a phrase is rejected by a subset test when one of its words is missing, and otherwise walked from its
  rarest word;
* what a match produces (:class:`Match`, :class:`Span`) is a named tuple, built in C: at 10,000 watches
  an item of the benchmark makes a dozen matches and thirty spans.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import compress, count
from typing import Literal, NamedTuple, Protocol
from urllib.parse import urlsplit

from ahocorasick_rs import AhoCorasick

from erepwatch.analyze.fuzzy import STOP_WORDS, NearIndex, edit_budget, within
from erepwatch.analyze.query import (
    MIN_PREFIX,
    And,
    InTitle,
    Node,
    Not,
    Or,
    Phrase,
    Site,
    Word,
    parse_query,
    to_canonical,
)
from erepwatch.analyze.query import canonical_query as canonical_query
from erepwatch.analyze.textnorm import Folded, Scan, fold, scan
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
#: Anchor words past which :meth:`IndexedMatcher.could_match` does not look (they are found in one pass over the item's
#: text, but with thousands of them nearly every item holds one, and each occurrence is looked at in Python: at
#: 10,000 watches the scan and the index are cheaper).
MAX_SUBSTRING_TESTS = 64


@dataclass(frozen=True, slots=True)
class WatchSpec:
    id: int
    name: str
    query: str
    languages: frozenset[str] = frozenset()
    fuzzy: bool = False

    @classmethod
    def of(cls, watch: WatchFields) -> WatchSpec:
        """The matcher's view of a stored watch (any object with these attributes, e.g. the ORM row)."""
        return cls(
            id=watch.id,
            name=watch.name,
            query=watch.query,
            languages=frozenset(watch.languages or ()),
            fuzzy=bool(watch.fuzzy),
        )


class WatchFields(Protocol):
    """What :meth:`WatchSpec.of` reads of a watch; analysis never imports the storage models."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def query(self) -> str: ...
    @property
    def languages(self) -> Sequence[str] | None: ...
    @property
    def fuzzy(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class MatchItem:
    """What a matcher sees of an item: plain text, already stripped of HTML.

    ``scans``: ``(scan(title), scan(text))`` when the caller made them (:meth:`scanned`), so that the matcher, the
    mention's window, tags, sentiment and clustering all read one scan of the item; computed here otherwise.
    """

    title: str
    text: str
    url: str | None = None
    language: str | None = None
    scans: tuple[Scan, Scan] | None = None

    @classmethod
    def scanned(
        cls,
        title: str,
        text: str,
        url: str | None = None,
        language: str | None = None,
        folds: tuple[Folded, Folded] | None = None,
    ) -> MatchItem:
        """The item with its title and text scanned once, for every stage that reads its words (``folds``: the
        fields' :func:`~erepwatch.analyze.textnorm.fold_with_offsets`, when the caller has them)."""
        title_fold, text_fold = folds if folds is not None else (None, None)
        return cls(title, text, url, language, (scan(title, title_fold), scan(text, text_fold)))

    def title_scan(self) -> Scan:
        return self.scans[0] if self.scans is not None else scan(self.title)

    def text_scan(self) -> Scan:
        return self.scans[1] if self.scans is not None else scan(self.text)


class Span(NamedTuple):
    """Where a term matched: offsets into ``MatchItem.title`` or ``MatchItem.text``.

    A named tuple, not a dataclass: a large poll makes dozens of spans per item, and a tuple is built
    in C (``tuple.__new__``), sorted and compared in C.
    """

    field: Field
    start: int
    end: int
    term: str
    fuzzy: bool = False


class Match(NamedTuple):
    """A watch that matched an item, and the spans that explain it (title first, then by offset)."""

    watch_id: int
    spans: tuple[Span, ...]


class Matcher(Protocol):
    def match(self, item: MatchItem) -> list[Match]: ...

    def could_match(
        self, title: str, text: str, url: str | None, *, folds: tuple[Folded, Folded] | None = None
    ) -> bool: ...


_SURROGATE = re.compile("[\ud800-\udfff]")


def _found_as_word(finder: AhoCorasick, whole: Sequence[bool], folded: str) -> bool:
    """Whether one of the folded words ``finder`` looks for is somewhere in ``folded`` with no letter or digit just
    before it (a scan's words start after a space, a sign or an apostrophe) and, when ``whole[i]``, none just after it
    (a word ends at one, or before an apostrophe; an elision such as "l'" is followed by its word, and is never
    asked to be whole). True whenever :func:`scan` would give one of them as a word (or the start of one, not
    ``whole``); it may also be True where it would not ("hui" after "aujourd'"), never the reverse."""
    n = len(folded)
    try:
        found = finder.find_matches_as_indexes(folded, overlapping=True)
    except UnicodeEncodeError:
        # The automaton reads UTF-8, which has no lone surrogate. Stored text never holds one (ingest.items makes
        # every field valid), but a caller's text may: each becomes U+FFFD, one character for one, so the offsets
        # are the text's own, and neither is a letter or a digit.
        found = finder.find_matches_as_indexes(_SURROGATE.sub("\ufffd", folded), overlapping=True)
    for i, start, end in found:
        if (start == 0 or not folded[start - 1].isalnum()) and (not whole[i] or end == n or not folded[end].isalnum()):
            return True
    return False


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


_EMPTY: list[int] = []
_UNSEEN: list[_TermHit] = []
_NO_SPANS: tuple[Span, ...] = ()


class _ItemView:
    """One item as the evaluator sees it.

    Both fields are scanned once (folded words and their offsets). The rest is computed on demand and
    kept: each field's word positions (when a candidate first needs them), each term's hits and spans.
    Terms are shared between watches (see :class:`_Builder`), so a term used by many watches (an
    exclusion, "avis OR review", a brand followed by several clients) costs once per item.
    """

    __slots__ = (
        "_all_vocab",
        "_fuzzy_positions",
        "_host",
        "_index",
        "_near",
        "_vocab",
        "hits",
        "item",
        "present",
        "present_in",
        "scans",
        "spans",
        "words",
    )

    def __init__(
        self,
        item: MatchItem,
        term_words: frozenset[str],
        near: Callable[[set[str]], dict[str, list[str]]] | None = None,
        *,
        every_word: bool = False,
    ):
        """``every_word``: the matcher reads all of the item's words anyway (a prefix anchor, a fuzzy word)."""
        self.item = item
        self.scans: dict[Field, Scan] = {"title": item.title_scan(), "text": item.text_scan()}
        self.words: dict[Field, list[str]] = {f: sc.words for f, sc in self.scans.items()}
        #: Per field, the item's words that some term of the matcher has: every word a term looks for as it is
        #: (its exact words, a single word's) is one of them, so a field's test reads this small set. Picked out in
        #: C from the field's words, where a set of all of them (a long text's thousand words) cost more.
        #: Every word of each field, and of both, made when a prefix or a fuzzy term needs them.
        self._vocab: dict[Field, set[str]] = {}
        self._all_vocab: set[str] | None = None
        if every_word:
            self._vocab = {f: set(ws) for f, ws in self.words.items()}
            self.present_in: dict[Field, frozenset[str]] = {f: term_words & v for f, v in self._vocab.items()}
        else:
            self.present_in = {f: term_words.intersection(ws) for f, ws in self.words.items()}
        #: The item's words that some term has, in either field: the anchors are among them, and only their
        #: positions (and those of the words near a fuzzy one) are ever looked up.
        self.present = self.present_in["title"] | self.present_in["text"]
        #: Fuzzy query word -> the item's words within its typo budget (see :class:`fuzzy.NearIndex`).
        self._near = near(self.all_vocab()) if near is not None else {}
        self._index: dict[Field, dict[str, list[int]]] = {}
        self._fuzzy_positions: dict[tuple[Field, str], list[int]] = {}
        self._host: str | None = None
        #: Per term: its hits (None when absent), and its spans in a Match's order.
        self.hits: dict[_Term, list[_TermHit] | None] = {}
        self.spans: dict[_Term, tuple[Span, ...]] = {}

    def vocab(self, field: Field) -> set[str]:
        found = self._vocab.get(field)
        if found is None:
            found = self._vocab[field] = set(self.words[field])
        return found

    def all_vocab(self) -> set[str]:
        if self._all_vocab is None:
            self._all_vocab = self.vocab("title") | self.vocab("text")
        return self._all_vocab

    def host(self) -> str:
        if self._host is None:
            self._host = _host(self.item.url)
        return self._host

    def positions(self, field: Field, word: str) -> list[int]:
        index = self._index.get(field)
        if index is None:
            index = self._index[field] = self._positions_index(field)
        return index.get(word, _EMPTY)

    def _positions_index(self, field: Field) -> dict[str, list[int]]:
        # One pass over the field's words for all the lookups of a large poll's candidates (list.index
        # would scan the text once per word), and only over the words some term has: most of an item's
        # words are not, and picking out the others runs in C.
        words_ = self.words[field]
        known = self.present.union(*self._near.values())
        index: dict[str, list[int]] = {}
        for i in compress(count(), map(known.__contains__, words_)):
            w = words_[i]
            found = index.get(w)
            if found is None:
                index[w] = [i]
            else:
                found.append(i)
        return index

    def fuzzy_positions(self, field: Field, word: str) -> list[int]:
        """Positions in ``field`` of the words within the typo budget of the query word ``word``."""
        key = (field, word)
        found = self._fuzzy_positions.get(key)
        if found is None:
            vocab = self.vocab(field)
            near = [w for w in self._near.get(word, ()) if w in vocab]
            found = self._fuzzy_positions[key] = sorted(p for w in near for p in self.positions(field, w))
        return found

    def term_spans(self, term: _Term) -> tuple[Span, ...]:
        """The term's spans, title first then by offset: the order of a Match's spans."""
        found = self.spans.get(term)
        if found is None:
            found = self.spans[term] = term.spans(self)
        return found


# ------------------------------------------------------------------------------------- compiled query

# A hit before it becomes a Span: field, first word index, number of words, term label, fuzzy.
_TermHit = tuple[Field, int, int, str, bool]
#: What a node evaluates to: None when it does not match, else the terms whose hits explain the match.
MatchedTerms = Sequence["_Term"]


class _Term:
    """A word or phrase: consecutive folded words, each with its typo budget, in one or both fields.

    Interned per matcher (see :class:`_Builder`): equal terms of different watches are one object, whose
    hits each item keeps.
    """

    __slots__ = ("_exact", "_self", "_slice", "budgets", "fields", "label", "words")

    def __init__(self, words_: tuple[str, ...], budgets: tuple[int, ...], fields: tuple[Field, ...], label: str):
        self.words = words_
        self.budgets = budgets
        self.fields = fields
        self.label = label
        self._self: MatchedTerms = (self,)
        # Words that must be in a field, as they are, for the term to be there: a subset test in C
        # rejects most candidate phrases before any position is looked up.
        self._exact = frozenset(w for w, k in zip(words_, budgets, strict=True) if not k)
        # What a slice of the item's words equals where the phrase is, when no word tolerates a typo.
        self._slice = None if any(budgets) else list(words_)

    def _same(self, i: int, candidate: str) -> bool | None:
        """True for an exact word, False for a tolerated typo, None for no match."""
        wanted = self.words[i]
        if candidate == wanted:
            return True
        k = self.budgets[i]
        if k and within(wanted, candidate, k):
            return False
        return None

    def spans(self, doc: _ItemView) -> tuple[Span, ...]:
        hits = doc.hits[self] if self in doc.hits else self._hits(doc)
        if not hits:
            return _NO_SPANS
        new, out = tuple.__new__, []
        for field, p, n, label, is_fuzzy in hits:
            sc = doc.scans[field]
            out.append(new(Span, (field, sc.starts[p], sc.ends[p + n - 1], label, is_fuzzy)))
        return tuple(out)

    def eval(self, doc: _ItemView) -> MatchedTerms | None:
        memo = doc.hits
        hits = memo.get(self, _UNSEEN)
        if hits is _UNSEEN:
            hits = memo[self] = self._hits(doc)
        return self._self if hits is not None else None

    def _hits(self, doc: _ItemView) -> list[_TermHit] | None:
        # A candidate phrase most often lacks one of its words: one subset test against the item's few
        # known words rejects it before any field is looked at.
        if not self._exact <= doc.present:
            return None
        hits: list[_TermHit] = []
        words_, budgets, label = self.words, self.budgets, self.label
        n = len(words_)
        for field in self.fields:
            if not self._exact <= doc.present_in[field]:  # its exact words are term words
                continue
            if n == 1:  # the most common term by far
                if budgets[0]:
                    first, ws = words_[0], doc.words[field]
                    hits.extend(
                        (field, p, 1, label, ws[p] != first)
                        for p in doc.fuzzy_positions(field, first)[:MAX_SPANS_PER_TERM]
                    )
                else:
                    hits.extend(
                        (field, p, 1, label, False) for p in doc.positions(field, words_[0])[:MAX_SPANS_PER_TERM]
                    )
                continue
            # A phrase: walk the positions of its rarest word ("the" in "The Baton" is everywhere).
            pivot, starts = 0, _EMPTY
            for j in range(n):
                found = doc.fuzzy_positions(field, words_[j]) if budgets[j] else doc.positions(field, words_[j])
                if not found:
                    starts = _EMPTY
                    break
                if j == 0 or len(found) < len(starts):
                    pivot, starts = j, found
            ws = doc.words[field]
            last = len(ws) - n
            count = 0
            wanted = self._slice
            if wanted is not None:  # one comparison in C
                for q in starts:
                    p = q - pivot
                    if 0 <= p <= last and ws[p : p + n] == wanted:
                        hits.append((field, p, n, label, False))
                        count += 1
                        if count >= MAX_SPANS_PER_TERM:
                            break
                continue
            for q in starts:
                p = q - pivot
                if p < 0 or p > last:
                    continue
                exact = True
                for i in range(n):
                    same = self._same(i, ws[p + i])
                    if same is None:
                        break
                    exact = exact and same
                else:
                    hits.append((field, p, n, label, not exact))
                    count += 1
                    if count >= MAX_SPANS_PER_TERM:
                        break
        return hits or None


class _Word(_Term):
    """One word, no typo: by far the most common term, so it has its own shortcut.

    Whether it matches is one set lookup; its positions are looked for only when a watch matched and
    its spans are needed.
    """

    __slots__ = ("_title_only",)

    def __init__(self, word: str, fields: tuple[Field, ...], label: str):
        super().__init__((word,), (0,), fields, label)
        self._title_only = fields == ("title",)

    def eval(self, doc: _ItemView) -> MatchedTerms | None:
        # The word is a term word: it is in the item's present words wherever it is in the item.
        vocab = doc.present_in["title"] if self._title_only else doc.present
        return self._self if self.words[0] in vocab else None

    def spans(self, doc: _ItemView) -> tuple[Span, ...]:
        word, label, new = self.words[0], self.label, tuple.__new__
        out: list[Span] = []
        for field in self.fields:
            found = doc.positions(field, word)
            if found:
                sc = doc.scans[field]
                starts, ends = sc.starts, sc.ends
                out += [new(Span, (field, starts[p], ends[p], label, False)) for p in found[:MAX_SPANS_PER_TERM]]
        return tuple(out)


class _Prefix(_Term):
    """``lid*``: any word of the field that starts with the folded prefix (no typo tolerance)."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str, fields: tuple[Field, ...], label: str):
        super().__init__((prefix,), (0,), fields, label)
        self._exact = frozenset()  # the prefix itself need not be one of the item's words
        self.prefix = prefix

    def _hits(self, doc: _ItemView) -> list[_TermHit] | None:
        hits: list[_TermHit] = []
        prefix, label = self.prefix, self.label
        for field in self.fields:
            if not any(w.startswith(prefix) for w in doc.vocab(field)):
                continue
            found = [p for p, w in enumerate(doc.words[field]) if w.startswith(prefix)]
            hits.extend((field, p, 1, label, False) for p in found[:MAX_SPANS_PER_TERM])
        return hits or None


class _Site:
    __slots__ = ("domain", "path")

    def __init__(self, domain: str, path: str):
        self.domain = domain
        self.path = path

    def eval(self, doc: _ItemView) -> MatchedTerms | None:
        host = doc.host()
        # The domain itself or a subdomain: "shop.acme.fr" is on acme.fr, "notacme.fr" is not.
        if host != self.domain and not host.endswith("." + self.domain):
            return None
        if self.path:
            path = urlsplit(doc.item.url or "").path
            if not (path == self.path or path.startswith(self.path.rstrip("/") + "/")):
                return None
        return ()


class _Not:
    __slots__ = ("child",)

    def __init__(self, child: _Node):
        self.child = child

    def eval(self, doc: _ItemView) -> MatchedTerms | None:
        return None if self.child.eval(doc) is not None else ()


class _And:
    __slots__ = ("children",)

    def __init__(self, children: list[_Node]):
        # Exclusions and site: checks are cheap and often decisive: run them first.
        self.children = sorted(children, key=lambda c: 0 if isinstance(c, _Site) else 1)

    def eval(self, doc: _ItemView) -> MatchedTerms | None:
        spans: list[_Term] = []
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

    def eval(self, doc: _ItemView) -> MatchedTerms | None:
        # Every branch is evaluated so that the mention explains all the terms that matched.
        spans: list[_Term] | None = None
        for child in self.children:
            found = child.eval(doc)
            if found is not None:
                if spans is None:
                    spans = list(found)
                else:
                    spans.extend(found)
        return spans


_Node = _Term | _Site | _Not | _And | _Or


class _Builder:
    """Compiles query ASTs, interning terms so that equal ones are shared across watches."""

    def __init__(self) -> None:
        self.seqs: dict[tuple[object, ...], _Term] = {}
        self.sites: dict[tuple[str, str], _Site] = {}

    def compile(self, node: Node, fuzzy: bool) -> _Node:
        if isinstance(node, Word | Phrase | InTitle):
            term = node.term if isinstance(node, InTitle) else node
            budgets = tuple(edit_budget(w) if fuzzy else 0 for w in term.tokens)
            fields: tuple[Field, ...] = ("title",) if isinstance(node, InTitle) else _FIELDS
            label = to_canonical(node)
            prefix = isinstance(term, Word) and term.prefix
            key = (term.tokens, budgets, fields, label)
            seq = self.seqs.get(key)
            if seq is None:
                if prefix:
                    seq = _Prefix(term.tokens[0], fields, label)
                elif len(term.tokens) == 1 and not budgets[0]:
                    seq = _Word(term.tokens[0], fields, label)
                else:
                    seq = _Term(term.tokens, budgets, fields, label)
                self.seqs[key] = seq
            return seq
        if isinstance(node, Site):
            site = self.sites.get((node.domain, node.path))
            if site is None:
                site = self.sites[(node.domain, node.path)] = _Site(node.domain, node.path)
            return site
        if isinstance(node, Not):
            return _Not(self.compile(node.child, fuzzy))
        if isinstance(node, And):
            return _And([self.compile(c, fuzzy) for c in node.children])
        assert isinstance(node, Or)
        return _Or([self.compile(c, fuzzy) for c in node.children])

    def fuzzy_words(self) -> set[str]:
        """Every query word with a typo budget (a phrase's first word is looked up by it)."""
        return {w for seq in self.seqs.values() for w, k in zip(seq.words, seq.budgets, strict=True) if k}

    def term_words(self) -> frozenset[str]:
        """Every word some term looks for as it is (a prefix is not a word of the item)."""
        return frozenset(w for seq in self.seqs.values() if not isinstance(seq, _Prefix) for w in seq.words)


# ---------------------------------------------------------------------------------------------- anchors

# Anchor kinds: an exact word, a word with a typo budget (found through the NearIndex), a domain, a prefix
# (indexed by its first MIN_PREFIX letters).
_EXACT, _FUZZY, _DOMAIN, _PREFIX = range(4)
Anchor = tuple[int, str]


def _word_cost(word: str) -> float:
    # No document frequencies at compile time: long words are rarer than short ones, stop words and
    # elided articles are everywhere.
    if word in STOP_WORDS or word.endswith("'") or len(word) <= 2:
        return 50.0
    return 1.0 + max(0, 8 - len(word))


def _anchors(node: _Node) -> tuple[list[Anchor], float] | None:
    """Keys of which an item must contain at least one for ``node`` to match, with their cost."""
    if isinstance(node, _Prefix):
        return [(_PREFIX, node.prefix[:MIN_PREFIX])], _word_cost(node.prefix) + 2.0
    if isinstance(node, _Term):
        options = [
            (_word_cost(w) * (1 if k == 0 else 4), [(_FUZZY if k else _EXACT, w)])
            for w, k in zip(node.words, node.budgets, strict=True)
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
        exact: dict[str, list[int]] = defaultdict(list)
        fuzzy: dict[str, list[int]] = defaultdict(list)
        domains: dict[str, list[int]] = defaultdict(list)
        prefixes: dict[str, list[int]] = defaultdict(list)
        self._always: list[int] = []
        builder = _Builder()
        for spec in watches:
            try:
                root = builder.compile(parse_query(spec.query), spec.fuzzy)
            except QuerySyntaxError as exc:
                self.errors[spec.id] = exc
                continue
            except (RecursionError, MemoryError, ValueError) as exc:
                # A stored query this version cannot compile is that watch's problem, never the poll's.
                self.errors[spec.id] = QuerySyntaxError(f"cannot be compiled ({type(exc).__name__})", 1, spec.query)
                continue
            idx = len(self.watches)
            langs = frozenset(_primary_language(lang) for lang in spec.languages if lang.strip())
            self.watches.append(_Compiled(spec, root, langs))
            anchors = _anchors(root)
            if anchors is None:
                self._always.append(idx)
                continue
            for kind, key in anchors[0]:
                {_EXACT: exact, _FUZZY: fuzzy, _DOMAIN: domains, _PREFIX: prefixes}[kind][key].append(idx)
        # Tuples, not lists: the collector stops tracking them, and a large matcher is many objects that
        # every full collection of a long poll would otherwise walk.
        self._exact = {key: tuple(ids) for key, ids in exact.items()}
        self._fuzzy = {key: tuple(ids) for key, ids in fuzzy.items()}
        self._domains = {key: tuple(ids) for key, ids in domains.items()}
        self._prefixes = {key: tuple(ids) for key, ids in prefixes.items()}
        # Every word of every term. An item's words are probed against this set once (a set keeps each
        # key's hash beside it, a dict of str keys does not, so a probe reads no key that is not there);
        # the anchors and the positions worth indexing are then looked for among the few found.
        self._term_words = builder.term_words()
        self._near = NearIndex.shared(builder.fuzzy_words())
        self._plan = [(c.spec.id, c.root, c.languages) for c in self.watches]
        # The words (and prefixes) every watch needs one of, for :meth:`could_match`; None when that test could not
        # say no (a watch needs no word, or tolerates typos) or would cost more than the scan it saves.
        needed = [*self._exact, *self._prefixes]
        self._needed: tuple[str, ...] | None = (
            tuple(needed) if not self._always and not self._fuzzy and len(needed) <= MAX_SUBSTRING_TESTS else None
        )
        self._needed_prefixes = frozenset(self._prefixes)
        #: The needed words found all at once, every occurrence of each (overlapping ones too), in one pass over a text:
        #: twenty substring searches of a long article cost five times more.
        self._needed_finder = AhoCorasick(self._needed) if self._needed else None
        #: per needed word, whether it must end a word (a prefix need not, nor an elision such as "l'")
        self._needed_whole = tuple(w not in self._needed_prefixes and w[-1] != "'" for w in self._needed or ())

    def _doc(self, item: MatchItem) -> _ItemView:
        """The item scanned, with the fuzzy query words its words come near to."""
        return _ItemView(
            item,
            self._term_words,
            self._near.near_many if self._near else None,
            every_word=bool(self._prefixes) or bool(self._near),
        )

    def candidates(self, doc: _ItemView) -> list[int]:
        found: set[int] = set(self._always)
        exact = self._exact
        # All in C: the intersection iterates over the smaller side, map and update need no Python loop.
        found.update(*map(exact.__getitem__, exact.keys() & doc.present))
        if self._domains:
            parts = doc.host().split(".")
            for i in range(len(parts)):
                found.update(self._domains.get(".".join(parts[i:]), ()))
        if self._fuzzy:
            fuzzy = self._fuzzy
            found.update(*map(fuzzy.__getitem__, fuzzy.keys() & doc._near.keys()))
        if self._prefixes:
            prefixes = self._prefixes
            starts = {w[:MIN_PREFIX] for w in doc.all_vocab()}
            found.update(*map(prefixes.__getitem__, prefixes.keys() & starts))
        return sorted(found)

    def could_match(
        self, title: str, text: str, url: str | None, *, folds: tuple[Folded, Folded] | None = None
    ) -> bool:
        """False when no watch can match an item with this title, text and link, told without scanning it: an item's
        words are pieces of its folded text, so when no word a watch needs (its anchors) is even a substring of the
        folded title or text, and the link is on no watched site, no watch is a candidate. Most items of a poll are
        told so at a third of the cost of a scan (issue 17: the scan is the matcher's cost, and nothing else reads
        the words of an item no watch matched). True whenever unsure. ``folds``: the fields' folds when the caller has
        them (a poll then scans the item from them, see :meth:`MatchItem.scanned`)."""
        needed = self._needed
        if needed is None:
            return True
        if self._domains:
            parts = _host(url).split(".")
            if any(".".join(parts[i:]) in self._domains for i in range(len(parts))):
                return True
        finder = self._needed_finder
        if finder is None:
            return False
        whole = self._needed_whole
        # Found as a substring ("free" in "freedom"): a candidate only if it is found where a scan would make a word of
        # it (or, for a prefix, start one). Two in three items found so pass; the others are spared their scan.
        if folds is not None:
            return _found_as_word(finder, whole, folds[0].text) or _found_as_word(finder, whole, folds[1].text)
        return _found_as_word(finder, whole, fold(title)) or _found_as_word(finder, whole, fold(text))

    def match(self, item: MatchItem) -> list[Match]:
        doc = self._doc(item)
        lang = _primary_language(item.language) if item.language else None
        out: list[Match] = []
        watches, new = self._plan, tuple.__new__
        for idx in self.candidates(doc):
            watch_id, root, languages = watches[idx]
            # Items too short for language detection (language None) are kept.
            if languages and lang and lang not in languages:
                continue
            terms = root.eval(doc)
            if terms is not None:
                out.append(new(Match, (watch_id, _spans(doc, terms))))
        return out


def _spans(doc: _ItemView, terms: MatchedTerms) -> tuple[Span, ...]:
    if len(terms) == 1:  # a bare term, often followed by several watches: its spans are made once per item
        return doc.term_spans(terms[0])
    spans: list[Span] = []
    for term in dict.fromkeys(terms):  # a term may be named twice: "a OR (a b)"
        spans.extend(doc.term_spans(term))
    # Title spans first, then text spans, each by offset: in the natural order of the tuples "text" comes
    # before "title", so sort (in C) and move the title spans to the front.
    spans.sort()
    split = bisect_left(spans, _TITLE)
    return (*spans[split:], *spans[:split])


_TITLE = ("title",)


def compile_matcher(watches: Iterable[WatchSpec]) -> IndexedMatcher:
    """Compile every watch once per poll into one matcher; invalid queries are listed in ``.errors``."""
    return IndexedMatcher(list(watches))
