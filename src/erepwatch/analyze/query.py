"""Watch queries: a Google-style language parsed into a small AST, and printed back canonically.

Grammar (``OR`` binds tighter than the implicit AND, as on Google: ``a b OR c`` is ``a (b OR c)``)::

    query    := and_expr END
    and_expr := or_expr { or_expr }                 implicit AND
    or_expr  := unary { ("OR" | "|") unary }        OR must be upper case; "or" is a word
    unary    := "-" primary | primary               "-" glued to the term it excludes
    primary  := WORD | "\"" PHRASE "\"" | "site:" DOMAIN[/PATH] | "intitle:" (WORD | "\"" PHRASE "\"")
              | "(" and_expr ")"

A WORD is any run of characters other than spaces, quotes, parentheses and ``|``; a hyphen inside it
(``coca-cola``) is part of the word, never an exclusion. Words and phrases are compared after
:func:`erepwatch.analyze.textnorm.normalize`, so a word that folds to several words (``coca-cola``,
``l'oréal``) behaves as a phrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from erepwatch.analyze.textnorm import words
from erepwatch.errors import QuerySyntaxError

__all__ = [
    "And",
    "InTitle",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Site",
    "Word",
    "canonical_query",
    "parse_query",
    "to_canonical",
]


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # as the user typed it, shown back by `watch show`
    tokens: tuple[str, ...] = field(default=(), compare=False)  # folded words, see textnorm
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str  # inner whitespace collapsed
    tokens: tuple[str, ...] = field(default=(), compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Site:
    """The item's URL is on ``domain`` or one of its subdomains (and under ``path`` when given)."""

    domain: str
    path: str = ""
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class InTitle:
    term: Word | Phrase
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    column: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    column: int = field(default=0, compare=False)


Node = Union[Word, Phrase, Site, InTitle, Not, And, Or]  # noqa: UP007 - used at runtime in isinstance

# ---------------------------------------------------------------------------------------------- lexer

_DELIMS = frozenset(' \t\n\r\f\v"()|')
_HOST = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*$")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "term", "(", ")", "OR", "-", "END"
    column: int
    node: Node | None = None


def _phrase(query: str, i: int) -> tuple[Phrase, int]:
    """Read a quoted phrase whose opening quote is at ``query[i]``; return it and the index after it."""
    close = query.find('"', i + 1)
    if close < 0:
        raise QuerySyntaxError("unclosed quote", i + 1, query)
    text = " ".join(query[i + 1 : close].split())
    if not text:
        raise QuerySyntaxError("empty phrase", i + 1, query)
    toks = tuple(words(text))
    if not toks:
        raise QuerySyntaxError(f'phrase "{text}" has no letters or digits', i + 1, query)
    return Phrase(text, toks, i + 1), close + 1


def _site(spec: str, column: int, query: str) -> Site:
    if not spec:
        raise QuerySyntaxError("site: needs a domain, e.g. site:example.com", column, query)
    spec = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", spec)
    host, slash, path = spec.partition("/")
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]  # site:www.example.com means the site, as every user expects
    if not _HOST.match(host):
        raise QuerySyntaxError(f"site:{spec} is not a domain name", column, query)
    return Site(host, (slash + path).rstrip("/"), column)


def _lex(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(_Tok(ch, col))
            i += 1
        elif ch == "|":
            toks.append(_Tok("OR", col))
            i += 1
        elif ch == '"':
            phrase, i = _phrase(query, i)
            toks.append(_Tok("term", col, phrase))
        elif ch == "-":
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] in ")|":
                raise QuerySyntaxError("'-' must be followed directly by the term to exclude", col, query)
            toks.append(_Tok("-", col))
            i += 1
        else:
            j = i
            while j < n and query[j] not in _DELIMS and not query[j].isspace():
                j += 1
            word = query[i:j]
            lower = word.lower()
            if word == "OR":
                toks.append(_Tok("OR", col))
            elif lower.startswith("site:"):
                toks.append(_Tok("term", col, _site(word[5:], col, query)))
            elif lower.startswith("intitle:"):
                rest = word[8:]
                if rest:
                    toks.append(_Tok("term", col, InTitle(_word(rest, col + 8, query), col)))
                elif j < n and query[j] == '"':
                    phrase, j = _phrase(query, j)
                    toks.append(_Tok("term", col, InTitle(phrase, col)))
                else:
                    raise QuerySyntaxError("intitle: needs a word or a quoted phrase", col, query)
            else:
                toks.append(_Tok("term", col, _word(word, col, query)))
            i = j
    toks.append(_Tok("END", n + 1))
    return toks


def _word(text: str, column: int, query: str) -> Word:
    toks = tuple(words(text))
    if not toks:
        raise QuerySyntaxError(f"'{text}' has no letters or digits", column, query)
    return Word(text, toks, column)


# --------------------------------------------------------------------------------------------- parser

#: Deepest nesting of parentheses and exclusions accepted. Every stage that walks a query (matcher compile,
#: printing, explanations) recurses on it; no real query comes near, and a deeper one is refused with one line
#: instead of failing later with a RecursionError in every poll.
MAX_DEPTH = 32


class _Parser:
    def __init__(self, query: str):
        self.query = query
        self.toks = _lex(query)
        self.pos = 0
        self.depth = 0

    def deeper(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep (parentheses and exclusions)", tok.column)

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def error(self, problem: str, column: int) -> QuerySyntaxError:
        return QuerySyntaxError(problem, column, self.query)

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise self.error("empty query", 1)
        node = self.and_expr()
        tok = self.peek()
        if tok.kind == ")":
            raise self.error("')' without a matching '('", tok.column)
        assert tok.kind == "END", tok  # and_expr stops only on ")" or END
        return node

    def and_expr(self) -> Node:
        first = self.peek()
        children: list[Node] = []
        while self.peek().kind not in (")", "END"):
            child = self.or_expr()
            children.extend(child.children if isinstance(child, And) else (child,))
        if not children:
            if first.kind == ")":
                raise self.error("')' without a matching '('", first.column)
            raise self.error("expected a term", first.column)
        return children[0] if len(children) == 1 else And(tuple(children), first.column)

    def or_expr(self) -> Node:
        first = self.peek()
        if first.kind == "OR":
            raise self.error("OR needs a term on its left", first.column)
        children = [self.unary()]
        while self.peek().kind == "OR":
            op = self.take()
            if self.peek().kind in ("OR", ")", "END"):
                raise self.error("OR needs a term on its right", op.column)
            child = self.unary()
            children.extend(child.children if isinstance(child, Or) else (child,))
        if len(children) == 1:
            return children[0]
        flat: list[Node] = []
        for c in children:
            flat.extend(c.children if isinstance(c, Or) else (c,))
        return Or(tuple(flat), first.column)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "-":
            self.take()
            if self.peek().kind == "-":
                raise self.error("'-' cannot be doubled", self.peek().column)
            self.deeper(tok)
            node = Not(self.primary(), tok.column)
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "term":
            assert tok.node is not None
            return tok.node
        if tok.kind == "(":
            if self.peek().kind == ")":
                raise self.error("empty parentheses", tok.column)
            self.deeper(tok)
            node = self.and_expr()
            if self.take().kind != ")":
                raise self.error("'(' is never closed", tok.column)
            self.depth -= 1
            return node
        if tok.kind == ")":
            raise self.error("')' without a matching '('", tok.column)
        if tok.kind == "END":
            raise self.error("expected a term at the end of the query", tok.column)
        raise self.error(f"unexpected {tok.kind}", tok.column)


def _is_positive(node: Node) -> bool:
    """Whether the node can only match when something is present (not merely absent)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_is_positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(_is_positive(c) for c in node.children)
    return True


def _check_positive(node: Node, query: str) -> None:
    if _is_positive(node):
        return
    if isinstance(node, Or):
        bad = next(c for c in node.children if not _is_positive(c))
        raise QuerySyntaxError("each side of OR needs a term to look for, not only exclusions", bad.column, query)
    raise QuerySyntaxError("the query needs a term to look for, not only exclusions", node.column, query)


def parse_query(query: str) -> Node:
    """Parse ``query``; raise :class:`QuerySyntaxError` naming the problem and its 1-based column."""
    node = _Parser(query).parse()
    _check_positive(node, query)
    return node


# ------------------------------------------------------------------------------------------- printing


def to_canonical(node: Node) -> str:
    """The query as `watch show` prints it; parsing it again gives an equal AST."""
    if isinstance(node, Word):
        return node.text
    if isinstance(node, Phrase):
        return f'"{node.text}"'
    if isinstance(node, Site):
        return f"site:{node.domain}{node.path}"
    if isinstance(node, InTitle):
        return "intitle:" + to_canonical(node.term)
    if isinstance(node, Not):
        inner = to_canonical(node.child)
        # "--b" does not parse ("-" cannot be doubled): an excluded exclusion keeps its parentheses.
        return f"-({inner})" if isinstance(node.child, And | Or | Not) else f"-{inner}"
    if isinstance(node, Or):
        return " OR ".join(f"({to_canonical(c)})" if isinstance(c, And) else to_canonical(c) for c in node.children)
    # An OR inside an AND needs no parentheses (OR binds tighter) but readers expect them.
    return " ".join(f"({to_canonical(c)})" if isinstance(c, Or) else to_canonical(c) for c in node.children)


def canonical_query(query: str) -> str:
    return to_canonical(parse_query(query))
