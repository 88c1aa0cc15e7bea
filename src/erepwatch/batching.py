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


#: The largest statement :func:`sized_for_statements` makes, a power of two (a SQLite row of 15 columns: 3,840
#: parameters of the 32,766 allowed).
STATEMENT_ROWS = 256
#: Below this many rows a batch is one slice of its own size: small statements are cheap to keep compiled, and most
#: sources bring fewer items than this to a poll.
EXACT_ROWS = 16


def sized_for_statements(
    values: Sequence[T], largest: int = STATEMENT_ROWS, exact_below: int = EXACT_ROWS
) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices: powers of two from ``largest`` down to ``exact_below`` while that many are
    left, then what remains (fewer than ``exact_below``) as one slice: 300 rows → 256, 32, 12.

    A multi-row ``INSERT … VALUES (…), (…)`` is a new SQL text for every number of rows, and SQLite's driver keeps
    up to 128 compiled statements per connection, each ~1 kB per row of 15 columns: batches of every size from 1
    to 500 held 73 MB in one pooled connection of the daemon. This bounds a statement to 20 texts (1 … 15, 16 …
    256 rows; ~0.7 MB compiled), at the price of a few more statements for a large batch (a single slice up to 16
    rows, two up to 47)."""
    if largest < 1 or largest & (largest - 1):
        raise ValueError(f"the largest slice must be a power of two, got {largest}")
    start, left = 0, len(values)
    size = largest
    while left >= exact_below and left:
        while size > left:
            size //= 2
        yield values[start : start + size]
        start += size
        left -= size
    if left:
        yield values[start:]
