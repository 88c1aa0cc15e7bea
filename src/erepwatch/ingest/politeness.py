"""Politeness per host: how many requests in flight, and how long between two of them.

The rules are data (:data:`HOST_RULES`), one line per host the search-feed catalog uses, each with the reason
for its numbers. A host not listed gets the fetcher's default concurrency and no minimum interval.

:class:`HostGate` applies the minimum interval: each request *reserves* the next free slot of its host before
waiting for it, so two concurrent requests to the same host never start closer than the interval, and a 429 or
503 pushes the host's next slot back (``Retry-After`` when the server gives one). The clock and the sleep are
injected, so tests advance time instead of waiting. One gate lives for the whole process (see
:func:`shared_gate`): a poll every 30 s must respect an interval longer than one poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["HOST_RULES", "HostGate", "HostRule", "rule_for", "shared_gate"]


@dataclass(frozen=True, slots=True)
class HostRule:
    #: seconds between the starts of two requests to the host.
    min_interval: float = 0.0
    #: requests in flight to the host at once; None: the fetcher's ``per_host``.
    concurrency: int | None = None
    #: seconds to hold the host back after a 429/503 that names no Retry-After.
    backoff: float = 60.0


HOST_RULES: Mapping[str, HostRule] = MappingProxyType(
    {
        # Google answers bursts from one address with 503 and a captcha page for an hour; one query a minute
        # is what long-running open-source watchers settled on.
        "news.google.com": HostRule(min_interval=60.0, concurrency=1, backoff=900.0),
        # Google Alerts delivery feeds: same infrastructure, fewer and slower-changing feeds.
        "www.google.com": HostRule(min_interval=10.0, concurrency=1, backoff=900.0),
        # Bing throttles unauthenticated RSS less harshly, but still answers bursts with 429.
        "www.bing.com": HostRule(min_interval=10.0, concurrency=1, backoff=300.0),
        # Reddit allows about 10 unauthenticated requests a minute per client and asks for a descriptive
        # User-Agent (https://github.com/reddit-archive/reddit/wiki/API#rules).
        "www.reddit.com": HostRule(min_interval=7.0, concurrency=1, backoff=300.0),
        # hnrss.org is one volunteer-run server in front of Algolia's HN search API.
        "hnrss.org": HostRule(min_interval=5.0, concurrency=1, backoff=300.0),
        # YouTube's channel feeds are static and cached; a short gap is enough.
        "www.youtube.com": HostRule(min_interval=1.0, concurrency=2),
    }
)


def rule_for(host: str | None, rules: Mapping[str, HostRule] = HOST_RULES) -> HostRule:
    """The rule of ``host`` (exact name, case-insensitive), else the default rule."""
    if not host:
        return HostRule()
    return rules.get(host.lower().rstrip("."), HostRule())


class HostGate:
    """Spaces the requests to each host by its rule's minimum interval, and holds back a host after a 429/503."""

    def __init__(
        self,
        rules: Mapping[str, HostRule] = HOST_RULES,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rules = rules
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}

    def rule(self, host: str) -> HostRule:
        return rule_for(host, self.rules)

    def reserve(self, host: str) -> float:
        """Book the host's next free slot; return how many seconds to wait for it (0: go now)."""
        host = host.lower()
        now = self._clock()
        slot = max(now, self._next.get(host, now))
        self._next[host] = slot + self.rule(host).min_interval
        return slot - now

    async def wait(self, host: str) -> float:
        """Wait for the host's next slot (reserved before sleeping, so concurrent callers queue up)."""
        delay = self.reserve(host)
        if delay > 0:
            await self._sleep(delay)
        return delay

    def defer(self, host: str, retry_after: float | None = None) -> None:
        """The host said "slow down": no request to it before ``retry_after`` (or the rule's backoff).

        Only hosts with a rule are held back as a whole: those serve many search feeds that throttle per client.
        Elsewhere a 503 is one feed's trouble, which the pipeline's per-source backoff already handles.
        """
        host = host.lower()
        if host not in self.rules:
            return
        pause = retry_after if retry_after is not None else self.rule(host).backoff
        self._next[host] = max(self._next.get(host, 0.0), self._clock() + pause)

    def next_allowed(self, host: str) -> float | None:
        return self._next.get(host.lower())

    def budget(self, host: str, horizon: float, default: int) -> int:
        """How many requests to ``host`` could start within ``horizon`` seconds from now (at most ``default``).

        The daemon claims no more than this per tick, so a host that allows one request a minute never holds
        a tick (and the alerts that follow it) waiting: its other sources simply stay due for a later tick.
        """
        interval = self.rule(host).min_interval
        if interval <= 0:
            return default
        wait = max(0.0, self._next.get(host.lower(), 0.0) - self._clock())
        if wait > horizon:
            return 0
        return min(default, 1 + int((horizon - wait) // interval))


_SHARED: HostGate | None = None


def shared_gate() -> HostGate:
    """The process-wide gate: successive polls share the hosts' next slots."""
    global _SHARED
    if _SHARED is None:
        _SHARED = HostGate()
    return _SHARED
