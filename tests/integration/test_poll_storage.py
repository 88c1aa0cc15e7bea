"""What a poll writes about its sources, and how little it touches the database to do it (issue 17).

A source keeps its own rhythm (the dates of its newest items), its item count and when it last brought a new
item, so that neither the schedule, `source list` nor the digest's source health aggregates item_sources;
a 304 is one UPDATE; a failing feed waits out its backoff even in a poll of every source.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import func, select

from erepwatch import pipeline
from erepwatch.db.engine import make_engine, session_factory
from erepwatch.db.migrate import upgrade
from erepwatch.db.models import Item, ItemSource, Source
from erepwatch.notify.queries import source_health
from erepwatch.pipeline import Analysis, claim_sources, process_source, run_poll
from erepwatch.records import FetchResult, Validators
from erepwatch.retention import purge
from erepwatch.schedule import HISTORY
from erepwatch.service.sources import SourceInput, add_source, list_sources
from erepwatch.settings import load_settings
from tests.conftest import corpus_feeds, statements_run

FEEDS = ["fr-news-lefigaro-consommation-01.xml", "en-news-bbc-world-01.xml", "en-news-dw-rss10-01.xml"]


def _settings(tmp_path: Path, db_url: str):
    return load_settings(
        environ={"EREPWATCH_DATA_DIR": str(tmp_path), "EREPWATCH_DATABASE_URL": db_url, "EREPWATCH_ALLOW_PRIVATE": "1"}
    )


def _add(sessions, settings, urls: list[str]) -> list[int]:
    with sessions() as session, session.begin():
        return [
            add_source(session, SourceInput(url=url, name=f"s{n}"), default_interval=settings.poll_interval).id
            for n, url in enumerate(urls)
        ]


def _poll(sessions, settings, **kwargs):
    return asyncio.run(run_poll(sessions, settings, analysis=Analysis.from_settings(settings), **kwargs))


def test_sources_keep_what_was_aggregated_over_item_sources(sessions, db_url, server, tmp_path):
    settings = _settings(tmp_path, db_url)
    ids = _add(sessions, settings, [server.feed_url(f) for f in FEEDS])
    first = _poll(sessions, settings, all_sources=True)
    assert first.new_items > 0 and first.failed == 0
    _poll(sessions, settings, all_sources=True)  # 304s: nothing changes
    with sessions() as session:
        for source_id in ids:
            source = session.get(Source, source_id)
            assert source is not None
            links = select(ItemSource).where(ItemSource.source_id == source_id).subquery()
            count = session.scalar(select(func.count()).select_from(links))
            last = session.scalar(select(func.max(ItemSource.first_seen_at)).where(ItemSource.source_id == source_id))
            newest = list(
                session.scalars(
                    select(Item.published_at)
                    .join(ItemSource, ItemSource.item_id == Item.id)
                    .where(ItemSource.source_id == source_id)
                    .order_by(Item.published_at.desc())
                    .limit(HISTORY)
                )
            )
            assert source.item_count == count > 0
            assert source.last_item_at == last
            # the success recorded whole: validators kept for the conditional GET, the feed's title, no error
            assert source.etag and source.last_modified and source.title
            assert (source.consecutive_failures, source.claimed_by, source.last_error_kind) == (0, None, None)
            assert source.last_success_at == source.last_checked_at is not None
            # the same dates the schedule used to query, each distinct date once
            assert [datetime.fromisoformat(d) for d in source.recent_published or ()] == sorted(
                set(newest), reverse=True
            )[:HISTORY]
        listed = {s.id: n for s, n in list_sources(session)}
        assert all(listed[i] > 0 for i in ids)
        health = {h.name: h for h in source_health(session, [])}
        assert all(h.last_new_item_at is not None for h in health.values())
    # a purge keeps the counts equal to the links left
    purge(sessions, now=datetime.now(UTC) + timedelta(days=10_000), days=1)
    with sessions() as session:
        assert {s.id: n for s, n in list_sources(session)} == dict.fromkeys(ids, 0)


def test_a_304_is_one_statement(sessions, db_url, tmp_path):
    settings = _settings(tmp_path, db_url)
    (source_id,) = _add(sessions, settings, ["http://127.0.0.1:9/feed.xml"])
    now = datetime.now(UTC)
    (task,) = claim_sources(sessions, now=now, all_sources=True)
    result = FetchResult(task.url, task.url, 304, None, {}, Validators('"e"', None), 3)
    with statements_run(sessions.kw["bind"]) as run:
        outcome = process_source(
            sessions, task, result, matcher=None, watches={}, analysis=Analysis.from_settings(settings), now=now
        )
    transaction = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    statements = [s for s in run if not s.lstrip().upper().startswith(transaction)]
    assert outcome.status == "not_modified"
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE"), statements
    with sessions() as session:
        source = session.get(Source, source_id)
        assert source is not None and source.last_success_at == now and source.next_check_at > now


def test_a_failing_feed_waits_out_its_backoff_even_when_every_source_is_polled(sessions, db_url, server, tmp_path):
    settings = _settings(tmp_path, db_url)
    _good, bad = _add(
        sessions,
        settings,
        [server.feed_url(FEEDS[0]), server.feed_url("malformed-html-404-instead-of-feed-fr-01.xml")],
    )
    first = _poll(sessions, settings, all_sources=True)
    assert (first.sources, first.failed) == (2, 1)
    before = len([r for r in server.requests if "malformed-html" in r[0]])
    again = _poll(sessions, settings, all_sources=True)
    assert again.sources == 1 and again.failed == 0  # the good one only
    assert len([r for r in server.requests if "malformed-html" in r[0]]) == before
    asked = _poll(sessions, settings, source_ids=[bad])  # asked for by id: fetched whatever its backoff
    assert (asked.sources, asked.failed) == (1, 1)


def test_migration_fills_the_source_columns_from_what_is_stored(db_url):
    engine = make_engine(db_url)
    upgrade(engine, "0005_web_acts_search")
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    naive = engine.dialect.name == "sqlite"

    def t(d: datetime) -> datetime:
        return d.replace(tzinfo=None) if naive else d

    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sources (id, name, url, kind, interval_seconds, enabled, created_at, next_check_at,"
                " consecutive_failures) VALUES (1, 'a', 'http://a/', 'feed', 60, true, :now, :now, 0),"
                " (2, 'b', 'http://b/', 'feed', 60, true, :now, :now, 0)"
            ),
            {"now": t(now)},
        )
        for n in range(25):
            conn.execute(
                sa.text(
                    "INSERT INTO items (id, key, title, text, published_at, fetched_at)"
                    " VALUES (:id, :key, 't', 'x', :published, :now)"
                ),
                {"id": n + 1, "key": f"k{n}", "published": t(now - timedelta(hours=n)), "now": t(now)},
            )
            conn.execute(
                sa.text("INSERT INTO item_sources (item_id, source_id, first_seen_at) VALUES (:i, 1, :seen)"),
                {"i": n + 1, "seen": t(now + timedelta(minutes=n))},
            )
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        a, b = session.get(Source, 1), session.get(Source, 2)
        assert a is not None and b is not None
        assert a.item_count == 25 and a.last_item_at == now + timedelta(minutes=24)
        assert [datetime.fromisoformat(d) for d in a.recent_published or ()] == [
            now - timedelta(hours=n) for n in range(HISTORY)
        ]
        assert (b.item_count, b.last_item_at, b.recent_published) == (0, None, None)
    engine.dispose()


def test_the_304s_of_a_poll_are_recorded_in_a_few_transactions(sessions, db_url, server, tmp_path, monkeypatch):
    settings = _settings(tmp_path, db_url)
    names = [p.name for p in corpus_feeds() if p.suffix == ".xml"][:16]
    _add(sessions, settings, [server.feed_url(name) for name in names])
    first = _poll(sessions, settings, all_sources=True)
    unchanged = first.sources - first.failed
    assert unchanged >= 10
    batches: list[int] = []
    record = pipeline.record_not_modified

    def counted(factory, rows, *args, **kwargs):
        batches.append(len(rows))
        return record(factory, rows, *args, **kwargs)

    monkeypatch.setattr(pipeline, "record_not_modified", counted)
    again = _poll(sessions, settings, all_sources=True)
    assert again.not_modified == unchanged and sum(batches) == unchanged
    # answers arrive two at a time from one host (fetch.per_host); they are recorded together, not per wake-up
    assert len(batches) <= 2, batches
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Source).where(Source.claimed_by.is_not(None))) == 0
