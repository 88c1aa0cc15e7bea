"""Poll the whole real corpus from a local HTTP server into SQLite; cost per entry vs feedparser alone.

    .venv/bin/python benchmarks/bench_poll.py [--rounds 3] [--watches 20]

Baseline, measured in the same run on the same bytes: ``feedparser.parse`` with its defaults (what any
feed reader pays at least). The poll does everything a real poll does: HTTP with conditional GET and
gzip, parsing, normalizing, language detection, storing, matching watches, sentiment, tags, clustering.
A second poll of the unchanged corpus (all 304s) is timed too: that is the daemon's steady state.
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
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser

REPO = Path(__file__).resolve().parents[1]
FEEDS = Path(os.environ.get("EREPWATCH_TEST_SHARED", REPO.parent / "shared")) / "corpus" / "feeds"
sys.path.insert(0, str(REPO / "src"))

from erepwatch.db.engine import make_engine, session_factory  # noqa: E402
from erepwatch.db.migrate import upgrade  # noqa: E402
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


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve() -> tuple[ThreadingHTTPServer, int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(FEEDS)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.server_address[1]


def feed_files() -> list[Path]:
    return sorted(p for p in FEEDS.iterdir() if p.suffix not in {".tsv", ".md"})


def baseline(files: list[Path]) -> tuple[float, int]:
    start = time.perf_counter()
    entries = sum(len(feedparser.parse(io.BytesIO(p.read_bytes())).entries) for p in files)
    return time.perf_counter() - start, entries


def one_round(files: list[Path], port: int, watches: int) -> tuple[float, float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(environ={"EREPWATCH_DATA_DIR": tmp, "EREPWATCH_ALLOW_PRIVATE": "1"})
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
        start = time.perf_counter()
        stats = asyncio.run(run_poll(sessions, settings, all_sources=True, analysis=analysis))
        first = time.perf_counter() - start
        start = time.perf_counter()
        asyncio.run(run_poll(sessions, settings, all_sources=True, analysis=analysis))
        second = time.perf_counter() - start
        engine.dispose()
        return first, second, stats.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--watches", type=int, default=20)
    args = parser.parse_args()
    files = feed_files()
    httpd, port = serve()
    try:
        base_times, polls, repolls = [], [], []
        for _ in range(args.rounds):
            t, entries = baseline(files)
            base_times.append(t)
            first, second, stats = one_round(files, port, args.watches)
            polls.append(first)
            repolls.append(second)
    finally:
        httpd.shutdown()
    base, poll, repoll = (statistics.median(x) for x in (base_times, polls, repolls))
    print(
        f"corpus: {len(files)} feeds, {entries} entries (feedparser), {stats['new_items']} items stored, "
        f"{stats['new_mentions']} mentions for {args.watches} watches; median of {args.rounds} rounds"
    )
    print(f"{'stage':<44}{'total s':>10}{'µs/entry':>12}{'ratio':>8}")
    print(f"{'feedparser.parse alone (baseline)':<44}{base:>10.2f}{base / entries * 1e6:>12.0f}{1:>8.2f}")
    print(f"{'full poll: HTTP → store → match → tag':<44}{poll:>10.2f}{poll / entries * 1e6:>12.0f}{poll / base:>8.2f}")
    print(f"{'re-poll, all unchanged (304s)':<44}{repoll:>10.2f}{repoll / entries * 1e6:>12.0f}{repoll / base:>8.2f}")


if __name__ == "__main__":
    main()
