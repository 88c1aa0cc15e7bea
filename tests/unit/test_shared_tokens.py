"""An item is scanned once (issue 17): what the matcher's scan gives the window, tags, sentiment and clustering
equals what each of them computed by scanning on its own, on every item of the real corpus."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.analyze.dedup import prepare
from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.mention_drafts import build_mentions
from erepwatch.analyze.sentiment import LexiconScorer, load_scorer
from erepwatch.analyze.sentiment_models import ModelScorer
from erepwatch.analyze.tags import load_tagger
from erepwatch.analyze.textnorm import fold_with_offsets, part, scan
from erepwatch.analyze.window import mention_window
from erepwatch.ingest.items import items_from_feed
from erepwatch.pipeline import LEAD_CHARS, _prepared
from tests.conftest import PlainWatch, parsed_corpus

NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: The watches of benchmarks/bench_poll.py: words, phrases, exclusions, an elision.
QUERIES = [
    "macron",
    '"banque de france"',
    "apple OR iphone",
    "google -alerts",
    "trump",
    "tesla",
    '"air france"',
    "amazon",
    "microsoft",
    "orange -fruit",
    "bitcoin",
    "l'oréal",
    "total OR totalenergies",
    "meta",
    "openai",
    "samsung",
    "the",  # matches nearly everything: many windows
]


@pytest.fixture(scope="module")
def corpus_items() -> list[MatchItem]:
    items = []
    for feed in parsed_corpus():
        items += [MatchItem(d.title, d.text, d.url, "en") for d in items_from_feed(feed, fetched_at=NOW)]
    assert len(items) > 4000
    return items


text_strategy = st.text(
    alphabet=st.sampled_from(list("ab cé'’.!?…&;#x1\u00ad\u0301ǅß½Ⅻ\n-_,\u00a0")) | st.characters(), max_size=80
)


@settings(max_examples=500, deadline=None)
@given(text_strategy, st.integers(0, 90), st.integers(0, 90))
def test_a_part_read_off_the_scan_is_the_part_scanned(text: str, a: int, b: int) -> None:
    a, b = sorted((min(a, len(text)), min(b, len(text))))
    assert part(text, scan(text), a, b) == scan(text[a:b])


def test_parts_of_corpus_texts_equal_their_own_scan(corpus_items: list[MatchItem]) -> None:
    rng = random.Random(17)
    for item in corpus_items[::7]:
        text = item.text
        sc = scan(text)
        for _ in range(3):
            a = rng.randrange(len(text) + 1)
            b = rng.randrange(a, len(text) + 1)
            assert part(text, sc, a, b) == scan(text[a:b]), (text[a:b][:200], a, b)


def test_an_item_folded_once_reads_as_folded_apart(corpus_items: list[MatchItem]) -> None:
    # A poll folds a new item's title and text once (pipeline.item_folds): the matcher's quick no and the scan
    # both read that fold, and must say what they say when each folds for itself.
    matcher = compile_matcher([WatchSpec(i, f"w{i}", q) for i, q in enumerate(QUERIES)])
    turned_away = 0
    for plain in corpus_items:
        folds = (fold_with_offsets(plain.title), fold_with_offsets(plain.text))
        could = matcher.could_match(plain.title, plain.text, plain.url, folds=folds)
        assert could == matcher.could_match(plain.title, plain.text, plain.url)
        turned_away += not could
        item = MatchItem.scanned(plain.title, plain.text, plain.url, plain.language, folds)
        assert item.scans == (scan(plain.title), scan(plain.text))
    assert turned_away, "the corpus has items no watch can match"


def test_mentions_from_the_shared_scan_equal_mentions_scanned_apart(corpus_items: list[MatchItem]) -> None:
    matcher = compile_matcher([WatchSpec(i, f"w{i}", q) for i, q in enumerate(QUERIES)])
    watches = {i: PlainWatch(i) for i in range(len(QUERIES))}
    lexicon = load_scorer("lexicon")
    assert isinstance(lexicon, LexiconScorer)
    bow = ModelScorer("bow", lexicon)
    tagger = load_tagger()
    windows = 0
    for plain in corpus_items:
        item = MatchItem.scanned(plain.title, plain.text, plain.url, plain.language)
        matches = matcher.match(item)
        assert matches == matcher.match(plain)
        for match in matches:
            window = mention_window(item.title, item.text, match.spans, item.scans)
            assert window == mention_window(plain.title, plain.text, match.spans)  # same text, focus, segments
            assert window.scan == scan(window.text)
            windows += 1
        for scorer in (lexicon, bow):
            kwargs: dict[str, Any] = {
                "published": NOW,
                "watches": watches,
                "source_created_at": NOW,
                "scorer": scorer,
                "tagger": tagger,
            }
            assert build_mentions(1, item, matches, **kwargs) == build_mentions(1, plain, matches, **kwargs)
        if matches:
            lead = item.text[:LEAD_CHARS]
            assert _prepared(item) == prepare(item.title, lead) == _prepared(plain)
    assert windows > 3000
