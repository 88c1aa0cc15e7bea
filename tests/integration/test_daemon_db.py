"""The daemon's database work on both backends: claiming batches (per-host cap, lease, release) and purging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from erepwatch.db.models import Delivery, Item, ItemSource, Mention, Recipient, Source, Watch
from erepwatch.pipeline import claim_sources, release_sources
from erepwatch.retention import purge

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _source(i: int, host: str, due: datetime, interval: int = 3600) -> Source:
    return Source(
        name=f"s{i}",
        url=f"https://{host}/feed{i}",
        kind="feed",
        interval_seconds=interval,
        enabled=True,
        created_at=NOW - timedelta(days=1),
        next_check_at=due,
        consecutive_failures=0,
    )


def test_claims_most_overdue_first_with_a_per_host_cap_and_a_lease(sessions):
    with sessions.begin() as s:
        s.add_all(_source(i, "busy.example", NOW - timedelta(minutes=60 - i)) for i in range(6))
        s.add_all(_source(10 + i, f"h{i}.example", NOW - timedelta(minutes=30 - i)) for i in range(3))
        s.add(_source(20, "later.example", NOW + timedelta(minutes=5)))
    tasks = claim_sources(sessions, now=NOW, limit=4, per_host=2, lease=timedelta(minutes=10))
    assert [t.url for t in tasks] == [
        "https://busy.example/feed0",
        "https://busy.example/feed1",
        "https://h0.example/feed10",
        "https://h1.example/feed11",
    ]
    with sessions() as s:
        claimed = {x.id: x.next_check_at for x in s.scalars(select(Source).where(Source.id.in_([t.id for t in tasks])))}
    assert set(claimed.values()) == {NOW + timedelta(minutes=10)}  # the lease, not the hour-long interval
    # The next batch takes what was left, never what is already claimed nor what is not due.
    rest = claim_sources(sessions, now=NOW, limit=10, per_host=2)
    assert {t.url for t in rest} == {
        "https://busy.example/feed2",
        "https://busy.example/feed3",
        "https://h2.example/feed12",
    }
    release_sources(sessions, [tasks[0].id], NOW)
    # A released source (a stop during its fetch) is due again at once; the lease keeps the others away.
    assert {t.url for t in claim_sources(sessions, now=NOW, limit=10, per_host=5)} == {
        "https://busy.example/feed0",
        "https://busy.example/feed4",
        "https://busy.example/feed5",
    }


def _item(i: int, fetched: datetime) -> Item:
    return Item(
        key=f"https://news.example/{i}",
        url=f"https://news.example/{i}",
        title=f"t{i}",
        text="x",
        published_at=fetched,
        fetched_at=fetched,
    )


def test_purge_keeps_recent_items_and_what_a_pending_delivery_needs(sessions):
    old, recent = NOW - timedelta(days=200), NOW - timedelta(days=3)
    with sessions.begin() as s:
        watch = Watch(name="w", query="x", languages=[], regions=[], tags={}, created_at=old, updated_at=old)
        recipient = Recipient(email="a@b.c", created_at=old)
        source = _source(1, "news.example", NOW)
        s.add_all([watch, recipient, source])
        s.flush()
        items = [_item(0, old), _item(1, old), _item(2, recent)]
        s.add_all(items)
        s.flush()
        mentions = [
            Mention(watch_id=watch.id, item_id=i.id, created_at=i.fetched_at, published_at=i.published_at)
            for i in items
        ]
        s.add_all(mentions)
        s.add_all(ItemSource(item_id=i.id, source_id=source.id, first_seen_at=i.fetched_at) for i in items)
        s.flush()
        s.add_all(
            [
                Delivery(
                    recipient_id=recipient.id,
                    kind="alert",
                    mention_ids=[mentions[1].id],
                    status="pending",
                    message_id="<pending@x>",
                    created_at=old,
                ),
                Delivery(
                    recipient_id=recipient.id,
                    kind="alert",
                    mention_ids=[mentions[0].id],
                    status="sent",
                    message_id="<sent@x>",
                    created_at=old,
                ),
            ]
        )
        kept = {items[1].id, items[2].id}
    assert purge(sessions, now=NOW, days=180) == (1, 1)
    with sessions() as s:
        assert set(s.scalars(select(Item.id))) == kept
        assert s.scalar(select(func.count()).select_from(Mention)) == 2
        assert s.scalar(select(func.count()).select_from(ItemSource)) == 2
        assert [d.message_id for d in s.scalars(select(Delivery))] == ["<pending@x>"]
    assert purge(sessions, now=NOW, days=180) == (0, 0)
