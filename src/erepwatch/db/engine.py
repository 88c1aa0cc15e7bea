"""Engine and sessions: one place that knows the differences between SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.errors import ConfigError, DatabaseUnavailableError, StorageError

SQLITE_BUSY_TIMEOUT_MS = 15_000


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and use the psycopg 3 driver for them."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError("database.url", f"cannot parse {url!r}") from exc
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the daemon write while the CLI reads; the busy timeout makes a writer wait for the
    # other instead of failing with "database is locked"; SQLite leaves foreign keys off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_path(url: str) -> Path | None:
    """The absolute path of a SQLite database file, None for another database or an in-memory one.

    ``sqlite:///data/x.db`` is relative to the current folder, ``sqlite:////srv/x.db`` is absolute.
    """
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().absolute()


def require_existing(url: str) -> None:
    """Refuse a SQLite file that does not exist: opening it would create a new, empty database."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        hint = (
            ""
            if url.startswith("sqlite:////")
            else " (sqlite:///x.db is relative to the current folder, sqlite:////abs/x.db is absolute)"
        )
        raise StorageError(
            f"no database at {path}: create it with `erepwatch init --database {url}`, or fix --database "
            f"(EREPWATCH_DATABASE_URL){hint}"
        )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def _as_storage_error(context: ExceptionContext) -> BaseException | None:
    """A driver's exception leaves ``db/`` as a :class:`StorageError`, the original kept as its cause."""
    if context.is_pre_ping:
        return None  # the pool's own probe: it handles the failure itself
    wrapped = context.sqlalchemy_exception
    if wrapped is None:
        return None
    detail = _first_line(context.original_exception)
    if context.is_disconnect or isinstance(wrapped, OperationalError | InterfaceError):
        return DatabaseUnavailableError(f"database unavailable: {detail}")
    return StorageError(f"database error: {detail}")


def driver_error(exc: BaseException, *, unavailable: bool) -> StorageError:
    """What :func:`translate_errors` makes of a driver's exception raised outside SQLAlchemy (the driver used
    directly, e.g. PostgreSQL's pipeline mode; ``unavailable``: the driver's OperationalError or InterfaceError): the
    caller raises it ``from exc``."""
    detail = _first_line(exc)
    if unavailable:
        return DatabaseUnavailableError(f"database unavailable: {detail}")
    return StorageError(f"database error: {detail}")


def sqlite_driver_error(exc: BaseException) -> StorageError:
    """:func:`driver_error` of an exception of SQLite's driver (``sqlite3``) raised outside SQLAlchemy: unavailable
    for what SQLAlchemy calls an OperationalError, an InterfaceError or a disconnect (a closed connection), as
    :func:`translate_errors` says of it."""
    unavailable = isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError) or (
        isinstance(exc, sqlite3.ProgrammingError) and "Cannot operate on a closed database." in str(exc)
    )
    return driver_error(exc, unavailable=unavailable)


def translate_errors(engine: Engine) -> Engine:
    """Make ``engine`` raise :class:`StorageError` (or :class:`DatabaseUnavailableError`) instead of the driver's
    exceptions, so no layer above ``db/`` handles SQLAlchemy exceptions. Idempotent."""
    if not event.contains(engine, "handle_error", _as_storage_error):
        event.listen(engine, "handle_error", _as_storage_error)
    return engine


def make_engine(url: str, *, create: bool = True, **kwargs: Any) -> Engine:
    """An engine on ``url``; with ``create`` a SQLite file's folder is made when missing."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None and create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the folder of the database {path}: {exc.strerror}") from exc
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over.
        event.listen(engine, "connect", lambda conn, _rec: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return translate_errors(engine)
    return translate_errors(create_engine(url, pool_pre_ping=True, **kwargs))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(translate_errors(engine), expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        yield session
