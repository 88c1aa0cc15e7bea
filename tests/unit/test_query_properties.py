"""The query language under fuzzing: any text gives a query or a QuerySyntaxError, never another exception;
every canonical form parses back to the same query; nesting has a limit with a one-line error (issue 18)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from erepwatch.analyze.matcher import compile_matcher
from erepwatch.analyze.query import (
    MAX_DEPTH,
    And,
    InTitle,
    Node,
    Not,
    Or,
    Phrase,
    Site,
    Word,
    _is_positive,
    canonical_query,
    parse_query,
    to_canonical,
)
from erepwatch.errors import QuerySyntaxError

_LETTERS = "abcdefghijklmnopqrstuvwxyzéàçüAZ0189"
_word_text = st.text(alphabet=_LETTERS + "-'.", min_size=1, max_size=8).filter(
    lambda t: t[0] != "-" and any(c.isalnum() for c in t) and t != "OR"
)
_phrase_text = st.lists(st.text(alphabet=_LETTERS, min_size=1, max_size=6), min_size=1, max_size=3).map(" ".join)
_domain = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6), min_size=2, max_size=3
).map(".".join)


def _leaf() -> st.SearchStrategy[Node]:
    word = _word_text.map(Word)
    phrase = _phrase_text.map(Phrase)
    return st.one_of(
        word,
        phrase,
        _domain.map(Site),
        st.one_of(word, phrase).map(InTitle),
    )


def _flat(kind: type[And] | type[Or], children: list[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else (child,))
    return kind(tuple(flat))


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    several = st.lists(children, min_size=2, max_size=3)
    return st.one_of(
        children.map(Not),
        several.map(lambda c: _flat(And, c)),
        several.map(lambda c: _flat(Or, c)),
    )


queries = st.recursive(_leaf(), _extend, max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_canonical_form_parses_back_to_the_same_query(node):
    if not _is_positive(node):  # a query needs something to look for: give it one, as a user would
        node = _flat(And, [Word("acme"), node])
        assume(_is_positive(node))
    text = to_canonical(node)
    try:
        again = parse_query(text)
    except QuerySyntaxError as exc:  # pragma: no cover - the property's failure, with the text that broke it
        if "nested more than" in str(exc):
            return
        raise AssertionError(f"{text!r} does not parse back: {exc}") from exc
    assert again == node, text
    assert to_canonical(again) == text


@pytest.mark.parametrize(
    ("query", "canonical"),
    [("acme -(-b)", "acme -(-b)"), ("-(-(a b)) c", "-(-(a b)) c"), ("a -(b OR c)", "a -(b OR c)")],
)
def test_excluded_exclusions_keep_their_parentheses(query, canonical):
    assert canonical_query(query) == canonical
    assert canonical_query(canonical) == canonical


_QUERYISH = st.lists(
    st.sampled_from(["acme", "b", "é", " ", "(", ")", "-", '"', "|", "OR", "site:", "intitle:", "x.com", "'", "*"]),
    max_size=30,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.text(max_size=60), _QUERYISH))
def test_any_text_is_a_query_or_a_syntax_error_and_round_trips(text):
    try:
        node = parse_query(text)
    except QuerySyntaxError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("query error at column ")
        return
    canonical = to_canonical(node)
    assert parse_query(canonical) == node, canonical
    compile_matcher([])  # the matcher module imports cleanly alongside


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 245, 250, 5000])
def test_nesting_past_the_limit_is_one_line(depth):
    for query in ("(" * depth + "acme" + ")" * depth, "acme " + "-(" * depth + "b" + ")" * depth):
        with pytest.raises(QuerySyntaxError) as info:
            parse_query(query)
        assert "nested more than" in str(info.value) and "\n" not in str(info.value)


def test_nesting_at_the_limit_is_accepted_and_compiles():
    query = "(" * MAX_DEPTH + "acme" + ")" * MAX_DEPTH
    assert canonical_query(query) == "acme"
