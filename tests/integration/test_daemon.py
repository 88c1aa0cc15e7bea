"""``erepwatch run`` as a real process, against the local feed server, a real SMTP server (aiosmtpd) and both
databases, with intervals of seconds: it polls, detects and alerts; a missed digest goes out once at start-up;
it answers /healthz and /metrics; a second daemon is refused; SIGTERM stops it in time; ``kill -9`` during a
poll and during a send loses no mention and doubles no e-mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

NEGATIVE = [
    "Acme accusée d'arnaque : clients furieux et scandale",
    "Acme : rappel de produits dangereux, une catastrophe",
    "Acme condamnée pour fraude, un scandale",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _feed(titles: list[str]) -> bytes:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>{t.replace('&', '&amp;')}</title><link>https://news.example/{abs(hash(t))}</link>"
        f"<guid>https://news.example/{abs(hash(t))}</guid><pubDate>{format_datetime(now - timedelta(minutes=5))}"
        f"</pubDate><description>{t.replace('&', '&amp;')}</description></item>"
        for t in titles
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Fresh</title>'
        f"<link>https://news.example/</link><description>x</description>{items}</channel></rss>"
    ).encode()


class Smtp:
    """Records every message; with ``stall`` set, hangs in DATA after receiving it (a send in flight)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.stall = False

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        if self.stall:
            await asyncio.sleep(60)
        return "250 OK"

    def parsed(self):
        return [message_from_bytes(m, policy=default) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Smtp]]:
    handler = Smtp()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


class SlowFeed:
    """A feed that answers after ``delay`` seconds and records each request as it arrives."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.body = _feed([])
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.arrived.set()
                deadline = time.monotonic() + outer.delay
                while time.monotonic() < deadline and outer.delay:
                    time.sleep(0.05)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(outer.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"


@pytest.fixture
def slow_feed() -> Iterator[SlowFeed]:
    feed = SlowFeed()
    yield feed
    feed.delay = 0
    feed.httpd.shutdown()
    feed.httpd.server_close()


class DaemonProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.port = int(env["EREPWATCH_WEB_ADDR"].rpartition(":")[2])
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "erepwatch", "run"], env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def events(self) -> list[dict]:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self._out.close()
        return code, time.monotonic() - started


def wait_for(predicate: Callable[[], object], timeout: float = 20, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def daemon_env(env: str, tmp_path: Path, smtp, monkeypatch) -> Callable[..., dict[str, str]]:
    controller, _ = smtp
    base = {k: v for k, v in os.environ.items() if not k.startswith("EREPWATCH_") or k.startswith("EREPWATCH_TEST")}
    settings = {
        "EREPWATCH_DATABASE_URL": env,
        "EREPWATCH_DATA_DIR": str(tmp_path / "data"),
        "EREPWATCH_ALLOW_PRIVATE": "1",
        "EREPWATCH_SMTP_URL": f"smtp://127.0.0.1:{controller.port}?starttls=false&timeout=5",
        "EREPWATCH_MAIL_FROM": "veille@exemple.fr",
        "EREPWATCH_POLL_TICK": "1s",
        "EREPWATCH_POLL_MIN_INTERVAL": "1s",
        "EREPWATCH_POLL_JITTER": "0",
        "EREPWATCH_NOTIFY_ALERT_MIN_INTERVAL": "1s",
        "EREPWATCH_LOG_FORMAT": "json",
    }
    for key, value in settings.items():  # the in-process CLI sees the same settings
        monkeypatch.setenv(key, value)

    def make() -> dict[str, str]:
        return {**base, **settings, "EREPWATCH_WEB_ADDR": f"127.0.0.1:{_free_port()}"}

    return make


def _alerts(handler: Smtp) -> list:
    return [m for m in handler.parsed() if "Alerte" in str(m["Subject"])]


def _set_recipient_times(db_url: str, email: str, *, created: datetime, cursor: datetime) -> None:
    from sqlalchemy import update

    from erepwatch.db.engine import make_engine, session_factory
    from erepwatch.db.models import Recipient

    engine = make_engine(db_url)
    with session_factory(engine).begin() as session:
        session.execute(
            update(Recipient).where(Recipient.email == email).values(created_at=created, digest_cursor=cursor)
        )
    engine.dispose()


def test_polls_alerts_serves_refuses_a_second_daemon_and_stops_in_time(cli, server, smtp, daemon_env, env, tmp_path):
    _, handler = smtp
    server.routes["/fresh.xml"] = (200, {"Content-Type": "application/rss+xml"}, _feed(NEGATIVE[:1]))
    cli("watch", "add", "Acme", "--query", "acme")
    cli("recipient", "add", "alerte@exemple.fr", "--frequency", "instant")
    cli("recipient", "add", "matin@exemple.fr", "--frequency", "daily", "--at", "08:00", "--tz", "Europe/Paris")
    cli("source", "add", server.url("/fresh.xml"), "--name", "fresh", "--interval", "2s")
    cli("poll")  # a mention found while the daemon was down…
    now = datetime.now(UTC)
    gap_start = now - timedelta(days=3)
    # …and the last digest went out three days ago: the daemon owes one digest, not three.
    _set_recipient_times(env, "matin@exemple.fr", created=now - timedelta(days=10), cursor=gap_start)

    daemon = DaemonProcess(daemon_env(), tmp_path / "daemon.log")
    wait_for(lambda: len(handler.messages) >= 2, what="the start-up digest and alert")
    digests = [m for m in handler.parsed() if m["To"] == "matin@exemple.fr"]
    assert len(digests) == 1 and "Alerte" not in str(digests[0]["Subject"])
    assert [m["To"] for m in _alerts(handler)] == ["alerte@exemple.fr"]

    # News arrives: the daemon polls, finds the negative mention and alerts within a poll or two.
    server.routes["/fresh.xml"] = (200, {"Content-Type": "application/rss+xml"}, _feed(NEGATIVE[:2]))
    wait_for(lambda: len(_alerts(handler)) == 2, what="the alert about the new mention")
    second = _alerts(handler)[1].get_body(("plain",)).get_content()
    assert "rappel de produits" in second and "arnaque" not in second  # only what is new

    status, body = daemon.get("/healthz")
    assert status == 200 and json.loads(body)["database"] is True
    status, body = daemon.get("/metrics")
    metrics = body.decode()
    assert status == 200
    assert 'erepwatch_deliveries_total{status="sent"} 3.0' in metrics
    assert 'erepwatch_polls_total{status="ok"}' in metrics and "erepwatch_poll_duration_seconds_bucket" in metrics
    assert "erepwatch_last_successful_poll_timestamp_seconds" in metrics
    status, page = daemon.get("/")
    assert status == 200 and "rappel de produits dangereux" in page.decode()
    assert daemon.get("/feed.atom")[0] == 200

    # A second daemon on the same database is refused, clearly; the CLI keeps working beside the first.
    refused = subprocess.run(
        [sys.executable, "-m", "erepwatch", "run"], env=daemon_env(), capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1 and "already running on this database" in refused.stderr
    assert len(cli("mentions", "--json").json()) == 2

    code, seconds = daemon.stop(signal.SIGTERM)
    assert code == 0 and seconds < 10
    events = [e["event"] for e in daemon.events()]
    assert events[-1] == "stopped" and "stopping" in events
    polls = [e for e in daemon.events() if e["event"] == "poll"]
    assert polls and {"source_id", "url", "status", "new", "ms"} <= polls[0].keys()

    rows = cli("deliveries", "--json").json()
    digest_rows = [r for r in rows if r["kind"] == "digest"]
    assert len(digest_rows) == 1 and digest_rows[0]["status"] == "sent"
    # The one digest covers the whole gap, from where the last one ended.
    assert abs(datetime.fromisoformat(digest_rows[0]["period_start"]) - gap_start) < timedelta(seconds=1)
    assert len(handler.messages) == 3  # nothing more went out while stopping


def test_kill_9_during_a_poll_loses_no_mention(cli, smtp, slow_feed, daemon_env, tmp_path):
    _, handler = smtp
    slow_feed.body = _feed(NEGATIVE[:1])
    slow_feed.delay = 60
    cli("watch", "add", "Acme", "--query", "acme")
    cli("recipient", "add", "alerte@exemple.fr", "--frequency", "instant")
    cli("source", "add", slow_feed.url(), "--name", "slow", "--interval", "2s", "--no-check")

    daemon = DaemonProcess(daemon_env(), tmp_path / "daemon.log")
    assert slow_feed.arrived.wait(30)
    daemon.stop(signal.SIGKILL)  # mid-fetch: claimed, nothing stored
    assert cli("mentions", "--json").json() == []

    slow_feed.delay = 0
    daemon = DaemonProcess(daemon_env(), tmp_path / "daemon2.log")
    wait_for(lambda: len(handler.messages) == 1, what="the alert after restart")
    time.sleep(2.5)  # more polls of the same feed: nothing new, nothing resent
    code, _ = daemon.stop()
    assert code == 0
    assert len(handler.messages) == 1
    mentions = cli("mentions", "--json").json()
    assert [m["title"] for m in mentions] == NEGATIVE[:1]


def test_kill_9_during_a_send_doubles_no_email(cli, server, smtp, daemon_env, tmp_path):
    _, handler = smtp
    handler.stall = True
    server.routes["/fresh.xml"] = (200, {"Content-Type": "application/rss+xml"}, _feed(NEGATIVE[:1]))
    cli("watch", "add", "Acme", "--query", "acme")
    cli("recipient", "add", "alerte@exemple.fr", "--frequency", "instant")
    cli("source", "add", server.url("/fresh.xml"), "--name", "fresh", "--interval", "2s")

    daemon = DaemonProcess(daemon_env(), tmp_path / "daemon.log")
    wait_for(lambda: len(handler.messages) == 1, what="the alert to reach the server")
    daemon.stop(signal.SIGKILL)  # the server has the message; the daemon never heard "250 OK"
    handler.stall = False
    first_id = handler.parsed()[0]["Message-ID"]

    server.routes["/fresh.xml"] = (200, {"Content-Type": "application/rss+xml"}, _feed(NEGATIVE[:2]))
    daemon = DaemonProcess(daemon_env(), tmp_path / "daemon2.log")
    wait_for(lambda: len(handler.messages) == 2, what="the next alert after restart")
    time.sleep(2.5)
    code, _ = daemon.stop()
    assert code == 0
    messages = handler.parsed()
    assert len(messages) == 2 and messages[1]["Message-ID"] != first_id
    assert "arnaque" not in messages[1].get_body(("plain",)).get_content()  # the first alert is not repeated
    assert len(cli("mentions", "--json").json()) == 2


def test_waits_for_an_unreachable_database_and_stops_on_signal(tmp_path):
    port = _free_port()  # nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("EREPWATCH_") or k.startswith("EREPWATCH_TEST")}
    env |= {
        "EREPWATCH_DATABASE_URL": f"postgresql+psycopg://erep@127.0.0.1:{port}/erep?connect_timeout=2",
        "EREPWATCH_DATA_DIR": str(tmp_path / "data"),
        "EREPWATCH_WEB_ADDR": f"127.0.0.1:{_free_port()}",
        "EREPWATCH_LOG_FORMAT": "json",
    }
    daemon = DaemonProcess(env, tmp_path / "daemon.log")
    wait_for(
        lambda: sum(e["event"] == "waiting for the database" for e in daemon.events()) >= 2,
        what="two attempts to reach the database",
    )
    assert daemon.proc.poll() is None  # still there, not crash-looping
    code, seconds = daemon.stop(signal.SIGTERM)
    assert code == 0 and seconds < 10


def test_a_daemon_with_no_watches_says_what_to_do_next(cli, daemon_env, tmp_path):
    daemon = DaemonProcess(daemon_env(), tmp_path / "daemon.log")
    try:
        wait_for(lambda: any(e.get("event") == "running" for e in daemon.events()), what="the daemon running")
    finally:
        code, _ = daemon.stop()
    assert code == 0
    hints = [e["event"] for e in daemon.events() if e.get("event", "").startswith("no watches yet")]
    assert hints and "erepwatch watch add" in hints[0]
