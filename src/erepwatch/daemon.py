"""The long-running service: an APScheduler tick that polls whatever sources are due.

Scheduling lives in the database (each source's ``next_check_at``), not in one job per source: the tick
only asks "what is due now?", so adding or removing sources needs no rescheduling and a restart loses
nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.pipeline import Analysis, run_poll
from erepwatch.settings import Settings

log = logging.getLogger(__name__)


class Daemon:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self.scheduler = BlockingScheduler(timezone="UTC")
        self._stopping = threading.Event()
        # Lexicons and the recent mentions' cluster index live as long as the daemon.
        self.analysis = Analysis.from_settings(settings)

    def tick(self) -> None:
        if self._stopping.is_set():
            return
        try:
            stats = asyncio.run(run_poll(self.sessions, self.settings, analysis=self.analysis))
        except Exception:  # the next tick tries again; one bad cycle must not end the daemon
            log.exception("poll cycle failed")
            return
        if stats.sources:
            log.info(
                "poll cycle sources=%s new=%s mentions=%s failed=%s ms=%s",
                stats.sources, stats.new_items, stats.new_mentions, stats.failed, stats.ms,
            )

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        log.info("stopping signal=%s", signum)
        self._stopping.set()
        self.scheduler.shutdown(wait=False)

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.scheduler.add_job(
            self.tick, "interval", seconds=self.settings.poll_tick.total_seconds(), id="poll",
            max_instances=1, coalesce=True, next_run_time=None,
        )
        # First tick at once: a restarted daemon catches up on what became due while it was down.
        self.scheduler.add_job(self.tick, id="poll-now", max_instances=1)
        log.info("erepwatch running tick=%ss", self.settings.poll_tick.total_seconds())
        self.scheduler.start()
