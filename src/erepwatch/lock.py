"""One daemon per database: a second ``erepwatch run`` on the same data refuses to start.

PostgreSQL: a session-level advisory lock, held on a dedicated connection for the daemon's life; the server
drops it when that connection dies (``kill -9``, a lost network), so there is nothing stale to clean. Its key
is derived from the schema, since the data of one erepwatch lives in one schema.

SQLite: an exclusive ``flock`` on a file beside the database; the kernel drops it when the process dies.

The CLI never takes the lock: it works beside the daemon (the outbox and the claims make that safe).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from erepwatch.db.engine import translate_errors
from erepwatch.errors import ErepwatchError, StorageError

log = logging.getLogger(__name__)


class AlreadyRunningError(ErepwatchError):
    """Another daemon holds this database; the message says who, as far as can be told."""


def _owner() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def lock_key(namespace: str) -> int:
    """A signed 64-bit advisory-lock key for this schema (stable across processes and versions)."""
    digest = hashlib.sha256(f"erepwatch-daemon:{namespace}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class DaemonLock:
    """``acquire()`` once, ``check()`` at each tick (True while held), ``release()`` at exit."""

    def acquire(self) -> None:
        raise NotImplementedError

    def check(self) -> bool:
        return True

    def release(self) -> None:
        pass


class NoLock(DaemonLock):
    """An in-memory SQLite database is private to its process: nothing to share, nothing to lock."""

    def acquire(self) -> None:
        pass


class FileLock(DaemonLock):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise AlreadyRunningError(
                f"another erepwatch daemon is already running on this database ({holder} holds {self.path}); "
                "stop it first (the CLI works beside it)"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(_owner() + "\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class AdvisoryLock(DaemonLock):
    def __init__(self, engine: Engine) -> None:
        # A connection of its own, outside the pool (which may recycle or pre-ping connections away), in
        # autocommit so it never sits "idle in transaction".
        self._engine = translate_errors(
            create_engine(
                engine.url,
                poolclass=NullPool,
                isolation_level="AUTOCOMMIT",
                connect_args={"application_name": f"erepwatch-daemon {_owner()}"[:63]},
            )
        )
        self._conn: Connection | None = None
        self.key: int | None = None

    def _try(self) -> bool:
        conn = self._engine.connect()
        try:
            if self.key is None:
                self.key = lock_key(
                    str(conn.execute(text("select current_database() || '.' || current_schema()")).scalar_one())
                )
            if conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": self.key}).scalar_one():
                self._conn = conn
                return True
            holder = conn.execute(
                text(
                    "select a.application_name, a.client_addr::text from pg_locks l "
                    "join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted "
                    "and l.classid = ((:k >> 32) & 4294967295)::oid and l.objid = (:k & 4294967295)::oid"
                ),
                {"k": self.key},
            ).first()
        except BaseException:
            conn.close()
            raise
        conn.close()
        who = f"{holder[0] or 'a client'} from {holder[1] or 'a local socket'}" if holder else "another process"
        raise AlreadyRunningError(
            f"another erepwatch daemon is already running on this database ({who} holds its PostgreSQL "
            "advisory lock); stop it first (the CLI works beside it)"
        )

    def acquire(self) -> None:
        self._try()

    def check(self) -> bool:
        """Still held? After a lost connection, take the lock again, or raise if another daemon took it."""
        if self._conn is not None:
            try:
                self._conn.execute(text("select 1"))
                return True
            except StorageError:
                log.warning("lost the database connection that holds the daemon lock; taking it again")
                self._drop()
        try:
            return self._try()
        except StorageError:
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a connection that is already gone
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        if self._conn is not None and self.key is not None:
            # A failure means the connection is gone, and the lock with it.
            with contextlib.suppress(StorageError):
                self._conn.execute(text("select pg_advisory_unlock(:k)"), {"k": self.key})
        self._drop()
        self._engine.dispose()


def daemon_lock(engine: Engine) -> DaemonLock:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return NoLock()
        database = Path(url.database).expanduser()
        return FileLock(database.with_name(database.name + ".daemon.lock"))
    return AdvisoryLock(engine)
