"""The crisis classifier's evidence: where the crisis terms sit relative to the watched term (issue #15 point 5)."""

from __future__ import annotations

import math

import numpy as np

from erepwatch.analyze.crisis import (
    FEATURES,
    GATES,
    REACHES,
    ROLES,
    CrisisJudge,
    alarm_of,
    evidence,
    load_crisis,
    load_trouble,
    roles,
    term_of,
)
from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.tags import load_tagger
from erepwatch.analyze.window import mention_window


def _window(title: str, text: str, query: str = "acme"):
    item = MatchItem(title, text, None, "en")
    [match] = compile_matcher([WatchSpec(1, query, query)]).match(item)
    return mention_window(item.title, item.text, match.spans)


def _features(window) -> dict[str, float]:
    values, _ = evidence(window, load_tagger(), (-0.5, 0.7, 0.1))
    return dict(zip(FEATURES, values, strict=False))


def test_a_recall_named_with_the_term_is_near_evidence() -> None:
    window = _window("Acme recalls 12,000 scooters after battery fires", "The group Acme apologised to its customers.")
    features = _features(window)
    assert all(features[f"crisis term within {r} words"] == 1.0 for r in REACHES)
    assert features["crisis term in a sentence naming the term"] == 1.0
    assert features["lexicon negativity about the term"] == 0.5
    _, words = evidence(window, load_tagger(), (0.0, 0.0, 0.0))
    assert words[0] == "recalls", "the nearest crisis term explains the tag"


def test_a_crisis_of_someone_else_is_far_or_outside() -> None:
    window = _window(
        "Why the market matters",
        "Acme opened a shop in Lyon last week and hired twenty people for it, the mayor said on Tuesday morning, "
        "while across town a rival chain faced a boycott. A scandal hit Foo.",
    )
    features = _features(window)
    assert features["crisis term in a sentence naming the term"] == 1.0, "the boycott, in Acme's sentence"
    assert features["crisis term within 20 words"] == 0.0, "but in another clause"
    _, words = evidence(window, load_tagger(), (0.0, 0.0, 0.0))
    assert words == ("boycott",), "the sentence about Foo is not in the window"


def test_hits_measure_the_distance_in_the_clause() -> None:
    text = "Acme says recalls are likely; elsewhere in the city, a long outage stopped the trains"
    hits = load_tagger().hits(text, [(0, len(text))], [(0, 4)])
    found = {hit.words: hit.distance for _, hit in hits}
    assert found["recalls"] == 2
    assert found["outage"] is None, "another clause: no distance to the term"


def _trouble_features(window) -> tuple[dict[str, float], tuple[str, ...]]:
    tagger, trouble = load_tagger(), load_trouble()
    bad = trouble.hits(window.text, window.segments, window.focus, window.scan)
    values, words = evidence(window, tagger, (-0.5, 0.7, 0.1), trouble=bad)
    return dict(zip(FEATURES, values, strict=False)), words


def test_words_of_trouble_count_apart_and_explain_after_crisis_terms() -> None:
    """A murder is no crisis term (said of victims and places as often as of a brand) but the classifier reads it,
    after any crisis term, as evidence and as the tag's "why"."""
    window = _window("Acme manager arrested after fraud at the Lyon plant", "Acme said it would cooperate.")
    features, words = _trouble_features(window)
    assert words[:2] == ("fraud", "arrested"), "crisis terms first, then the words of trouble"
    assert features["trouble word within 3 words"] == 1.0 and features["trouble word anywhere in the window"] == 1.0
    assert _features(window)["trouble word anywhere in the window"] == 0.0, "no trouble hits given: none counted"


def test_where_the_term_sits() -> None:
    setting = _window("Fusillade à Toulouse : un mort", "La police enquête à Toulouse.", query="toulouse")
    features, _ = _trouble_features(setting)
    assert features["word before the term is a place preposition"] == 1.0
    assert features["window starts with the term"] == 0.0
    assert features["times the term is named (log)"] == math.log1p(2), "title and sentence"
    subject = _window("Acme recalls scooters", "Nothing else.")
    features, _ = _trouble_features(subject)
    assert features["word before the term is a place preposition"] == 0.0 and features["window starts with the term"]
    assert term_of(subject) == "acme"


def test_the_judge_embeds_each_watched_term_once() -> None:
    """The watched term's embedding and its crisis query's are compared with the window's: embedded once per term,
    kept for the next mention (a watch list names a few hundred terms, a poll brings thousands of mentions)."""
    from erepwatch.analyze.sentiment import LexiconScorer
    from erepwatch.analyze.sentiment_models import load_head

    asked: list[str] = []

    def embed_term(text: str) -> np.ndarray:
        asked.append(text)
        from erepwatch.analyze.embedding import embed

        return embed([text], query=True)[0]

    judge = CrisisJudge(load_crisis(), load_tagger(), LexiconScorer.from_files(), load_head(), embed_term=embed_term)
    from erepwatch.analyze.embedding import embed

    quiet = _window("Acme opens a shop in Lyon", "Acme hired twenty people.")
    assert judge(quiet, "en", embed([quiet.text])[0]) == (), "no crisis term nor word of trouble: no tag"
    assert asked == [], "and no term embedded"
    breach = _window("Acme hit by massive data breach", "Millions of Acme customers had their data stolen.")
    vector = embed([breach.text])[0]
    first = judge(breach, "en", vector)
    assert judge(breach, "en", vector) == first
    assert asked == ["acme", alarm_of("acme", "en")], "the term and its crisis query embedded once, then kept"
    # A product recall said of the watched name is tagged by the word list's rules: the corpus holds none to train on.
    for title, language in (("Acme recalls 12,000 scooters", "en"), ("Acme rappelle 12 000 trottinettes", "fr")):
        recall = _window(title, "")
        assert judge(recall, language, embed([recall.text])[0])[0] in ("recalls", "rappelle 12")
    other = _window("Acme says Foo recalls 12,000 scooters", "")
    assert "recalls" not in judge(other, "en", embed([other.text])[0]), "another name owns the recall"


def _roles(window) -> dict[str, float]:
    tagger, trouble = load_tagger(), load_trouble()
    hits = tagger.hits(window.text, window.segments, window.focus, window.scan)
    bad = trouble.hits(window.text, window.segments, window.focus, window.scan)
    return dict(zip(ROLES, roles(window, tagger, hits, bad, trouble), strict=True))


def test_roles_say_who_the_crisis_word_is_said_of() -> None:
    """Subject, object or actor of the crisis word, and whether the watched term is a name at all: the window's
    embedding is the same for every name it holds, these are not."""
    subject = _roles(_window("Acme recalls 12,000 scooters after battery fires", ""))
    assert subject["crisis word within 4 words after the term"] == subject["crisis word right after the term"] == 1.0
    assert subject["crisis word in the title near the term"] == 1.0
    assert subject["term followed by a verb of an actor"] == 0.0
    target = _roles(_window("Spain orders an investigation into Acme over leaked data", ""))
    assert target["term after an object preposition after a crisis word"] == 1.0
    assert target["crisis word within 2 words before the term"] == 1.0
    actor = _roles(_window("Spain orders an investigation into Acme", "", query="spain"))
    assert actor["term followed by a verb of an actor"] == 1.0 and actor["term is a demonym"] == 0.0
    people = _roles(_window("Spanish police arrest three over the fraud", "", query="spanish"))
    assert people["term is a demonym"] == 1.0
    common = _roles(_window("What to Know about the outage", "Here is what you need to know.", query="know"))
    assert common["share of the term's occurrences in lower case"] == 0.5, "the title's Know, the text's know"


def test_the_tone_the_scorer_read_is_the_one_the_judge_reads() -> None:
    """The sentiment stage hands the judge the tone its e5 scorer read (``ModelScorer.assess``) instead of letting it
    read the window again: the same three numbers, so the same decision."""
    from erepwatch.analyze.embedding import embed
    from erepwatch.analyze.sentiment import LexiconScorer
    from erepwatch.analyze.sentiment_models import ModelScorer

    scorer = ModelScorer("e5", LexiconScorer.from_files())
    assert scorer.head is not None
    judge = CrisisJudge(load_crisis(), load_tagger(), scorer.lexicon, scorer.head)
    windows = [
        (_window("Acme hit by massive data breach", "Millions of Acme customers had their data stolen."), "en"),
        (_window("Acme wins a record contract", "Acme shares rose after the deal."), "en"),
        (_window("Grève chez Acme : les usines à l'arrêt", "Les salariés d'Acme dénoncent un scandale."), "fr"),
    ]
    vectors = embed([w.text for w, _ in windows])
    for (window, language), vector in zip(windows, vectors, strict=True):
        sentiment, tone = scorer.assess(window.text, language, window.focus, vector, scanned=window.scan)
        assert sentiment == scorer.score_with(window.text, language, window.focus, vector, scanned=window.scan)
        lexical = scorer.lexicon.features(window.text, language, window.focus, scanned=window.scan)
        negative, _, positive = scorer.head.probabilities(vector, lexical, language)
        assert tone == (lexical[0], negative, positive)
        assert judge(window, language, vector, tone) == judge(window, language, vector)


def test_the_gate_asks_the_crisis_word_be_said_of_a_named_term() -> None:
    """The second stage (session 9): whatever the classifier's probability, a window is tagged only when a word of
    the lists is said of the watched term in its clause (its subject or its object) and the term is a name."""

    def passes(window) -> bool:
        tagger, trouble = load_tagger(), load_trouble()
        hits = tagger.hits(window.text, window.segments, window.focus, window.scan)
        bad = trouble.hits(window.text, window.segments, window.focus, window.scan)
        values, _ = evidence(window, tagger, (-0.5, 0.7, 0.1), hits, bad)
        return GATES["attributed, a name"](values + roles(window, tagger, hits, bad, trouble))

    assert passes(_window("Acme recalls 12,000 scooters after battery fires", ""))
    assert passes(_window("Spain orders an investigation into Acme over leaked data", ""))
    assert passes(_window("Grève chez Acme : les usines à l'arrêt", "", query="acme"))
    # Someone else's crisis in the term's sentence, far from it; a people named by its demonym; a common word.
    assert not passes(_window("Acme reports results as the market awaits the verdict in the Globex fraud trial", ""))
    assert not passes(_window("Spanish police arrest three over the fraud", "", query="spanish"))
    assert not passes(_window("What to Know about the outage", "Here is what you need to know.", query="know"))
    assert load_crisis().gate in GATES
