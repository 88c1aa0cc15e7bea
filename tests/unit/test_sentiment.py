from pathlib import Path

import pytest

from erepwatch.analyze.sentiment import LexiconScorer, Sentiment, load_scorer
from erepwatch.errors import ConfigError


@pytest.fixture(scope="module")
def scorer() -> LexiconScorer:
    s = load_scorer()
    assert isinstance(s, LexiconScorer)
    return s


CASES = [
    ("crisis-fr", "Service client injoignable, c'est une arnaque !", "fr", "negative"),
    ("ne-recommande-pas", "Je ne recommande pas ce produit.", "fr", "negative"),
    ("ne-pas-flips", "Ce n'est pas bon.", "fr", "negative"),
    ("pas-mal-idiom", "pas mal du tout", "fr", "positive"),
    ("contrast-fr", "C'est très bien mais le service est nul.", "fr", "negative"),
    ("contrast-en", "The food was bad but the staff were wonderful.", "en", "positive"),
    ("not-good", "The food was not good at all", "en", "negative"),
    ("nt-negation", "I didn't like the service, it wasn't friendly", "en", "negative"),
    ("never-again", "Never again, waste of money.", "en", "negative"),
    ("emoticon", "Lunch with the team :)", "en", "positive"),
    ("emoji", "Encore une panne 😡", "fr", "negative"),
    ("neutral-news", "Acme publie ses résultats trimestriels mardi.", "fr", "neutral"),
    ("neutral-en", "The company opens a new office in Lyon.", "en", "neutral"),
    ("quebec", "Le service était pas pire pantoute, tiguidou!", "fr", "positive"),
    ("accents-folded", "SERVICE CLIENT INJOIGNABLE", "fr", "negative"),
]


@pytest.mark.parametrize(("text", "lang", "label"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_label(scorer: LexiconScorer, text: str, lang: str, label: str) -> None:
    result = scorer.score(text, lang)
    assert result.label == label, result
    assert -1.0 <= result.score <= 1.0


def test_keywords_explain_the_decision(scorer: LexiconScorer) -> None:
    result = scorer.score("Service client injoignable, c'est une arnaque !", "fr")
    assert "arnaque" in result.keywords
    assert "service client injoignable" in result.keywords


def test_negated_keyword_carries_its_negator(scorer: LexiconScorer) -> None:
    assert scorer.score("The food was not good", "en").keywords == ("not good",)


@pytest.mark.parametrize(
    ("plain", "boosted", "lang"),
    [("C'est bien.", "C'est vraiment très bien.", "fr"), ("It is good.", "It is very good!!", "en")],
    ids=["fr", "en"],
)
def test_boosters_and_exclamation_strengthen(scorer: LexiconScorer, plain: str, boosted: str, lang: str) -> None:
    assert scorer.score(boosted, lang).score > scorer.score(plain, lang).score > 0


def test_attenuator_weakens(scorer: LexiconScorer) -> None:
    assert 0 < scorer.score("It is slightly good.", "en").score < scorer.score("It is good.", "en").score


def test_focus_sentence_weighs_more(scorer: LexiconScorer) -> None:
    text = "Globex est excellent, un service formidable. Acme est décevant et lent."
    brand = text.index("Acme")
    assert scorer.score(text, "fr").label == "positive"
    focused = scorer.score(text, "fr", focus=[(brand, brand + 4)])
    assert focused.label == "negative"


def test_unknown_language_uses_every_list(scorer: LexiconScorer) -> None:
    assert scorer.score("arnaque", None).label == "negative"
    assert scorer.score("scam", "de").label == "negative"


def test_extra_lexicon_overrides_and_extends(tmp_path: Path) -> None:
    mine = tmp_path / "mine.fr.tsv"
    mine.write_text("# mine\ncroustillant\t2\nnul\t0\n", encoding="utf-8")
    scorer = load_scorer("lexicon", [mine])
    assert scorer.score("Le pain est croustillant", "fr").label == "positive"
    assert scorer.score("nul", "fr").label == "neutral"
    assert load_scorer().score("Le pain est croustillant", "fr").label == "neutral"


def test_malformed_extra_lexicon_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("word-without-weight\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.tsv:1"):
        load_scorer("lexicon", [bad])


class ConstantScorer:
    def score(self, text, language, focus=()):
        return Sentiment("positive", 1.0, ("always",))


def test_pluggable_scorer_by_spec() -> None:
    scorer = load_scorer(f"{__name__}:ConstantScorer")
    assert scorer.score("anything", None).keywords == ("always",)


@pytest.mark.parametrize("spec", ["nope", "no.such.module:X", f"{__name__}:Sentiment"], ids=["form", "module", "api"])
def test_bad_scorer_spec_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError):
        load_scorer(spec)
