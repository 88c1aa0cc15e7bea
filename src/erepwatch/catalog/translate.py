"""Our query AST → a provider's search syntax, exact where the provider can say it, broader where it cannot.

A search feed only has to *bring* every item the watch could match: the matcher then narrows. So whatever a
provider cannot express is replaced by something that matches more, never less:

- an unsupported positive term (``site:`` on Hacker News) becomes "anything": ``a site:x`` → ``a``, and an OR
  with an unconstrained side is unconstrained as a whole (dropping one side of an OR would *narrow* it);
- an unsupported exclusion is dropped (``a -b`` → ``a``); ``-(x OR y)`` is rewritten ``-x -y`` (De Morgan), which
  is exact; ``-(x y)`` cannot be said by any provider here and is dropped;
- ``intitle:t`` without support becomes ``t`` (in the title implies somewhere);
- without OR, the query is expanded into its alternatives (disjunctive normal form), one feed each, at most
  :attr:`Dialect.max_queries` of them.

What was widened is reported in words (:attr:`Translation.approximations`), shown by ``source add-search``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

from erepwatch.analyze.query import And, InTitle, Node, Not, Or, Phrase, Site, Word

__all__ = ["Dialect", "Translation", "alternatives", "hashtags", "translate"]


@dataclass(frozen=True, slots=True)
class Dialect:
    """What a provider's search box understands."""

    or_op: str | None = "OR"  # None: no OR, one feed per alternative
    not_prefix: str | None = "-"  # "-" glued to the term, "NOT " before it, None: no exclusion
    site: str | None = "site:"
    intitle: str | None = "intitle:"
    phrases: bool = True
    max_queries: int = 6


@dataclass(frozen=True, slots=True)
class Translation:
    #: the provider's queries; empty when the query leaves the provider nothing to search for.
    queries: tuple[str, ...]
    approximations: tuple[str, ...] = ()


class _Widen:
    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def reduce(self, node: Node) -> Node | None:
        """The node in the dialect, or None for "no constraint"."""
        d = self.d
        if isinstance(node, Word) and node.prefix:
            self.note(f"{node.text}* (a prefix) cannot be searched: searched without it, the matcher applies it")
            return None
        if isinstance(node, Word):
            return node
        if isinstance(node, Phrase):
            if d.phrases:
                return node
            self.note("phrases searched as separate words")
            return And(tuple(Word(t) for t in node.text.split()))
        if isinstance(node, Site):
            if d.site:
                return node
            self.note("site: is not supported: searched without it")
            return None
        if isinstance(node, InTitle):
            if d.intitle:
                term = self.reduce(node.term)
                return InTitle(term) if isinstance(term, Word | Phrase) else term
            self.note("intitle: is not supported: the term is searched anywhere")
            return self.reduce(node.term)
        if isinstance(node, Not):
            return self._exclusion(node.child)
        if isinstance(node, And):
            kids = [k for k in (self.reduce(c) for c in node.children) if k is not None]
            flat: list[Node] = []
            for k in kids:
                flat.extend(k.children if isinstance(k, And) else (k,))
            if all(isinstance(k, Not) for k in flat):
                # Nothing left to look for (``site:x -y`` without site:): providers cannot search exclusions alone.
                return None
            return flat[0] if len(flat) == 1 else And(tuple(flat))
        assert isinstance(node, Or)
        reduced = [self.reduce(c) for c in node.children]
        present = [k for k in reduced if k is not None]
        if len(present) < len(reduced):
            return None
        alternatives: list[Node] = []
        for k in present:
            alternatives.extend(k.children if isinstance(k, Or) else (k,))
        return alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives))

    def _exclusion(self, child: Node) -> Node | None:
        d = self.d
        if d.not_prefix is None:
            self.note("exclusions are not supported: the matcher applies them")
            return None
        if isinstance(child, Word) and child.prefix:
            self.note(f"-{child.text}* (a prefix) cannot be searched: the matcher applies it")
            return None
        if isinstance(child, Or):  # -(x OR y) is exactly -x -y
            kept = [k for k in (self._exclusion(c) for c in child.children) if k is not None]
            return None if not kept else kept[0] if len(kept) == 1 else And(tuple(kept))
        if isinstance(child, And):
            self.note("an excluded group -(a b) cannot be searched: the matcher applies it")
            return None
        if isinstance(child, Phrase) and not d.phrases:
            self.note("an excluded phrase cannot be searched without phrases: the matcher applies it")
            return None
        if isinstance(child, Site) and not d.site:
            self.note("-site: is not supported: the matcher applies it")
            return None
        if isinstance(child, InTitle) and not d.intitle:
            # -t anywhere would exclude more than -intitle:t: drop it instead.
            self.note("-intitle: is not supported: the matcher applies it")
            return None
        return Not(child)


def _dnf(node: Node) -> list[tuple[Node, ...]]:
    if isinstance(node, Or):
        return [conj for child in node.children for conj in _dnf(child)]
    if isinstance(node, And):
        parts = [_dnf(c) for c in node.children]
        return [tuple(x for conj in combo for x in conj) for combo in itertools.product(*parts)]
    return [(node,)]


def _print(node: Node, d: Dialect) -> str:
    if isinstance(node, Word):
        return node.text
    if isinstance(node, Phrase):
        return f'"{node.text}"'
    if isinstance(node, Site):
        return f"{d.site}{node.domain}{node.path}"
    if isinstance(node, InTitle):
        return f"{d.intitle}{_print(node.term, d)}"
    if isinstance(node, Not):
        return f"{d.not_prefix}{_print(node.child, d)}"
    if isinstance(node, Or):
        return f" {d.or_op} ".join(f"({_print(c, d)})" if isinstance(c, And) else _print(c, d) for c in node.children)
    assert isinstance(node, And)
    return " ".join(f"({_print(c, d)})" if isinstance(c, Or) else _print(c, d) for c in node.children)


def _is_positive(conj: tuple[Node, ...]) -> bool:
    return any(not isinstance(n, Not) for n in conj)


def translate(node: Node, dialect: Dialect) -> Translation:
    """The provider queries for a parsed watch query (see the module's rules)."""
    widen = _Widen(dialect)
    reduced = widen.reduce(node)
    if reduced is None:
        widen.note("nothing left to search for with this provider")
        return Translation((), tuple(widen.notes))
    if dialect.or_op is not None:
        return Translation((_print(reduced, dialect),), tuple(widen.notes))
    conjunctions = [c for c in _dnf(reduced) if _is_positive(c)]
    unique = list(dict.fromkeys(" ".join(_print(n, dialect) for n in c) for c in conjunctions))
    if len(unique) > 1:
        widen.note(f"no OR: {len(unique)} alternatives searched one feed each")
    if len(unique) > dialect.max_queries:
        widen.note(f"only the first {dialect.max_queries} of {len(unique)} alternatives are searched")
        unique = unique[: dialect.max_queries]
    return Translation(tuple(unique), tuple(widen.notes))


def alternatives(node: Node) -> list[tuple[Node, ...]]:
    """The positive terms of each alternative of the query (exclusions and site: left to the matcher)."""
    widen = _Widen(replace(Dialect(), site=None, intitle=None, not_prefix=None))
    reduced = widen.reduce(node)
    return [] if reduced is None else [c for c in _dnf(reduced) if c]


_TAG_CHARS = re.compile(r"[^\w]+")


def hashtags(node: Node, limit: int = 6) -> list[str]:
    """One hashtag per alternative of the query: its first word or phrase, squashed (``"Acme Corp"`` → AcmeCorp)."""
    tags: dict[str, str] = {}
    for conj in alternatives(node):
        term = next((n for n in conj if isinstance(n, Word | Phrase) and not getattr(n, "prefix", False)), None)
        if term is None:
            continue
        tag = _TAG_CHARS.sub("", term.text)
        if tag and not tag.isdigit():
            tags.setdefault(tag.casefold(), tag)
    return list(tags.values())[:limit]
