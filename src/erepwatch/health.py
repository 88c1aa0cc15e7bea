"""Is the daemon doing its work? The truth ``/healthz`` tells, from the cycles themselves.

A heartbeat thread that runs proves nothing: the worker can be stuck in one cycle (a hung SMTP server, a feed
the parser chews on) or fail every tick (a poisoned row) while the thread answers. So health is judged on the
*cycles*: a poll batch or a notify cycle must have **completed** within ``window``; the cycle running now must
not have run longer than ``window``; and the last cycle must not have failed. Each verdict comes with its
reason, which ``/healthz`` shows with its 503.

Pure bookkeeping with an injected monotonic clock: the daemon reports, :meth:`CycleHealth.verdict` judges.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CycleHealth:
    #: how long without a completed cycle (or inside one) is still healthy
    window: float
    clock: Callable[[], float] = time.monotonic
    _started_at: float = field(init=False)
    _running: dict[str, float] = field(default_factory=dict, init=False)
    _completed: dict[str, float] = field(default_factory=dict, init=False)
    _failure: tuple[float, str, str] | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._started_at = self.clock()

    def started(self, cycle: str) -> None:
        with self._lock:
            self._running[cycle] = self.clock()

    def completed(self, cycle: str) -> None:
        with self._lock:
            self._running.pop(cycle, None)
            self._completed[cycle] = self.clock()
            if self._failure is not None and self._failure[1] == cycle:
                self._failure = None

    def failed(self, cycle: str | None, reason: str) -> None:
        """A cycle ended in an error; ``None``: whichever cycle was running (a tick's failure)."""
        with self._lock:
            if cycle is None:
                cycle = max(self._running, key=self._running.__getitem__, default="tick")
            self._running.pop(cycle, None)
            self._failure = (self.clock(), cycle, " ".join(reason.split())[:300])

    def verdict(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, details); when unhealthy, ``details["reason"]`` says why in one line."""
        now = self.clock()
        with self._lock:
            running = dict(self._running)
            completed = dict(self._completed)
            failure = self._failure
        details: dict[str, Any] = {
            f"last_{name}_seconds_ago": round(now - at, 1) for name, at in sorted(completed.items())
        }
        for name, since in sorted(running.items()):
            details[f"{name}_running_seconds"] = round(now - since, 1)
        reason = None
        stuck = [(name, now - since) for name, since in running.items() if now - since > self.window]
        last_done = max(completed.values(), default=None)
        if failure is not None:
            details["last_failure"] = failure[2]
            reason = f"the last {failure[1]} cycle failed: {failure[2]}"
        elif stuck:
            name, age = max(stuck, key=lambda s: s[1])
            reason = f"the {name} cycle has been running for {age:.0f} s (more than {self.window:.0f} s)"
        elif last_done is None and now - self._started_at > self.window:
            reason = f"no poll or notify cycle completed in the {self.window:.0f} s since start"
        elif last_done is not None and now - last_done > self.window:
            reason = f"no poll or notify cycle completed in the last {now - last_done:.0f} s"
        if reason is not None:
            details["reason"] = reason
        return reason is None, details
