"""One poll cycle: the only place that knows the order of the stages.

claim due sources (next check set *before* fetching, so a crash still reschedules) → fetch concurrently →
for each source, in its own transaction: parse → normalize → store new items → match watches →
mentions → source health. One source's failure is recorded on it and never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import BindParameter, Integer, Select, Table, Update, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.analyze.crisis import CRISIS, CrisisJudge, load_crisis
from erepwatch.analyze.dedup import DEFAULT_WINDOW, ClusterCandidate, ClusterIndex, PreparedText, prepare
from erepwatch.analyze.language import detect_language
from erepwatch.analyze.matcher import Match, Matcher, MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.mention_drafts import BACKFILL_GRACE, MentionDraft, build_mentions
from erepwatch.analyze.sentiment import SentimentScorer, load_scorer
from erepwatch.analyze.sentiment_models import ModelScorer
from erepwatch.analyze.stories import LexicalPlan, assign_lexical
from erepwatch.analyze.tags import Tagger, load_tagger
from erepwatch.analyze.textnorm import Folded, fold_with_offsets, part
from erepwatch.batching import chunked
from erepwatch.claims import owner_gone, this_owner
from erepwatch.clock import utcnow
from erepwatch.db.models import Item, Mention, Source, UTCDateTime, Watch
from erepwatch.db.store import (
    NewMention,
    StoredItem,
    begin_source,
    indexing_for_search,
    insert_mentions,
    record_success_sqlite,
    set_stories,
    store_items,
)
from erepwatch.enums import PollStatus
from erepwatch.errors import DatabaseUnavailableError, FeedParseError, FetchError, SourceErrorKind, StorageError
from erepwatch.ingest.fetch import Fetcher, FetchPolicy
from erepwatch.ingest.items import entry_identities, items_from_feed
from erepwatch.ingest.limit import newest_entries
from erepwatch.ingest.parse import parse_feed
from erepwatch.ingest.politeness import HostGate, shared_gate
from erepwatch.ingest.prepare import prepare_document
from erepwatch.records import FetchResult, ItemDraft, Validators
from erepwatch.schedule import (
    HISTORY,
    MAX_BACKOFF,
    Limits,
    backoff_delay,
    claim_lease,
    hints_from,
    next_check_after_failure,
    next_check_after_success,
    pick_batch,
)
from erepwatch.scrub import valid_text
from erepwatch.sentiment_stage import SentimentStageStats, refine_sentiment
from erepwatch.settings import DEFAULTS, Settings
from erepwatch.story_stage import StoryStageStats, fold_stories

log = logging.getLogger(__name__)

__all__ = ["MAX_BACKOFF", "backoff_delay"]  # re-exported from erepwatch.schedule, where the decisions live

#: A claimed source whose process died before its outcome was recorded is retried after at most this long.
CLAIM_LEASE = timedelta(minutes=10)
#: Due sources read per claimed one, so that the per-host cap can still fill a batch from other hosts.
CLAIM_OVERFETCH = 5
_RNG = random.Random()


def schedule_limits(settings: Settings) -> Limits:
    return Limits(settings.poll_min_interval, settings.poll_max_interval, settings.poll_jitter)


@dataclass(frozen=True, slots=True)
class SourceTask:
    id: int
    url: str
    validators: Validators
    interval: timedelta
    failures: int
    created_at: datetime
    #: publication dates of the source's newest items, newest first (its rhythm, for the schedule)
    history: tuple[datetime, ...] = ()


@dataclass(slots=True)
class SourceOutcome:
    source_id: int
    url: str
    status: PollStatus
    entries: int = 0
    new_items: int = 0
    new_mentions: int = 0
    ms: int = 0
    error_kind: str | None = None
    error: str | None = None
    warning: str | None = None


@dataclass(slots=True)
class PollStats:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    entries: int = 0
    new_items: int = 0
    new_mentions: int = 0
    ms: int = 0
    outcomes: list[SourceOutcome] = field(default_factory=list)
    #: the semantic story stage (None when it did not run)
    stories: StoryStageStats | None = None
    #: the embedding model's sentiment stage (None when it did not run)
    sentiment: SentimentStageStats | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "fetched": self.fetched,
            "not_modified": self.not_modified,
            "failed": self.failed,
            "entries": self.entries,
            "new_items": self.new_items,
            "new_mentions": self.new_mentions,
            "ms": self.ms,
            "stories": self.stories.as_dict() if self.stories else None,
            "sentiment": self.sentiment.as_dict() if self.sentiment else None,
            "outcomes": [{k: getattr(o, k) for k in SourceOutcome.__slots__} for o in self.outcomes],
        }


#: How much of an item's text clustering compares besides the title.
LEAD_CHARS = 300


class Analysis:
    """The analysis stages' state, kept across polls by the daemon: lexicons loaded once, and a bounded cache
    of the recent mentions of the watches seen lately (a :class:`ClusterIndex`), so a poll costs what its new
    mentions cost. Story assignment itself is the pure :func:`assign_lexical`; the cache only ever receives
    what a committed transaction stored (:meth:`committed`), so a failed transaction needs no repair."""

    def __init__(
        self,
        scorer: SentimentScorer,
        tagger: Tagger,
        *,
        cluster_window: timedelta = DEFAULT_WINDOW,
        backfill_grace: timedelta = BACKFILL_GRACE,
        cluster_cache: int | None = None,
        semantic: bool = False,
        semantic_budget: timedelta = DEFAULTS.analysis_semantic_budget,
        merge_stories: bool = DEFAULTS.analysis_merge_stories,
        sentiment_budget: timedelta = DEFAULTS.analysis_sentiment_budget,
    ) -> None:
        #: a model reading embeddings refines the sentiment after storage (sentiment_stage); the poll itself
        #: scores with the same model's cheap sibling, so no embedding runs in its hot path
        refiner = scorer if isinstance(scorer, ModelScorer) and scorer.needs_embedding else None
        self.refiner = refiner
        #: with the embedding model, the crisis tag is the crisis classifier's (it reads where the crisis words sit and
        #: whom they are said of, the window's closeness to the watched term and to its crisis query), decided by the
        #: sentiment stage once the window is embedded
        self.crisis: CrisisJudge | None = None
        if refiner is not None and refiner.head is not None and CRISIS in tagger.applied:
            self.crisis = CrisisJudge(load_crisis(), tagger, refiner.lexicon, refiner.head)
        self.scorer: SentimentScorer = ModelScorer("bow", refiner.lexicon) if refiner is not None else scorer
        self.sentiment_budget = sentiment_budget
        #: the last sentiment stage ran out of time: run it again even if a poll brings nothing new
        self.sentiment_backlog = False
        self.tagger = tagger
        self.clusters = ClusterIndex(cluster_window, max_entries=cluster_cache)
        #: items published this long before their watch or source existed are stored, not notified
        self.backfill_grace = backfill_grace
        self.semantic = semantic
        self.semantic_budget = semantic_budget
        #: the semantic stage also merges two stories a new founder joins both of
        self.merge_stories = merge_stories
        #: the last semantic stage ran out of time: run it again even if a poll brings nothing new
        self.semantic_backlog = False
        self._seen_mention_id: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Analysis:
        return cls(
            load_scorer(settings.analysis_scorer, settings.analysis_extra_lexicons),
            load_tagger(settings.analysis_extra_tags, settings.analysis_builtin_tags),
            cluster_window=settings.analysis_cluster_window,
            backfill_grace=settings.notify_backfill_grace,
            cluster_cache=settings.analysis_cluster_cache or None,
            semantic=settings.analysis_semantic,
            semantic_budget=settings.analysis_semantic_budget,
            merge_stories=settings.analysis_merge_stories,
            sentiment_budget=settings.analysis_sentiment_budget,
        )

    def catch_up(self, session: Session, now: datetime) -> None:
        """Drop mentions older than the window, and bring the cached watches up to date with mentions stored
        since the last look by another process (watches not cached are read when a poll needs them)."""
        self.clusters.evict(now)
        if self._seen_mention_id is None:
            self._seen_mention_id = session.scalar(select(func.max(Mention.id))) or 0
            return
        loaded = self.clusters.loaded_watches()
        if not loaded:
            self._seen_mention_id = session.scalar(select(func.max(Mention.id))) or self._seen_mention_id
            return
        rows = session.execute(
            _recent_members().where(
                Mention.id > self._seen_mention_id, Mention.published_at >= now - self.clusters.window
            )
        )
        members = []
        for mention_id, watch_id, cluster_id, published, title, text in rows:
            self._seen_mention_id = max(self._seen_mention_id, mention_id)
            if watch_id in loaded and cluster_id is not None:
                members.append(
                    (ClusterCandidate(mention_id, watch_id, title, text[:LEAD_CHARS], published), cluster_id)
                )
        self.clusters.preload(members)

    def load_watches(self, session: Session, watch_ids: Iterable[int], now: datetime) -> None:
        """Read the stored recent mentions of the watches the cache does not hold (before new ones are inserted)."""
        missing = sorted({w for w in watch_ids if not self.clusters.loaded(w)})
        since = now - self.clusters.window
        for chunk in chunked(missing):
            rows = session.execute(_recent_members().where(Mention.watch_id.in_(chunk), Mention.published_at >= since))
            self.clusters.preload(
                (ClusterCandidate(mention_id, watch_id, title, text[:LEAD_CHARS], published), cluster_id)
                for mention_id, watch_id, cluster_id, published, title, text in rows
                if cluster_id is not None
            )
            for watch_id in chunk:
                self.clusters.mark_loaded(watch_id)

    def assign(self, mentions: Sequence[NewMention], items: Mapping[int, MatchItem]) -> LexicalPlan:
        """Give each new mention its story (lexical rule); the caller stores the plan's assignments in its open
        transaction (:func:`story_rows`), and the cache is left as it was until :meth:`committed`. An item's text
        is prepared once for all its mentions, from the scan the matcher read."""
        fresh = list(mentions)
        candidates = [
            ClusterCandidate(
                m.id, m.watch_id, items[m.item_id].title, items[m.item_id].text[:LEAD_CHARS], m.published_at
            )
            for m in fresh
        ]
        by_item: dict[int, PreparedText] = {}
        for m in fresh:
            if m.item_id not in by_item:
                by_item[m.item_id] = _prepared(items[m.item_id])
        return assign_lexical(candidates, self.clusters, {m.id: by_item[m.item_id] for m in fresh})

    def committed(self, plan: LexicalPlan) -> None:
        """The transaction that stored ``plan``'s mentions committed: the cache may now hold them."""
        self.clusters.absorb(plan.batch, plan.keys)
        if plan.assignments and self._seen_mention_id is not None:
            self._seen_mention_id = max(self._seen_mention_id, *(a.mention_id for a in plan.assignments))
        self.clusters.shrink()

    def reset(self) -> None:
        """Forget the cache (it is rebuilt from storage as polls need it)."""
        self.clusters = ClusterIndex(self.clusters.window, max_entries=self.clusters.max_entries)
        self._seen_mention_id = None


def story_rows(plan: LexicalPlan) -> list[dict[str, Any]]:
    """The plan's assignments as :func:`set_stories` rows."""
    return [
        {
            "mention_id": a.mention_id,
            "cluster_id": a.cluster_id,
            "cluster_reason": str(a.reason),
            "cluster_score": a.score,
            "cluster_match_id": a.matched_id,
        }
        for a in plan.assignments
    ]


def _prepared(item: MatchItem) -> PreparedText:
    """What clustering compares of an item (its title and lead), read off the item's scans when it has them."""
    lead = item.text[:LEAD_CHARS]
    if item.scans is None:
        return prepare(item.title, lead)
    title_scan, text_scan = item.scans
    return prepare(item.title, lead, title_scan=title_scan, lead_scan=part(item.text, text_scan, 0, LEAD_CHARS))


def _recent_members() -> Select[int, int, int | None, datetime, str, str]:
    return (
        select(Mention.id, Mention.watch_id, Mention.cluster_id, Mention.published_at, Item.title, Item.text)
        .join(Item, Item.id == Mention.item_id)
        .where(Mention.cluster_id.is_not(None))
        .order_by(Mention.id)
    )


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        timeout=settings.fetch_timeout.total_seconds(),
        deadline=settings.fetch_deadline.total_seconds(),
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        retries=settings.fetch_retries,
        concurrency=settings.fetch_concurrency,
        per_host=settings.fetch_per_host,
        allow_private=settings.allow_private,
    )


def claim_sources(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    all_sources: bool = False,
    source_ids: Sequence[int] = (),
    limit: int | None = None,
    per_host: int | None = None,
    lease: timedelta = CLAIM_LEASE,
    horizon: float | None = None,
    gate: HostGate | None = None,
    take_back_own: bool = False,
) -> list[SourceTask]:
    """Pick the sources to poll (most overdue first; at most ``limit``, at most ``per_host`` per host) and
    push their next check *before* fetching them, so a crash still reschedules them (after ``lease``).

    With a ``horizon`` (the daemon's tick), a host with a politeness interval gets only the requests that can
    start within it; its other sources stay due rather than making the whole poll wait.
    """
    with factory() as session, session.begin():
        reclaim_orphans(session, now, take_back_own=take_back_own)
        query = select(*_CLAIMED).where(Source.enabled.is_(True)).order_by(Source.next_check_at, Source.id)
        if source_ids:
            query = query.where(Source.id.in_(source_ids))
        elif not all_sources:
            query = query.where(Source.next_check_at <= now)
        else:
            # "Every source" still lets a failing one wait out its backoff: fetching and parsing the same
            # error page at every poll is work for nothing (and impolite). Asked for by id, it is fetched.
            query = query.where(or_(Source.consecutive_failures == 0, Source.next_check_at <= now))
        if limit:
            query = query.limit(limit * CLAIM_OVERFETCH if per_host else limit)
        # Rows, not ORM objects: loading and flushing 148 sources through the unit of work cost ~7.5 ms of CPU a
        # poll (now ~4), ~5 % of an all-304 re-poll of the corpus (~150 ms, benchmarks/bench_poll.py).
        candidates = session.execute(query.with_for_update(skip_locked=True)).all()
        if limit and per_host:
            gate = gate or shared_gate()
            budget = (lambda host: gate.budget(host, horizon, per_host)) if horizon is not None else None
            chosen = set(
                pick_batch(
                    [(s.id, urlsplit(s.url).hostname) for s in candidates],
                    batch=limit,
                    per_host=per_host,
                    host_budget=budget,
                )
            )
            candidates = [s for s in candidates if s.id in chosen]
        tasks = [
            SourceTask(
                id=source.id,
                url=source.url,
                validators=Validators(source.etag, source.last_modified),
                interval=timedelta(seconds=source.interval_seconds),
                failures=source.consecutive_failures,
                created_at=source.created_at,
                history=_history(source.recent_published),
            )
            for source in candidates
        ]
        if tasks:
            owner = this_owner()
            session.connection().execute(
                _CLAIM,
                [
                    {"source_id": t.id, "next_check": now + claim_lease(t.interval, lease), "owner": owner}
                    for t in tasks
                ],
            )
        return tasks


#: What a claim reads of a source.
_CLAIMED = (
    Source.id,
    Source.url,
    Source.etag,
    Source.last_modified,
    Source.interval_seconds,
    Source.consecutive_failures,
    Source.created_at,
    Source.recent_published,
)


def _history(stored: list[Any] | None) -> tuple[datetime, ...]:
    out = []
    for value in stored or ():
        try:
            out.append(datetime.fromisoformat(str(value)))
        except ValueError:
            continue  # a hand-edited value: the schedule just knows less
    return tuple(out)


def _merged_history(history: Sequence[datetime], stored: Sequence[StoredItem]) -> list[datetime]:
    """The source's newest item dates after this fetch: each item's date once, newest first."""
    dates = set(history)
    dates.update(s.published for s in stored if s.published is not None)
    return sorted(dates, reverse=True)[:HISTORY]


def reclaim_orphans(session: Session, now: datetime, *, take_back_own: bool = False) -> int:
    """Make due at once the sources claimed by a poller of this host that no longer exists (kill -9, OOM):
    they would otherwise wait for their lease. With ``take_back_own`` (the poll now claiming is the only one this
    process runs), this process's own earlier claims are leftovers too. Returns how many came back."""
    owners = session.scalars(select(Source.claimed_by).where(Source.claimed_by.is_not(None)).distinct())
    gone = [o for o in owners if o is not None and (owner_gone(o) or (take_back_own and o == this_owner()))]
    if not gone:
        return 0
    result = session.execute(
        update(Source).where(Source.claimed_by.in_(gone)).values(next_check_at=now, claimed_by=None)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    log.warning("took back claims of gone pollers=%s sources=%s", ",".join(gone)[:300], count)
    return count


def _load_watches(factory: sessionmaker[Session]) -> tuple[Matcher, dict[int, Watch]]:
    with factory() as session:
        watches = list(session.scalars(select(Watch)))
        session.expunge_all()
    matcher = compile_matcher(WatchSpec.of(w) for w in watches)
    for watch_id, error in matcher.errors.items():
        # `watch list` shows it too; the log says why a watch went quiet.
        log.warning("watch_id=%s never matches: %s", watch_id, error)
    return matcher, {w.id: w for w in watches}


def _prepare_analysis(
    factory: sessionmaker[Session], analysis: Analysis, now: datetime
) -> tuple[Matcher, dict[int, Watch]]:
    matcher, watches = _load_watches(factory)
    with factory() as session:
        analysis.catch_up(session, now)
    return matcher, watches


#: What a source that brings no entry (a 304, a failure) is processed with.
_NOTHING_TO_MATCH = compile_matcher(())
#: 304 answers recorded in one transaction: a poll of unchanged feeds (the daemon's usual tick) costs a few
#: transactions, not one per wake-up of the fetch loop; none waits longer than NOT_MODIFIED_WAIT seconds.
NOT_MODIFIED_BATCH = 100
NOT_MODIFIED_WAIT = 1.0


async def run_poll(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    all_sources: bool = False,
    source_ids: Sequence[int] = (),
    fetcher: Fetcher | None = None,
    analysis: Analysis | None = None,
    limit: int | None = None,
    per_host: int | None = None,
    horizon: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PollStats:
    """Poll due sources (or all, or the given ones) once and process what they bring.

    ``limit``/``per_host`` bound the batch (the daemon's tick); ``should_stop`` is asked while fetches are in
    flight: when it says yes, the fetches still running are abandoned and their sources released (due again at
    once), and every source already processed stays committed, each in its own transaction.
    """
    started = time.monotonic()
    now = now or utcnow()
    limits = schedule_limits(settings)
    with _active_poll():
        return await _run_poll(
            factory, settings, started=started, now=now, limits=limits, all_sources=all_sources,
            source_ids=source_ids, fetcher=fetcher, analysis=analysis, limit=limit, per_host=per_host,
            horizon=horizon, should_stop=should_stop,
        )  # fmt: skip


#: Polls running in this process. When none runs but its own claims are still in the database, they are
#: leftovers of a poll that failed before it could release them: taken back like a dead poller's.
_ACTIVE_POLLS = 0
_ACTIVE_LOCK = threading.Lock()
#: The cyclic collector's first threshold while a poll runs (Python's default is 700). A source's work allocates
#: containers by the hundred thousand that live as long as the source does (parse trees, scans, rows): at 700 the
#: youngest generation was collected ~70 times a first poll of the corpus, each walking those young lists (~45 ms
#: in all), and now and then the young survivors brought on a full collection of the whole heap (~100 ms). Nothing
#: a poll leaves behind needs the collector sooner: its cycles wait for the next collection, as they do between
#: collections anyway.
POLL_GC_THRESHOLD = 10_000
_GC_THRESHOLDS: tuple[int, int, int] | None = None


def _only_poll() -> bool:
    with _ACTIVE_LOCK:
        return _ACTIVE_POLLS <= 1


@contextlib.contextmanager
def _active_poll() -> Iterator[None]:
    global _ACTIVE_POLLS, _GC_THRESHOLDS
    with _ACTIVE_LOCK:
        _ACTIVE_POLLS += 1
        if _ACTIVE_POLLS == 1:
            _GC_THRESHOLDS = gc.get_threshold()
            gc.set_threshold(max(POLL_GC_THRESHOLD, _GC_THRESHOLDS[0]), *_GC_THRESHOLDS[1:])
    try:
        yield
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE_POLLS -= 1
            if _ACTIVE_POLLS == 0 and _GC_THRESHOLDS is not None:
                gc.set_threshold(*_GC_THRESHOLDS)
                _GC_THRESHOLDS = None


async def _run_poll(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    started: float,
    now: datetime,
    limits: Limits,
    all_sources: bool,
    source_ids: Sequence[int],
    fetcher: Fetcher | None,
    analysis: Analysis | None,
    limit: int | None,
    per_host: int | None,
    horizon: float | None,
    should_stop: Callable[[], bool] | None,
) -> PollStats:
    tasks = claim_sources(
        factory,
        now=now,
        all_sources=all_sources,
        source_ids=source_ids,
        limit=limit,
        per_host=per_host,
        horizon=horizon,
        take_back_own=_only_poll(),
    )
    stats = PollStats(sources=len(tasks))
    if not tasks:
        return stats
    analysis = analysis or Analysis.from_settings(settings)
    # Watches compiled and the story cache brought up to date only once a source brings entries: a poll of
    # 304s and failures (the daemon's usual tick) needs neither.
    ready: tuple[Matcher, dict[int, Watch]] | None = None
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher(fetch_policy(settings))
    try:

        async def fetch(task: SourceTask) -> tuple[SourceTask, FetchResult | FetchError]:
            try:
                return task, await fetcher.fetch(task.url, task.validators)
            except FetchError as exc:
                return task, exc

        pending = {asyncio.ensure_future(fetch(t)) for t in tasks}
        # Sources that answered 304, recorded together: one thread hop and one transaction for a batch of them.
        unchanged: list[tuple[SourceTask, FetchResult]] = []
        unchanged_since = 0.0
        try:
            while pending:
                done, pending = await asyncio.wait(pending, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
                results = [future.result() for future in done]
                if not unchanged:
                    unchanged_since = time.monotonic()
                unchanged += [(t, r) for t, r in results if isinstance(r, FetchResult) and r.not_modified]
                if unchanged and (
                    not pending
                    or len(unchanged) >= NOT_MODIFIED_BATCH
                    or time.monotonic() - unchanged_since >= NOT_MODIFIED_WAIT
                ):
                    batch, unchanged = unchanged, []
                    for outcome in await asyncio.to_thread(record_not_modified, factory, batch, now, limits):
                        _count(stats, outcome)
                for task, result in results:
                    if isinstance(result, FetchResult) and result.not_modified:
                        continue
                    if ready is None and isinstance(result, FetchResult) and not result.not_modified:
                        ready = await asyncio.to_thread(_prepare_analysis, factory, analysis, now)
                    matcher, watches = ready or (_NOTHING_TO_MATCH, {})
                    # Off the event loop: parsing, matching and clustering a large feed is CPU work that would
                    # stall the other fetches (and their deadlines). One source at a time, in its own thread.
                    outcome = await asyncio.to_thread(
                        guarded_process_source,
                        factory,
                        task,
                        result,
                        matcher=matcher,
                        watches=watches,
                        analysis=analysis,
                        now=now,
                        limits=limits,
                        max_entries=settings.poll_max_entries,
                    )
                    _count(stats, outcome)
                if pending and should_stop is not None and should_stop():
                    break
        finally:
            if pending:
                for future in pending:
                    future.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            if unchanged:  # a stop, or a failure under another source: the 304s already answered are recorded
                try:
                    for outcome in record_not_modified(factory, unchanged, now, limits):
                        _count(stats, outcome)
                except StorageError as exc:  # their claims' lease brings them back
                    log.warning("could not record 304s sources=%s: %s", len(unchanged), str(exc).splitlines()[0][:200])
            # Whatever ended the loop (a stop, or the database failing under one source), every claimed source
            # without an outcome is due again at once rather than after its lease.
            done_ids = {o.source_id for o in stats.outcomes}
            unprocessed = [t.id for t in tasks if t.id not in done_ids]
            if unprocessed:
                try:
                    release_sources(factory, unprocessed, now)
                except StorageError as exc:  # still failing: the next poll takes them back (reclaim_orphans)
                    log.warning("could not release sources=%s: %s", len(unprocessed), str(exc).splitlines()[0][:200])
    finally:
        if own_fetcher:
            await fetcher.aclose()
    if analysis.semantic and (stats.new_mentions or analysis.semantic_backlog):
        # Off the event loop: embedding is CPU-bound and the daemon's loop answers /healthz.
        stats.stories = await asyncio.to_thread(
            fold_stories,
            factory,
            now=now,
            window=analysis.clusters.window,
            budget=analysis.semantic_budget,
            merge=analysis.merge_stories,
        )
        analysis.semantic_backlog = stats.stories.backlog > 0
        for watch_id, folded, story in stats.stories.moves:
            analysis.clusters.repoint(watch_id, folded, story)
    if analysis.refiner is not None and (stats.new_mentions or analysis.sentiment_backlog):
        # Off the event loop, like the story stage: embedding is CPU-bound.
        stats.sentiment = await asyncio.to_thread(
            refine_sentiment,
            factory,
            scorer=analysis.refiner,
            crisis=analysis.crisis,
            since=now - analysis.clusters.window,
            budget=analysis.sentiment_budget,
        )
        analysis.sentiment_backlog = stats.sentiment.backlog > 0
    stats.ms = int((time.monotonic() - started) * 1000)
    return stats


def release_sources(factory: sessionmaker[Session], source_ids: Sequence[int], now: datetime) -> None:
    """Give back claimed sources that were not processed (a stop during their fetch): due again at once."""
    if not source_ids:
        return
    with factory() as session, session.begin():
        session.execute(update(Source).where(Source.id.in_(source_ids)).values(next_check_at=now, claimed_by=None))
    log.info("released sources=%s", len(source_ids))


def _count(stats: PollStats, outcome: SourceOutcome) -> None:
    stats.outcomes.append(outcome)
    if outcome.status == PollStatus.ERROR:
        stats.failed += 1
    elif outcome.status == PollStatus.NOT_MODIFIED:
        stats.not_modified += 1
    else:
        stats.fetched += 1
    stats.entries += outcome.entries
    stats.new_items += outcome.new_items
    stats.new_mentions += outcome.new_mentions
    log.info(
        "poll source_id=%s url=%s status=%s new=%s ms=%s%s",
        outcome.source_id,
        outcome.url,
        outcome.status,
        outcome.new_items,
        outcome.ms,
        f" error_kind={outcome.error_kind}" if outcome.error_kind else "",
    )


def guarded_process_source(
    factory: sessionmaker[Session],
    task: SourceTask,
    result: FetchResult | FetchError,
    *,
    analysis: Analysis,
    now: datetime,
    limits: Limits = Limits(),  # noqa: B008 - frozen
    **kwargs: Any,
) -> SourceOutcome:
    """:func:`process_source`, with any failure it did not foresee recorded on the source (kind ``parse``):
    one source's failure is that source's failure, never the poll's."""
    try:
        return process_source(factory, task, result, analysis=analysis, now=now, limits=limits, **kwargs)
    except DatabaseUnavailableError:
        raise  # the database itself is failing: the poll cannot record anything either
    except Exception as exc:
        analysis.reset()
        log.exception("processing source_id=%s failed", task.id)
        return _record_failure(
            factory, task, SourceErrorKind.PARSE, f"could not process the feed: {_describe(exc)}", now, limits=limits
        )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}" if str(exc) else type(exc).__name__


def process_source(
    factory: sessionmaker[Session],
    task: SourceTask,
    result: FetchResult | FetchError,
    *,
    matcher: Matcher,
    watches: dict[int, Watch],
    analysis: Analysis,
    now: datetime,
    limits: Limits = Limits(),  # noqa: B008 - frozen
    max_entries: int | None = None,
) -> SourceOutcome:
    """Parse, store and match one source's response in one transaction; record its health either way."""
    if isinstance(result, FetchError):
        return _record_failure(
            factory, task, result.kind, str(result), now, retry_after=result.retry_after, limits=limits
        )
    outcome = SourceOutcome(
        task.id, task.url, PollStatus.NOT_MODIFIED if result.not_modified else PollStatus.OK, ms=result.elapsed_ms
    )
    if result.not_modified:
        # Nothing new: one UPDATE of the source, its rhythm known from the claim.
        next_check = _next_check(task, result, now, limits, ttl_minutes=None, window=(), history=task.history)
        with factory() as session, session.begin():
            _apply_success(session, task, result, now, title=None, next_check=next_check)
        return outcome
    assert result.content is not None
    try:
        content = prepare_document(result.content, max_entries)
        feed = parse_feed(content, result.headers, url=result.final_url)
        if max_entries is not None:
            feed = newest_entries(feed, max_entries)
    except FeedParseError as exc:
        return _record_failure(factory, task, exc.kind, str(exc), now, elapsed_ms=result.elapsed_ms, limits=limits)
    except MemoryError:
        return _record_failure(
            factory,
            task,
            SourceErrorKind.TOO_LARGE,
            "the feed is too large to parse in the memory available",
            now,
            elapsed_ms=result.elapsed_ms,
            limits=limits,
        )
    except Exception as exc:  # a parser crash (RecursionError, KeyError inside feedparser…) is this feed's fault
        log.warning("parser failed source_id=%s: %s", task.id, _describe(exc))
        return _record_failure(
            factory,
            task,
            SourceErrorKind.PARSE,
            f"the parser failed on this document: {_describe(exc)}",
            now,
            elapsed_ms=result.elapsed_ms,
            limits=limits,
        )
    identities = entry_identities(feed)
    outcome.entries = len(feed.entries)
    outcome.warning = feed.warning
    window = [e.published for e in feed.entries if e.published is not None]
    screen = Screen(matcher)

    def store(session: Session, one_by_one: bool) -> LexicalPlan:
        # Items already stored are known by their links and ids alone: their text is not reduced again.
        known = begin_source(session, [i.key for i in identities if i.key is not None])
        drafts = items_from_feed(feed, fetched_at=now, identities=identities, stored=known.keys())
        stored = _store_drafts(session, drafts, task.id, now, one_by_one=one_by_one, known=known, screen=screen)
        new = [s for s in stored if s.is_new]
        outcome.new_items = len(new)
        seen: dict[int, MatchItem] = {}
        matched = _matched(new, matcher, seen, screen)
        # The matched items' full-text documents go to PostgreSQL now, and the server splits them into words while
        # the mentions are analysed here (db.store.indexing_for_search).
        with indexing_for_search(session, seen):
            rows = [m.as_row(now) for m in _mention_drafts(matched, watches, analysis, task)]
        analysis.load_watches(session, {r["watch_id"] for r in rows}, now)
        mentions = insert_mentions(session, rows)
        plan = analysis.assign(mentions, seen)
        set_stories(session, story_rows(plan))
        outcome.new_mentions = len(mentions)
        history = _merged_history(task.history, stored)
        next_check = _next_check(
            task, result, now, limits, ttl_minutes=feed.ttl_minutes, window=window, history=history
        )
        _apply_success(
            session,
            task,
            result,
            now,
            title=feed.title,
            next_check=next_check,
            history=history,
            new_links=sum(1 for s in stored if s.new_link),
        )
        return plan

    try:
        try:
            with factory() as session, session.begin():
                plan = store(session, one_by_one=False)
        except (StorageError, ValueError) as exc:
            if not _row_problem(exc):
                raise
            # One entry the database refuses (a value the normalisation boundary did not foresee) must not cost
            # the others: the source's transaction again, each entry in its own savepoint.
            log.warning(
                "storing source_id=%s in one batch failed (%s); storing entry by entry", task.id, _describe(exc)
            )
            with factory() as session, session.begin():
                plan = store(session, one_by_one=True)
    except StorageError as exc:  # a storage failure of one source must not stop the others
        log.warning("storing source_id=%s failed: %s", task.id, exc)
        return _record_failure(
            factory, task, SourceErrorKind.STORAGE, f"could not store entries: {_describe(exc)}", now, limits=limits
        )
    except Exception as exc:  # nor a bug while processing its entries
        log.exception("processing the entries of source_id=%s failed", task.id)
        return _record_failure(
            factory, task, SourceErrorKind.INTERNAL, f"could not process entries: {_describe(exc)}", now, limits=limits
        )
    analysis.committed(plan)
    return outcome


def record_not_modified(
    factory: sessionmaker[Session],
    unchanged: Sequence[tuple[SourceTask, FetchResult]],
    now: datetime,
    limits: Limits = Limits(),  # noqa: B008 - frozen
) -> list[SourceOutcome]:
    """Record sources that answered 304: nothing new, so each source's row gets its next check in one UPDATE
    statement run for all of them (its rhythm known from the claim)."""
    rows = [
        {
            "source_id": task.id,
            "next_check": _next_check(task, result, now, limits, ttl_minutes=None, window=(), history=task.history),
        }
        for task, result in unchanged
    ]
    statement = (
        update(_SOURCES)
        .where(_SOURCES.c.id == bindparam("source_id"))
        .values(next_check_at=bindparam("next_check"), **_success_values(now))
    )
    with factory() as session, session.begin():
        session.connection().execute(statement, rows)
    return [
        SourceOutcome(task.id, task.url, PollStatus.NOT_MODIFIED, ms=result.elapsed_ms) for task, result in unchanged
    ]


_SOURCES = cast(Table, Source.__table__)
#: A claim: the source's next check pushed by the lease, and its owner named (one statement for all the sources).
_CLAIM = (
    update(_SOURCES)
    .where(_SOURCES.c.id == bindparam("source_id"))
    .values(next_check_at=bindparam("next_check"), claimed_by=bindparam("owner"))
)


def _success_values(now: datetime | BindParameter[datetime]) -> dict[str, Any]:
    """What a success resets on its source; ``now`` a time, or the parameter of a statement built once."""
    return {
        "last_checked_at": now,
        "last_success_at": now,
        "consecutive_failures": 0,
        "claimed_by": None,
        # the source works again: `source list` shows no old error as current
        "last_error_kind": None,
        "last_error_message": None,
    }


def _row_problem(exc: BaseException) -> bool:
    """True when the database refused a *value* (bad data, a constraint), not when it is failing itself."""
    if isinstance(exc, DatabaseUnavailableError):
        return False
    return isinstance(exc, StorageError | ValueError)


def _store_drafts(
    session: Session,
    drafts: Sequence[ItemDraft],
    source_id: int,
    now: datetime,
    *,
    one_by_one: bool,
    known: Mapping[str, tuple[int, datetime]] | None = None,
    screen: Screen | None = None,
) -> list[StoredItem]:
    language_of = screen.language if screen is not None else item_language
    if not one_by_one:
        return store_items(session, drafts, source_id=source_id, now=now, language_of=language_of, known=known)
    stored: list[StoredItem] = []
    last: BaseException | None = None
    for draft in drafts:
        try:
            with session.begin_nested():
                stored.extend(store_items(session, [draft], source_id=source_id, now=now, language_of=language_of))
        except (StorageError, ValueError) as exc:
            if not _row_problem(exc):
                raise
            last = exc
            log.warning("entry skipped source_id=%s key=%.200r: %s", source_id, draft.key, _describe(exc))
    if last is not None and not stored:
        raise last  # not one entry could be stored: the storage's failure, not the entries'
    return stored


def _next_check(
    task: SourceTask,
    result: FetchResult,
    now: datetime,
    limits: Limits,
    *,
    ttl_minutes: int | None,
    window: Sequence[datetime],
    history: Sequence[datetime],
) -> datetime:
    """The source's next check after a success, from its hints and the dates of the items it brought."""
    return next_check_after_success(
        task.interval,
        now=now,
        hints=hints_from(result.headers, ttl_minutes, now),
        history=history,
        window=window,
        limits=limits,
        rng=_RNG,
    )


#: What language detection reads of an item's text besides its title. On the 4,377 items of the real corpus,
#: title + 300 characters gives the very language title + 2,000 did, for every item (title alone: 83 %).
LANGUAGE_PREFIX = 300


def item_language(draft: ItemDraft) -> str | None:
    """The item's language, detected once at ingest from its title and the start of its text (None when too
    short to tell).

    The feed's declared language is not trusted: feeds often declare the platform's default.
    """
    return text_language(draft.title, draft.text, draft.key)


def text_language(title: str, text: str, key: object = None) -> str | None:
    """:func:`item_language` of a title and text (a stored item's, whose language the poll did not detect)."""
    try:
        return detect_language(f"{title}. {text[:LANGUAGE_PREFIX]}")
    except Exception:  # a detector's failure on odd text means "unknown language", not a lost item
        log.warning("language detection failed for item key=%.200r", key, exc_info=True)
        return None


def matchable_language(
    matcher: Matcher, title: str, text: str, url: str | None, key: object = None, *, could: bool | None = None
) -> tuple[bool, str | None]:
    """The one rule of when an item's language is detected: only when some watch of ``matcher`` could match it
    (:meth:`Matcher.could_match`). A poll's new items (:class:`Screen`), and the stored items a new watch or a
    preview reads whose language no poll detected, all go through it. Returns whether some watch could match the
    item, and then its language (None when too short to tell). ``could``: the matcher's answer, when the caller
    has it already."""
    if could is None:
        could = matcher.could_match(title, text, url)
    return could, text_language(title, text, key) if could else None


class Screen:
    """Which of a source's new items some watch could match (:meth:`Matcher.could_match` on their folds), told
    once per item: only those are scanned, and only those get their language detected at ingest
    (:func:`matchable_language`). Nothing reads
    the language of an item no watch matches (issue 17: ~70 % of a first poll's items, 60 µs each); a watch added
    or edited later detects it on the items it could match (:func:`erepwatch.backfill.match_stored_items`, the
    preview), so a stored item's NULL language means "not detected yet" as much as "too short to tell"."""

    __slots__ = ("_folds", "_matcher")

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher
        self._folds: dict[str, tuple[Folded, Folded] | None] = {}

    def folds(self, draft: ItemDraft) -> tuple[Folded, Folded] | None:
        """The draft's title and text folded, or None when no watch could match it."""
        try:
            return self._folds[draft.key]
        except KeyError:
            pass
        folds: tuple[Folded, Folded] | None = item_folds(draft)
        if not self._matcher.could_match(draft.title, draft.text, draft.url, folds=folds):
            folds = None  # no watch can match it: its words are not even read
        self._folds[draft.key] = folds
        return folds

    def language(self, draft: ItemDraft) -> str | None:
        could = self.folds(draft) is not None
        return matchable_language(self._matcher, draft.title, draft.text, draft.url, draft.key, could=could)[1]


def _matched(
    items: Sequence[StoredItem], matcher: Matcher, seen: dict[int, MatchItem], screen: Screen | None = None
) -> list[tuple[StoredItem, MatchItem, list[Match]]]:
    """The new items some watch matches, with their matches; ``seen`` receives each matched item as the matcher saw it
    (scanned once: the windows, tags, sentiment and clustering read that scan)."""
    screen = screen or Screen(matcher)
    matched = []
    for stored in items:
        draft = stored.draft
        folds = screen.folds(draft)
        if folds is None:
            continue
        item = item_tokens(draft, stored.language, folds)
        matches = matcher.match(item)
        if matches:
            seen[stored.id] = item
            matched.append((stored, item, matches))
    return matched


def _mention_drafts(
    matched: Iterable[tuple[StoredItem, MatchItem, Sequence[Match]]],
    watches: dict[int, Watch],
    analysis: Analysis,
    task: SourceTask,
) -> list[MentionDraft]:
    """The mentions of :func:`_matched` items: one per matching watch, analysed."""
    drafts: list[MentionDraft] = []
    for stored, item, matches in matched:
        drafts.extend(
            build_mentions(
                stored.id,
                item,
                matches,
                published=stored.draft.published,
                watches=watches,
                source_created_at=task.created_at,
                scorer=analysis.scorer,
                tagger=analysis.tagger,
                backfill_grace=analysis.backfill_grace,
            )
        )
    return drafts


def item_folds(draft: ItemDraft) -> tuple[Folded, Folded]:
    """A new item's title and text folded once: the matcher's quick no reads them, and the scan starts from them."""
    return fold_with_offsets(draft.title), fold_with_offsets(draft.text)


def item_tokens(draft: ItemDraft, language: str | None, folds: tuple[Folded, Folded]) -> MatchItem:
    """A new item as the analysis stages read it: its title and text scanned once."""
    return MatchItem.scanned(draft.title, draft.text, draft.url, language, folds)


def _apply_success(
    session: Session,
    task: SourceTask,
    result: FetchResult,
    now: datetime,
    title: str | None,
    next_check: datetime | None = None,
    *,
    history: Sequence[datetime] | None = None,
    new_links: int = 0,
) -> None:
    """Record a success in one UPDATE (a source removed while we were fetching matches no row)."""
    validators = result.status != 304
    if session.connection().dialect.name == "sqlite":
        record_success_sqlite(
            session,
            task.id,
            now,
            next_check=next_check,
            validators=(result.validators.etag, result.validators.last_modified) if validators else None,
            title=valid_text(title[:500]) if title else None,
            history=None if history is None else [d.isoformat() for d in history],
            new_links=new_links,
        )
        return
    params: dict[str, Any] = {"source_id": task.id, "now": now, "next_check": next_check}
    if validators:
        params["new_etag"] = result.validators.etag
        params["new_last_modified"] = result.validators.last_modified
    if title:
        params["new_title"] = valid_text(title[:500])
    if history is not None:
        params["history"] = [d.isoformat() for d in history]
    if new_links:
        params["new_links"] = new_links
    statement = _success_statement(
        next_check is not None, validators, bool(title), history is not None, bool(new_links)
    )
    session.connection().execute(statement, params)


@functools.lru_cache(maxsize=32)
def _success_statement(next_check: bool, validators: bool, title: bool, history: bool, new_links: bool) -> Update:
    """The UPDATE of :func:`_apply_success` for one shape of outcome, built once: Core, not the ORM's bulk UPDATE
    (no session state to synchronise), and its cache key memoised on it instead of a new statement walked at
    every source."""
    values = _success_values(bindparam("now", type_=UTCDateTime()))
    if next_check:
        values["next_check_at"] = bindparam("next_check", type_=UTCDateTime())
    if validators:
        values["etag"] = bindparam("new_etag", type_=_SOURCES.c.etag.type)
        values["last_modified"] = bindparam("new_last_modified", type_=_SOURCES.c.last_modified.type)
    if title:
        values["title"] = func.coalesce(_SOURCES.c.title, bindparam("new_title", type_=_SOURCES.c.title.type))
    if history:
        values["recent_published"] = bindparam("history", type_=_SOURCES.c.recent_published.type)
    if new_links:
        values["item_count"] = _SOURCES.c.item_count + bindparam("new_links", type_=Integer())
        values["last_item_at"] = bindparam("now", type_=UTCDateTime())
    return update(_SOURCES).where(_SOURCES.c.id == bindparam("source_id", type_=Integer())).values(**values)


def _record_failure(
    factory: sessionmaker[Session],
    task: SourceTask,
    kind: SourceErrorKind,
    message: str,
    now: datetime,
    *,
    retry_after: float | None = None,
    elapsed_ms: int = 0,
    limits: Limits = Limits(),  # noqa: B008 - frozen
) -> SourceOutcome:
    with factory() as session, session.begin():
        source = session.get(Source, task.id)
        if source is not None:
            source.consecutive_failures += 1
            source.claimed_by = None
            source.last_checked_at = now
            source.last_error_at = now
            source.last_error_kind = str(kind)
            source.last_error_message = valid_text(message[:2000])
            source.next_check_at = next_check_after_failure(
                task.interval, source.consecutive_failures, now=now, retry_after=retry_after, limits=limits, rng=_RNG
            )
    return SourceOutcome(task.id, task.url, PollStatus.ERROR, ms=elapsed_ms, error_kind=str(kind), error=message)
