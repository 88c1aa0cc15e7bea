"""Shared fixtures: a real local feed server, real databases (SQLite and PostgreSQL), the CLI in-process."""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from erepwatch.records import ParsedFeed

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EREPWATCH_TEST_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
FEEDS = CORPUS / "feeds"
POSTGRES_URL = os.environ.get("EREPWATCH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def load_migration(name: str) -> Any:
    """A migration's module (``migrations/versions/<name>.py``), for the constants it froze."""
    import importlib.util

    path = REPO / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpus_feeds() -> list[Path]:
    return sorted(p for p in FEEDS.iterdir() if p.suffix not in {".tsv", ".md"})


@functools.cache
def parsed_corpus() -> tuple[ParsedFeed, ...]:
    """Every corpus feed the parse stage reads, as the poll reads it from a local server (relative links resolved
    against the file's URL); the pages that are no feed left out. Parsed once a test run and shared: read only."""
    from erepwatch.errors import FeedParseError
    from erepwatch.ingest.parse import parse_feed

    feeds = []
    for path in corpus_feeds():
        try:
            feeds.append(
                parse_feed(path.read_bytes(), {"content-type": "application/xml"}, f"http://127.0.0.1/{path.name}")
            )
        except FeedParseError:
            continue
    return tuple(feeds)


# --- a real HTTP server on 127.0.0.1 ------------------------------------------------------------------


@dataclass
class FeedServer:
    """Serves files under ``root`` with ETag/Last-Modified, gzip on request, and a few misbehaviours."""

    root: Path
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[tuple[str, int]] = field(default_factory=list)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    #: request headers of each request, in order
    request_headers: list[dict[str, str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def feed_url(self, name: str) -> str:
        return self.url(f"feeds/{name}")

    def hits(self, path: str) -> list[int]:
        return [status for p, status in self.requests if p == path]


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            server.requests.append((urlsplit(self.path).path, status))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            server.request_headers.append(dict(self.headers.items()))
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path in server.routes:
                status, headers, body = server.routes[parts.path]
                return self._send(status, headers, body)
            if parts.path.startswith("/status/"):
                code = int(parts.path.rsplit("/", 1)[1])
                headers = {"Retry-After": query["retry_after"][0]} if "retry_after" in query else {}
                return self._send(code, headers, b"status page")
            if parts.path == "/redirect":
                return self._send(int(query.get("code", ["302"])[0]), {"Location": query["to"][0]})
            if parts.path == "/huge":
                # A body far past any cap, streamed without Content-Length.
                server.requests.append((parts.path, 200))
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"<rss>" + b" " * 65536
                try:
                    for _ in range(1024):
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True
                return None
            if parts.path == "/slow":
                time.sleep(float(query.get("s", ["3"])[0]))
                return self._send(200, {"Content-Type": "application/rss+xml"}, b"<rss></rss>")
            path = (server.root / parts.path.lstrip("/")).resolve()
            if not path.is_file() or server.root.resolve() not in path.parents:
                return self._send(404, {"Content-Type": "text/plain"}, b"not found")
            body = path.read_bytes()
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            modified = formatdate(path.stat().st_mtime, usegmt=True)
            if self.headers.get("If-None-Match") == etag or self.headers.get("If-Modified-Since") == modified:
                return self._send(304, {"ETag": etag, "Last-Modified": modified})
            ctype = "application/feed+json" if path.suffix == ".json" else "application/xml"
            headers = {"Content-Type": ctype, "ETag": etag, "Last-Modified": modified}
            if "gzip" in self.headers.get("Accept-Encoding", "") and path.suffix != ".gz":
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            return self._send(200, headers, body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up mid-body (the size-cap tests do it on purpose) is not a server error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer(root=CORPUS)
    httpd = _QuietServer((server.host, 0), _handler(server))
    httpd.daemon_threads = True
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server(feed_server: FeedServer) -> FeedServer:
    feed_server.requests.clear()
    feed_server.routes.clear()
    feed_server.request_headers.clear()
    return feed_server


# --- real databases -----------------------------------------------------------------------------------


def _postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_ok() -> bool:
    ok = _postgres_available()
    if not ok and os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required under CI and is not reachable at {POSTGRES_URL}")
    return ok


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a private schema in the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'erepwatch.db'}"
        return
    if not request.getfixturevalue("postgres_ok"):
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a fresh database migrated to the latest schema."""
    from erepwatch.db.engine import make_engine, session_factory
    from erepwatch.db.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


@contextmanager
def statements_run(target: Any) -> Iterator[list[str]]:
    """The SQL texts run on ``target`` (an engine or a connection) while the block runs: what SQLAlchemy executes
    (its ``before_cursor_execute`` event) and what ``db.store`` runs on SQLite's driver itself, past SQLAlchemy
    (``_sqlite_rows``, ``_sqlite_run_many``: a poll's prebuilt statements, run anywhere while the block runs)."""
    from erepwatch.db import store

    statements: list[str] = []
    rows, run_many = store._sqlite_rows, store._sqlite_run_many

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def recorded_rows(connection: Any, sql: str, params: Any) -> Any:
        statements.append(sql)
        return rows(connection, sql, params)

    def recorded_many(connection: Any, sql: str, params: Any) -> None:
        statements.append(sql)
        run_many(connection, sql, params)

    event.listen(target, "before_cursor_execute", record)
    store._sqlite_rows, store._sqlite_run_many = recorded_rows, recorded_many  # type: ignore[assignment]
    try:
        yield statements
    finally:
        store._sqlite_rows, store._sqlite_run_many = rows, run_many  # type: ignore[assignment]
        event.remove(target, "before_cursor_execute", record)


def run_sql(db_url: str, statement: str) -> None:
    """One raw statement on the database behind ``db_url`` (to corrupt a row or a table as a bad hand would)."""
    from erepwatch.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


# --- the CLI, in-process ------------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str, ok: bool | None = True) -> Result:
        """Run the CLI; ``ok``: it must succeed (True), fail (False), or either (None)."""
        from erepwatch.cli import main

        self.capsys.readouterr()
        cause: BaseException | None = None
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
            cause = exc.__context__
        captured = self.capsys.readouterr()
        result = Result(code, captured.out, captured.err)
        if ok and code != 0:
            # The CLI tells a bug in one line; the test shows its traceback.
            shown = cause is not None and not type(cause).__module__.startswith(("erepwatch", "click"))
            trace = "".join(traceback.format_exception(cause)) if shown else ""
            raise AssertionError(f"erepwatch {' '.join(args)} failed ({code}): {result.err}{trace}")
        if ok is False and code == 0:
            raise AssertionError(f"erepwatch {' '.join(args)} unexpectedly succeeded: {result.out}")
        return result


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> str:
    """A clean erepwatch environment on the given database, with loopback feeds allowed."""
    for name in list(os.environ):
        if name.startswith("EREPWATCH_") and not name.startswith("EREPWATCH_TEST"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("EREPWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("EREPWATCH_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("EREPWATCH_DATA_DIR", str(tmp_path / "data"))
    return db_url


@pytest.fixture
def bare_cli(env: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """The CLI on a database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    return Cli(capsys)


@pytest.fixture
def cli(bare_cli: Cli) -> Cli:
    """The CLI on a database created by `erepwatch init`, as a user starts."""
    bare_cli("init")
    return bare_cli


@pytest.fixture
def python() -> str:
    return sys.executable


@dataclass
class PlainWatch:
    """A watch as ``build_mentions`` reads it (id, creation date, own tag groups), without a database row."""

    id: int
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    tags: dict[str, Any] = field(default_factory=dict)
