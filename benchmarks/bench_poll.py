"""Poll the whole real corpus from a local HTTP server into SQLite and PostgreSQL; cost against feedparser.

    .venv/bin/python benchmarks/bench_poll.py [--rounds 3] [--watches 20] [--no-postgres]

Baseline, measured in the same run on the same bytes (median of the rounds): ``feedparser.parse`` with its
defaults (what any feed reader pays at least), and feedparser as erepwatch called it before the fast path
(sanitising and URL resolution off). The poll does everything a real poll does: HTTP with conditional GET and
gzip, parsing, normalising, language detection, storing, matching watches, sentiment, tags, story clustering.
A second poll of the unchanged corpus (all 304s) is timed too: that is the daemon's steady state.

Targets (issue 17): whole first poll ≤ 0.4×, all-304 re-poll ≤ 0.03×, parse stage alone ≤ 0.05× of
``feedparser.parse`` with its defaults. Each stage is timed by wrapping the pipeline's own functions, and
printed in µs per entry so the next bottleneck shows; "store" is what the source's transaction costs
besides the stages named (inserts, links, next check, commit).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial, wraps
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser

REPO = Path(__file__).resolve().parents[1]
FEEDS = Path(os.environ.get("EREPWATCH_TEST_SHARED", REPO.parent / "shared")) / "corpus" / "feeds"
POSTGRES_URL = os.environ.get("EREPWATCH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
sys.path.insert(0, str(REPO / "src"))

from sqlalchemy import create_engine, text  # noqa: E402

from erepwatch import pipeline  # noqa: E402
from erepwatch.analyze.matcher import IndexedMatcher  # noqa: E402
from erepwatch.db.engine import make_engine, session_factory  # noqa: E402
from erepwatch.db.migrate import upgrade  # noqa: E402
from erepwatch.ingest.fetch import Fetcher  # noqa: E402
from erepwatch.ingest.parse import parse_feed, parse_with_feedparser  # noqa: E402
from erepwatch.pipeline import Analysis, run_poll  # noqa: E402
from erepwatch.service.sources import SourceInput, add_source  # noqa: E402
from erepwatch.service.watches import WatchInput, add_watch  # noqa: E402
from erepwatch.settings import load_settings  # noqa: E402

WATCHES = [
    "macron",
    '"banque de france"',
    "apple OR iphone",
    "google -alerts",
    "trump",
    "renault",
    "airbus",
    "tesla",
    '"air france"',
    "amazon",
    "microsoft",
    "orange -fruit",
    "carrefour",
    "bitcoin",
    "sncf",
    "netflix",
    "youtube",
    "l'oréal",
    "total OR totalenergies",
    "free -gratuit",
    "meta",
    "openai",
    "samsung",
]
HEADERS = {"content-type": "application/xml"}
STAGES = ("fetch", "parse", "normalise", "language", "store", "match", "analyse", "cluster")


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve() -> tuple[ThreadingHTTPServer, int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(FEEDS)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def feed_files() -> list[Path]:
    return sorted(p for p in FEEDS.iterdir() if p.suffix not in {".tsv", ".md"})


# --- stage timers: the pipeline's own functions, wrapped -------------------------------------------------


class Timers:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, name: str, stage: str) -> Callable[[], None]:
        original = getattr(owner, name)
        seconds = self.seconds

        if asyncio.iscoroutinefunction(original):

            @wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    seconds[stage] += time.perf_counter() - start

            setattr(owner, name, timed_async)
        else:

            @wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    seconds[stage] += time.perf_counter() - start

            setattr(owner, name, timed)
        return lambda: setattr(owner, name, original)


@contextmanager
def timed_stages() -> Iterator[Timers]:
    timers = Timers()
    undo = [
        timers.wrap(Fetcher, "fetch", "fetch"),
        timers.wrap(pipeline, "process_source", "source"),
        timers.wrap(pipeline, "prepare_document", "parse"),
        timers.wrap(pipeline, "parse_feed", "parse"),
        timers.wrap(pipeline, "items_from_feed", "normalise"),
        timers.wrap(pipeline, "item_language", "language"),
        timers.wrap(IndexedMatcher, "match", "match"),
        timers.wrap(pipeline, "build_mentions", "analyse"),
        timers.wrap(Analysis, "catch_up", "catch_up"),
        timers.wrap(Analysis, "load_watches", "cluster"),
        timers.wrap(Analysis, "assign", "cluster"),
        timers.wrap(Analysis, "committed", "cluster"),
    ]
    try:
        yield timers
    finally:
        for restore in reversed(undo):
            restore()
    s = timers.seconds
    # Everything but catch_up runs inside process_source; store is the rest of the source's transaction.
    s["store"] = max(
        0.0, s["source"] - sum(s[k] for k in ("parse", "normalise", "language", "match", "analyse", "cluster"))
    )
    s["cluster"] += s["catch_up"]


# --- one poll ---------------------------------------------------------------------------------------------


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def one_round(files: list[Path], port: int, watches: int, kind: str) -> dict[str, Any]:
    with database(kind) as url, tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            environ={"EREPWATCH_DATA_DIR": tmp, "EREPWATCH_DATABASE_URL": url, "EREPWATCH_ALLOW_PRIVATE": "1"}
        )
        engine = make_engine(settings.database_url)
        upgrade(engine)
        sessions = session_factory(engine)
        with sessions() as session, session.begin():
            for n, query in enumerate((WATCHES * (watches // len(WATCHES) + 1))[:watches]):
                add_watch(session, WatchInput(name=f"w{n}", query=query))
            for path in files:
                add_source(
                    session,
                    SourceInput(url=f"http://127.0.0.1:{port}/{path.name}", name=path.name),
                    default_interval=settings.poll_interval,
                )
        analysis = Analysis.from_settings(settings)  # lexicons load once, as in the daemon
        with timed_stages() as timers:
            start = time.perf_counter()
            stats = asyncio.run(run_poll(sessions, settings, all_sources=True, analysis=analysis))
            first = time.perf_counter() - start
        start = time.perf_counter()
        asyncio.run(run_poll(sessions, settings, all_sources=True, analysis=analysis))
        second = time.perf_counter() - start
        engine.dispose()
        return {"first": first, "second": second, "stats": stats.as_dict(), "stages": dict(timers.seconds)}


# --- baselines on the same bytes ----------------------------------------------------------------------------


def timed(fn: Callable[[bytes, str], int], corpus: list[tuple[bytes, str]]) -> tuple[float, int]:
    start = time.perf_counter()
    entries = 0
    for content, url in corpus:
        try:
            entries += fn(content, url)
        except Exception:
            continue
    return time.perf_counter() - start, entries


def feedparser_defaults(content: bytes, url: str) -> int:
    return len(feedparser.parse(io.BytesIO(content)).entries)


def feedparser_as_called(content: bytes, url: str) -> int:
    return len(parse_with_feedparser(content, dict(HEADERS), url).entries)


def parse_stage(content: bytes, url: str) -> int:
    return len(parse_feed(content, HEADERS, url).entries)


def postgres_ok() -> bool:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--watches", type=int, default=20)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    files = feed_files()
    corpus = [(p.read_bytes(), f"http://127.0.0.1/{p.name}") for p in files]
    kinds = ["sqlite"] + ([] if args.no_postgres or not postgres_ok() else ["postgresql"])
    httpd, port = serve()
    base: dict[str, list[float]] = defaultdict(list)
    rounds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    try:
        for _ in range(args.rounds):
            for name, fn in (
                ("defaults", feedparser_defaults),
                ("as_called", feedparser_as_called),
                ("parse", parse_stage),
            ):
                seconds, n = timed(fn, corpus)
                base[name].append(seconds)
                if name == "defaults":
                    entries = n
            for kind in kinds:
                rounds[kind].append(one_round(files, port, args.watches, kind))
    finally:
        httpd.shutdown()
    med = {k: statistics.median(v) for k, v in base.items()}
    stats = rounds["sqlite"][-1]["stats"]
    print(
        f"corpus: {len(files)} feeds, {entries} entries (feedparser), {stats['new_items']} items stored, "
        f"{stats['new_mentions']} mentions for {args.watches} watches; median of {args.rounds} rounds"
    )
    print(f"{'':<44}{'total s':>9}{'µs/entry':>10}{'× defaults':>12}{'× as called':>13}{'target':>9}")

    def line(label: str, seconds: float, target: str = "") -> None:
        print(
            f"{label:<44}{seconds:>9.3f}{seconds / entries * 1e6:>10.0f}{seconds / med['defaults']:>12.3f}"
            f"{seconds / med['as_called']:>13.3f}{target:>9}"
        )

    line("feedparser.parse, defaults (baseline)", med["defaults"])
    line("feedparser as erepwatch called it", med["as_called"])
    line("parse stage alone (parse_feed)", med["parse"], "≤ 0.05")
    for kind in kinds:
        runs = rounds[kind]
        first = statistics.median(r["first"] for r in runs)
        second = statistics.median(r["second"] for r in runs)
        print(f"-- {kind}")
        line("  whole first poll (HTTP → … → clusters)", first, "≤ 0.4")
        line("  re-poll, all unchanged (304s)", second, "≤ 0.03")
        stages = {s: statistics.median(r["stages"].get(s, 0.0) for r in runs) for s in STAGES}
        print("  µs/entry by stage: " + ", ".join(f"{s} {stages[s] / entries * 1e6:.0f}" for s in STAGES))
        print(
            "  (fetch is the sum of concurrent request times; store is the source transaction minus the named stages)"
        )


if __name__ == "__main__":
    main()
