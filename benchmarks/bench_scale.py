"""Does erepwatch stay as fast when its database has grown? A year of history (1M items, ~100k mentions)
against a few days of it, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_scale.py [--items 1000000] [--small 10000] [--repeat 15] [--no-postgres]
                                               [--plans] [--build-at REVISION]

Both databases are built the same way at the same rate (an item every 31.5 s, a mention for one item in ten,
20 watches, 148 sources), so the last days hold the same rows and only the length of history differs: the
small one covers a few days, the big one a year. Measured (median of ``--repeat`` samples, wall time, a quick
measure's sample the mean of the calls that fill 50 ms; the two databases alternately, so that a burst of load
on a shared machine weighs on both sides of a ratio):

* a poll of one source bringing 50 new items that mention watched names, and the re-poll (a 304);
* ``mentions --since 30d --limit 50`` (``service.mentions.list_mentions``);
* the digest preview (``service.digests.preview_digest``, what ``digest preview`` runs);
* the web page's first page of mentions (``service.browse.find_mentions``);
* ``source list`` and the digest's source health.

Target (issue 17): each within 1.2× of the small database's figure. ``--plans`` prints the query plans of
the hot queries (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN ANALYZE).

Built databases are cached between runs (bulk inserts take minutes at 1M items): SQLite files under
``$TMPDIR/erepwatch-bench-scale/``, PostgreSQL schemas ``bench_scale_<items>`` in the test database. The
migrations run on them at each start, so a new index is created on the big database too (and timed).
``--build-at REVISION`` builds a missing database at that older revision and then times its upgrade to the head
(what a user's ``erepwatch init`` does to a year of history), with the peak resident memory of this process and,
on PostgreSQL, of the server process that ran it.

Plans of the hot queries at 1,000,000 items (``--plans``, 2026-12-07; figures: README, "A year of history"):

* ``mentions --since 30d --limit 50`` and the web's first page: newest first down ``ix_mentions_published_id``
  (SQLite ``SEARCH … (published_at>?)`` / ``SCAN … USING INDEX``; PostgreSQL ``Index Scan Backward``, stopped by
  the ``Limit`` after 50-51 rows, 52 buffers), each row's story checked by a ``NOT EXISTS`` on
  ``ix_mentions_cluster_id`` (anti-join, 0-1 row a probe), items, watches and sources by primary key; then the
  page's stories' other members by ``ix_mentions_cluster_id = ANY(…)``. PostgreSQL: 428 buffers, 0.27 ms
  (web: 208 buffers, 0.10 ms).
* digest preview: the period's mentions by ``ix_mentions_watch_created`` (SQLite, per watch) or
  ``ix_mentions_created_at`` (PostgreSQL: 637 rows, 1.8 ms), rows by primary key; the 14-day chart by
  ``ix_mentions_trends`` (SQLite, covering) or a bitmap scan of ``ix_mentions_published_id`` (PostgreSQL: 4,670
  rows, 1.1 ms).
* re-poll (304), ``source list``, source health: the ``sources`` table alone (150 rows; the counts and the last
  item's date are kept on the source by the poll, the schedule's history too), nothing read from ``items``.
* poll of 50 new items (PostgreSQL, per poll): ``INSERT … SELECT FROM unnest`` into items (6 ms), item_sources
  (3 ms) and mentions (8 ms), the stories' ``UPDATE`` (7 ms); the same statements as on the small database, a
  few ms more of index upkeep on the larger b-trees.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import sqlalchemy as sa  # noqa: E402
from _postgres import POSTGRES_URL, postgres_ok  # noqa: E402
from sqlalchemy import event, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from erepwatch.db.engine import make_engine, session_factory  # noqa: E402
from erepwatch.db.migrate import upgrade  # noqa: E402
from erepwatch.db.models import Item, ItemSource, Mention, Recipient, Source, Watch  # noqa: E402
from erepwatch.notify import queries  # noqa: E402
from erepwatch.pipeline import Analysis, run_poll  # noqa: E402
from erepwatch.service.browse import ListFilter, find_mentions  # noqa: E402
from erepwatch.service.digests import preview_digest  # noqa: E402
from erepwatch.service.mentions import list_mentions  # noqa: E402
from erepwatch.service.sources import list_sources  # noqa: E402
from erepwatch.settings import load_settings  # noqa: E402

#: One item every 31.5 s: a million is a year.
STEP = timedelta(seconds=31.5)
WATCH_WORDS = [
    "renault", "airbus", "carrefour", "sncf", "danone", "michelin", "orange", "total", "decathlon", "leclerc",
    "bouygues", "thales", "safran", "engie", "veolia", "hermes", "kering", "sanofi", "capgemini", "ubisoft",
]  # fmt: skip
SOURCES = 148
FILLER = (
    "Le groupe a présenté ses résultats trimestriels devant les analystes, qui attendaient une hausse des "
    "ventes en Europe et un recul en Asie. La direction confirme ses objectifs pour l'année."
)
NOW = datetime.now(UTC).replace(microsecond=0)


# --- building a database of n items ----------------------------------------------------------------------


def _rows(n: int, start_id: int = 1) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]]:
    rng = random.Random(n)
    for k in range(n):
        i = start_id + k
        published = NOW - STEP * (n - k)
        source = 1 + i % SOURCES
        mentioned = i % 10 == 0
        word = WATCH_WORDS[i % len(WATCH_WORDS)]
        title = f"{word.capitalize() if mentioned else 'Économie'} : point {i} sur le marché"
        item = {
            "id": i,
            "key": f"https://news{source}.example/a/{i}",
            "url": f"https://news{source}.example/a/{i}",
            "guid": None,
            "title": title,
            "text": FILLER,
            "author": None,
            "publisher": f"News {source}",
            "publisher_domain": f"news{source}.example",
            "language": "fr",
            "published_at": published,
            "fetched_at": published + timedelta(minutes=5),
            "first_source_id": source,
        }
        link = {"item_id": i, "source_id": source, "first_seen_at": published + timedelta(minutes=5)}
        mention = None
        if mentioned:
            mention = {
                "id": i // 10,
                "watch_id": 1 + i % len(WATCH_WORDS),
                "item_id": i,
                "created_at": published + timedelta(minutes=5),
                "published_at": published,
                "spans": [{"field": "title", "start": 0, "end": len(word), "term": word, "fuzzy": False}],
                "snippet": title,
                "snippet_marks": [[0, len(word)]],
                "sentiment": rng.choice(("positive", "negative", "neutral", "neutral")),
                "score": 0.0,
                "keywords": [],
                "tags": [],
                "why": None,
                # a story of several outlets now and then: its first mention represents it
                "cluster_id": max(1, (i // 10) - (i // 10) % 3) if i % 70 == 0 else i // 10,
                "cluster_reason": "founder",
                "cluster_score": None,
                "cluster_match_id": None,
                "notify": True,
                "irrelevant": False,
                "starred": False,
            }
        yield item, link, mention


def build(engine: sa.Engine, n: int) -> None:
    """Fill a migrated, empty database with ``n`` items (bulk inserts, one transaction per 20k rows)."""
    t = {m.__tablename__: m.__table__ for m in (Item, ItemSource, Mention, Source, Watch, Recipient)}
    with engine.begin() as conn:
        conn.execute(
            t["watches"].insert(),
            [
                {"id": w + 1, "name": word, "query": word, "languages": [], "regions": [], "fuzzy": False, "tags": {},
                 "created_at": NOW - timedelta(days=400), "updated_at": NOW - timedelta(days=400)}
                for w, word in enumerate(WATCH_WORDS)
            ],
        )  # fmt: skip
        conn.execute(
            t["sources"].insert(),
            [
                {"id": s, "name": f"news{s}", "url": f"https://news{s}.example/feed", "kind": "feed",
                 "interval_seconds": 900, "enabled": True, "created_at": NOW - timedelta(days=400),
                 "next_check_at": NOW + timedelta(days=1), "consecutive_failures": 0, "item_count": 0}
                for s in range(1, SOURCES + 1)
            ],
        )  # fmt: skip
        conn.execute(
            t["recipients"].insert(),
            {"id": 1, "email": "owner@example.com", "frequency": "daily", "at_time": "08:00",
             "timezone": "Europe/Paris", "locale": "fr", "send_empty": False, "notify_urls": [], "watch_ids": [],
             "digest_cursor": NOW - timedelta(days=1), "created_at": NOW - timedelta(days=400)},
        )  # fmt: skip
    batch: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] = ([], [], [])
    started = time.perf_counter()
    done = 0

    def flush() -> None:
        with engine.begin() as conn:
            for table, rows in zip(("items", "item_sources", "mentions"), batch, strict=True):
                if rows:
                    conn.execute(t[table].insert(), rows)
                    rows.clear()

    for item, link, mention in _rows(n):
        batch[0].append(item)
        batch[1].append(link)
        if mention:
            batch[2].append(mention)
        if len(batch[0]) >= 20_000:
            flush()
            done += 20_000
            print(f"  {done:>9,} items  {time.perf_counter() - started:6.0f} s", end="\r", flush=True)
    flush()
    with engine.begin() as conn:
        # what the polls keep on each source (migration 0006 fills the same columns)
        counts = conn.execute(
            sa.text("SELECT source_id, count(*), max(first_seen_at) FROM item_sources GROUP BY source_id")
        ).all()
        for source_id, count, last in counts:
            at = datetime.fromisoformat(last) if isinstance(last, str) else last  # SQLite hands back text
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
            conn.execute(
                t["sources"].update().where(t["sources"].c.id == source_id).values(item_count=count, last_item_at=at)
            )
        if engine.dialect.name == "postgresql":
            for table in ("items", "mentions", "sources", "watches", "recipients"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"))
            conn.execute(sa.text("ANALYZE"))
    print(f"  built {n:,} items in {time.perf_counter() - started:.0f} s" + " " * 20)


def timed_upgrade(engine: sa.Engine) -> None:
    """Upgrade to the head, printing the time taken and the peak resident memory of this process and of the
    PostgreSQL backend that runs the migrations (sampled every 50 ms)."""
    engine.dispose()  # a new server process: the build's would count the pages it touched
    processes = [psutil.Process()]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # the pool hands this same connection to upgrade() next
            processes.append(psutil.Process(conn.scalar(sa.text("SELECT pg_backend_pid()"))))
    starts = [p.memory_info().rss for p in processes]
    peaks = list(starts)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            for k, p in enumerate(processes):
                peaks[k] = max(peaks[k], p.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        before, after = upgrade(engine)
    finally:
        done.set()
        sampler.join()
    memory = " / ".join(
        f"{peak / 2**20:.0f} MB ({start / 2**20:.0f} before)" for start, peak in zip(starts, peaks, strict=True)
    )
    print(f"  upgrade {before} -> {after}: {time.perf_counter() - started:.1f} s, peak RSS {memory}"
          + (" (this process / the server's backend)" if len(peaks) > 1 else ""))  # fmt: skip


@contextmanager
def database(kind: str, n: int, build_at: str | None = None) -> Iterator[str]:
    """The cached database of ``n`` items (built if missing, at ``build_at`` if given), migrated to the head."""
    if kind == "sqlite":
        folder = Path(tempfile.gettempdir()) / "erepwatch-bench-scale"
        folder.mkdir(exist_ok=True)
        path = folder / f"scale-{n}.db"
        url = f"sqlite:///{path}"
        fresh = not path.exists()
    else:
        schema = f"bench_scale_{n}"
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            fresh = not conn.execute(
                sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}
            ).first()
            if fresh:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        upgrade(engine, build_at if fresh and build_at else "head")
        if fresh:
            print(f"{kind}: building {n:,} items (cached for the next runs)")
            build(engine, n)
            if build_at:
                timed_upgrade(engine)
        elif time.perf_counter() - started > 1:
            print(f"{kind}: migrations on the cached {n:,}-item database took {time.perf_counter() - started:.1f} s")
    except BaseException:
        engine.dispose()
        if fresh and kind == "sqlite":
            path.unlink(missing_ok=True)  # a half-built file is no cache
        raise
    if kind == "sqlite":
        raw = engine.raw_connection()  # outside a transaction: a build leaves a WAL every read would consult
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    engine.dispose()
    yield url


# --- a feed server for the measured polls ------------------------------------------------------------------


class FeedHandler(BaseHTTPRequestHandler):
    """/fresh: 50 items never seen before at every request; /stable: the same 50, with an ETag (then 304s)."""

    stable_body = b""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/stable"):
            if not FeedHandler.stable_body:
                FeedHandler.stable_body = _feed("stable")
            if self.headers.get("If-None-Match") == '"stable"':
                self.send_response(304)
                self.send_header("ETag", '"stable"')
                self.end_headers()
                return
            body, etag = FeedHandler.stable_body, '"stable"'
        else:
            body, etag = _feed(uuid.uuid4().hex), f'"{uuid.uuid4().hex}"'
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)


def _feed(tag: str) -> bytes:
    items = "".join(
        f"<item><title>{WATCH_WORDS[k % len(WATCH_WORDS)].capitalize()} annonce un accord {tag} n°{k}</title>"
        f"<link>https://fresh.example/{tag}/{k}</link><description>{FILLER}</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=k))}</pubDate></item>"
        for k in range(50)
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    return f"{head}{items}</channel></rss>".encode()


@contextmanager
def feed_server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- the measures ------------------------------------------------------------------------------------------


#: A sample of a quick measure is the mean of as many calls as fill this much time (as timeit does): at load 8 on
#: the shared 2-core machine a 2 ms call is preempted at random, and a median of 15 single calls of ``source
#: list`` read 2.86 with the two medians' fastest calls equal (2026-12-07).
SAMPLE_SECONDS = 0.05


def interleaved(
    pairs: dict[str, tuple[Callable[[], object], Callable[[], object]]], repeat: int
) -> dict[str, tuple[list[float], list[float]]]:
    """The times of each (small, big) pair of measures, run alternately so that a burst of load on the shared
    machine falls on both sides of a ratio alike; a quick measure's sample is the mean of several calls."""
    times: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label in pairs}
    calls: dict[str, int] = {}
    for label, fns in pairs.items():  # warm: caches, prepared statements, the page cache
        took = []
        for fn in fns:
            start = time.perf_counter()
            fn()
            took.append(time.perf_counter() - start)
        calls[label] = max(1, min(50, round(SAMPLE_SECONDS / max(min(took), 1e-6))))
    for _ in range(repeat):
        for label, fns in pairs.items():
            for side, fn in enumerate(fns):
                start = time.perf_counter()
                for _ in range(calls[label]):
                    fn()
                times[label][side].append((time.perf_counter() - start) / calls[label])
    return times


def _settings(data_dir: str, url: str) -> Any:
    return load_settings(
        environ={"EREPWATCH_DATA_DIR": data_dir, "EREPWATCH_DATABASE_URL": url, "EREPWATCH_ALLOW_PRIVATE": "1",
                 # the embedding stages (stories, the sentiment model) are bench_poll's, reported apart there
                 "EREPWATCH_ANALYSIS_SEMANTIC": "0", "EREPWATCH_ANALYSIS_SCORER": "bow"}
    )  # fmt: skip


def measures(url: str, port: int, settings: Any) -> tuple[sa.Engine, dict[str, Callable[[], object]]]:
    """The measured operations on one database (and its engine, to dispose of)."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    fresh_id, stable_id = _poll_sources(sessions, port)
    analysis = Analysis.from_settings(settings)

    def poll(source_id: int) -> Callable[[], object]:
        return lambda: asyncio.run(run_poll(sessions, settings, source_ids=[source_id], analysis=analysis))

    def read(fn: Callable[[Session], object]) -> Callable[[], object]:
        def run() -> object:
            with sessions() as session:
                return fn(session)

        return run

    return engine, {
        "poll of 50 new items": poll(fresh_id),
        "re-poll (304)": poll(stable_id),
        "mentions --since 30d --limit 50": read(lambda s: list_mentions(s, since=timedelta(days=30), limit=50)),
        "digest preview": read(lambda s: preview_digest(s, settings, datetime.now(UTC))),
        "web mentions, first page": read(lambda s: find_mentions(s, ListFilter())),
        "source list": read(list_sources),
        "digest source health": read(lambda s: queries.source_health(s, [])),
    }


def _poll_sources(sessions: sessionmaker[Session], port: int) -> tuple[int, int]:
    ids = []
    with sessions() as session, session.begin():
        for name in ("fresh", "stable"):
            url = f"http://127.0.0.1:{port}/{name}"
            source = session.scalar(select(Source).where(Source.name == f"bench-{name}"))
            if source is None:
                source = Source(
                    name=f"bench-{name}", url=url, kind="feed", interval_seconds=900, enabled=True,
                    created_at=NOW - timedelta(days=400), next_check_at=NOW,
                )  # fmt: skip
                session.add(source)
            else:
                # what the previous runs' polls of 50 new items stored (their mentions, links and stories go with
                # them): left in the cached databases, they grew the digest's period by 50 mentions a poll, and
                # its preview 125 -> 600 ms over a few runs
                session.execute(sa.delete(Item).where(Item.first_source_id == source.id))
            source.url, source.etag, source.last_modified = url, None, None
            session.flush()
            ids.append(source.id)
    return ids[0], ids[1]


# --- query plans ----------------------------------------------------------------------------------------


def print_plans(engine: sa.Engine, sessions: sessionmaker[Session], settings: Any) -> None:
    captured: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            captured.append((statement, parameters))

    hot = {
        "list_mentions": lambda s: list_mentions(s, since=timedelta(days=30), limit=50),
        "find_mentions (web first page)": lambda s: find_mentions(s, ListFilter()),
        "digest preview": lambda s: preview_digest(s, settings, datetime.now(UTC)),
    }
    for label, fn in hot.items():
        captured.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            with sessions() as session:
                fn(session)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        for statement, parameters in captured:
            if "mentions" not in statement:
                continue
            print(f"\n[{engine.dialect.name}] {label}: {' '.join(statement.split())[:160]}…")
            with engine.connect() as conn:
                if engine.dialect.name == "sqlite":
                    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
                    for row in rows:
                        print(f"    {str(row[-1])[:220]}")
                else:
                    rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).all()
                    for (line,) in rows:
                        print(f"    {line[:220]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    # 5 was too few on the shared 2-core machine: a PostgreSQL re-poll (two commits, ~12 ms) read 1.40 in a median
    # of 5 and 0.94-1.07 in medians of 30-60 the same hour (2026-12-07, load ~5)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--plans", action="store_true", help="print the query plans of the hot queries")
    parser.add_argument("--build-at", metavar="REVISION", help="build missing databases at this older revision "
                        "and time their upgrade to the head")  # fmt: skip
    args = parser.parse_args()
    kinds = ([] if args.no_sqlite else ["sqlite"]) + ([] if args.no_postgres or not postgres_ok() else ["postgresql"])
    with feed_server() as port, tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            with (
                database(kind, args.small, args.build_at) as small_url,
                database(kind, args.items, args.build_at) as big_url,
            ):
                settings = {url: _settings(tmp, url) for url in (small_url, big_url)}
                small_engine, small = measures(small_url, port, settings[small_url])
                big_engine, big = measures(big_url, port, settings[big_url])
                try:
                    figures = interleaved({label: (small[label], big[label]) for label in small}, args.repeat)
                    if args.plans:
                        print_plans(big_engine, session_factory(big_engine), settings[big_url])
                finally:
                    small_engine.dispose()
                    big_engine.dispose()
            print(f"\n-- {kind}: {args.items:,} items against {args.small:,} (median of {args.repeat}, alternated, ms)")
            # the ratio of the fastest runs too: the least disturbed by the other work of a shared machine
            print(f"{'':<36}{'small':>9}{'big':>9}{'ratio':>8}{'of min':>8}  target ≤ 1.2")
            for label, (small_times, big_times) in figures.items():
                a, b = statistics.median(small_times), statistics.median(big_times)
                ratio = b / a if a else float("nan")
                flag = "" if ratio <= 1.2 else "  ✗"
                fastest = min(big_times) / min(small_times)
                print(f"{label:<36}{a * 1e3:>9.1f}{b * 1e3:>9.1f}{ratio:>8.2f}{fastest:>8.2f}{flag}")


if __name__ == "__main__":
    main()
