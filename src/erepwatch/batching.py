"""Cutting long id lists into pieces a database accepts in one ``IN (…)`` (SQLite allows 32,766 parameters,
and plans degrade long before: 500 keeps each query small on both backends)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Ids per ``IN (…)`` query.
IN_QUERY_CHUNK = 500


def chunked(values: Sequence[T], size: int = IN_QUERY_CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size`` (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"chunk size must be positive, got {size}")
    for start in range(0, len(values), size):
        yield values[start : start + size]
