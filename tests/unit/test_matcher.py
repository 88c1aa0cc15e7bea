"""Matcher behaviour for every operator and normalization rule, French and English traps included."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.analyze.fuzzy import NearIndex, edit_budget, within
from erepwatch.analyze.matcher import MAX_SPANS_PER_TERM, MatchItem, Span, WatchSpec, canonical_query, compile_matcher
from erepwatch.errors import QuerySyntaxError
from erepwatch.ingest.items import items_from_feed
from tests.conftest import parsed_corpus


def matches(query: str, title: str, text: str = "", url: str | None = None, **kw: object) -> bool:
    matcher = compile_matcher([WatchSpec(1, "w", query, **kw)])  # type: ignore[arg-type]
    return bool(matcher.match(MatchItem(title, text, url)))


# (id, query, title, text, url, expected)
CASES = [
    # whole words
    ("brand inside a longer word", "apple", "Applebee's opens in Lyon", "", None, False),
    ("brand as a word", "apple", "Apple opens a store", "", None, True),
    ("brand in pineapple", "apple", "Pineapple prices soar", "", None, False),
    ("english possessive", "apple", "Apple's new phone", "", None, True),
    ("typographic possessive", "mcdonald's", "McDonald’s hires", "", None, True),
    ("word in text, not title", "danone", "Résultats", "Le groupe Danone publie", None, True),
    # French
    ("elision l'", "oréal", "L'Oréal rachète une marque", "", None, True),
    ("typographic elision", "oreal", "Chez L’Oréal, la croissance", "", None, True),
    ("elided query matches plain", "l'oréal", "L’ORÉAL annonce", "", None, True),
    ("elision d'", "acme", "Le PDG d’Acme démissionne", "", None, True),
    ("elision qu'", "acme", "On dit qu’Acme recrute", "", None, True),
    ("elision jusqu'", "orléans", "jusqu'Orléans en train", "", None, True),
    ("upper-case accents", "école", "L'ÉCOLE FERME", "", None, True),
    ("accent-insensitive query", "credit agricole", "Crédit Agricole", "", None, True),
    ("cedilla", "francais", "Le Français moyen", "", None, True),
    ("oe ligature", "oeuvre", "Une Œuvre majeure", "", None, True),
    ("html entities in title", "oréal", "L&#8217;Or&eacute;al &amp; Co", "", None, True),
    ("elided word is not another word", "oréal", "Le Loréal café", "", None, False),
    # hyphen and space
    ("hyphenated query, spaced text", "coca-cola", "Coca Cola recalls bottles", "", None, True),
    ("spaced phrase, hyphenated text", '"coca cola"', "Coca-Cola recalls bottles", "", None, True),
    ("phrase inside hyphenated name", '"air france"', "Air France-KLM strikes", "", None, True),
    ("hyphenated name not split by exclusion", "coca-cola", "Coca", "cola", None, False),
    # phrases
    ("phrase words apart", '"air france"', "Air Canada and France", "", None, False),
    ("phrase does not span title and text", '"acme corp"', "About Acme", "Corp results", None, False),
    # boolean
    ("implicit and, both present", "acme paris", "Acme in Paris", "", None, True),
    ("implicit and, one missing", "acme paris", "Acme in Lyon", "", None, False),
    ("or", "acme OR globex", "Globex wins", "", None, True),
    ("pipe", "acme | globex", "nothing", "", None, False),
    ("exclusion hit", "acme -jobs", "Acme jobs fair", "", None, False),
    ("exclusion miss", "acme -jobs", "Acme results", "", None, True),
    ("exclusion phrase", 'acme -"job offer"', "Acme job offer", "", None, False),
    ("exclusion phrase partial", 'acme -"job offer"', "Acme job fair offer", "", None, True),
    ("parentheses", "(acme OR globex) recall", "Globex recall", "", None, True),
    ("parentheses missing and", "(acme OR globex) recall", "Globex wins", "", None, False),
    ("exclusion of a group", "acme -(jobs OR stage)", "Acme stage d'été", "", None, False),
    # site:
    ("site domain", "site:acme.fr", "x", "", "https://acme.fr/a", True),
    ("site subdomain", "site:acme.fr", "x", "", "https://shop.acme.fr/a", True),
    ("site lookalike domain", "site:acme.fr", "x", "", "https://notacme.fr/a", False),
    ("site suffix trap", "site:acme.fr", "x", "", "https://acme.fr.evil.com/a", False),
    ("site no url", "site:acme.fr", "x", "", None, False),
    ("site with path", "site:acme.fr/blog", "x", "", "https://acme.fr/blog/post", True),
    ("site with other path", "site:acme.fr/blog", "x", "", "https://acme.fr/blogger", False),
    ("exclude site", "acme -site:acme.fr", "Acme", "", "https://www.acme.fr/", False),
    ("exclude site elsewhere", "acme -site:acme.fr", "Acme", "", "https://lemonde.fr/", True),
    # intitle:
    ("intitle in title", "intitle:acme", "Acme news", "", None, True),
    ("intitle only in text", "intitle:acme", "News", "Acme", None, False),
    ("intitle phrase", 'intitle:"acme corp"', "Big Acme Corp deal", "", None, True),
]


@pytest.mark.parametrize(
    ("query", "title", "text", "url", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_operator_and_normalization_table(query: str, title: str, text: str, url: str | None, expected: bool) -> None:
    assert matches(query, title, text, url) is expected


FUZZY_CASES = [
    ("one typo in 5+ letters", "carrefour", "Carefour ouvre", True),
    ("transposition is two edits in 8 letters", "danone", "Danoen", False),
    ("one substitution in 6 letters", "danone", "Danane", True),
    ("two typos in 9+ letters", "decathlonx", "decatlonn", True),
    ("two typos in 8 letters refused", "michelin", "michalon", False),
    ("short word never fuzzy", "acme", "acne", False),
    ("numbers never fuzzy", "2024", "2025", False),
    ("stop word in phrase not fuzzy", '"avant garde"', "avent garde", False),
    ("brand word in phrase fuzzy", '"crédit agricole"', "credit agricol", True),
    ("exact still matches", "carrefour", "Carrefour", True),
]


@pytest.mark.parametrize(("query", "title", "expected"), [c[1:] for c in FUZZY_CASES], ids=[c[0] for c in FUZZY_CASES])
def test_fuzzy(query: str, title: str, expected: bool) -> None:
    assert matches(query, title, fuzzy=True) is expected
    if expected and query.lower() not in title.lower():
        assert not matches(query, title, fuzzy=False)


def test_fuzzy_spans_are_marked() -> None:
    m = compile_matcher([WatchSpec(7, "c", "carrefour", fuzzy=True)])
    [match] = m.match(MatchItem("Carefour et Carrefour", ""))
    assert [(s.start, s.end, s.fuzzy) for s in match.spans] == [(0, 8, True), (12, 21, False)]


def test_spans_point_into_original_fields() -> None:
    item = MatchItem("L’ORÉAL & Coca-Cola", "Hier, l&#8217;Or&eacute;al et Coca Cola ont annoncé…")
    m = compile_matcher([WatchSpec(1, "w", "oréal coca-cola")])
    [match] = m.match(item)
    got = [(s.field, getattr(item, s.field)[s.start : s.end], s.term) for s in match.spans]
    assert got == [
        ("title", "ORÉAL", "oréal"),
        ("title", "Coca-Cola", "coca-cola"),
        ("text", "Or&eacute;al", "oréal"),
        ("text", "Coca Cola", "coca-cola"),
    ]


def test_or_explains_every_matching_branch() -> None:
    m = compile_matcher([WatchSpec(1, "w", "acme OR globex OR initech")])
    [match] = m.match(MatchItem("Acme buys Globex", ""))
    assert [s.term for s in match.spans] == ["acme", "globex"]


def test_spans_of_several_terms_come_title_first_then_by_offset_once_each() -> None:
    # The query names globex first and acme twice: the spans follow the item, not the query.
    m = compile_matcher([WatchSpec(1, "w", "globex acme (acme OR initech)")])
    [match] = m.match(MatchItem("Acme buys Globex", "Globex, then Acme."))
    assert [(s.field, s.start, s.term) for s in match.spans] == [
        ("title", 0, "acme"),
        ("title", 10, "globex"),
        ("text", 0, "globex"),
        ("text", 13, "acme"),
    ]
    assert match.spans[0]._asdict() == {"field": "title", "start": 0, "end": 4, "term": "acme", "fuzzy": False}


def test_site_only_match_has_no_spans() -> None:
    m = compile_matcher([WatchSpec(1, "w", "site:acme.fr")])
    assert [(x.watch_id, x.spans) for x in m.match(MatchItem("x", "", "https://acme.fr/"))] == [(1, ())]


LANGUAGE_CASES = [
    ("same language", frozenset({"fr"}), "fr", True),
    ("region subtag", frozenset({"fr"}), "fr-CA", True),
    ("other language", frozenset({"fr"}), "en", False),
    ("unknown language kept", frozenset({"fr"}), None, True),
    ("no restriction", frozenset(), "de", True),
    ("several languages", frozenset({"fr", "EN"}), "en-GB", True),
]


@pytest.mark.parametrize(
    ("langs", "item_lang", "expected"), [c[1:] for c in LANGUAGE_CASES], ids=[c[0] for c in LANGUAGE_CASES]
)
def test_language_filter(langs: frozenset[str], item_lang: str | None, expected: bool) -> None:
    m = compile_matcher([WatchSpec(1, "w", "acme", languages=langs)])
    assert bool(m.match(MatchItem("Acme", "", None, item_lang))) is expected


def test_invalid_watch_is_reported_and_others_still_match() -> None:
    m = compile_matcher([WatchSpec(1, "bad", '"acme'), WatchSpec(2, "good", "acme")])
    assert isinstance(m.errors[1], QuerySyntaxError)
    assert [x.watch_id for x in m.match(MatchItem("Acme", ""))] == [2]


def test_canonical_query_validates() -> None:
    assert canonical_query("acme|globex") == "acme OR globex"
    with pytest.raises(QuerySyntaxError):
        canonical_query("(acme")


# The index must never hide a watch that full evaluation would match (anchors are a necessary condition).
VOCAB = ["acme", "globex", "paris", "lyon", "jobs", "carrefour", "carefour", "l'oréal", "coca-cola", "air"]


def _random_query(rng: random.Random) -> str:
    def term() -> str:
        w = rng.choice(VOCAB)
        r = rng.random()
        if r < 0.15:
            return f'"{w} {rng.choice(VOCAB)}"'
        if r < 0.25:
            return f"intitle:{w}"
        if r < 0.3:
            return "site:acme.fr"
        return w

    parts = [term()]
    for _ in range(rng.randint(0, 3)):
        r = rng.random()
        if r < 0.3:
            parts.append(f"OR {term()}")
        elif r < 0.5:
            parts.append(f"-{term()}")
        else:
            parts.append(term())
    return " ".join(parts)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_index_agrees_with_watch_by_watch(seed: int) -> None:
    rng = random.Random(seed)
    watches = []
    for i in range(12):
        q = _random_query(rng)
        try:
            canonical_query(q)
        except QuerySyntaxError:
            continue
        watches.append(WatchSpec(i, f"w{i}", q, fuzzy=rng.random() < 0.3))
    together = compile_matcher(watches)
    for _ in range(5):
        words_ = [rng.choice([*VOCAB, "Acme", "CARREFOUR", "l’Oréal", "Coca Cola", "x"]) for _ in range(6)]
        item = MatchItem(" ".join(words_[:3]), " ".join(words_[3:]), rng.choice([None, "https://www.acme.fr/a"]))
        # Evaluate each compiled query directly on the item, bypassing the index.
        doc = together._doc(item)
        expected_ids = [c.spec.id for c in together.watches if c.root.eval(doc) is not None]
        assert [m.watch_id for m in together.match(item)] == expected_ids


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000))
def test_could_match_never_hides_a_match(seed: int) -> None:
    # could_match says no only when no watch's needed word is in the folded fields where a scan would make a word of
    # it (or start one, for a prefix): a necessary condition, so whatever the queries (phrases, intitle:, site:,
    # prefixes, exclusions), an item it turns away is matched by no watch.
    rng = random.Random(seed)
    watches = []
    for i in range(rng.randint(1, 6)):
        q = _random_query(rng) if rng.random() < 0.8 else f"{rng.choice(VOCAB)[:4]}*"
        try:
            canonical_query(q)
        except QuerySyntaxError:
            continue
        watches.append(WatchSpec(i, f"w{i}", q))
    matcher = compile_matcher(watches)
    for _ in range(20):
        pool = [*VOCAB, "Acme", "CARREFOUR", "l’Oréal", "Coca Cola", "x", "acmes", "parisien", "jobsite", "&amp;"]
        words_ = [rng.choice(pool) for _ in range(rng.randint(0, 8))]
        cut = rng.randint(0, len(words_))
        item = MatchItem(" ".join(words_[:cut]), " ".join(words_[cut:]), rng.choice([None, "https://www.acme.fr/a"]))
        if not matcher.could_match(item.title, item.text, item.url):
            assert matcher.match(item) == []


def test_could_match_turns_away_most_corpus_items_and_no_matched_one() -> None:
    queries = ["macron", '"banque de france"', "apple OR iphone", "google -alerts", "l'oréal", "tesla", "orange -fruit"]
    matcher = compile_matcher([WatchSpec(i, f"w{i}", q) for i, q in enumerate(queries)])
    items = []
    for feed in parsed_corpus():
        items += [MatchItem(d.title, d.text, d.url) for d in items_from_feed(feed, fetched_at=datetime.now(UTC))]
    refused = [item for item in items if not matcher.could_match(item.title, item.text, item.url)]
    assert len(refused) > len(items) / 2
    assert all(matcher.match(item) == [] for item in refused)
    # A fuzzy watch can never be told apart this way; a watched site is told by the link.
    assert compile_matcher([WatchSpec(1, "f", "carrefour", fuzzy=True)]).could_match("", "", None)
    site = compile_matcher([WatchSpec(1, "s", "site:acme.fr")])
    assert site.could_match("", "", "https://www.acme.fr/a") and not site.could_match("", "", "https://b.fr/a")


def test_span_type_is_public() -> None:
    assert Span("title", 0, 1, "a").fuzzy is False


# Watches share terms (the same brand, exclusion or "avis OR review" in many queries), and the matcher
# evaluates each shared term once per item: no watch may see another's result, spans included.
SHARED_VOCAB = ["Acme", "acme", "Carrefour", "carefour", "Décathlon", "decatlon", "avis", "review", "emploi", "the"]


def _shared_query(rng: random.Random) -> str:
    def term() -> str:
        w = rng.choice(SHARED_VOCAB)
        r = rng.random()
        if r < 0.2:
            return f'"{rng.choice(["the", w])} {rng.choice(SHARED_VOCAB)}"'
        if r < 0.3:
            return f"intitle:{w}"
        return w

    shape = rng.random()
    if shape < 0.3:
        return term()
    if shape < 0.5:
        return f"{term()} -{term()}"
    if shape < 0.7:
        return f"({term()} | {term()}) (avis OR review)"
    return f"{term()} OR {term()} {term()}"


def _shared_item(rng: random.Random) -> MatchItem:
    pool = [*SHARED_VOCAB, "ACME", "Carefour", "Decathlon", "Décatlon", "l’Acme", "x", "y"]
    title = " ".join(rng.choice(pool) for _ in range(rng.randint(0, 5)))
    text = " ".join(rng.choice(pool) for _ in range(rng.randint(0, 30)))
    return MatchItem(title, text, rng.choice([None, "https://www.acme.fr/a"]), rng.choice([None, "fr", "en"]))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000))
def test_compiled_together_equals_each_watch_alone(seed: int) -> None:
    rng = random.Random(seed)
    watches = [
        WatchSpec(i, f"w{i}", _shared_query(rng), rng.choice([frozenset(), frozenset({"fr"})]), rng.random() < 0.4)
        for i in range(25)
    ]
    together = compile_matcher(watches)
    alone = {w.id: compile_matcher([w]) for w in watches}
    for _ in range(6):
        item = _shared_item(rng)
        expected = [m for w in watches for m in alone[w.id].match(item)]
        assert together.match(item) == expected


def test_shared_term_keeps_each_watch_label() -> None:
    # One word, three spellings of the query: one evaluation, but each watch shows the term as written.
    m = compile_matcher([WatchSpec(1, "a", "Acme"), WatchSpec(2, "b", "acme"), WatchSpec(3, "c", '"ACME"')])
    found = m.match(MatchItem("Acme wins", "acme again"))
    assert [(x.watch_id, [s.term for s in x.spans]) for x in found] == [
        (1, ["Acme", "Acme"]),
        (2, ["acme", "acme"]),
        (3, ['"ACME"', '"ACME"']),
    ]


def test_phrase_starting_with_a_common_word() -> None:
    # Phrases are walked from their rarest word: spans must still start at the phrase's first word.
    text = "the cat saw the baton, then The Baton fell; the end of the baton"
    m = compile_matcher([WatchSpec(1, "w", '"the baton"')])
    [match] = m.match(MatchItem("", text))
    assert [text[s.start : s.end] for s in match.spans] == ["the baton", "The Baton", "the baton"]


def test_spans_are_capped_per_term_and_field() -> None:
    m = compile_matcher([WatchSpec(1, "w", "acme"), WatchSpec(2, "p", '"acme corp"')])
    item = MatchItem("Acme", "acme corp " * (MAX_SPANS_PER_TERM + 5))
    by_id = {x.watch_id: x.spans for x in m.match(item)}
    assert [s.field for s in by_id[1]] == ["title"] + ["text"] * MAX_SPANS_PER_TERM
    assert len(by_id[2]) == MAX_SPANS_PER_TERM


# NearIndex must find exactly the query words within their typo budget, by whatever shortcut.
_LETTERS = st.sampled_from("abcdeé")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(_LETTERS, min_size=4, max_size=14), min_size=1, max_size=30),
    st.lists(st.text(_LETTERS, min_size=1, max_size=16), min_size=1, max_size=30),
)
def test_near_index_equals_brute_force(query_words: list[str], item_words: list[str]) -> None:
    index = NearIndex(query_words)
    # Words one or two edits from a query word are the interesting ones: add some, of every length.
    edited = [(q[1:] + "a", q[:3] + "bb" + q[5:], q[1:], q[:-2], q + "ab") for q in query_words]
    probes = item_words + [w for ws in edited for w in ws]
    for word in probes:
        expected = tuple(sorted({q for q in query_words if edit_budget(q) and within(q, word, edit_budget(q))}))
        assert index.near(word) == expected
        assert index.near(word) == expected  # from the cache


def test_near_index_is_shared_while_fuzzy_words_are_the_same() -> None:
    first = NearIndex.shared(["carrefour", "acme", "decathlonx"])
    # Words without a typo budget ("acme", "lyon": too short) do not count: same fuzzy words, same index.
    assert NearIndex.shared(["decathlonx", "lyon", "carrefour"]) is first
    assert NearIndex.shared(["carrefour"]) is not first
    assert first.near("carefour") == ("carrefour",)
    assert first.near("decatlonxx") == ("decathlonx",)


def _every_word_is_found(text: str) -> None:
    from ahocorasick_rs import AhoCorasick

    from erepwatch.analyze.matcher import _found_as_word
    from erepwatch.analyze.textnorm import fold_with_offsets, scan

    folded = fold_with_offsets(text)
    for word in set(scan(text, folded).words):
        # as could_match looks for them: a whole word (an elision need not be), a prefix
        assert _found_as_word(AhoCorasick([word]), [not word.endswith("'")], folded.text), (word, text[:200])
        assert _found_as_word(AhoCorasick([word[:3]]), [False], folded.text), (word, text[:200])


_WORDY = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(["l'", "L’", "qu'", "'s", "'", "''", " ", "-", "_", "œ", "&amp;", "Oréal", "aujourd'hui", "²"]),
    )
).map("".join)


def test_a_lone_surrogate_beside_a_word_neither_fails_nor_hides_it() -> None:
    # Stored text never holds a lone surrogate (ingest.items), but could_match's automaton reads UTF-8, which has none:
    # a caller's "0\ud800" had raised UnicodeEncodeError (found by the property test below).
    _every_word_is_found("0\ud800")
    _every_word_is_found("Acme\udce9 rappelle")


@settings(max_examples=300, deadline=None)
@given(_WORDY)
def test_a_scanned_word_is_always_found_where_could_match_looks(text: str) -> None:
    # could_match turns an item away when no needed word is found with a boundary a scan's word has: every word a
    # scan gives (and the start of each, for a prefix) must pass that test, or a match would be hidden.
    _every_word_is_found(text)


def test_every_corpus_word_is_found_where_could_match_looks() -> None:
    for feed in parsed_corpus()[::4]:
        for draft in items_from_feed(feed, fetched_at=datetime.now(UTC)):
            _every_word_is_found(draft.title)
            _every_word_is_found(draft.text[:3000])
