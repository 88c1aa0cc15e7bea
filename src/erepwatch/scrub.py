"""Text made valid for where it goes: the one place that decides which characters never leave or enter.

- :func:`scrub` is for every *output* (Atom and HTML pages, e-mail, JSON for people): C0 controls other than
  tab, line feed and carriage return, DEL, C1 controls, lone surrogates and the non-characters U+FFFE/U+FFFF
  go. XML 1.0 forbids most of them (one ``\\x1b`` in a title makes a whole Atom feed unreadable) and none of
  them means anything in a title or a summary. Templates get it through :func:`finalize` (Jinja2's
  ``finalize=`` hook), so no variable can forget it.
- :func:`valid_text` is for what is *stored*: lone surrogates (``&#xD800;`` in a feed) cannot be encoded as
  UTF-8 and NUL is refused by PostgreSQL; both are replaced, everything else is kept as the feed said it.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

_OUTPUT_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_STORAGE_UNSAFE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def scrub(text: str) -> str:
    """``text`` without the characters no output may carry (see the module's docstring)."""
    return _OUTPUT_UNSAFE.sub("", text)


def finalize(value: Any) -> Any:
    """Jinja2 ``finalize`` hook: every string printed by a template is scrubbed (before autoescaping)."""
    if isinstance(value, Markup):
        return Markup(scrub(value))  # removing a control character cannot make a tag
    if isinstance(value, str):
        return scrub(value)
    return value


def valid_text(text: str) -> str:
    """``text`` that any database stores: lone surrogates become U+FFFD, NUL characters are dropped."""
    if "\x00" not in text and (text.isascii() or _encodes(text)):
        # Told in C (a search for one character, an encoding that refuses surrogates), where the pattern's
        # search read a megabyte of markup one character at a time.
        return text
    if not _STORAGE_UNSAFE.search(text):
        return text
    return _STORAGE_UNSAFE.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, text)


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a surrogate, the only character UTF-8 cannot encode
        return False
    return True


def valid_optional(text: str | None, cap: int) -> str | None:
    """An optional field made valid and cut to the ``cap`` characters its column holds (None stays None)."""
    if text is None:
        return None
    return valid_text(text)[:cap] or None
