"""The clock, in one place: decisions take ``now`` as an argument; only the edges (CLI, daemon) read it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: What the daemon and the use cases are given to read the time; tests pass a fake one.
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (naive datetimes never enter erepwatch)."""
    return datetime.now(UTC)
