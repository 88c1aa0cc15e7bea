"""The daemon's memory after a poll that makes 100,000 mentions for 10,000 watches (issue 17 point 5).

    .venv/bin/python benchmarks/bench_story_memory.py [--watches 10000] [--sources 100] [--entries 1000]

What the daemon does per tick, in one process: a real SQLite database with ``--watches`` watches (query
``brandN``), ``--sources`` local RSS feeds of ``--entries`` entries each (the per-fetch cap) served over loopback,
each entry naming one brand (so each watch gets sources × entries / watches mentions, syndicated copies among
them), one :func:`erepwatch.pipeline.run_poll` with a kept :class:`~erepwatch.pipeline.Analysis` — the story
cache bounded by ``analysis.cluster_cache`` and the semantic stage on (the embedding model loaded, its time
budget as configured). Printed: resident memory before, after the poll (after a garbage collection, the state the
daemon keeps until its next poll), peak, the cache's size, and the stages' figures. The baseline is the same
process before the poll, with the watches compiled.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_dedup
from bench_dedup import real_headlines, syndicate

from erepwatch.db.engine import make_engine, session_factory
from erepwatch.db.migrate import upgrade
from erepwatch.db.models import Source, Watch
from erepwatch.pipeline import Analysis, run_poll
from erepwatch.settings import load_settings

if "EREPWATCH_TEST_SHARED" in os.environ:
    bench_dedup.CORPUS = Path(os.environ["EREPWATCH_TEST_SHARED"]) / "corpus" / "feeds"


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def feeds(headlines: list[str], sources: int, entries: int, watches: int, now: datetime) -> list[bytes]:
    rng = random.Random(5)
    bodies = []
    n = 0
    for s in range(sources):
        items = []
        for _ in range(entries):
            a, b = rng.sample(headlines, 2)
            wa, wb = a.split(), b.split()
            title = " ".join([*wa[: len(wa) // 2], f"brand{n % watches}", *wb[len(wb) // 2 :]])
            if rng.random() < 0.3:
                title = syndicate(title, rng)
            date = format_datetime(now - timedelta(minutes=rng.randrange(0, 60 * 48)))
            link = f"https://news{s}.example/{n}"
            items.append(
                f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
                f"<description>{escape(b)}</description><pubDate>{date}</pubDate></item>"
            )
            n += 1
        head = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed {s}</title>'
        bodies.append((head + "".join(items) + "</channel></rss>").encode())
    return bodies


def serve(bodies: list[bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies[int(self.path.strip("/").split(".")[0])]
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--cache", type=int, default=None, help="analysis.cluster_cache (default: the setting's)")
    parser.add_argument("--no-semantic", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        factory = session_factory(engine)
        bodies = feeds(real_headlines(), args.sources, args.entries, args.watches, now)
        server = serve(bodies)
        port = server.server_address[1]
        with factory() as s, s.begin():
            past = now - timedelta(days=30)
            s.add_all(
                Watch(name=f"w{i}", query=f"brand{i}", created_at=past, updated_at=past) for i in range(args.watches)
            )
            s.add_all(
                Source(
                    name=f"s{i}",
                    url=f"http://127.0.0.1:{port}/{i}.xml",
                    interval_seconds=3600,
                    created_at=past,
                    next_check_at=past,
                )
                for i in range(args.sources)
            )
        overrides: dict[str, object] = {"database_url": url, "allow_private": True, "analysis_semantic": True}
        if args.cache is not None:
            overrides["analysis_cluster_cache"] = args.cache
        if args.no_semantic:
            overrides["analysis_semantic"] = False
        settings = load_settings(environ={}, **overrides)
        analysis = Analysis.from_settings(settings)
        if settings.analysis_semantic:
            from erepwatch.analyze.embedding import embed

            embed(["the model is loaded before the baseline, as in a daemon that already polled"])
        del bodies
        gc.collect()
        before = rss_mb()
        t0 = time.perf_counter()
        stats = asyncio.run(run_poll(factory, settings, analysis=analysis, all_sources=True, now=now))
        seconds = time.perf_counter() - t0
        gc.collect()
        after = rss_mb()
        live_blocks = sys.getallocatedblocks()
        trimmed = after
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
            trimmed = rss_mb()
        except OSError:
            pass
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        server.shutdown()
        cache = settings.analysis_cluster_cache
        print(f"{args.watches} watches, {args.sources} sources × {args.entries} entries; cache {cache}")
        print(
            f"poll: {stats.new_items} items, {stats.new_mentions} mentions in {seconds:.0f} s; stories: {stats.stories}"
        )
        print(f"rss before the poll {before:.0f} MB (model {'loaded' if settings.analysis_semantic else 'off'})")
        print(f"rss after the poll {after:.0f} MB (×{after / before:.2f}); peak {peak:.0f} MB")
        print(f"rss after malloc_trim {trimmed:.0f} MB; {live_blocks} live Python blocks")
        print(f"story cache: {len(analysis.clusters)} mentions of {len(analysis.clusters.loaded_watches())} watches")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
