"""Prometheus metrics of one daemon, in a registry of its own (two daemons in one test process never mix)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from erepwatch.enums import PollStatus
from erepwatch.notify.send import SEND_RESULTS, SendStats
from erepwatch.pipeline import PollStats

CONTENT_TYPE = CONTENT_TYPE_LATEST
# The *_created series double the output and no dashboard of ours uses them.
disable_created_metrics()
#: Poll batches last from milliseconds (all 304) to minutes (slow hosts, retries).
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("erepwatch_polls", "Source fetches, by outcome", ["status"], registry=r)
        self.fetch_errors = Counter("erepwatch_fetch_errors", "Failed source fetches, by kind", ["kind"], registry=r)
        self.new_items = Counter("erepwatch_new_items", "Items stored for the first time", registry=r)
        self.mentions = Counter("erepwatch_mentions", "Mentions found", registry=r)
        self.deliveries = Counter("erepwatch_deliveries", "Delivery attempts, by result", ["status"], registry=r)
        self.poll_duration = Histogram(
            "erepwatch_poll_duration_seconds", "Duration of one poll batch", buckets=POLL_BUCKETS, registry=r
        )
        self.last_success = Gauge(
            "erepwatch_last_successful_poll_timestamp_seconds",
            "Unix time of the last poll batch in which at least one source answered",
            registry=r,
        )
        self.last_tick = Gauge("erepwatch_last_tick_timestamp_seconds", "Unix time of the last tick", registry=r)
        self.failed_ticks = Counter(
            "erepwatch_failed_ticks", "Daemon cycles that ended in an error, by cause", ["cause"], registry=r
        )
        for cause in ("database", "error", "lock", "notify"):
            self.failed_ticks.labels(cause)
        self.purged = Counter("erepwatch_purged_items", "Items purged after the retention period", registry=r)
        for poll_status in PollStatus:
            self.polls.labels(poll_status)
        for status in SEND_RESULTS:
            self.deliveries.labels(status)

    def record_poll(self, stats: PollStats, now_ts: float) -> None:
        if not stats.sources:
            return
        self.poll_duration.observe(stats.ms / 1000)
        for outcome in stats.outcomes:
            self.polls.labels(outcome.status).inc()
            if outcome.status == PollStatus.ERROR:
                self.fetch_errors.labels(outcome.error_kind or "unknown").inc()
        self.new_items.inc(stats.new_items)
        self.mentions.inc(stats.new_mentions)
        if stats.fetched or stats.not_modified:
            self.last_success.set(now_ts)

    def record_send(self, stats: SendStats) -> None:
        for status in SEND_RESULTS:
            count = getattr(stats, status)
            if count:
                self.deliveries.labels(status).inc(count)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
