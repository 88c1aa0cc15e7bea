"""Crash recovery at once (issue 18 point 8): the sources a killed poll had claimed are taken back by the next
plain ``poll`` immediately, not after their 10-minute lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.hostile import HostileServer, start_hostile_server


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server, stop = start_hostile_server()
    yield server
    stop()


def _claimed(env: str) -> dict[int, str | None]:
    from erepwatch.db.engine import make_engine, session_factory
    from erepwatch.db.models import Source

    engine = make_engine(env)
    try:
        with session_factory(engine)() as session:
            return dict(session.execute(select(Source.id, Source.claimed_by)).all())
    finally:
        engine.dispose()


def test_claims_of_a_killed_poll_come_back_at_once(cli, env, server, hostile, monkeypatch):
    cli("watch", "add", "acme", "--query", "acme")
    for n in range(3):
        cli("source", "add", hostile.url(f"/drip-body?n={n}"), "--name", f"drip{n}", "--no-check")
    cli("source", "add", server.feed_url("fr-news-bfmtv-metz-small-01.xml"), "--name", "good", "--no-check")

    child_env = {k: v for k, v in os.environ.items() if not k.startswith("EREPWATCH_") or k.startswith("EREPWATCH_T")}
    child_env.update(
        EREPWATCH_DATABASE_URL=env, EREPWATCH_ALLOW_PRIVATE="1", EREPWATCH_DATA_DIR=os.environ["EREPWATCH_DATA_DIR"]
    )
    poll = subprocess.Popen([sys.executable, "-m", "erepwatch", "poll"], env=child_env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            claimed = [owner for owner in _claimed(env).values() if owner]
            if len(claimed) >= 3:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the poll never claimed its sources")
        assert all(owner.split("/")[1] == str(poll.pid) for owner in claimed)
    finally:
        poll.send_signal(signal.SIGKILL)
        poll.wait()

    # The next plain poll (not --all): the dripping sources are due again at once; the deadline ends them.
    monkeypatch.setenv("EREPWATCH_FETCH_DEADLINE", "1s")
    started = time.monotonic()
    stats = cli("poll", "--json", ok=None).json()
    assert time.monotonic() - started < 30
    kinds = sorted(o["error_kind"] or "ok" for o in stats["outcomes"])
    assert kinds.count("timeout") == 3, stats["outcomes"]
    assert all(owner is None for owner in _claimed(env).values()), "every claim is released after the poll"


def test_claims_of_a_live_poller_are_left_alone_and_leftovers_taken_back(sessions):
    from datetime import UTC, datetime, timedelta

    from erepwatch.claims import this_owner
    from erepwatch.db.models import Source
    from erepwatch.pipeline import _active_poll, _only_poll, reclaim_orphans

    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        session.add_all(
            [
                Source(name="mine", url="https://a.example/f", interval_seconds=60, created_at=now,
                       next_check_at=now + timedelta(minutes=10), claimed_by=this_owner()),
                Source(name="elsewhere", url="https://b.example/f", interval_seconds=60, created_at=now,
                       next_check_at=now + timedelta(minutes=10), claimed_by="another-host/1/1"),
                Source(name="dead", url="https://c.example/f", interval_seconds=60, created_at=now,
                       next_check_at=now + timedelta(minutes=10), claimed_by=f"{this_owner().split('/')[0]}/1/0"),
            ]
        )  # fmt: skip
    # Another poll of this process may be running (the daemon's, say): its claims are live.
    with sessions() as session, session.begin():
        assert reclaim_orphans(session, now) == 1
    with sessions() as session:
        rows = {s.name: (s.claimed_by, s.next_check_at) for s in session.scalars(select(Source))}
    assert rows["dead"] == (None, now)
    assert rows["mine"][0] == this_owner() and rows["elsewhere"][0] == "another-host/1/1"
    # The poll now claiming is the only one of this process (one failed before releasing): leftovers.
    assert _only_poll()
    with _active_poll(), _active_poll():
        assert not _only_poll()
    with sessions() as session, session.begin():
        assert reclaim_orphans(session, now, take_back_own=True) == 1
    with sessions() as session:
        assert session.scalar(select(Source.claimed_by).where(Source.name == "mine")) is None


def test_a_poll_collects_its_young_objects_less_often_and_gives_the_thresholds_back():
    import gc

    from erepwatch.pipeline import POLL_GC_THRESHOLD, _active_poll

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with _active_poll():
            assert gc.get_threshold() == (POLL_GC_THRESHOLD, 10, 10)
            with _active_poll():  # a second poll of the process (the daemon's and a CLI's)
                assert gc.get_threshold() == (POLL_GC_THRESHOLD, 10, 10)
            assert gc.get_threshold() == (POLL_GC_THRESHOLD, 10, 10), "the first poll still runs"
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(50_000, 10, 10)  # a process that chose a higher one keeps it
        with _active_poll():
            assert gc.get_threshold() == (50_000, 10, 10)
        assert gc.get_threshold() == (50_000, 10, 10)
    finally:
        gc.set_threshold(*before)
