"""Query language: parser, canonical printing, and errors with their column (issue #3, item 1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.analyze.query import (
    And,
    InTitle,
    Not,
    Or,
    Phrase,
    Site,
    Word,
    canonical_query,
    parse_query,
    to_canonical,
)
from erepwatch.errors import QuerySyntaxError

PARSE_CASES = [
    ("word", "acme", Word("acme")),
    ("implicit and", "acme paris", And((Word("acme"), Word("paris")))),
    ("phrase", '"acme corp"', Phrase("acme corp")),
    ("phrase whitespace collapsed", '"acme   corp"', Phrase("acme corp")),
    ("or keyword", "acme OR globex", Or((Word("acme"), Word("globex")))),
    ("pipe", "acme|globex", Or((Word("acme"), Word("globex")))),
    ("lower-case or is a word", "acme or globex", And((Word("acme"), Word("or"), Word("globex")))),
    ("or binds tighter than and", "a b OR c", And((Word("a"), Or((Word("b"), Word("c")))))),
    ("exclude word", "acme -jobs", And((Word("acme"), Not(Word("jobs"))))),
    ("exclude phrase", 'acme -"job offer"', And((Word("acme"), Not(Phrase("job offer"))))),
    ("hyphenated word is one term", "coca-cola", Word("coca-cola")),
    ("hyphenated word then exclusion", "coca-cola -pepsi", And((Word("coca-cola"), Not(Word("pepsi"))))),
    ("parentheses", "(a OR b) c", And((Or((Word("a"), Word("b"))), Word("c")))),
    ("nested parentheses flatten", "a (b c)", And((Word("a"), Word("b"), Word("c")))),
    ("site", "acme site:example.com", And((Word("acme"), Site("example.com")))),
    ("site lowercased, www dropped", "site:WWW.Example.COM", Site("example.com")),
    ("site with scheme and path", "site:https://example.com/blog/", Site("example.com", "/blog")),
    ("exclude site", "acme -site:example.com", And((Word("acme"), Not(Site("example.com"))))),
    ("intitle word", "intitle:acme", InTitle(Word("acme"))),
    ("intitle phrase", 'intitle:"acme corp"', InTitle(Phrase("acme corp"))),
    ("exclude group", "acme -(jobs OR stage)", And((Word("acme"), Not(Or((Word("jobs"), Word("stage"))))))),
    ("elided word", "l'oréal", Word("l'oréal")),
    ("ampersand inside word", "AT&T", Word("AT&T")),
]


@pytest.mark.parametrize(("query", "expected"), [c[1:] for c in PARSE_CASES], ids=[c[0] for c in PARSE_CASES])
def test_parse(query: str, expected: object) -> None:
    assert parse_query(query) == expected


def test_words_carry_folded_tokens() -> None:
    node = parse_query("L’Oréal")
    assert isinstance(node, Word)
    assert node.tokens == ("l'", "oreal")
    assert parse_query("Coca-Cola").tokens == ("coca", "cola")  # type: ignore[union-attr]


CANONICAL_CASES = [
    ("operators normalized", "acme|globex  -jobs", "(acme OR globex) -jobs"),
    ("or alone", "a | b", "a OR b"),
    ("and inside or keeps parentheses", "a OR (b c)", "a OR (b c)"),
    ("exclusion of a group", "x -(a b)", "x -(a b)"),
    ("phrase", '"air   france"  klm', '"air france" klm'),
    ("site", "site:WWW.Acme.fr/news/", "site:acme.fr/news"),
    ("intitle phrase", 'intitle:"L’Oréal"', 'intitle:"L’Oréal"'),
    ("redundant parentheses dropped", "((acme))", "acme"),
]


@pytest.mark.parametrize(("query", "expected"), [c[1:] for c in CANONICAL_CASES], ids=[c[0] for c in CANONICAL_CASES])
def test_canonical(query: str, expected: str) -> None:
    assert canonical_query(query) == expected
    assert canonical_query(expected) == expected


ERROR_CASES = [
    ("unclosed quote", 'acme "unclosed', "unclosed quote", 6),
    ("unclosed parenthesis", "(a b", "'(' is never closed", 1),
    ("or without right side in group", "(a OR", "OR needs a term on its right", 4),
    ("or at the end", "a OR", "OR needs a term on its right", 3),
    ("or at the start", "OR a", "OR needs a term on its left", 1),
    ("double or", "a OR | b", "OR needs a term on its right", 3),
    ("lone minus", "acme -", "'-' must be followed directly by the term to exclude", 6),
    ("minus then space", "acme - jobs", "'-' must be followed directly by the term to exclude", 6),
    ("double minus", "acme --jobs", "'-' cannot be doubled", 7),
    ("empty site", "acme site:", "site: needs a domain, e.g. site:example.com", 6),
    ("site not a domain", "site:-x-", "site:-x- is not a domain name", 1),
    ("empty intitle", "intitle: acme", "intitle: needs a word or a quoted phrase", 1),
    ("stray closing parenthesis", "acme )", "')' without a matching '('", 6),
    ("lone closing parenthesis", ")", "')' without a matching '('", 1),
    ("empty parentheses", "acme ()", "empty parentheses", 6),
    ("empty phrase", 'acme ""', "empty phrase", 6),
    ("no letters", "acme +++", "'+++' has no letters or digits", 6),
    ("empty query", "   ", "empty query", 1),
    ("only exclusions", "-acme", "the query needs a term to look for, not only exclusions", 1),
    ("exclusion as an or branch", "acme OR -jobs", "each side of OR needs a term to look for, not only exclusions", 9),
]


@pytest.mark.parametrize(("query", "problem", "column"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors_name_problem_and_column(query: str, problem: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.problem == problem
    assert info.value.column == column
    assert info.value.query == query
    assert f"column {column}" in str(info.value)


query_alphabet = st.sampled_from(
    ['"', "(", ")", "|", "-", " ", "OR", "site:", "intitle:", "acme", "Oréal", "l’", "x.fr", "a-b", "&", ":"]
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(query_alphabet, max_size=14).map("".join)))
def test_parser_never_crashes_and_canonical_round_trips(query: str) -> None:
    try:
        node = parse_query(query)
    except QuerySyntaxError as exc:
        assert 1 <= exc.column <= len(query) + 1
        return
    printed = to_canonical(node)
    assert parse_query(printed) == node
    assert to_canonical(parse_query(printed)) == printed


# --- habits from other tools (issue 14 point 4) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("Lidl AND Aldi", "Lidl Aldi"),
        ("Lidl NOT grève", "Lidl -grève"),
        ("a AND (b OR c) NOT d", "a (b OR c) -d"),
        ("NOT (x OR y) acme", "-(x OR y) acme"),
        ("Lid*", "Lid*"),
        ("intitle:lid* -acme", "intitle:lid* -acme"),
        ("-lidl* acme", "-lidl* acme"),
    ],
)
def test_upper_case_operators_and_prefixes_round_trip(query, canonical):
    assert canonical_query(query) == canonical
    assert parse_query(canonical) == parse_query(query)


@pytest.mark.parametrize(
    ("query", "column"),
    [("Li*", 3), ("L*dl", 2), ("*dl", 1), ("a AND", 3), ("AND a", 1), ("a NOT", 3), ("a NOT NOT b", 7),
     ("a OR AND b", 3), ("a && b", 3), ("a & b", 3), ("a || b", 3), ("a NEAR b", 3), ("a AROUND(3) b", 3),
     ("inurl:x", 1), ("a allintitle:x", 3), ('"a*"', 1), ("coca-col*", 9)],
)  # fmt: skip
def test_operator_lookalikes_are_refused_with_their_column(query, column):
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.column == column, info.value


def test_lower_case_operators_and_other_habits_warn_with_their_column():
    from erepwatch.analyze.query import query_warnings

    assert [(w.column, w.message.split()[0]) for w in query_warnings("Lidl and Aldi or Leclerc")] == [
        (6, "'and'"),
        (15, "'or'"),
    ]
    assert [w.column for w in query_warnings("acme +widget ~gadget")] == [6, 14]
    assert query_warnings("marks and") == []  # "and" at the end is a word, not an operator between terms
    assert query_warnings("Lidl AND Aldi") == []
