"""Snippets centred on the first match, cut on word boundaries, with marks for highlighting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.snippet import Snippet, highlight, make_snippet
from erepwatch.analyze.textnorm import fold_words


def snippet_for(query: str, item: MatchItem, width: int = 200) -> Snippet:
    [match] = compile_matcher([WatchSpec(1, "w", query)]).match(item)
    return make_snippet(item, match.spans, width)


LONG = " ".join(f"mot{i}" for i in range(300))


CASES = [
    ("match in the middle", "acme", MatchItem("t", f"{LONG} Acme {LONG}"), ["Acme"], True, True),
    ("match at the start", "acme", MatchItem("t", f"Acme {LONG}"), ["Acme"], False, True),
    ("match at the end", "acme", MatchItem("t", f"{LONG} Acme"), ["Acme"], True, False),
    ("short text whole", "acme", MatchItem("t", "Chez Acme,\n\n  tout va bien."), ["Acme"], False, False),
    ("accented match", "oréal", MatchItem("t", f"{LONG} chez L’ORÉAL {LONG}"), ["ORÉAL"], True, True),
    ("phrase across newline", '"air france"', MatchItem("t", f"{LONG} Air\nFrance {LONG}"), ["Air France"], True, True),
    ("title-only match shows text lead", "acme", MatchItem("Acme", f"Début {LONG}"), [], False, True),
    ("no text uses title", "acme", MatchItem("Big Acme news", ""), ["Acme"], False, False),
]


@pytest.mark.parametrize(
    ("query", "item", "marked", "cut_before", "cut_after"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_snippet(query: str, item: MatchItem, marked: list[str], cut_before: bool, cut_after: bool) -> None:
    snip = snippet_for(query, item)
    assert [snip.text[a:b] for a, b in snip.marks] == marked
    assert snip.text.startswith("…") is cut_before
    assert snip.text.endswith("…") is cut_after
    body = snip.text.strip("…")
    assert len(body) <= 200 + 2 * max(len(w) for w in (item.text or item.title).split())
    assert "  " not in snip.text and "\n" not in snip.text
    # Cut on word boundaries: every word of the snippet is a whole word of the source.
    source_words = set((item.text or item.title).split())
    assert all(w in source_words for w in body.split())


def test_first_match_is_centred() -> None:
    item = MatchItem("t", f"{LONG} Acme {LONG} Acme")
    snip = snippet_for("acme", item)
    [(a, b)] = snip.marks
    assert abs((a + b) / 2 - len(snip.text) / 2) < 20


HIGHLIGHT_CASES = [
    ("brackets", "Le groupe [Acme] recrute"),
    ("markdown", "Le groupe **Acme** recrute"),
    ("ansi", "Le groupe \x1b[1;33mAcme\x1b[0m recrute"),
]


@pytest.mark.parametrize(("style", "expected"), HIGHLIGHT_CASES, ids=[c[0] for c in HIGHLIGHT_CASES])
def test_highlight(style: str, expected: str) -> None:
    snip = snippet_for("acme", MatchItem("t", "Le groupe Acme recrute"))
    assert highlight(snip, style) == expected  # type: ignore[arg-type]


def test_highlight_html_escapes_page_text() -> None:
    snip = snippet_for("acme", MatchItem("t", "<b>Acme</b> & co"))
    assert highlight(snip, "html") == "&lt;b&gt;<mark>Acme</mark>&lt;/b&gt; &amp; co"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab Acme\n\t’éÉ-")), max_size=400))
def test_marks_always_cover_the_matched_word(text: str) -> None:
    item = MatchItem("t", text)
    found = compile_matcher([WatchSpec(1, "w", "acme")]).match(item)
    if not found:
        return
    snip = make_snippet(item, found[0].spans, 60)
    assert snip.marks, snip
    for a, b in snip.marks:
        # the word as written, which folds to the watched one ("AcmÉ" is "acme" too)
        assert fold_words(snip.text[a:b]) == "acme"
