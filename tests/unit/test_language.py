import pytest

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
