"""Normalization rules shared by queries and item text (issue #3, item 2)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.analyze.textnorm import fold, fold_words, joined, scan, tokens, words
from tests.conftest import parsed_corpus

NORMALIZE_CASES = [
    ("lowercase", "ACME Corp", "acme corp"),
    ("accents", "Crédit Agricole à Noël", "credit agricole a noel"),
    ("upper-case accents", "ÉCOLE ÇA ÀÉÎÕÜ", "ecole ca aeiou"),
    ("oe ligature", "Œuvre du cœur", "oeuvre du coeur"),
    ("sharp s", "Straße", "strasse"),
    ("ae ligature", "Cæsar", "caesar"),
    ("nfkc ligature fi", "ﬁnance", "finance"),
    ("fullwidth letters", "ＡＣＭＥ", "acme"),
    ("combining accent", "e\u0301te\u0301", "ete"),
    ("typographic apostrophe elision", "L’Oréal", "l'oreal"),
    ("straight apostrophe elision", "l'Oréal", "l'oreal"),
    ("modifier letter apostrophe", "Lʼoréal", "l'oreal"),
    ("d elision", "d’Acme", "d'acme"),
    ("qu elision", "qu'Acme", "qu'acme"),
    ("jusqu elision", "jusqu’à Paris", "jusqu'a paris"),
    ("lorsqu elision", "lorsqu'il", "lorsqu'il"),
    ("puisqu elision", "puisqu'elle", "puisqu'elle"),
    ("j n s c m t elisions", "j'ai n'est s'il c'est m'a t'as", "j'ai n'est s'il c'est m'a t'as"),
    ("apostrophe inside a word is kept", "aujourd'hui", "aujourd'hui"),
    ("english possessive", "Apple's results", "apple results"),
    ("typographic possessive", "McDonald’s", "mcdonald"),
    ("hyphen is a space", "Coca-Cola", "coca cola"),
    ("en dash is a space", "Air France–KLM", "air france klm"),
    ("punctuation dropped", "Acme, Inc. (Paris)!", "acme inc paris"),
    ("html entities", "L&#8217;Or&eacute;al &amp; Co", "l'oreal co"),
    ("double-escaped entity decodes once", "&amp;eacute;", "eacute"),
    ("soft hyphen joins", "Ca\u00adrrefour", "carrefour"),
    ("zero-width space joins", "Carre\u200bfour", "carrefour"),
    ("ellipsis", "Danone…", "danone"),
    ("underscore separates", "acme_corp", "acme corp"),
    ("nbsp", "Air\u00a0France", "air france"),
    ("empty", "", ""),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in NORMALIZE_CASES], ids=[c[0] for c in NORMALIZE_CASES])
def test_fold_words(text: str, expected: str) -> None:
    assert fold_words(text) == expected


OFFSET_CASES = [
    ("ascii", "Hello Acme-Corp", ["Hello", "Acme", "Corp"]),
    ("accents keep offsets", "Chez L’Oréal", ["Chez", "L’", "Oréal"]),
    ("entity inside word", "Or&eacute;al x", ["Or&eacute;al", "x"]),
    ("ligature oe", "œuf frais", ["œuf", "frais"]),
    ("trailing combining mark stays with word", "cafe\u0301 noir", ["cafe\u0301", "noir"]),
    ("possessive covered", "Apple's", ["Apple's"]),
    ("sharp s then word", "Maß Acme", ["Maß", "Acme"]),
]


@pytest.mark.parametrize(("text", "pieces"), [c[1:] for c in OFFSET_CASES], ids=[c[0] for c in OFFSET_CASES])
def test_token_offsets_point_into_original(text: str, pieces: list[str]) -> None:
    assert [text[t.start : t.end] for t in tokens(text)] == pieces


def test_scan_matches_tokens_and_words() -> None:
    text = "L’Oréal et d'Acme: l'œuvre d’aujourd'hui, Apple's &amp; Co-op"
    sc = scan(text)
    assert sc.words == words(text) == [t.text for t in tokens(text)]
    assert list(zip(sc.starts, sc.ends, strict=True)) == [(t.start, t.end) for t in tokens(text)]


def test_fold_keeps_punctuation() -> None:
    assert fold("L’ÉTÉ — «Acme»") == 'l\'ete - "acme"'


text_strategy = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("’'-–&;#éÉœßﬁ\u0301\u00ad\u200b… ")),
        st.sampled_from(["&amp;", "&eacute;", "&#8217;", "l'", "qu'", "'s", "Acme"]),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(text_strategy)
def test_fold_words_is_idempotent(text: str) -> None:
    once = fold_words(text)
    assert fold_words(once) == once


@settings(max_examples=300, deadline=None)
@given(text_strategy)
def test_token_offsets_are_in_bounds_and_ordered(text: str) -> None:
    previous = (0, 0)
    for tok in tokens(text):
        assert 0 <= tok.start < tok.end <= len(text)
        # Ordered. Words overlap only where one character folds to several ("0¼" gives "01" and "4",
        # "¼0" gives "1" and "40"), so starts and ends both never go backwards.
        assert tok.start >= previous[0] and tok.end >= previous[1]
        assert tok.start >= previous[1] or any(unicodedata.normalize("NFKC", c) != c for c in text)
        previous = (tok.start, tok.end)
        # The original slice folds back to the token (elisions and possessives aside).
        assert tok.text.rstrip("'") in fold_words(text[tok.start : tok.end]).replace(" ", "")


@settings(max_examples=600, deadline=None)
@given(st.one_of(text_strategy, st.text(max_size=60)))
def test_words_are_exactly_the_words_scan_gives(text: str) -> None:
    # words() is scan() without offsets: a word's position in one is its position in the other.
    assert words(text) == scan(text).words


def test_words_agree_with_scan_on_every_corpus_text() -> None:
    texts = ["'quote'", "a''b", "rock'n'roll's", "qu'l'a", "d''a", "l’Oréal’s", "ǅ ß œ ﬁne ½ ² Ⅻ x_y"]
    for feed in parsed_corpus():  # pages that are no feed have no text to compare
        texts += [text for entry in feed.entries for text in (entry.title, entry.summary, entry.content)]
    assert len(texts) > 8000
    for text in texts:
        assert words(text) == scan(text).words, text[:200]


_ODD_PRONE = st.lists(
    st.one_of(
        st.characters(), st.sampled_from(["œ", "\u00ad", "\u200b", "ß", "…", "ﬁ", "\u0301", "&amp;", "&#233;", "’"])
    )
).map("".join)


@given(_ODD_PRONE)
def test_a_fold_without_odd_characters_skips_the_search_with_the_same_result(text: str) -> None:
    # _fold_mapped skips the search for entities and odd characters when the runs it folded say there is none
    # (a length kept, no character folding to nothing): what it gives is what the search would have given.
    from erepwatch.analyze import textnorm

    quick = textnorm.fold_with_offsets(text)
    always = textnorm._fold_plain_noting
    try:
        textnorm._fold_plain_noting = lambda t: (always(t)[0], True)  # type: ignore[assignment]
        searched = textnorm.fold_with_offsets(text)
    finally:
        textnorm._fold_plain_noting = always  # type: ignore[assignment]
    assert quick.text == searched.text
    a, b = textnorm.scan(text, quick), textnorm.scan(text, searched)
    assert (a.words, a.starts, a.ends) == (b.words, b.starts, b.ends)


_LATIN_PRONE = st.lists(
    st.one_of(
        st.characters(max_codepoint=0x2FF),
        st.sampled_from(["’", "“", "”", "—", "–", "…", "‘", "€", "œ", "ß", "\u00ad", "\u2060", "µ", "½", "ﬁ", "Ω"]),
    )
).map("".join)


@given(_LATIN_PRONE)
def test_the_byte_wise_fold_is_the_fold(text: str) -> None:
    # Texts of Latin-1 characters (once typographic quotes and dashes are folded) are folded by one byte table:
    # wherever it answers, it answers what the character-by-character fold gives, and says nothing is odd.
    from erepwatch.analyze import textnorm

    by_byte = textnorm._fold_by_byte(text)
    if by_byte is not None:
        assert by_byte == textnorm._fold_plain(text)
        assert all(len(textnorm._TABLE[ord(c)]) == 1 for c in text if not c.isascii())


def test_the_byte_wise_fold_takes_french_and_english_text() -> None:
    from erepwatch.analyze import textnorm

    text = "L’Oréal « élève » — “quoted” … Ça va? naïve café"
    assert (
        textnorm._fold_by_byte(text)
        == textnorm._fold_plain(text)
        == 'l\'oreal " eleve " - "quoted" . ca va? naive cafe'
    )
    assert textnorm._fold_by_byte("cœur") is None and textnorm._fold_by_byte("Straße") is None
    assert textnorm._fold_by_byte("Москва") is None


@given(_LATIN_PRONE)
def test_the_byte_wise_word_table_is_the_word_table(text: str) -> None:
    from erepwatch.analyze import textnorm

    folded = textnorm.fold(text)
    kept = textnorm._kept_by_byte(folded)
    if kept is not None:
        assert kept == folded.translate(textnorm._WORD_TABLE)
    assert textnorm._kept_by_byte("prix 5 € à 20 °c") == "prix 5   à 20  c"
    assert textnorm._kept_by_byte("москва") is None


_KEPT = st.lists(
    st.one_of(st.just(" "), st.just("'"), st.sampled_from(list("aé1ßΩж")), st.text("ab ", max_size=8)), max_size=80
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_KEPT)
def test_the_long_text_s_word_offsets_are_the_short_text_s(kept: str) -> None:
    # A long text's words and offsets are found by numpy, a short one's by lists: both read the same.
    from erepwatch.analyze import textnorm

    assert textnorm._spaced_words_long(kept) == textnorm._spaced_words(kept)


def test_long_and_short_word_offsets_agree_on_every_corpus_text() -> None:
    from erepwatch.analyze import textnorm

    kept_texts = []
    for feed in parsed_corpus():
        for entry in feed.entries:
            for text in (entry.title, entry.summary, entry.content):
                kept_texts.append(textnorm.fold(text).translate(textnorm._WORD_TABLE))
    assert sum(len(k) >= textnorm._LONG_TEXT for k in kept_texts) > 1000
    for kept in kept_texts:
        assert textnorm._spaced_words_long(kept) == textnorm._spaced_words(kept), kept[:200]


@settings(max_examples=500, deadline=None)
@given(_LATIN_PRONE)
def test_the_fold_by_marks_is_the_fold_and_says_what_is_odd(text: str) -> None:
    # A text of Latin-1 characters with runs beyond it (an emoji, "€", "œ") is folded by the byte table, its runs
    # beyond Latin-1 apart: wherever that answers, it answers what the run-by-run fold gives, and tells an odd
    # character the same way.
    from erepwatch.analyze import textnorm

    odd = False

    def fold_run(m: re.Match[str]) -> str:
        nonlocal odd
        run = m.group()
        folded = run.translate(textnorm._TABLE)
        odd = odd or len(folded) != len(run) or not textnorm._TABLE.vanishing.isdisjoint(run)
        return folded

    by_marks = textnorm._fold_by_marks(text)
    if by_marks is not None:
        assert by_marks == (textnorm._NON_ASCII.sub(fold_run, text).lower(), odd)
    assert textnorm._fold_by_marks("prix 5 € → cœur 🙂 élevé") == ("prix 5 € → coeur 🙂 eleve", True)
    assert textnorm._fold_by_marks("prix 5 € → élevé") == ("prix 5 € → eleve", False)
    assert textnorm._fold_by_marks("Straße €") is None  # ß is Latin-1 but folds to two letters
    assert textnorm._fold_by_marks("Москва: ЁЛКА, 5 €") == ("москва: елка, 5 €", False)  # all runs


_ELIDED = st.lists(
    st.one_of(
        st.sampled_from([" ", "'", "''", "l'", "qu'", "'s", "jusqu'", "s'", "-", ", "]),
        st.text("abcs'", min_size=1, max_size=6),
        st.sampled_from(["Acme", "aujourd'hui", "rock'n'roll's", "L'Oréal", "d'Apple's"]),
    ),
    max_size=60,
).map("".join)


def _scan_by_pattern(text: str) -> list[tuple[str, int, int]]:
    """The words of a text without entities or odd characters, one pattern match at a time: each word's pieces (its
    elisions, its possessive dropped) with their offsets; what :func:`scan` reads in C and cuts in Python."""
    from erepwatch.analyze import textnorm

    kept = textnorm.fold(text).translate(textnorm._WORD_TABLE)
    return [
        (piece, m.start() + ps, m.start() + pe)
        for m in textnorm._WORD.finditer(kept)
        for piece, ps, pe in textnorm._split_word(m.group())
    ]


@settings(max_examples=600, deadline=None)
@given(_ELIDED)
def test_the_words_with_apostrophes_are_cut_in_place(text: str) -> None:
    # scan() puts the pieces of every word with an apostrophe in place once (a long French text has hundreds of
    # elisions): each piece is where the word's own pattern match puts it, the words around them untouched.
    sc = scan(text)
    assert list(zip(sc.words, sc.starts, sc.ends, strict=True)) == _scan_by_pattern(text)


def test_words_with_apostrophes_are_cut_in_place_in_a_long_text() -> None:
    text = " ".join(["L'Oréal et d'Acme, qu'il s'agisse d'aujourd'hui ou de rock'n'roll's: c'est l'été"] * 40)
    sc = scan(text)
    assert len(text) >= 1000  # the long text's way (numpy offsets)
    assert list(zip(sc.words, sc.starts, sc.ends, strict=True)) == _scan_by_pattern(text)
    assert sc.words[:6] == ["l'", "oreal", "et", "d'", "acme", "qu'"]


def _joined_word_by_word(found: list[str]) -> str:
    out: list[str] = []
    for w in found:
        out.append(w)
        if not w.endswith("'"):
            out.append(" ")
    return "".join(out).rstrip()


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text("ab'1é", max_size=5), max_size=12))
def test_words_are_joined_as_one_space_after_each_but_an_elision(found: list[str]) -> None:
    # joined() in C: a space after every word but one ending with an apostrophe, as written word by word.
    assert joined(found) == _joined_word_by_word(found)
    assert joined(["l'", "oreal", "qu'", "l'", "a", "dit"]) == "l'oreal qu'l'a dit"


def _fold_mapped_piece_by_piece(text: str) -> tuple[str, list[list[object]] | None]:
    """The fold with offsets as first written: every stretch between special characters (entities, characters whose
    fold is not one character) folded on its own; the offset map as plain lists."""
    import html as html_module

    from erepwatch.analyze import textnorm

    if text.isascii() and "&" not in text:
        return text.lower(), None
    folded, odd = textnorm._fold_plain_noting(text)
    special = textnorm._special()
    first = special.search(text)
    if (not odd and "&" not in text) or first is None:
        return folded, None
    pieces: list[str] = []
    spans: list[list[object]] = []
    pos = fpos = 0
    for m in special.finditer(text, first.start()):
        if m.start() > pos:
            seg = textnorm._fold_plain(text[pos : m.start()])
            spans.append([fpos, fpos + len(seg), pos, m.start(), False])
            pieces.append(seg)
            fpos += len(seg)
        raw = m.group()
        rep = textnorm._fold_plain(html_module.unescape(raw)) if raw.startswith("&") else textnorm._TABLE[ord(raw)]
        spans.append([fpos, fpos + len(rep), m.start(), m.end(), True])
        pieces.append(rep)
        fpos += len(rep)
        pos = m.end()
    if pos < len(text):
        seg = textnorm._fold_plain(text[pos:])
        spans.append([fpos, fpos + len(seg), pos, len(text), False])
        pieces.append(seg)
    return "".join(pieces), spans


_MAPPED = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("’'-–&;#éÉœßﬁ\u0301\u00ad\u200bİΣς€🙂… ")),
        st.sampled_from(["&amp;", "&eacute;", "&#8217;", "&#x41;", "&nbsp;", "AT&T", "&bogus;", "Acme", "Œuvre"]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=800, deadline=None)
@given(_MAPPED)
def test_the_fold_with_offsets_slices_the_stretches_between_special_characters(text: str) -> None:
    # Between two special characters every character folds to one, on its own: the stretch is sliced from the
    # text's whole fold instead of being folded again, with the same result and the same offset map.
    from erepwatch.analyze import textnorm

    folded, omap = textnorm._fold_mapped(text)
    expected, spans = _fold_mapped_piece_by_piece(text)
    assert folded == expected
    if spans is None:
        assert omap is None
    else:
        assert omap is not None
        assert [
            list(s)
            for s in zip(
                omap._fold_starts, omap._fold_ends, omap._orig_starts, omap._orig_ends, omap._atomic, strict=True
            )
        ] == spans
