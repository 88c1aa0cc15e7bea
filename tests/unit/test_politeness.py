"""Per-host politeness: minimum interval, concurrency, hold-back after 429/503 — with a fake clock, no sleeping."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

from erepwatch import USER_AGENT
from erepwatch.errors import FetchError, SourceErrorKind
from erepwatch.ingest.fetch import Fetcher, FetchPolicy
from erepwatch.ingest.politeness import HOST_RULES, HostGate, HostRule, rule_for

RULES = {"slow.example": HostRule(min_interval=60.0, concurrency=1, backoff=300.0)}


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("host", "interval", "concurrency"),
    [
        ("news.google.com", 60.0, 1),
        ("NEWS.GOOGLE.COM.", 60.0, 1),
        ("www.reddit.com", 7.0, 1),
        ("hnrss.org", 5.0, 1),
        ("example.org", 0.0, None),
        (None, 0.0, None),
    ],
    ids=["google-news", "case-and-dot", "reddit", "hnrss", "unknown-host", "no-host"],
)
def test_rule_for(host, interval, concurrency):
    rule = rule_for(host)
    assert (rule.min_interval, rule.concurrency) == (interval, concurrency)


def test_issue_example_one_request_a_minute_to_google_news():
    assert HOST_RULES["news.google.com"].concurrency == 1
    assert HOST_RULES["news.google.com"].min_interval >= 60


def test_gate_spaces_requests_by_the_interval_and_leaves_other_hosts_alone():
    clock = FakeClock()
    gate = HostGate(RULES, clock=clock, sleep=clock.sleep)
    assert gate.reserve("slow.example") == 0
    assert gate.reserve("slow.example") == 60  # booked before anyone sleeps: queued, not bunched
    assert gate.reserve("slow.example") == 120
    assert gate.reserve("fast.example") == 0
    assert gate.reserve("fast.example") == 0
    clock.now += 500  # long after: no wait
    assert gate.reserve("slow.example") == 0


def test_gate_defer_holds_a_ruled_host_back_and_ignores_others():
    clock = FakeClock()
    gate = HostGate(RULES, clock=clock, sleep=clock.sleep)
    gate.defer("slow.example", retry_after=30)
    assert gate.reserve("slow.example") == 30
    gate.defer("slow.example")  # no Retry-After: the rule's backoff
    assert gate.reserve("slow.example") == pytest.approx(300)
    gate.defer("other.example", retry_after=30)
    assert gate.reserve("other.example") == 0


def _recording_transport(statuses: dict[str, list[int]], seen: list[tuple[float, str, str]], clock: FakeClock):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((clock(), request.url.host, request.headers["user-agent"]))
        status = statuses.get(request.url.host, [200]).pop(0) if statuses.get(request.url.host) else 200
        headers = {"Retry-After": "90"} if status == 429 else {}
        return httpx.Response(status, headers=headers, content=b"<rss><channel></channel></rss>")

    return httpx.MockTransport(handler)


def test_fetcher_applies_the_gate_with_a_descriptive_user_agent():
    clock = FakeClock()
    gate = HostGate(RULES, clock=clock, sleep=clock.sleep)
    seen: list[tuple[float, str, str]] = []
    transport = _recording_transport({}, seen, clock)

    async def run() -> None:
        async with Fetcher(FetchPolicy(), transport=transport, gate=gate) as fetcher:
            await asyncio.gather(*(fetcher.fetch(f"https://slow.example/feed?q={i}") for i in range(3)))
            await fetcher.fetch("https://fast.example/feed")

    asyncio.run(run())
    slow_times = [t for t, host, _ in seen if host == "slow.example"]
    assert [b - a for a, b in itertools.pairwise(slow_times)] == [60, 60]
    assert all(ua == USER_AGENT and "erepwatch" in ua and "http" in ua for _, _, ua in seen)
    assert clock.sleeps == [60, 60]  # one at a time (concurrency 1), each waiting its turn; the fast host none


def test_fetcher_holds_the_host_back_after_429():
    clock = FakeClock()
    gate = HostGate(RULES, clock=clock, sleep=clock.sleep)
    seen: list[tuple[float, str, str]] = []
    transport = _recording_transport({"slow.example": [429, 200]}, seen, clock)

    async def run() -> None:
        async with Fetcher(FetchPolicy(), transport=transport, gate=gate) as fetcher:
            with pytest.raises(FetchError) as info:
                await fetcher.fetch("https://slow.example/a")
            assert info.value.kind == SourceErrorKind.HTTP_429
            await fetcher.fetch("https://slow.example/b")

    asyncio.run(run())
    first, second = (t for t, _, _ in seen)
    assert second - first == 90  # Retry-After beats the 60 s interval


def test_budget_counts_the_requests_that_fit_in_the_horizon():
    now = [1000.0]
    gate = HostGate(clock=lambda: now[0])
    assert gate.budget("news.google.com", horizon=30, default=10) == 1  # one a minute
    assert gate.budget("news.google.com", horizon=150, default=10) == 3
    assert gate.budget("example.org", horizon=30, default=10) == 10  # no rule: the default cap
    gate.reserve("news.google.com")  # next slot in 60 s
    assert gate.budget("news.google.com", horizon=30, default=10) == 0
    now[0] += 45
    assert gate.budget("news.google.com", horizon=30, default=10) == 1


def test_pick_batch_respects_host_budget():
    from erepwatch.schedule import pick_batch

    candidates = [(1, "news.google.com"), (2, "news.google.com"), (3, "a.example"), (4, "news.google.com")]
    budget = {"news.google.com": 1}.get
    assert pick_batch(candidates, batch=10, per_host=5, host_budget=lambda h: budget(h, 5)) == [1, 3]
