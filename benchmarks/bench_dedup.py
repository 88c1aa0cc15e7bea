"""Benchmark of near-duplicate clustering: blocked incremental index vs naive all-pairs rapidfuzz.

    .venv/bin/python benchmarks/bench_dedup.py [--sizes 10000,100000] [--sample 1500]

Mentions are generated from the real headlines of ../shared/corpus/feeds: each story's title joins the first
half of one real headline to the second half of another (so there are enough distinct stories), carries the
watch's brand name (the word every mention of a watch shares, the worst case for blocking), and is
syndicated 1 to 6 times with the changes real feeds make (kicker, case, quotes, cut with "…"). Mentions of
5 watches arrive in time order at a constant rate of 1,000 per day (a busy watch list for a small company),
so a 72 h window holds ~3,000 mentions whatever the total; the index evicts older ones every 500 mentions,
as the daemon does per poll.

Baselines use the same decision (prepared_near_duplicate). The cost of one comparison is measured in this run
by scoring every pair among the first --sample mentions of each size, then multiplied by pair counts that are
exact, not scored: "all-pairs" compares every pair of mentions (n(n-1)/2, the issue's naive baseline);
"watch+window" compares each mention only with earlier mentions of the same watch inside the window (what
clustering costs with the cheap blocking but without the MinHash blocking; counted by a sliding window).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

from erepwatch.analyze.dedup import ClusterCandidate, ClusterIndex, prepare, prepared_near_duplicate

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feeds"
WINDOW = timedelta(hours=72)
RATE_PER_DAY = 1000
BRANDS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli"]
KICKERS = ["VIDÉO. ", "DIRECT. ", "INFO FRANCEINFO. ", "WATCH: ", "Breaking: "]


def real_headlines() -> list[str]:
    out = []
    for path in sorted(CORPUS.glob("*-news-*")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            title = " ".join(entry.get("title", "").split())
            if len(title.split()) >= 6:
                out.append(title)
    return sorted(set(out))


def syndicate(title: str, rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(KICKERS) + title
    if kind == 1:
        return title.upper()
    if kind == 2:
        words = title.split()
        return " ".join(words[: max(5, int(len(words) * 0.75))]) + "…"
    if kind == 3:
        return re.sub(r"[«»]", '"', title).replace("’", "'")
    return title


def generate(n: int, headlines: list[str], seed: int = 7) -> list[ClusterCandidate]:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    seconds_per_mention = 86400 / RATE_PER_DAY
    out: list[ClusterCandidate] = []
    t = 0.0
    while len(out) < n:
        a, b = rng.sample(headlines, 2)
        wa, wb = a.split(), b.split()
        watch = rng.randrange(len(BRANDS))
        story = " ".join([*wa[: len(wa) // 2], BRANDS[watch], *wb[len(wb) // 2 :]])
        copies = min(6, 1 + int(rng.expovariate(0.7)))
        for _ in range(copies):
            t += seconds_per_mention
            published = start + timedelta(seconds=t + rng.uniform(0, 6 * 3600))
            title = story if not out or rng.random() < 0.3 else syndicate(story, rng)
            out.append(ClusterCandidate(len(out) + 1, watch, title, "", published))
    out = out[:n]
    out.sort(key=lambda c: c.published)
    return out


def run_index(mentions: list[ClusterCandidate]) -> tuple[float, int, int]:
    index = ClusterIndex(window=WINDOW)
    clusters = set()
    t0 = time.perf_counter()
    for i, m in enumerate(mentions):
        if i % 500 == 0:
            index.evict(m.published)
        clusters.add(index.add(m))
    return time.perf_counter() - t0, index.comparisons, len(clusters)


def all_pairs_count(mentions: list[ClusterCandidate]) -> int:
    """How many comparisons all-pairs clustering would make: earlier mentions of the same watch in the window."""
    times: dict[int, list[datetime]] = defaultdict(list)
    total = 0
    for m in mentions:
        seen = times[m.watch_id]
        total += len(seen) - bisect_left(seen, m.published - WINDOW)
        seen.append(m.published)
    return total


def run_naive(mentions: list[ClusterCandidate]) -> tuple[float, int]:
    """Score every pair of the given mentions; returns the time and the number of pairs."""
    t0 = time.perf_counter()
    prepared = [prepare(m.title, m.lead) for m in mentions]
    comparisons = 0
    for i, p in enumerate(prepared):
        for op in prepared[:i]:
            comparisons += 1
            prepared_near_duplicate(p, op)
    return time.perf_counter() - t0, comparisons


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--sample", type=int, default=1500, help="mentions given to the naive baseline")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    headlines = real_headlines()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{len(headlines)} real headlines; window {WINDOW}; {RATE_PER_DAY} mentions/day over {len(BRANDS)} watches")
    results = {}
    for n in sizes:
        mentions = generate(n, headlines)
        seconds, comparisons, clusters = run_index(mentions)
        naive_sample_s, naive_sample_cmp = run_naive(mentions[: args.sample])
        per_cmp = naive_sample_s / max(1, naive_sample_cmp)
        all_pairs = n * (n - 1) // 2
        window_pairs = all_pairs_count(mentions)
        results[n] = seconds
        print(
            f"n={n:>7}: blocked index {seconds:7.2f} s ({comparisons:,} comparisons, {clusters:,} clusters, "
            f"{seconds / n * 1e6:.0f} µs/mention); one comparison {per_cmp * 1e6:.2f} µs "
            f"(measured on {naive_sample_cmp:,} pairs)\n"
            f"           all-pairs    ~{all_pairs * per_cmp:10.1f} s ({all_pairs:,} pairs) -> speed-up "
            f"x{all_pairs * per_cmp / seconds:,.0f}\n"
            f"           watch+window ~{window_pairs * per_cmp:10.1f} s ({window_pairs:,} pairs) -> speed-up "
            f"x{window_pairs * per_cmp / seconds:,.1f}"
        )
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print(
            f"growth: {large}/{small} mentions -> time x{results[large] / results[small]:.1f} "
            f"(linear would be x{large / small:.0f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
