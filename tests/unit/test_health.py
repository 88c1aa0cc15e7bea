"""/healthz's verdict from the cycles themselves (issue 18 point 6), on a fake clock."""

from __future__ import annotations

from erepwatch.health import CycleHealth


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_healthy_only_after_recent_completed_cycles():
    clock = Clock()
    health = CycleHealth(window=120, clock=clock)
    assert health.verdict()[0], "starting up: not yet judged"
    health.started("poll")
    clock.now += 30
    health.completed("poll")
    ok, details = health.verdict()
    assert ok and details["last_poll_seconds_ago"] == 0
    clock.now += 121
    ok, details = health.verdict()
    assert not ok and "no poll or notify cycle completed in the last 121 s" in details["reason"]


def test_a_stuck_cycle_is_unhealthy_with_its_name():
    clock = Clock()
    health = CycleHealth(window=120, clock=clock)
    health.started("notify")
    health.completed("notify")
    health.started("poll")
    clock.now += 119
    assert health.verdict()[0]
    clock.now += 2
    ok, details = health.verdict()
    assert not ok and details["reason"].startswith("the poll cycle has been running for 121 s")


def test_a_failing_cycle_is_unhealthy_until_it_completes_again():
    clock = Clock()
    health = CycleHealth(window=120, clock=clock)
    health.started("notify")
    health.failed(None, "ValueError: bad\\nsecond line")
    health.started("poll")
    health.completed("poll")
    ok, details = health.verdict()
    assert not ok and details["reason"] == "the last notify cycle failed: ValueError: bad\\nsecond line"
    health.started("notify")
    health.completed("notify")
    assert health.verdict()[0]


def test_never_completing_since_start_is_unhealthy():
    clock = Clock()
    health = CycleHealth(window=60, clock=clock)
    clock.now += 61
    ok, details = health.verdict()
    assert not ok and "since start" in details["reason"]
