"""Each hostile case of the resilience suite, timed and weighed against a normal poll measured in the same run.

    .venv/bin/python benchmarks/bench_hostile.py [--deadline 3]

For every case (tests/integration/test_resilience.py's CASES, served by tests/hostile.py on loopback), one poll
of the two good corpus feeds plus the hostile source, into a fresh SQLite database. Printed per case: the poll's
time and its ratio to a normal poll (the good feeds alone), the peak RSS growth during the poll (psutil, sampled
every 5 ms) and that growth minus a normal poll's, the error kind recorded on the hostile source. The issue's
bounds: every case within a few fetch deadlines; every bomb within 50 MB of a normal poll.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FEEDS = Path(os.environ.get("EREPWATCH_TEST_SHARED", REPO.parent / "shared")) / "corpus" / "feeds"

from tests.hostile import brotli_bomb, gzip_bomb, gzip_br_bomb, gzip_gzip_bomb, many_entries, start_hostile_server  # noqa: E402
from tests.integration.test_resilience import CASES, GOOD, PeakRss, _add_sources  # noqa: E402

from erepwatch.db.engine import make_engine, session_factory  # noqa: E402
from erepwatch.db.migrate import upgrade  # noqa: E402
from erepwatch.pipeline import run_poll  # noqa: E402
from erepwatch.settings import load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deadline", type=float, default=3.0)
    args = parser.parse_args()
    for build in (gzip_bomb, brotli_bomb, gzip_gzip_bomb, gzip_br_bomb, many_entries):
        build()
    server, stop = start_hostile_server()
    for name in GOOD:
        server.routes[f"/good/{name}"] = (200, {"Content-Type": "application/xml"}, (FEEDS / name).read_bytes())
    try:
        with tempfile.TemporaryDirectory() as tmp:

            def poll(label: str, hostile_path: str | None) -> tuple[float, int, str | None]:
                directory = Path(tmp) / label.replace("/", "_").replace(" ", "_")
                directory.mkdir()
                engine = make_engine(f"sqlite:///{directory / 'b.db'}")
                upgrade(engine)
                factory = session_factory(engine)
                urls = {name: server.url(f"/good/{name}") for name in GOOD}
                if hostile_path:
                    urls["hostile"] = server.url(hostile_path)
                ids = _add_sources(factory, urls)
                settings = load_settings(
                    environ={
                        "EREPWATCH_DATA_DIR": str(directory),
                        "EREPWATCH_ALLOW_PRIVATE": "1",
                        "EREPWATCH_FETCH_DEADLINE": f"{args.deadline}s",
                    }
                )
                started = time.monotonic()
                with PeakRss() as memory:
                    stats = asyncio.run(run_poll(factory, settings, all_sources=True))
                elapsed = time.monotonic() - started
                engine.dispose()
                kind = next((o.error_kind for o in stats.outcomes if o.source_id == ids.get("hostile")), None)
                return elapsed, memory.growth, kind

            poll("warm-up", None)
            base_time, base_growth, _ = poll("normal", None)
            print(f"normal poll (2 good feeds): {base_time:.2f} s, peak RSS +{base_growth / 2**20:.1f} MiB")
            print(f"{'case':<32} {'time s':>7} {'× normal':>9} {'RSS +MiB':>9} {'− normal':>9}  kind")
            for name, case in CASES.items():
                if case.body is not None:
                    server.routes[case.path] = (200, {"Content-Type": case.ctype}, case.body)
                elapsed, growth, kind = poll(name, case.path)
                print(
                    f"{name:<32} {elapsed:>7.2f} {elapsed / base_time:>9.1f} {growth / 2**20:>9.1f} "
                    f"{(growth - base_growth) / 2**20:>9.1f}  {kind or 'ok'}"
                )
    finally:
        stop()


if __name__ == "__main__":
    main()
