"""CLI start-up: how long a command takes from exec to exit, against bare Python, in one run.

Issue 14 point 10 sets the targets: ``--help`` and ``--version`` at most 5× ``python -c pass``; ``watch list``
and ``mentions --limit 5`` on a small database at most 1.5× ``python -c "import sqlalchemy.orm"``. Every
command is run as a fresh process, rounds interleaved (so that a busy neighbour slows all of them alike), and
the median of the rounds is compared.

    .venv/bin/python benchmarks/bench_cli_startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

PY = sys.executable
ROOT = Path(__file__).resolve().parents[1]
BASELINES = {
    "python -c pass": [PY, "-c", "pass"],
    "python -c 'import sqlalchemy.orm'": [PY, "-c", "import sqlalchemy.orm"],
}
COMMANDS = {
    "--help": ["--help"],
    "--version": ["--version"],
    "watch list": ["watch", "list"],
    "mentions --limit 5": ["mentions", "--limit", "5"],
}
TARGETS = {
    "--help": ("python -c pass", 5.0),
    "--version": ("python -c pass", 5.0),
    "watch list": ("python -c 'import sqlalchemy.orm'", 1.5),
    "mentions --limit 5": ("python -c 'import sqlalchemy.orm'", 1.5),
}


def _feed(n: int) -> bytes:
    from email.utils import format_datetime

    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>Acme widget recall number {i}</title><link>https://news.example/a/{i}</link>"
        f"<description>Acme says the widget {i} is safe; Lidl and Aldi comment.</description>"
        f"<pubDate>{format_datetime(now - timedelta(hours=i))}</pubDate></item>"
        for i in range(n)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>{items}</channel></rss>'.encode()


def _small_database(env: dict[str, str]) -> None:
    """A database with a few watches, a source and its mentions, as a user has after a first poll."""
    body = _feed(60)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        for args in (
            ["init"],
            ["watch", "add", "acme", "--query", "acme OR widget"],
            ["watch", "add", "lidl", "--query", "lidl -recrutement"],
            ["watch", "add", "aldi", "--query", '"aldi nord" OR aldi'],
            ["source", "add", f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml"],
            ["poll"],
        ):
            subprocess.run([PY, "-m", "erepwatch", *args], env=env, check=True, capture_output=True)
    finally:
        httpd.shutdown()


def _time(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EREPWATCH_")}
        env |= {"EREPWATCH_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "EREPWATCH_DATA_DIR": tmp}
        env["EREPWATCH_ALLOW_PRIVATE"] = "1"
        _small_database(env)
        # As installed (`make` compiles the bytecode; with PYTHONDONTWRITEBYTECODE a stale .pyc would be compiled
        # again at every start), through the `erepwatch` script a user runs.
        subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
        script = str(Path(PY).with_name("erepwatch"))
        runs: dict[str, list[str]] = {**BASELINES, **{k: [script, *v] for k, v in COMMANDS.items()}}
        for cmd in runs.values():  # warm the page cache and the bytecode
            _time(cmd, env)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, cmd in runs.items():
                times[name].append(_time(cmd, env))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'command':<40} {'median ms':>10} {'ratio':>14} {'target':>8}")
    for name in BASELINES:
        print(f"{name:<40} {median[name] * 1000:>10.1f}")
    ok = True
    for name in COMMANDS:
        base, limit = TARGETS[name]
        ratio = median[name] / median[base]
        ok &= ratio <= limit
        print(
            f"{'erepwatch ' + name:<40} {median[name] * 1000:>10.1f} {ratio:>8.2f}× base {limit:>6.1f}×"
            f"  {'ok' if ratio <= limit else 'OVER'}  (base: {base})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
