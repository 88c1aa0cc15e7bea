"""The crisis classifier's evidence: where the crisis terms sit relative to the watched term (issue #15 point 5)."""

from __future__ import annotations

from erepwatch.analyze.crisis import FEATURES, REACHES, evidence
from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.tags import load_tagger
from erepwatch.analyze.window import mention_window


def _window(title: str, text: str, query: str = "acme"):
    item = MatchItem(title, text, None, "en")
    [match] = compile_matcher([WatchSpec(1, query, query)]).match(item)
    return mention_window(item.title, item.text, match.spans)


def _features(window) -> dict[str, float]:
    values, _ = evidence(window, load_tagger(), (-0.5, 0.7, 0.1))
    return dict(zip(FEATURES, values, strict=True))


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
