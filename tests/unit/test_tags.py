from pathlib import Path

import pytest

from erepwatch.analyze.tags import load_tagger


@pytest.fixture(scope="module")
def tagger():
    return load_tagger()


def test_builtin_groups(tagger) -> None:
    assert {"crisis", "review", "customer-service", "legal", "hiring"} <= set(tagger.groups)


CASES = [
    ("recall-fr", "Rappel de produits : risque d'intoxication", ("crisis",)),
    ("breach-en", "Acme hit by a data breach", ("crisis",)),
    ("elision-accents", "L'INTOXICATION alimentaire", ("crisis",)),
    ("stem", "Vague de licenciements chez Acme", ("crisis",)),
    ("customer-service", "Le service client ne répond pas", ("customer-service",)),
    ("legal", "Acme condamnée par le tribunal", ("legal",)),
    ("hiring", "We're hiring: three job openings in Paris", ("hiring",)),
    ("nothing", "Acme ouvre un magasin à Lyon", ()),
    ("whole-words", "The scampi were delicious", ()),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_tags(tagger, text: str, expected: tuple[str, ...]) -> None:
    found = tagger.tags(text, None)
    assert set(expected) <= set(found)
    if not expected:
        assert found == ()


def test_custom_groups_per_watch(tagger) -> None:
    custom = {"crise": ["rappel", "intoxication"], "prix": ["trop cher"]}
    assert tagger.tags("Rappel : intoxication possible", "fr", custom) == ("crisis", "crise")
    assert "prix" in tagger.tags("C'est TROP cher", "fr", custom)


def test_extra_file_adds_a_group(tmp_path: Path) -> None:
    extra = tmp_path / "bakery.tsv"
    extra.write_text("# mine\nbaguette*\n", encoding="utf-8")
    assert "bakery" in load_tagger([extra]).tags("Des baguettes brûlées", "fr")


@pytest.mark.parametrize(
    "text",
    [
        "Des ONG ukrainiennes s'inquiètent du retour de Donald Trump à la Maison Blanche",
        "Andrea Zanoni, un conseiller régional italien, a publié ce 4 février sur Facebook",
        "Hollywood stars attend the premiere in a package of new films",
        "Un temps sec et un hiver court, selon la note de Météo-France",
        "Air strikes hit the city overnight as talks stall",
        "He is fine, said the judge's neighbour, back on stage tonight",
    ],
    ids=["retour", "conseiller", "stars-package", "sec-court-note", "air-strikes", "fine-stage"],
)
def test_news_wording_is_not_tagged(text):
    """Generic words seen in real headlines of the corpus must not raise customer-service, review, legal…"""
    assert load_tagger().tags(text, None) == ()


def test_extra_file_adds_terms_after_the_builtin_exclusions(tmp_path: Path) -> None:
    # The built-in crisis file ends with exclusions ("!hacked together"): terms a user adds after them are terms.
    extra = tmp_path / "crisis.tsv"
    extra.write_text("déraillé\n", encoding="utf-8")
    assert load_tagger([extra]).tags("Le train a déraillé", "fr") == ("crisis",)
    assert "crisis" not in load_tagger([extra]).tags("We hacked together a demo", "en")


def _crisis_words(text: str, term: str = "Acme") -> tuple[str, ...]:
    start = text.index(term)
    return load_tagger().explain(text, "en", focus=[(start, start + len(term))]).get("crisis", ())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acme recalls 12,000 scooters after battery fires", ("recalls",)),
        ("Acme accused of fraud by its former auditor", ("accused of fraud", "fraud")),
        ("Acme is accused of a cover-up", ("accused of", "cover up")),
        ("Acme has accused Foo of malpractice in its latest model", ()),
        ("Foo outage. Acme is fine", ()),
        ("Attackers carried out a large-scale cyberattack, Acme wrote in a report", ()),
        ("Foo suffered a massive outage, according to Acme engineers", ()),
        ("We talk about the new Acme console, Foobar layoffs and tiny sandwiches", ()),
        ("Spain investigates Foo, Acme and Bar over alleged abuse material", ("alleged",)),
        ("Socials: Website Acme LinkedIn (00:00) - Prologue (03:03) - Chapter 1: The Outage", ()),
        ("Acme rappelle 12 000 trottinettes", ("rappelle 12",)),
        ("Grève chez Acme ce jeudi", ("greve",)),
        ("Acme en panne : des milliers de clients privés d'internet", ("en panne", "panne")),
        ("Acme accuse Foo de fraude", ()),
    ],
    ids=[
        "subject",
        "accused-of",
        "is-accused",
        "accuses-another",
        "short-text-other-clause",
        "source",
        "according-to",
        "name-before",
        "list",
        "table-of-contents",
        "rappelle-fr",
        "greve-chez-fr",
        "panne-fr",
        "accuse-fr",
    ],
)
def test_crisis_of_the_named_entity_only(text: str, expected: tuple[str, ...]) -> None:
    """A crisis term near the watched name counts only when it is said of that name (issue #15 point 5)."""
    assert _crisis_words(text) == expected
