"""The corpus items the mention builders read (``build_mentions_train.py``, ``build_mentions_extra.py``): every
French or English entry of ../shared/corpus/feeds, as erepwatch's own parser reads it, with its detected language."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from erepwatch.analyze.language import detect_language
from erepwatch.errors import ErepwatchError
from erepwatch.ingest.items import ItemDraft, items_from_feed
from erepwatch.ingest.parse import parse_feed

FEEDS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "feeds"
#: A fixed fetch date, so that items without a date of their own get the same one at every rebuild.
FETCHED_AT = datetime(2026, 12, 1, tzinfo=UTC)


def words_of(text: str) -> set[str]:
    """The words of 3 letters or more, lower-cased: what the builders compare titles by."""
    return set(re.findall(r"\w{3,}", text.lower()))


def shares_a_story(words: set[str], other: set[str]) -> bool:
    """Two titles' words (:func:`words_of`) share 30 % of the smaller: the same story told elsewhere, kept out of a
    training set that could otherwise teach a held-out line's story."""
    return bool(words and other) and len(words & other) >= 0.3 * min(len(words), len(other))


def corpus_items() -> Iterator[tuple[str, str, str, ItemDraft]]:
    """(feed file, entry id, language, item) for each French or English entry, feeds in name order."""
    for path in sorted(FEEDS.iterdir()):
        raw = path.read_bytes()
        raw = gzip.decompress(raw) if path.suffix == ".gz" else raw
        try:
            items = items_from_feed(parse_feed(raw, {}, None), fetched_at=FETCHED_AT)
        except (ErepwatchError, ValueError):
            continue  # not a feed (an HTML page, a truncated file): the corpus's hostile cases
        for item in items:
            lang = detect_language(f"{item.title}\n{item.text}")
            if lang in ("fr", "en"):
                yield path.name, item.guid or item.url or "", lang, item
