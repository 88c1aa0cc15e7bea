"""The mention's window: sentiment and tags about the watched name, not about the page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.mention_drafts import MentionDraft, build_mentions
from erepwatch.analyze.sentiment import LexiconScorer, load_scorer
from erepwatch.analyze.tags import Tagger, load_tagger
from erepwatch.analyze.window import MAX_CHARS, MAX_SENTENCES, mention_window
from tests.conftest import PlainWatch

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def scorer() -> LexiconScorer:
    s = load_scorer()
    assert isinstance(s, LexiconScorer)
    return s


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return load_tagger()


def mentions(
    title: str, text: str, queries: dict[int, str], scorer: LexiconScorer, tagger: Tagger, language: str = "en"
) -> dict[int, MentionDraft]:
    matcher = compile_matcher([WatchSpec(i, f"w{i}", q) for i, q in queries.items()])
    item = MatchItem(title, text, "https://example.org/a", language)
    drafts = build_mentions(
        1,
        item,
        matcher.match(item),
        published=NOW,
        watches={i: PlainWatch(i) for i in queries},
        source_created_at=NOW,
        scorer=scorer,
        tagger=tagger,
    )
    return {d.watch_id: d for d in drafts}


FILLER = "The city council met on Tuesday to discuss the new bus lanes and the budget for parks. " * 30


def test_far_crisis_word_does_not_tag_the_brand(scorer: LexiconScorer, tagger: Tagger) -> None:
    # The TIME/Waymo case: "backlash" in a paragraph that never names the watched brand.
    text = "Tesla also sells cars in London. " + FILLER + "The move drew a backlash from taxi drivers over Uber."
    got = mentions("Why Waymo's London launch matters", text, {1: "tesla", 2: "uber"}, scorer, tagger)
    assert "crisis" not in got[1].tags
    assert got[1].tag_words == {}
    assert got[2].tags == ("crisis",) and got[2].tag_words["crisis"] == ("backlash",)


def test_two_watches_in_one_article_get_their_own_sentiment(scorer: LexiconScorer, tagger: Tagger) -> None:
    text = (
        "Acme reported record profits and customers love its new scooter. "
        + FILLER
        + "Globex announced layoffs after a disastrous quarter and a data breach."
    )
    got = mentions("Quarterly results season", text, {1: "acme", 2: "globex"}, scorer, tagger)
    assert got[1].sentiment == "positive"
    assert got[2].sentiment == "negative"
    assert "crisis" in got[2].tags and "crisis" not in got[1].tags
    assert "record profits" in got[1].keywords


def test_french_recall_is_a_crisis_and_the_why_names_it(scorer: LexiconScorer, tagger: Tagger) -> None:
    got = mentions(
        "Acme rappelle 12 000 trottinettes", "Un défaut de freinage est en cause.", {1: "acme"}, scorer, tagger, "fr"
    )
    assert got[1].sentiment == "negative"
    assert "crisis" in got[1].tags
    assert got[1].tag_words["crisis"] == ("rappelle 12",)
    row = got[1].as_row(NOW)
    assert row["why"]["tags"]["crisis"] == ["rappelle 12"]
    assert row["why"]["sentiment"] == list(got[1].keywords)


@pytest.mark.parametrize(
    ("text", "language", "label"),
    [
        ("Meurtre de Louise : un important dispositif policier déployé", "fr", "negative"),
        ("Taylor Swift huée lors du Super Bowl", "fr", "negative"),
        ("Politique : la police et le policier", "fr", "neutral"),
        ("Super Bowl: the halftime show line-up is announced", "en", "neutral"),
        ("Acme profits slump as sales fall in Europe", "en", "negative"),
        ("Acme sales climb and the group raises guidance", "en", "positive"),
        ("Acme décroche un contrat record avec la SNCF", "fr", "positive"),
        ("Plan social chez Acme : suppression de postes à l'usine de Lyon", "fr", "negative"),
    ],
)
def test_news_vocabulary(scorer: LexiconScorer, text: str, language: str, label: str) -> None:
    assert scorer.score(text, language).label == label


def test_stems_do_not_swallow_other_words(scorer: LexiconScorer) -> None:
    fr = scorer.lexicon("fr")
    from erepwatch.analyze.lexicon import lexical
    from erepwatch.analyze.textnorm import words

    for word in (
        "politique",
        "police",
        "policier",
        "contentieux",
        "correctionnel",
        "plaintext",
        "pourrions",
        "amendement",
        "rappeler",
        "economique",
        "volet",
    ):
        toks = lexical(words(word))
        assert fr.match(toks, 0) is None, word


def test_window_is_title_and_the_sentences_that_name_the_term() -> None:
    matcher = compile_matcher([WatchSpec(1, "w", "acme")])
    text = "First sentence about nothing. " * 50 + "Acme opened a plant. Next sentence. " + "More filler. " * 50
    item = MatchItem("Acme news", text)
    (match,) = matcher.match(item)
    w = mention_window(item.title, item.text, match.spans)
    assert w.text == "Acme news … Acme opened a plant."
    assert w.title_named and w.title_end == len("Acme news")
    assert [w.text[s:e] for s, e in w.focus] == ["Acme", "Acme"]
    assert [w.text[s:e] for s, e in w.segments] == ["Acme news", "Acme opened a plant."]


def test_window_is_bounded_whatever_the_article() -> None:
    matcher = compile_matcher([WatchSpec(1, "w", "acme")])
    text = ("Acme " + "word " * 400 + ". ") * 20  # long run-on sentences naming the brand
    item = MatchItem("Title without the name", text)
    (match,) = matcher.match(item)
    w = mention_window(item.title, item.text, match.spans)
    assert len(w.text) <= MAX_CHARS
    assert len(w.segments) <= MAX_SENTENCES
    assert not w.title_named
    assert all(w.text[s:e] == "Acme" for s, e in w.focus)


def test_title_not_naming_the_brand_is_not_read_by_tags(scorer: LexiconScorer, tagger: Tagger) -> None:
    got = mentions("Scandal at the city hall", "Acme sponsors the local football club.", {1: "acme"}, scorer, tagger)
    assert got[1].tags == ()
