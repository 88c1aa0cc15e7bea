"""The document as the parser gets it: what the caller of the parser does to fetched bytes first.

- Character references that name no character (``&#xD800;``, a lone UTF-16 surrogate; ``&#0;``) make
  feedparser raise while encoding its output, losing every entry of the feed for one character: they become
  U+FFFD before parsing. XML 1.0 forbids them anyway (§4.1, well-formedness constraint "Legal Character").
- An internal DTD subset that declares entities (``<!DOCTYPE rss [<!ENTITY …>]>``) is removed: no feed needs
  one, and nested entities are the "billion laughs" (expat refuses them, then feedparser's loose fallback
  spends seconds and tens of megabytes on the rest). Their references are then left as literal text.
- A run of text of twice :data:`MAX_RUN` or more (a 14 MiB title) is cut to MAX_RUN before parsing (shorter runs
  may pass): no field keeps more than 100,000 characters (ingest/items.py), and parsers hold several copies of
  every text node.
- A document with more entries than the per-fetch budget is trimmed to its newest (ingest/limit.py).
"""

from __future__ import annotations

import re

from erepwatch.ingest.limit import trim_document

_BAD_CHAR_REF = re.compile(
    rb"&#(?:[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0)|0*(?:5529[6-9]|55[3-9]\d\d|56\d{3}|57[0-2]\d\d|573[0-3]\d|5734[0-3]|0));"
)


#: Where a DOCTYPE may be: before the root element, near the start.
_PROLOG = 64 * 1024


def strip_entity_declarations(content: bytes) -> bytes:
    start = content.find(b"<!DOCTYPE", 0, _PROLOG)
    if start < 0:
        return content
    subset = content.find(b"[", start, _PROLOG)
    root = content.find(b"<", start + 1, _PROLOG)
    if subset < 0 or (0 <= root < subset and not content.startswith(b"<!", root)):
        return content  # no internal subset
    end = content.find(b"]>", subset)
    if end < 0:
        end = content.find(b"]", subset)
        close = content.find(b">", end) if end >= 0 else -1
        end = close - 1 if close >= 0 else -1
    if end < 0 or b"<!ENTITY" not in content[subset:end]:
        return content
    return content[:start] + content[end + 2 :]


#: Longest run of bytes without markup kept before parsing.
MAX_RUN = 2**20
_LONG_RUN = re.compile(rb"[^<]{%d,}" % (MAX_RUN + 1))


def cap_text_runs(content: bytes) -> bytes:
    """``content`` with every run of more than MAX_RUN bytes without ``<`` cut to MAX_RUN bytes (on a character
    boundary, never inside an entity reference)."""
    if len(content) <= MAX_RUN or not _has_long_run(content):
        return content
    return _LONG_RUN.sub(_cut, content)


def _has_long_run(content: bytes) -> bool:
    # A sample every MAX_RUN bytes: a run of twice MAX_RUN always holds a sample with no "<" for MAX_RUN after it.
    # Microseconds, where a scan of the whole document would cost a large feed a third of a second.
    return any(content.find(b"<", at, at + MAX_RUN + 1) < 0 for at in range(0, len(content) - MAX_RUN, MAX_RUN))


def _cut(match: re.Match[bytes]) -> bytes:
    run = match.group()
    end = MAX_RUN
    while end > 0 and 0x80 <= run[end] <= 0xBF:  # not inside a UTF-8 sequence
        end -= 1
    amp = run.rfind(b"&", max(0, end - 16), end)
    if amp >= 0 and run.find(b";", amp, end) < 0:
        end = amp  # not inside "&amp;" or "&#x1F600;"
    return run[:end]


def prepare_document(content: bytes, max_entries: int | None) -> bytes:
    content = cap_text_runs(strip_entity_declarations(content))
    # Searched first (the pattern's literal start is found in C, faster than a separate test for "&#"), replaced
    # only where found: hardly any feed has one.
    if _BAD_CHAR_REF.search(content):
        content = _BAD_CHAR_REF.sub(b"&#xFFFD;", content)
    return content if max_entries is None else trim_document(content, max_entries)
