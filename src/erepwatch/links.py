"""The one URL filter: which feed-given URLs may become a link anywhere erepwatch shows one.

A feed is hostile until proven otherwise: a ``javascript:`` or ``data:`` URL, or one disguised with control or
bidirectional characters, must never reach an ``href`` in a digest, an alert, a chat message, the web page or
the Atom feed. :class:`~erepwatch.db.mention_views.MentionView` applies it when it is built, so every face
reading mentions gets filtered URLs without having to remember.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

#: Longer URLs are refused: no link of ours needs more, and a huge one only serves to hide something.
URL_CAP = 2000
#: Control characters and bidirectional overrides (which can disguise a link or a name).
UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None (no javascript:, data:, or mailto: from feeds)."""
    if not url or len(url) > URL_CAP or UNSAFE_CHARS.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in {"http", "https"} and parts.hostname else None
