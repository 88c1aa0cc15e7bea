"""Web app response times at 100,000 mentions, on SQLite and PostgreSQL: the first page of every filter, as HTML
(``/``) and JSON (``/api/v1/mentions``), a page deep in the list, the trends; median and p95.

    .venv/bin/python benchmarks/bench_web.py [--mentions 100000] [--runs 15] [--no-postgres]

The data is generated (titles and texts drawn from the words of the corpus's French and English headlines, read
at run time, with a Zipf-like frequency so full-text search meets both common and rare words): 4 watches, 200
publishers, 180 days, a fifth of the mentions folded into stories of 2 to 5, sentiments 20/60/20 %, a third
tagged, 70 % French. Requests go through the whole ASGI app (middleware, session, templates) in-process, so the
times are the server's, without a network. Baseline, measured in the same run: ``/healthz`` (one ``select 1``);
each line prints its ratio to it. Target (issue 13): p95 ≤ 150 ms for the first page of any filter.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FEEDS = Path(os.environ.get("EREPWATCH_TEST_SHARED", REPO.parent / "shared")) / "corpus" / "feeds"
sys.path.insert(0, str(REPO / "src"))

from _postgres import private_schema  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from erepwatch.db.engine import make_engine, session_factory  # noqa: E402
from erepwatch.db.migrate import upgrade  # noqa: E402
from erepwatch.db.models import Item, Mention, Source, Watch  # noqa: E402
from erepwatch.settings import load_settings  # noqa: E402

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TAGS = ["crisis", "legal", "review", "hiring", "product"]
WATCHES = ["acme", "globex", "initech", "umbrella"]


def vocabulary() -> list[str]:
    words: list[str] = []
    for path in sorted(FEEDS.glob("*.xml"))[:120]:
        raw = path.read_bytes()[:400_000].decode("utf-8", "ignore")
        for title in re.findall(r"<title>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</title>", raw)[:60]:
            words += [w.lower() for w in re.findall(r"[^\W\d_]{3,}", title)]
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    return sorted(counts, key=lambda w: -counts[w])


def generate(url: str, n: int) -> dict[str, str]:
    rng = random.Random(13)
    vocab = vocabulary()
    cum: list[float] = []
    total = 0.0
    for rank in range(len(vocab)):
        total += 1 / (rank + 1)
        cum.append(total)
    engine = make_engine(url)
    upgrade(engine)
    domains = [f"site{i}.example" for i in range(200)]
    with engine.begin() as conn:
        conn.execute(
            insert(Watch),
            [
                {
                    "id": i + 1,
                    "name": name,
                    "query": name,
                    "languages": [],
                    "regions": [],
                    "fuzzy": False,
                    "tags": {},
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i, name in enumerate(WATCHES)
            ],
        )
        conn.execute(insert(Source), [
            {"id": i + 1, "name": f"feed {i}", "url": f"https://{domains[i]}/feed", "kind": "feed",
             "interval_seconds": 3600, "enabled": True, "created_at": NOW, "next_check_at": NOW,
             "consecutive_failures": 0} for i in range(50)])  # fmt: skip
    started = time.perf_counter()
    chunk = 5000
    representative = 0
    left_in_story = 0
    for start in range(0, n, chunk):
        items, mentions = [], []
        for i in range(start + 1, min(n, start + chunk) + 1):
            title = " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(6, 12)))
            body = " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(40, 90)))
            published = NOW - timedelta(seconds=rng.randint(0, 180 * 86400))
            domain = rng.choice(domains)
            if left_in_story:
                left_in_story -= 1
                cluster = representative
            else:
                representative = cluster = i
                left_in_story = rng.randint(1, 4) if rng.random() < 0.2 else 0
            items.append(
                {
                    "id": i,
                    "key": f"https://{domain}/a/{i}",
                    "url": f"https://{domain}/a/{i}",
                    "title": title,
                    "text": body,
                    "publisher": domain,
                    "publisher_domain": domain,
                    "language": "fr" if rng.random() < 0.7 else "en",
                    "published_at": published,
                    "fetched_at": published,
                    "first_source_id": rng.randint(1, 50),
                }
            )
            roll = rng.random()
            mentions.append({
                "id": i, "watch_id": rng.randint(1, len(WATCHES)), "item_id": i, "created_at": published,
                "published_at": published, "spans": [], "snippet": body[:200], "snippet_marks": [[0, 5]],
                "sentiment": "negative" if roll < 0.2 else "positive" if roll > 0.8 else "neutral",
                "score": 0.0, "keywords": [], "tags": rng.sample(TAGS, 1) if rng.random() < 0.33 else [],
                "cluster_id": cluster, "notify": True, "starred": rng.random() < 0.002,
                "irrelevant": False})  # fmt: skip
        with engine.begin() as conn:
            conn.execute(insert(Item), items)
            conn.execute(insert(Mention), mentions)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"  generated {n:,} items and mentions in {time.perf_counter() - started:.1f} s", flush=True)
    common = vocab[3]
    rare = vocab[len(vocab) // 2]
    return {"common": common, "rare": rare}


def measure(client: Any, path: str, params: dict[str, str], runs: int) -> tuple[float, float]:
    for _ in range(2):
        assert client.get(path, params=params).status_code == 200
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        answer = client.get(path, params=params)
        times.append((time.perf_counter() - t) * 1000)
        assert answer.status_code == 200, answer.text[:200]
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def run(url: str, label: str, n: int, runs: int) -> list[tuple[str, float, float]]:
    from starlette.testclient import TestClient

    from erepwatch.web.app import create_app
    from erepwatch.web.server import make_config

    print(f"{label}:", flush=True)
    words = generate(url, n)
    data_dir = Path(tempfile.mkdtemp())
    settings = load_settings(environ={"EREPWATCH_DATABASE_URL": url, "EREPWATCH_DATA_DIR": str(data_dir)})
    engine = make_engine(url)
    app = create_app(make_config(session_factory(engine), settings, clock=lambda: NOW))
    day = (NOW - timedelta(days=40)).date()
    filters: list[tuple[str, dict[str, str]]] = [
        ("no filter", {}), ("watch", {"watch": "globex"}), ("negative", {"sentiment": "negative"}),
        ("tag", {"tag": "legal"}), ("site", {"source": "site17.example"}), ("language", {"lang": "en"}),
        ("date range", {"from": str(day - timedelta(days=10)), "to": str(day)}), ("starred", {"starred": "1"}),
        (f"search common '{words['common']}'", {"q": words["common"]}),
        (f"search rare '{words['rare']}'", {"q": words["rare"]}),
        ("watch+negative+fr", {"watch": "acme", "sentiment": "negative", "lang": "fr"}),
        ("watch+tag+search", {"watch": "umbrella", "tag": "review", "q": words["common"]}),
    ]  # fmt: skip
    rows: list[tuple[str, float, float]] = []
    with TestClient(app, base_url="http://127.0.0.1") as client:
        base_med, base_p95 = measure(client, "/healthz", {}, runs)
        rows.append(("baseline /healthz", base_med, base_p95))
        app.state.__dict__.pop("facets", None)
        t = time.perf_counter()
        client.get("/")
        cold = (time.perf_counter() - t) * 1000
        print(f"  first page with the filter menus computed (once a minute): {cold:.0f} ms")
        for name, params in filters:
            for path in ("/api/v1/mentions", "/"):
                med, p95 = measure(client, path, params, runs)
                rows.append((f"{'JSON' if path != '/' else 'HTML'} {name}", med, p95))
        after = None
        for _ in range(20):
            after = client.get("/api/v1/mentions", params={"after": after} if after else {}).json()["next"]
        rows.append(("JSON page 21 (keyset)", *measure(client, "/api/v1/mentions", {"after": after}, runs)))
        rows.append(("HTML trends 30 days", *measure(client, "/trends", {"days": "30"}, max(5, runs // 3))))
        rows.append(("HTML trends 90 days", *measure(client, "/trends", {"days": "90"}, max(5, runs // 3))))
        group = {"name": "market", "brands": ["acme"], "competitors": ["globex", "initech", "umbrella"]}
        assert client.post("/api/v1/groups", json=group).status_code == 201
        trends_group = {"group": "market", "days": "30"}
        rows.append(("HTML trends 30 days, saved group", *measure(client, "/trends", trends_group, max(5, runs // 3))))
        rows.append(("JSON share of voice 90 days", *measure(client, "/api/v1/groups/market/share", {"days": "90"},
                                                              max(5, runs // 3))))  # fmt: skip
    engine.dispose()
    width = max(len(r[0]) for r in rows)
    for name, med, p95 in rows:
        flag = "" if name.startswith(("baseline", "HTML trends", "JSON share")) or p95 <= 150 else "  > 150 ms"
        print(f"  {name:<{width}}  median {med:7.1f} ms  p95 {p95:7.1f} ms  ({med / base_med:6.0f}× baseline){flag}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "SQLite", args.mentions, args.runs)
    if args.no_postgres:
        return
    with private_schema() as url:
        run(url, "PostgreSQL", args.mentions, args.runs)


if __name__ == "__main__":
    main()
