"""SQLite's own work in a first poll of the corpus, replayed alone: CPU by schema revision, interleaved, same output.

    .venv/bin/python benchmarks/bench_store.py [--rounds 9] [--against REVISION] [--watches 20]

One first poll of the real corpus (served locally, as in bench_poll.py, embedding stages off) is run once with every
statement it sends to SQLite recorded (its text and values, the commits and rollbacks), and the database saved as it
was when the poll began. The recording is then replayed on fresh copies of that database: at this checkout's schema
(head) and, with ``--against``, at an earlier revision (the copy downgraded by its migrations), one after the other,
round by round (A B, B A, …), in one process. The statements are the poll's own, so what differs between the two is
the schema: its indexes, triggers and full-text table. Each replay's thread CPU is SQLite's work plus the driver's
calls; the median and the spread are printed, with the CPU by statement (median of the rounds) and the database's
and WAL's size after the replay. The replays must leave the same rows in every table (and, for the full-text index,
the same words at the same positions, read through ``fts5vocab``): the benchmark says so or stops.

The first poll's own SQLite calls are timed too (thread CPU inside each call), against the poll's CPU: how much of the
poll the database's work is (in the poll's context, caches shared with everything else, it costs more than alone).

Measured 2026-12-07 (session 10), shared 2-core machine, load 5-7, ``--rounds 9 --against
0012_search_mentioned_items`` (migration 0013: the full-text table keeps no copy of the text): the first poll
2.47 s of CPU, 0.383 s of it inside SQLite calls (87 µs/entry, 16 %). Replayed, median (min-max) of 9:
0012 373 ms (354-410), 85.0 µs/entry → 0013 341 ms (327-368), 77.7 µs/entry; by statement, the mentions' INSERT
(which fills the index) 159 → 147 ms, commits 107 → 95, items' INSERT 64 → 64; the database after the poll
17.7 → 14.0 MB; same rows and words. What is left is SQLite's own: of the mentions' 147 ms the full-text index is
~120 (the replay without its trigger), of the commits' ~95 the WAL's frames (~12,000 a poll, 49 MB, for 3,400
distinct pages: every source's commit writes again the last pages of each of the ~15 b-trees it touched),
checkpoints ~20 ms and FTS5's segments ~25. Tried on this replay, within its noise (±5 %): the tokenizer (``ascii``
costs the same as ``unicode61``), FTS5's ``automerge`` 0 and 16, ``columnsize=0``, 1/2/8/16 KiB pages, a 32 MB cache,
``mmap_size`` 256 MB, ``foreign_keys`` off; ``wal_autocheckpoint`` 4,000 or 10,000 pages (-4 % at most, and a longer
window of commits that a power cut can take back under ``synchronous=NORMAL``: not done).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_poll  # noqa: E402

from erepwatch.db import engine as db_engine  # noqa: E402
from erepwatch.db.migrate import downgrade, head_revision  # noqa: E402

#: (kind, sql, values): kind "x" execute, "m" executemany, "c" commit, "r" rollback
Statement = tuple[str, str, Any]


class _Recorder:
    """What the poll's connections send to SQLite while ``on``, and the thread CPU spent inside those calls."""

    def __init__(self) -> None:
        self.on = False
        self.statements: list[Statement] = []
        self.cpu: Counter[str] = Counter()
        self.lock = threading.Lock()

    def call(self, kind: str, sql: str, values: Any, run: Any) -> Any:
        if not self.on:
            return run()
        start = time.thread_time()
        try:
            return run()
        finally:
            spent = time.thread_time() - start
            with self.lock:
                self.statements.append((kind, sql, values))
                self.cpu[_label(sql)] += spent


RECORDER = _Recorder()


def _label(sql: str) -> str:
    return " ".join(sql.split()[:3])[:32]


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = ()) -> Any:  # type: ignore[override]
        values = tuple(parameters) if not isinstance(parameters, dict) else dict(parameters)
        return RECORDER.call("x", sql, values, lambda: super(_Cursor, self).execute(sql, parameters))

    def executemany(self, sql: str, seq: Any) -> Any:  # type: ignore[override]
        rows = [tuple(p) if not isinstance(p, dict) else dict(p) for p in seq]
        return RECORDER.call("m", sql, rows, lambda: super(_Cursor, self).executemany(sql, rows))


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = ()) -> Any:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any) -> Any:  # type: ignore[override]
        return self.cursor().executemany(sql, seq)

    def commit(self) -> None:
        if self.in_transaction:
            RECORDER.call("c", "COMMIT", (), super().commit)
        else:
            super().commit()

    def rollback(self) -> None:
        if self.in_transaction:
            RECORDER.call("r", "ROLLBACK", (), super().rollback)
        else:
            super().rollback()


@contextmanager
def recording(snapshot: Path) -> Iterator[None]:
    """SQLite engines made meanwhile connect through the recorder; the first poll run is recorded, and the database
    saved to ``snapshot`` as that poll begins."""
    make = db_engine.create_engine
    run = bench_poll.run_poll
    polls = 0

    def create_engine(url: Any, **kwargs: Any) -> Any:
        if str(url).startswith("sqlite"):
            kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "factory": _Connection}
        return make(url, **kwargs)

    async def run_poll(factory: Any, settings: Any, **kwargs: Any) -> Any:
        nonlocal polls
        polls += 1
        if polls > 1:
            return await run(factory, settings, **kwargs)
        path = settings.database_url.split("sqlite:///", 1)[1]
        with sqlite3.connect(path) as db:
            db.execute("VACUUM INTO ?", (str(snapshot),))
        db.close()
        RECORDER.on = True
        try:
            return await run(factory, settings, **kwargs)
        finally:
            RECORDER.on = False

    db_engine.create_engine = create_engine  # type: ignore[assignment]
    bench_poll.run_poll = run_poll  # type: ignore[assignment]
    try:
        yield
    finally:
        db_engine.create_engine = make
        bench_poll.run_poll = run


def record(watches: int, snapshot: Path) -> tuple[list[Statement], dict[str, Any]]:
    files = bench_poll.feed_files()
    with recording(snapshot), bench_poll.serve() as port:
        result = bench_poll.one_round(files, port, watches, "sqlite", embedding=False, timed=False)
    return RECORDER.statements, result


def at_revision(snapshot: Path, revision: str, folder: Path) -> Path:
    """A copy of the snapshot at ``revision`` (downgraded by the migrations when it is not head)."""
    target = folder / f"{revision}.db"
    shutil.copy(snapshot, target)
    if revision != head_revision():
        from sqlalchemy import create_engine

        engine = create_engine(f"sqlite:///{target}")
        downgrade(engine, revision)
        engine.dispose()
    return target


def replay(statements: Sequence[Statement], base: Path, folder: Path) -> tuple[float, Counter[str], Path, int]:
    """The statements run on a fresh copy of ``base`` with erepwatch's connection settings: thread CPU (total and by
    statement), the copy (left for the caller to compare) and the WAL's size at the end (before the last connection
    closes and checkpoints it)."""
    path = folder / "replay.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(base, path)
    db = sqlite3.connect(path, isolation_level=None)
    db_engine._sqlite_pragmas(db, None)
    by_statement: Counter[str] = Counter()
    clock = time.thread_time
    start = clock()
    for kind, sql, values in statements:
        t = clock()
        if kind == "x":
            db.execute(sql, values).fetchall()
        elif kind == "m":
            db.executemany(sql, values)
        elif kind == "c":
            db.commit()
        else:
            db.rollback()
        by_statement[_label(sql)] += clock() - t
    total = clock() - start
    wal = Path(f"{path}-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    db.close()
    return total, by_statement, path, wal_size


def fingerprint(path: Path) -> dict[str, str]:
    """A hash of every table's rows (in rowid order) and of the full-text index's words and positions."""
    db = sqlite3.connect(path)
    out = {}
    tables = [
        name
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if not name.startswith(("items_fts", "sqlite_", "alembic_"))
    ]
    for name in tables:
        digest = hashlib.sha256()
        for row in db.execute(f'SELECT * FROM "{name}" ORDER BY rowid'):
            digest.update(repr(row).encode())
        out[name] = digest.hexdigest()
    db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, items_fts, instance)")
    digest = hashlib.sha256()
    for row in db.execute("SELECT term, doc, col, offset FROM temp.vocab ORDER BY 1, 2, 3, 4"):
        digest.update(repr(row).encode())
    out["items_fts (words)"] = digest.hexdigest()
    db.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--watches", type=int, default=20)
    parser.add_argument("--against", help="an earlier schema revision to replay the same statements on")
    parser.add_argument("--save", type=Path, help="keep the recording (statements and starting database) here")
    parser.add_argument("--load", type=Path, help="replay a recording saved with --save instead of polling")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        snapshot = folder / "start.db"
        if args.load:
            shutil.copy(args.load / "start.db", snapshot)
            statements, poll = pickle.loads((args.load / "statements.pickle").read_bytes())
        else:
            statements, result = record(args.watches, snapshot)
            poll = {"cpu": result["cpu"]["first"], "entries": result["stats"]["entries"]}
            poll["sqlite"] = dict(RECORDER.cpu)
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                shutil.copy(snapshot, args.save / "start.db")
                (args.save / "statements.pickle").write_bytes(pickle.dumps((statements, poll)))
        entries = poll["entries"]
        sqlite_cpu = sum(poll["sqlite"].values())
        print(
            f"first poll: {entries} entries, {len(statements)} statements recorded; poll CPU {poll['cpu']:.3f} s, "
            f"inside SQLite calls {sqlite_cpu:.3f} s ({sqlite_cpu / entries * 1e6:.0f} µs/entry, "
            f"{sqlite_cpu / poll['cpu']:.0%})"
        )
        revisions = [head_revision(), *([args.against] if args.against else [])]
        bases = {rev: at_revision(snapshot, rev, folder) for rev in revisions}
        cpu: dict[str, list[float]] = defaultdict(list)
        parts: dict[str, list[Counter[str]]] = defaultdict(list)
        sizes: dict[str, tuple[int, int]] = {}
        prints: dict[str, dict[str, str]] = {}
        for n in range(args.rounds):
            for rev in revisions if n % 2 == 0 else revisions[::-1]:
                work = folder / rev.replace("/", "_")
                work.mkdir(exist_ok=True)
                total, by_statement, path, wal_size = replay(statements, bases[rev], work)
                cpu[rev].append(total)
                parts[rev].append(by_statement)
                if n == 0:
                    sizes[rev] = (path.stat().st_size, wal_size)
                    prints[rev] = fingerprint(path)
        print(f"replayed {args.rounds} times each, interleaved; thread CPU (median, min-max), µs per corpus entry")
        for rev in revisions:
            values = cpu[rev]
            db_size, wal_size = sizes[rev]
            print(
                f"  {rev:<32} {statistics.median(values) * 1e3:7.1f} ms "
                f"({min(values) * 1e3:.1f}-{max(values) * 1e3:.1f})"
                f"  {statistics.median(values) / entries * 1e6:5.1f} µs/entry   database {db_size / 1e6:.1f} MB, "
                f"WAL {wal_size / 1e6:.1f} MB"
            )
            labels = sorted({k for c in parts[rev] for k in c}, key=lambda k: -parts[rev][0][k])[:6]
            print(
                "    by statement (ms): "
                + ", ".join(f"{k} {statistics.median(c[k] for c in parts[rev]) * 1e3:.1f}" for k in labels)
            )
        if len(revisions) == 2:
            same = prints[revisions[0]] == prints[revisions[1]]
            differing = [k for k in prints[revisions[0]] if prints[revisions[0]][k] != prints[revisions[1]].get(k)]
            print("same rows in every table and the same full-text words: " + ("yes" if same else f"NO ({differing})"))
            if not same:
                raise SystemExit(1)


if __name__ == "__main__":
    os.environ.setdefault("EREPWATCH_ALLOW_PRIVATE", "1")
    main()
