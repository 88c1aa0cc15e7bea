"""The resilience suite's daemon variant (issue 18 point 11): ``erepwatch run`` as a real process, with hostile
sources beside a good one and a recipient whose settings are poisoned in the database. Alerts still go out,
``/healthz`` answers promptly throughout and tells the truth: 200 while cycles complete, 503 with the reason
once a cycle fails at every tick."""

from __future__ import annotations

import json
import time
import urllib.error
from collections.abc import Iterator

import pytest

from tests.conftest import run_sql
from tests.hostile import HostileServer, brotli_bomb, many_entries, start_hostile_server
from tests.integration.test_daemon import NEGATIVE, DaemonProcess, _alerts, _feed, daemon_env, smtp, wait_for

__all__ = ["daemon_env", "smtp"]  # fixtures, imported to be found here

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    brotli_bomb()
    many_entries()
    server, stop = start_hostile_server()
    yield server
    stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_daemon_keeps_alerting_and_health_tells_the_truth(
    cli, server, hostile, smtp, daemon_env, env, tmp_path, monkeypatch
):
    _, handler = smtp
    monkeypatch.setenv("EREPWATCH_FETCH_DEADLINE", "3s")
    server.routes["/fresh.xml"] = (200, {"Content-Type": "application/rss+xml"}, _feed(NEGATIVE[:1]))
    hostile.routes["/nested.json"] = (200, {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000)
    cli("watch", "add", "Acme", "--query", "acme")
    cli("recipient", "add", "alerte@exemple.fr", "--frequency", "instant")
    cli("recipient", "add", "mars@exemple.fr", "--frequency", "daily")
    # Poisoned in the database itself (every entry point refuses it): planning must skip this recipient alone.
    run_sql(env, "UPDATE recipients SET timezone = 'Mars/Olympus', at_time = '00:00' WHERE email = 'mars@exemple.fr'")
    cli("source", "add", server.url("/fresh.xml"), "--name", "fresh", "--interval", "2s")
    for path in ("/drip-body", "/bomb/br", "/many", "/nested.json"):
        cli("source", "add", hostile.url(path), "--name", path.strip("/"), "--interval", "2s", "--no-check")

    settings = daemon_env()
    settings["EREPWATCH_FETCH_DEADLINE"] = "3s"
    settings["EREPWATCH_ANALYSIS_SENTIMENT_BUDGET"] = "5s"
    settings["EREPWATCH_ANALYSIS_SEMANTIC_BUDGET"] = "5s"
    daemon = DaemonProcess(settings, tmp_path / "daemon.log")
    latencies: list[float] = []

    def alerted() -> bool:
        started = time.monotonic()
        try:
            daemon.get("/healthz")
        except urllib.error.URLError:
            return False  # the web side is not listening yet
        latencies.append(time.monotonic() - started)
        return len(_alerts(handler)) >= 1

    try:
        wait_for(alerted, timeout=60, what="the alert despite the hostile sources")
        assert [m["To"] for m in _alerts(handler)] == ["alerte@exemple.fr"]

        # A later negative story is alerted too: the hostile sources never stop the ticks.
        server.routes["/fresh.xml"] = (200, {"Content-Type": "application/rss+xml"}, _feed(NEGATIVE[:2]))
        wait_for(lambda: alerted() and len(_alerts(handler)) >= 2, timeout=60, what="the second alert")
        assert max(latencies) < 3.0, f"/healthz answered in up to {max(latencies):.1f} s"

        status, body = daemon.get("/healthz")
        details = json.loads(body)
        assert status == 200, details
        assert details["last_poll_seconds_ago"] < 30 and "reason" not in details
        sources = {s["name"]: s for s in cli("source", "list", "--json").json()}
        assert sources["drip-body"]["last_error"] and "deadline" in sources["drip-body"]["last_error"]
        recipients = {r["email"]: r for r in cli("recipient", "list", "--json").json()}
        assert "Mars/Olympus" in (recipients["mars@exemple.fr"].get("last_error") or "")
        metrics = daemon.get("/metrics")[1].decode()
        assert 'erepwatch_failed_ticks_total{cause="notify"} 0.0' in metrics

        # Now a cycle that fails at every tick (the outbox table is gone): /healthz says so, with the reason.
        run_sql(env, "DROP TABLE deliveries")
        wait_for(lambda: daemon.get("/healthz")[0] == 503, timeout=30, what="/healthz to turn 503")
        status, body = daemon.get("/healthz")
        assert status == 503 and "failed" in json.loads(body)["reason"]
        metrics = daemon.get("/metrics")[1].decode()
        assert 'erepwatch_failed_ticks_total{cause="database"} 0.0' not in metrics
    finally:
        daemon.stop()
