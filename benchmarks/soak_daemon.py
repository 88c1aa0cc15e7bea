"""Soak: the daemon for a few minutes over 1,000 local sources; resident memory over time and CPU per poll.

A local HTTP server serves the real corpus feeds under 1,000 URLs (with ETags, so most checks are 304s, and a
share of full responses re-parsed each round). The daemon runs as a real process (``erepwatch run``) with
short intervals. Every sample reads its resident memory and CPU time (psutil) and its poll counter
(``/metrics``). Goal: memory flat (last / first sample near 1.0) and under 300 MB with the embedding model loaded
(the daemon loads it for the story and sentiment stages by default; issues 16 and 17).

    .venv/bin/python benchmarks/soak_daemon.py [--minutes 3] [--sources 1000] [--database URL]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
FEEDS = REPO.parent / "shared" / "corpus" / "feeds"


def corpus() -> list[bytes]:
    return [p.read_bytes() for p in sorted(FEEDS.iterdir()) if p.suffix not in {".tsv", ".md"} and p.is_file()]


def serve(bodies: list[bytes], change_rate: float) -> tuple[ThreadingHTTPServer, dict[str, int]]:
    counts = {"200": 0, "304": 0}
    rng = random.Random(1)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            match = re.fullmatch(r"/s/(\d+)\.xml", self.path)
            if not match:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = bodies[int(match.group(1)) % len(bodies)]
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            with lock:
                changed = rng.random() < change_rate
            if self.headers.get("If-None-Match") == etag and not changed:
                counts["304"] += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            counts["200"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.handle_error = lambda *args: None  # connections the daemon drops when it stops
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, counts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(env: dict[str, str], port: int, sources: int, interval: int) -> None:
    os.environ.update(env)
    from erepwatch.cli.app import App
    from erepwatch.db.engine import make_engine
    from erepwatch.db.migrate import upgrade
    from erepwatch.service.sources import SourceInput, add_source
    from erepwatch.service.watches import WatchInput, add_watch

    # What `erepwatch init` does: the app refuses a database file that does not exist yet.
    engine = make_engine(env["EREPWATCH_DATABASE_URL"])
    upgrade(engine)
    engine.dispose()
    app = App()
    with app.transaction() as session:
        for name, query in (("Paris", "paris"), ("Apple", "apple OR iphone"), ("Climat", '"climate change" OR climat')):
            add_watch(session, WatchInput(name=name, query=query))
        for i in range(sources):
            add_source(
                session,
                SourceInput(url=f"http://127.0.0.1:{port}/s/{i}.xml", name=f"s{i}"),
                default_interval=timedelta(seconds=interval),
            )
    app.engine.dispose()


def polls_done(web_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return 0
    return int(sum(float(v) for v in re.findall(r'^erepwatch_polls_total\{status="[^"]+"\} (\S+)$', text, re.M)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=60, help="seconds between checks of one source")
    parser.add_argument("--change-rate", type=float, default=0.1, help="share of checks answered 200, not 304")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--database", default="", help="database URL (default: a SQLite file in a temp dir)")
    args = parser.parse_args()

    bodies = corpus()
    httpd, counts = serve(bodies, args.change_rate)
    work = Path(tempfile.mkdtemp(prefix="erepwatch-soak-"))
    web_port = free_port()
    env = {
        "EREPWATCH_DATA_DIR": str(work),
        "EREPWATCH_DATABASE_URL": args.database or f"sqlite:///{work / 'soak.db'}",
        "EREPWATCH_ALLOW_PRIVATE": "1",
        "EREPWATCH_POLL_TICK": "1s",
        "EREPWATCH_POLL_MIN_INTERVAL": "5s",
        "EREPWATCH_POLL_JITTER": "0.1",
        "EREPWATCH_POLL_BATCH": "50",
        "EREPWATCH_POLL_PER_HOST": "200",
        "EREPWATCH_FETCH_PER_HOST": "16",
        "EREPWATCH_FETCH_CONCURRENCY": "16",
        "EREPWATCH_WEB_ADDR": f"127.0.0.1:{web_port}",
        "EREPWATCH_LOG_LEVEL": "warning",
        "EREPWATCH_OUTBOX_DIR": str(work / "outbox"),
    }
    setup(env, httpd.server_address[1], args.sources, args.interval)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("EREPWATCH_")} | env
    log = (work / "daemon.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "erepwatch", "run"], env=child_env, stdout=log, stderr=log)
    ps = psutil.Process(proc.pid)
    print(
        f"soak: {args.sources} sources ({len(bodies)} corpus feeds), every {args.interval}s, "
        f"{args.minutes} min, {env['EREPWATCH_DATABASE_URL'].split(':')[0]}"
    )
    print(f"{'t (s)':>6} {'RSS (MB)':>9} {'polls':>7} {'CPU (s)':>8} {'CPU ms/poll':>12}")
    samples: list[tuple[float, float, int, float]] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(args.sample)
            if proc.poll() is not None:
                raise SystemExit(f"the daemon exited ({proc.returncode}); see {work / 'daemon.log'}")
            cpu = sum(ps.cpu_times()[:2])
            rss = ps.memory_info().rss / 2**20
            polls = polls_done(web_port)
            previous = samples[-1] if samples else (0.0, 0.0, 0, 0.0)
            per_poll = (cpu - previous[3]) / (polls - previous[2]) * 1000 if polls > previous[2] else float("nan")
            samples.append((time.monotonic() - started, rss, polls, cpu))
            print(f"{samples[-1][0]:6.0f} {rss:9.1f} {polls:7d} {cpu:8.1f} {per_poll:12.2f}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        httpd.shutdown()
        log.close()
    if len(samples) < 2:
        return
    # The first sample includes start-up (imports, first parse of every feed); steady state starts after it.
    first, last = samples[0], samples[-1]
    steady = samples[1:] if len(samples) > 2 else samples
    cpu_per_poll = (last[3] - steady[0][3]) / max(1, last[2] - steady[0][2]) * 1000
    print(f"responses: {counts['200']} full, {counts['304']} not modified")
    print(
        f"RSS last/first: {last[1] / first[1]:.3f} ({first[1]:.1f} MB → {last[1]:.1f} MB, max "
        f"{max(s[1] for s in samples):.1f} MB; goal: flat, under 300 MB with the model loaded)"
    )
    print(
        f"steady-state CPU per poll: {cpu_per_poll:.2f} ms over {last[2] - steady[0][2]} polls; "
        f"polls per second: {(last[2] - steady[0][2]) / max(1e-9, last[0] - steady[0][0]):.1f}"
    )


if __name__ == "__main__":
    main()
