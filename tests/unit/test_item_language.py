"""Language detection at ingest reads the title and a bounded start of the text (issue 17 point 2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from erepwatch import pipeline
from erepwatch.analyze.language import detect_language
from erepwatch.records import ItemDraft

FRENCH = "Le conseil municipal a voté hier soir le budget de la ville pour l'année prochaine, après un long débat. "
ENGLISH = "The quarterly results were published this morning and the shares rose sharply in early trading. "


def _draft(title: str, text: str) -> ItemDraft:
    return ItemDraft(
        canonical_url="https://x.example/1", guid=None, url=None, title=title, text=text, published=datetime.now(UTC)
    )


def test_only_a_bounded_prefix_of_the_text_is_read(monkeypatch: pytest.MonkeyPatch):
    seen: list[str] = []
    monkeypatch.setattr(pipeline, "detect_language", lambda text: seen.append(text) or "fr")
    pipeline.item_language(_draft("Titre", FRENCH * 200))
    assert len(seen[0]) <= len("Titre. ") + pipeline.LANGUAGE_PREFIX


def test_the_start_of_an_article_decides_its_language():
    # A French article quoting a long English passage further down is French.
    assert pipeline.item_language(_draft("Budget municipal", FRENCH * 3 + ENGLISH * 50)) == "fr"
    assert pipeline.item_language(_draft("Quarterly results", ENGLISH * 3 + FRENCH * 50)) == "en"


def test_too_few_letters_is_unknown():
    assert detect_language("12 345 — 678 !") is None
    assert detect_language("a1") is None
