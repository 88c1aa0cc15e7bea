"""Watch queries: a Google-style language parsed into a small AST, and printed back canonically.

Grammar (``OR`` binds tighter than the implicit AND, as on Google: ``a b OR c`` is ``a (b OR c)``)::

    query    := and_expr END
    and_expr := or_expr { ["AND"] or_expr }         implicit AND; AND (upper case) may be written
    or_expr  := unary { ("OR" | "|") unary }        OR must be upper case; "or" is a word
    unary    := "-" primary | "NOT" primary | primary   "-" glued to the term it excludes; NOT before it
    primary  := WORD | WORD "*" | "\"" PHRASE "\"" | "site:" DOMAIN[/PATH]
              | "intitle:" (WORD | "\"" PHRASE "\"") | "(" and_expr ")"

A WORD is any run of characters other than spaces, quotes, parentheses and ``|``; a hyphen inside it
(``coca-cola``) is part of the word, never an exclusion. ``AND`` and ``NOT`` in upper case are the operators
users of Talkwalker or Mention type (``Lidl AND Aldi``, ``Lidl NOT grève``); in lower case they are words,
with a warning (:func:`query_warnings`). A trailing ``*`` makes a word a prefix (``lid*`` finds *Lidl*,
*lidar*) and needs at least :data:`MIN_PREFIX` letters before it; a ``*`` anywhere else is refused. What
other tools use as operators and this language does not (``&&``, ``NEAR``, ``inurl:``…) is refused with
its column rather than searched as words. Words and phrases are compared after
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
    "QueryWarning",
    "Site",
    "Word",
    "canonical_query",
    "parse_query",
    "query_warnings",
    "to_canonical",
]


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # as the user typed it (without a trailing "*"), shown back by `watch show`
    tokens: tuple[str, ...] = field(default=(), compare=False)  # folded words, see textnorm
    column: int = field(default=0, compare=False)
    prefix: bool = False  # "lid*": any word that starts with the (folded) token


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
#: Letters a prefix needs before its "*": "li*" would find half the dictionary.
MIN_PREFIX = 3
#: Operators of other search tools that this language does not have: refused, never searched as words.
_FOREIGN_FIELDS = frozenset(
    {
        "inurl",
        "allinurl",
        "intext",
        "allintext",
        "allintitle",
        "inanchor",
        "link",
        "related",
        "filetype",
        "ext",
        "before",
        "after",
        "cache",
        "info",
        "define",
        "source",
        "location",
        "lang",
        "url",
        "title",
        "author",
    }
)
_FOREIGN_WORDS = {
    "&&": "write AND (or just a space) to require both",
    "&": "write AND (or just a space) to require both",
    "||": "write OR (or a single |)",
    "NEAR": "proximity is not supported: write the words (both are required) or a quoted phrase",
    "ONEAR": "proximity is not supported: write the words (both are required) or a quoted phrase",
    "AROUND": "proximity is not supported: write the words (both are required) or a quoted phrase",
    "XOR": "write (a -b) OR (b -a)",
}
_FOREIGN_PROXIMITY = re.compile(r"^(NEAR|AROUND|ONEAR|W)[/(]\d+\)?$")
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
    if "*" in text:
        raise QuerySyntaxError("'*' has no effect inside quotes: a phrase is matched as written", i + 1, query)
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
            if word in ("OR", "AND", "NOT"):
                toks.append(_Tok(word, col))
            elif word in _FOREIGN_WORDS or _FOREIGN_PROXIMITY.match(word):
                hint = _FOREIGN_WORDS.get(word) or _FOREIGN_WORDS["NEAR"]
                raise QuerySyntaxError(f'{word} is not an operator here: {hint} (or "{word}" to find it)', col, query)
            elif ":" in word and lower.partition(":")[0] in _FOREIGN_FIELDS:
                name = word.partition(":")[0]
                raise QuerySyntaxError(
                    f"{name}: is not an operator here (only site: and intitle:); quote it to find the text",
                    col, query,
                )  # fmt: skip
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
    star = text.find("*")
    if star >= 0:
        return _prefix(text, column, query, star)
    toks = tuple(words(text))
    if not toks:
        raise QuerySyntaxError(f"'{text}' has no letters or digits", column, query)
    return Word(text, toks, column)


def _prefix(text: str, column: int, query: str, star: int) -> Word:
    """``lid*``: a word that starts with ``lid``; the ``*`` only at the end, after at least MIN_PREFIX letters."""
    if star != len(text) - 1:
        raise QuerySyntaxError(
            "'*' is a prefix wildcard: put it at the end of a word, e.g. lid* (no * inside or before a word)",
            column + star, query,
        )  # fmt: skip
    stem = text[:-1]
    toks = tuple(words(stem))
    if len(toks) != 1 or not stem[-1:].isalnum():
        raise QuerySyntaxError(f"'{text}': a '*' prefix ends one plain word, e.g. lid*", column + star, query)
    if len(toks[0]) < MIN_PREFIX:
        raise QuerySyntaxError(
            f"'{text}': a prefix needs at least {MIN_PREFIX} letters before '*'", column + star, query
        )
    return Word(stem, toks, column, prefix=True)


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
            if self.peek().kind == "AND":
                op = self.take()
                if not children:
                    raise self.error("AND needs a term on its left", op.column)
                if self.peek().kind in ("AND", "OR", ")", "END"):
                    raise self.error("AND needs a term on its right", op.column)
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
            if self.peek().kind in ("OR", "AND", ")", "END"):
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
        if tok.kind in ("-", "NOT"):
            self.take()
            if self.peek().kind in ("-", "NOT"):
                doubled = "'-' cannot be doubled" if tok.kind == self.peek().kind == "-" else "NOT cannot be doubled"
                raise self.error(doubled, self.peek().column)
            if tok.kind == "NOT" and self.peek().kind in ("AND", "OR", ")", "END"):
                raise self.error("NOT needs the term to exclude on its right", tok.column)
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
        if tok.kind == "AND":
            raise self.error("AND needs a term on its left", tok.column)
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
        return f"{node.text}*" if node.prefix else node.text
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


# ------------------------------------------------------------------------------------------- warnings


@dataclass(frozen=True, slots=True)
class QueryWarning:
    """Something the query does that its author may not mean; ``column`` is 1-based."""

    column: int
    message: str

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


_LOWER_OPERATORS = {
    "and": "'and' is looked for as a word; write AND (upper case) or just a space to require both sides",
    "not": "'not' is looked for as a word; write NOT (upper case) or -word to exclude",
    "or": "'or' is looked for as a word; write OR (upper case) for either",
}


def query_warnings(query: str) -> list[QueryWarning]:
    """Habits from other tools that parse but probably do not mean what their author wants.

    The query must parse (call :func:`parse_query` first); lower-case ``and``/``or``/``not`` between two terms
    are words here, and a ``+`` before a word does nothing (every word is required already).
    """
    found: list[QueryWarning] = []
    tokens = [t for t in _lex(query) if t.kind != "END"]
    for pos, tok in enumerate(tokens):
        node = tok.node
        if not isinstance(node, Word) or node.prefix:
            continue
        between = 0 < pos < len(tokens) - 1 and tokens[pos - 1].kind == tokens[pos + 1].kind == "term"
        if node.text in _LOWER_OPERATORS and between:
            found.append(QueryWarning(tok.column, _LOWER_OPERATORS[node.text]))
        elif node.text.startswith("+") and len(node.text) > 1:
            found.append(QueryWarning(tok.column, f"'+' does nothing: every word is required already ({node.text})"))
        elif node.text.startswith("~") and len(node.text) > 1:
            found.append(
                QueryWarning(tok.column, f"'~' (synonyms) is not supported: {node.text[1:]} is searched as is")
            )
    return found
