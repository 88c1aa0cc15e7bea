"""The long-running service: one process that polls, notifies, purges and answers health probes.

Scheduling lives in the database (each source's ``next_check_at``), not in one job per source: APScheduler
runs a short *tick* that claims due sources in batches (most overdue first, a cap per host), processes them,
then plans and sends what is due (instant alerts, digests, retries); an hourly job purges old data. Both run
on one worker thread, so database work is never concurrent inside the daemon.

Start-up: wait for the database (a database that is not there yet is waited for, never a crash loop), take
the daemon lock (one daemon per database), apply migrations when asked (the Docker entry point), then plan
and send what became due while the daemon was down (a missed digest goes out once and covers the whole
gap), then poll.

Stop (SIGTERM/SIGINT): no new work is taken; a poll in flight abandons its pending fetches and releases those
sources (every source already processed is committed in its own transaction); the process exits within
:data:`STOP_TIMEOUT`. ``kill -9`` at any point loses nothing: claims have a lease, and the outbox's claim
protocol never sends a message twice.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.analyze import embedding
from erepwatch.analyze.language import warm as warm_language
from erepwatch.clock import Clock, utcnow
from erepwatch.db.engine import session_factory
from erepwatch.db.migrate import ensure_schema, upgrade
from erepwatch.errors import ConfigError, ErepwatchError, StorageError
from erepwatch.health import CycleHealth
from erepwatch.lock import AlreadyRunningError, DaemonLock, daemon_lock
from erepwatch.logs import event
from erepwatch.metrics import Metrics
from erepwatch.notify.cycle import run_notify
from erepwatch.pipeline import Analysis, run_poll
from erepwatch.retention import purge
from erepwatch.settings import Settings

log = logging.getLogger(__name__)

#: From the stop signal to the process's exit, at most (Docker's default grace period is 10 s).
STOP_TIMEOUT = 8.0
PURGE_EVERY = timedelta(hours=1)


def health_window(settings: Settings) -> float:
    """How long without a completed cycle (or inside one poll batch) the daemon is still healthy: a few ticks,
    and never less than the longest batch that is still working as designed — its slowest fetch running to its
    deadline (twice, with room), then the story and sentiment stages each using their whole time budget."""
    batch = (
        2 * settings.fetch_deadline.total_seconds()
        + settings.analysis_semantic_budget.total_seconds()
        + settings.analysis_sentiment_budget.total_seconds()
        + 60.0
    )
    return max(5 * settings.poll_tick.total_seconds(), batch, 120.0)


#: Waits between attempts while the database is unreachable at start-up.
DB_RETRY_MIN, DB_RETRY_MAX = 1.0, 30.0


def give_back_memory() -> None:
    """After a poll batch that brought entries: hand back to the system what the daemon keeps only by accident
    until its next poll. The embedding model's resident pages (clean file pages: they stay in the page cache and
    come back without disk reads at the next stage, see :func:`erepwatch.analyze.embedding.release_pages`), and
    the free memory at the top of glibc's heaps, which the poll's transient work (feeds parsed, rows built)
    leaves behind and glibc returns only when it is free at the very top (``malloc_trim``). Measured with
    benchmarks/bench_story_memory.py; a no-op where neither exists."""
    embedding.release_pages()
    gc.collect()
    _malloc_trim()


def _malloc_trim() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


class WebService(Protocol):
    """The web side the daemon starts and stops; built by the face that starts the daemon (``erepwatch run``),
    so the daemon never imports the web app."""

    @property
    def port(self) -> int: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


#: Builds the web side from the daemon: its health, metrics, sessions, settings and clock.
WebFactory = Callable[["Daemon"], WebService]


class Daemon:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        migrate: bool = False,
        clock: Clock = utcnow,
        lock: DaemonLock | None = None,
        web: WebFactory | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.migrate = migrate
        self.clock = clock
        self.lock = lock or daemon_lock(engine)
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.scheduler = BackgroundScheduler(
            timezone="UTC",
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._stopping = threading.Event()
        self._busy = threading.Lock()
        self._fatal: BaseException | None = None
        self._heartbeat = time.monotonic()
        self.cycles = CycleHealth(window=health_window(settings))
        self._caught_up = False
        self._analysis: Analysis | None = None
        self._web_factory = web
        self.web: WebService | None = None
        self.metrics = Metrics()

    # --- work ---------------------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _beat(self) -> bool:
        """Heartbeat for /healthz, and the poll's "should I stop?" question."""
        self._heartbeat = time.monotonic()
        self.metrics.last_tick.set(time.time())
        return self._stopping.is_set()

    def tick(self) -> None:
        if self.stopping:
            return
        with self._busy:
            self._beat()
            try:
                self._tick()
            except AlreadyRunningError as exc:  # the lock was lost and another daemon took it
                self._fatal = exc
                self._stopping.set()
                self._tick_failed("lock", exc)
            except StorageError as exc:
                event(log, "database unavailable", logging.WARNING, error=str(exc)[:200])
                self._analysis = None  # its cluster index may hold what a failed transaction never stored
                self._tick_failed("database", exc)
            except ErepwatchError as exc:
                log.exception("tick failed")
                self._tick_failed("error", exc)
            except Exception as exc:  # the next tick tries again; one bad cycle must not end the daemon
                log.exception("tick failed")
                self._analysis = None
                self._tick_failed("error", exc)
            finally:
                self._beat()

    def _tick_failed(self, cause: str, exc: BaseException) -> None:
        self.metrics.failed_ticks.labels(cause).inc()
        self.cycles.failed(None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")

    def _notify_guarded(self) -> None:
        """One notify cycle whose failure is recorded (health, metrics, log) and never stops the polling."""
        try:
            self.notify()
        except (AlreadyRunningError, StorageError):
            raise
        except Exception as exc:
            log.exception("notify cycle failed")
            self.metrics.failed_ticks.labels("notify").inc()
            self.cycles.failed("notify", f"{type(exc).__name__}: {exc}")

    def _tick(self) -> None:
        if not self.lock.check():
            event(log, "waiting for the database", logging.WARNING)
            return
        if not self._caught_up:
            # What became due while the daemon was down (a missed digest, coalesced, retries) goes out first.
            self._notify_guarded()
            self._caught_up = True
        if self._analysis is None:
            warm_language()  # loaded at start with the lexicons, not inside the first poll (~0.1 s)
            self._analysis = Analysis.from_settings(self.settings)
        budget = self.settings.poll_tick.total_seconds()
        started = time.monotonic()
        while not self.stopping:
            self.cycles.started("poll")
            stats = asyncio.run(
                run_poll(
                    self.sessions,
                    self.settings,
                    now=self.clock(),
                    analysis=self._analysis,
                    limit=self.settings.poll_batch,
                    per_host=self.settings.poll_per_host,
                    horizon=self.settings.poll_tick.total_seconds(),
                    should_stop=self._beat,
                )
            )
            self.cycles.completed("poll")
            self.metrics.record_poll(stats, time.time())
            if stats.sources:
                event(
                    log,
                    "poll batch",
                    sources=stats.sources,
                    new=stats.new_items,
                    mentions=stats.new_mentions,
                    failed=stats.failed,
                    ms=stats.ms,
                )
            if stats.new_items:
                give_back_memory()
            if self.stopping:
                break
            # Instant alerts go out after every batch, not after the whole backlog.
            self._notify_guarded()
            if stats.sources < self.settings.poll_batch or time.monotonic() - started > budget:
                break

    def notify(self) -> None:
        self.cycles.started("notify")
        result = run_notify(self.sessions, self.settings, self.clock(), should_stop=lambda: self.stopping)
        for planned in result.planned:
            event(
                log,
                "delivery planned",
                delivery_id=planned.delivery_id,
                recipient=planned.recipient,
                kind=planned.kind,
                channel=planned.channel,
                mentions=planned.mentions,
            )
        stats = result.stats
        self.metrics.record_send(stats)
        if stats.sent or stats.retried or stats.failed or stats.unknown:
            event(log, "deliveries", sent=stats.sent, retried=stats.retried, failed=stats.failed, unknown=stats.unknown)
        for error in stats.errors:
            event(log, "delivery error", logging.WARNING, error=error[:300])
        self.cycles.completed("notify")

    def purge(self) -> None:
        if self.stopping:
            return
        with self._busy:
            try:
                items, deliveries = purge(self.sessions, now=self.clock(), days=self.settings.retention_days)
            except StorageError as exc:
                event(log, "purge failed", logging.WARNING, error=str(exc)[:200])
                return
            self.metrics.purged.inc(items)
            if items or deliveries:
                event(log, "purged", items=items, deliveries=deliveries, days=self.settings.retention_days)

    # --- health -------------------------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy when the database answers and a poll or notify cycle completed recently, none is stuck and
        the last one did not fail (erepwatch/health.py); the details say why not."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("select 1"))
            database = True
        except Exception:
            database = False
        ok, details = self.cycles.verdict()
        age = time.monotonic() - self._heartbeat
        details.update(database=database, last_tick_seconds_ago=round(age, 1), stopping=self.stopping)
        if not database:
            details["reason"] = "the database does not answer"
        elif self.stopping:
            details["reason"] = "stopping"
        return ok and database and not self.stopping, details

    # --- life cycle ---------------------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping.set()

    def _wait_for_database(self) -> bool:
        delay = DB_RETRY_MIN
        while not self.stopping:
            try:
                with self.engine.connect() as conn:
                    conn.execute(text("select 1"))
                return True
            except StorageError as exc:
                event(log, "waiting for the database", logging.WARNING, retry_in=delay, error=str(exc)[:200])
                self._stopping.wait(delay)
                delay = min(delay * 2, DB_RETRY_MAX)
        return False

    def _start_up(self) -> bool:
        """Database, lock, schema; False when stopped while waiting."""
        if not self._wait_for_database():
            return False
        self.lock.acquire()
        if self.migrate:
            before, after = upgrade(self.engine)
            event(log, "database schema", before=before, after=after)
        ensure_schema(self.engine)
        self._say_what_next()
        return True

    def _say_what_next(self) -> None:
        """A daemon started on an empty database would poll nothing, silently: say how to begin."""
        with self.engine.connect() as conn:
            watches = conn.execute(text("SELECT count(*) FROM watches")).scalar() or 0
            sources = conn.execute(text("SELECT count(*) FROM sources")).scalar() or 0
        if not watches:
            event(
                log, "no watches yet: add one with `erepwatch watch add NAME --query Q --search` "
                "(it subscribes the news-search feeds and polls them at once)", logging.WARNING,
            )  # fmt: skip
        elif not sources:
            event(
                log, "no sources yet: `erepwatch source add-search WATCH` for news search, or "
                "`erepwatch source add URL` for a feed", logging.WARNING,
            )  # fmt: skip

    def _start_web(self) -> None:
        if self._web_factory is None:
            return
        try:
            self.web = self._web_factory(self)
            self.web.start()
        except OSError as exc:
            raise ConfigError(
                "web.addr",
                f"cannot listen on {self.settings.web_addr} ({exc.strerror or exc}): stop what uses it "
                "or set EREPWATCH_WEB_ADDR to a free host:port",
            ) from exc
        host = self.settings.web_addr.rpartition(":")[0]
        event(log, "web listening", addr=f"{host}:{self.web.port}")

    def run(self) -> int:
        """Run until a signal; returns the exit status. Raises AlreadyRunningError when another daemon runs."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        event(log, "starting", pid=os.getpid(), tick=self.settings.poll_tick.total_seconds())
        try:
            if not self._start_up():
                event(log, "stopped", reason="signal while waiting for the database")
                return 0
            self._start_web()
            tick = self.settings.poll_tick.total_seconds()
            self.scheduler.add_job(
                self.tick, "interval", seconds=tick, id="tick", next_run_time=datetime.now().astimezone()
            )
            self.scheduler.add_job(
                self.purge,
                "interval",
                seconds=PURGE_EVERY.total_seconds(),
                id="purge",
                next_run_time=datetime.now().astimezone() + timedelta(minutes=1),
            )
            self.scheduler.start()
            event(log, "running", web=self.settings.web_addr, batch=self.settings.poll_batch)
            while not self._stopping.wait(0.5):
                pass
            return self._shut_down()
        finally:
            self.lock.release()

    def _shut_down(self) -> int:
        deadline = time.monotonic() + STOP_TIMEOUT
        event(log, "stopping")
        self.scheduler.shutdown(wait=False)
        finished = self._busy.acquire(timeout=max(0.1, deadline - time.monotonic() - 1.0))
        if self.web is not None:
            self.web.stop()
        if self._fatal is not None:
            event(log, "stopped", logging.ERROR, reason=str(self._fatal))
            code = 1
        else:
            code = 0
        if not finished:
            # The worker is stuck in I/O (an SMTP server that does not answer): every committed step is safe
            # and the outbox's claim keeps a half-sent message from ever going twice, so exit without it.
            event(log, "stopped", logging.WARNING, reason="abandoned work in flight")
            self.lock.release()
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        self._busy.release()
        self.engine.dispose()
        event(log, "stopped")
        return code
