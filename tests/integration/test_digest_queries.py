"""The digest's chart and spike reads leave out what a person hid, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from erepwatch.db.models import Item, Mention, Watch, WatchMute
from erepwatch.notify.queries import chart_points, published_since

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _store(sessions) -> int:
    with sessions() as session, session.begin():
        watch = Watch(name="acme", query="acme", languages=[], regions=[], fuzzy=False, tags={},
                      created_at=NOW, updated_at=NOW)  # fmt: skip
        session.add(watch)
        session.flush()
        for n, domain in enumerate(["kept.example", "muted.example", "kept.example"]):
            item = Item(key=f"https://{domain}/{n}", url=f"https://{domain}/{n}", title="Acme", text="",
                        publisher_domain=domain, published_at=NOW - timedelta(hours=n), fetched_at=NOW)  # fmt: skip
            session.add(item)
            session.flush()
            session.add(Mention(watch_id=watch.id, item_id=item.id, created_at=NOW, irrelevant=n == 2,
                                published_at=NOW - timedelta(hours=n), sentiment="neutral"))  # fmt: skip
        return watch.id


def test_chart_and_spikes_leave_out_irrelevant_and_muted_mentions(sessions):
    watch_id = _store(sessions)
    since = NOW - timedelta(days=1)
    with sessions() as session:
        # Nothing muted yet: only the mention marked irrelevant is left out.
        assert len(chart_points(session, [watch_id], since)) == 2
        assert len(published_since(session, watch_id, since)) == 2
    with sessions() as session, session.begin():
        session.add(WatchMute(watch_id=watch_id, domain="muted.example", created_at=NOW))
    with sessions() as session:
        assert [p for p, _ in chart_points(session, [watch_id], since)] == [NOW]
        assert published_since(session, watch_id, since) == [NOW]
