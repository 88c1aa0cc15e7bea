"""The daemon's memory after a poll that makes 100,000 mentions for 10,000 watches (issue 17 point 5).

    .venv/bin/python benchmarks/bench_story_memory.py [--watches 10000] [--sources 100] [--entries 1000]
        [--maps N] [--trace N]

What the daemon does per tick, in one process: a real SQLite database with ``--watches`` watches (query
``brandN``), ``--sources`` local RSS feeds of ``--entries`` entries each (the per-fetch cap) served over loopback,
each entry naming one brand (so each watch gets sources × entries / watches mentions, syndicated copies among
them), one :func:`erepwatch.pipeline.run_poll` with a kept :class:`~erepwatch.pipeline.Analysis` — the story
cache bounded by ``analysis.cluster_cache`` and the semantic stage on (the embedding model loaded, its time
budget as configured). The database is built and the feeds are served by a child process, as in production (a
daemon holds neither its sources' feeds nor what created its watches). Printed: resident memory before, after the
poll (after a garbage collection), peak, where it is (anonymous and file pages, pymalloc's arenas against what its
live blocks use), the cache's size, the stages' figures, and what the daemon keeps until its next poll: after
:func:`erepwatch.daemon.give_back_memory`, which the daemon calls after each poll batch that brought entries.
``--maps N`` lists the N largest mappings after the poll; ``--trace N`` the N source lines whose allocations the
poll left alive (tracemalloc, slow). A scaled run (``--watches 1000 --sources 10``) takes ~3 min here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import psutil

from erepwatch.daemon import give_back_memory
from erepwatch.db.engine import make_engine, session_factory
from erepwatch.db.migrate import upgrade
from erepwatch.db.models import Source, Watch
from erepwatch.pipeline import Analysis, run_poll
from erepwatch.settings import load_settings


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def breakdown() -> str:
    """Where the resident memory is: anonymous pages (heap, arenas) and file pages (the model, libraries), and
    pymalloc's arenas against the bytes its live blocks use (the rest is fragmentation)."""
    parts = []
    try:
        rollup = Path("/proc/self/smaps_rollup").read_text()
        fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", rollup, re.MULTILINE))
        parts.append(f"anon {int(fields['Anonymous']) / 1024:.0f} MB, file {int(fields['Pss_File']) / 1024:.0f} MB")
    except OSError:
        pass
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode()
    arenas = re.search(r"(\d+) arenas \* (\d+) bytes/arena", text)
    used = re.search(r"# bytes in allocated blocks\s+=\s+([\d,]+)", text)
    if arenas and used:
        size = int(arenas.group(1)) * int(arenas.group(2)) / 2**20
        in_use = int(used.group(1).replace(",", "")) / 2**20
        parts.append(f"pymalloc {arenas.group(1)} arenas ({size:.0f} MB), {in_use:.0f} MB in use")
    return "; ".join(parts)


def mappings(top: int) -> list[str]:
    """The largest resident mappings, by file (anonymous ones together)."""
    rss: dict[str, int] = {}
    name = ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if len(head) >= 5 and "-" in head[0] and not head[0].endswith(":"):
            name = head[5] if len(head) > 5 else "[anon]"
        elif head and head[0] == "Rss:":
            rss[name] = rss.get(name, 0) + int(head[1])
    ranked = sorted(rss.items(), key=lambda kv: -kv[1])[:top]
    return [f"  {kb / 1024:7.1f} MB  {path}" for path, kb in ranked]


def feeds(headlines: list[str], sources: int, entries: int, watches: int, now: datetime) -> list[bytes]:
    from bench_dedup import syndicate

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


sys.path.insert(0, str(Path(__file__).resolve().parent))


def prepare_world(args: argparse.Namespace, now: datetime) -> None:
    """The child process: build the database and serve the feeds, then wait until the parent closes stdin.

    Apart from the measured process, as in production: a daemon does not hold its sources' feeds, nor the
    objects that created its watches (the bench used to do both in the measured process: ~35 MB of feed bytes
    held by the server, and the fragments of 10,000 ORM objects, were counted as the daemon's)."""
    import bench_dedup
    from bench_dedup import real_headlines

    if "EREPWATCH_TEST_SHARED" in os.environ:
        bench_dedup.CORPUS = Path(os.environ["EREPWATCH_TEST_SHARED"]) / "corpus" / "feeds"
    bodies = feeds(real_headlines(), args.sources, args.entries, args.watches, now)
    server = serve(bodies)
    port = server.server_address[1]
    engine = make_engine(args.database)
    upgrade(engine)
    with session_factory(engine)() as s, s.begin():
        past = now - timedelta(days=30)
        s.add_all(Watch(name=f"w{i}", query=f"brand{i}", created_at=past, updated_at=past) for i in range(args.watches))
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
    engine.dispose()
    print("ready", flush=True)
    sys.stdin.read()
    server.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--cache", type=int, default=None, help="analysis.cluster_cache (default: the setting's)")
    parser.add_argument("--no-semantic", action="store_true")
    parser.add_argument("--maps", type=int, default=0, metavar="N", help="print the N largest mappings after")
    parser.add_argument(
        "--trace", type=int, default=0, metavar="N", help="trace allocations (slow): N top lines kept, by size"
    )
    parser.add_argument("--world", metavar="DATABASE_URL", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--now", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.world:
        args.database = args.world
        prepare_world(args, datetime.fromisoformat(args.now))
        return 0
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        world = subprocess.Popen(
            [sys.executable, __file__, "--world", url, "--now", now.isoformat(), "--watches", str(args.watches),
             "--sources", str(args.sources), "--entries", str(args.entries)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert world.stdout is not None and world.stdin is not None
        if world.stdout.readline().strip() != "ready":
            raise SystemExit("the feed server did not start")
        engine = make_engine(url)
        factory = session_factory(engine)
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
        gc.collect()
        if args.trace:
            tracemalloc.start(1)
        before = rss_mb()
        where_before = breakdown()
        blocks_before = sys.getallocatedblocks()
        t0 = time.perf_counter()
        stats = asyncio.run(run_poll(factory, settings, analysis=analysis, all_sources=True, now=now))
        seconds = time.perf_counter() - t0
        gc.collect()
        after = rss_mb()
        live_blocks = sys.getallocatedblocks()
        where_after = breakdown()
        largest = mappings(args.maps) if args.maps else []
        if args.trace:
            snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            tracemalloc.stop()
            stats_by_line = snapshot.statistics("lineno")
            print(f"kept from the poll: {sum(s.size for s in stats_by_line) / 2**20:.1f} MB traced")
            for stat in stats_by_line[: args.trace]:
                print(f"  {stat.size / 2**20:7.2f} MB {stat.count:8d} blocks  {stat.traceback}")
        give_back_memory()
        kept = rss_mb()
        where_kept = breakdown()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        world.stdin.close()
        world.wait()
        cache = settings.analysis_cluster_cache
        print(f"{args.watches} watches, {args.sources} sources × {args.entries} entries; cache {cache}")
        print(
            f"poll: {stats.new_items} items, {stats.new_mentions} mentions in {seconds:.0f} s; stories: {stats.stories}"
        )
        print(f"rss before the poll {before:.0f} MB (model {'loaded' if settings.analysis_semantic else 'off'})")
        print(f"rss after the poll {after:.0f} MB (×{after / before:.2f}); peak {peak:.0f} MB")
        print(f"before: {where_before}")
        print(f"after: {where_after}")
        for line in largest:
            print(line)
        print(f"live Python blocks {blocks_before} before, {live_blocks} after")
        print(f"rss kept until the next poll {kept:.0f} MB (after give_back_memory, as the daemon does: {where_kept})")
        print(f"story cache: {len(analysis.clusters)} mentions of {len(analysis.clusters.loaded_watches())} watches")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
