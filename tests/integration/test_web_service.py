"""Use cases of the web app on both databases: trends per local day across a change of summer time, full-text
search that folds accents, saved share-of-voice groups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from erepwatch.db.models import Item, Mention
from erepwatch.service import browse
from erepwatch.service.trends import offset_periods, trends
from erepwatch.service.watches import WatchInput, add_watch

_ids = count(1)


def _mention(session, watch_id: int, published: datetime, *, title: str = "Acme", text: str = "") -> Mention:
    n = next(_ids)
    item = Item(
        key=f"https://example.org/{n}", url=f"https://example.org/{n}", title=title, text=text,
        publisher_domain="example.org", language="fr", published_at=published, fetched_at=published,
    )  # fmt: skip
    session.add(item)
    session.flush()
    mention = Mention(watch_id=watch_id, item_id=item.id, created_at=published, published_at=published)
    session.add(mention)
    session.flush()
    return mention


def _days(report) -> dict[date, int]:
    return {d.day: d.total for d in report.watches[0].days if d.total}


# Each instant is next to a local midnight on the other side of a change of summer time from ``now``: read with
# today's offset, it would fall on the neighbouring day.
def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


DST_CASES = [
    # Paris, spring forward on 2026-03-29: 22:30 UTC on the 27th is 23:30 CET (UTC+1), not 00:30.
    ("Europe/Paris", _utc(2026, 4, 5, 12), _utc(2026, 3, 27, 22, 30), date(2026, 3, 27)),
    # Paris, fall back on 2026-10-25: 22:30 UTC on the 24th is 00:30 CEST (UTC+2) on the 25th.
    ("Europe/Paris", _utc(2026, 11, 1, 12), _utc(2026, 10, 24, 22, 30), date(2026, 10, 25)),
    # Montréal, spring forward on 2026-03-08: 04:30 UTC on the 6th is 23:30 EST (UTC−5) on the 5th.
    ("America/Montreal", _utc(2026, 3, 15, 12), _utc(2026, 3, 6, 4, 30), date(2026, 3, 5)),
    # Montréal, fall back on 2026-11-01: 03:30 UTC on the 31st is 23:30 EDT (UTC−4) on the 30th.
    ("America/Montreal", _utc(2026, 11, 8, 12), _utc(2026, 10, 31, 3, 30), date(2026, 10, 30)),
]  # fmt: skip


@pytest.mark.parametrize(("tz", "now", "published", "day"), DST_CASES)
def test_trends_count_each_mention_on_its_local_day_across_summer_time(sessions, tz, now, published, day):
    with sessions.begin() as session:
        watch = add_watch(session, WatchInput("acme", "acme"), now=now)
        _mention(session, watch.id, published)
        # A mention at local noon of the same day, on the same side of the change as ``now``, and one today.
        _mention(session, watch.id, now - timedelta(hours=1))
    with sessions() as session:
        report = trends(session, ["acme"], days=30, now=now, tz=tz)
    local_now = now.astimezone(ZoneInfo(tz)).date()
    assert _days(report) == {day: 1, local_now: 1}


def test_offset_periods_find_each_change_to_the_second():
    zone = ZoneInfo("Europe/Paris")
    periods = offset_periods(zone, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert periods == [
        (datetime(2026, 3, 29, 1, tzinfo=UTC), timedelta(hours=1)),
        (datetime(2026, 10, 25, 1, tzinfo=UTC), timedelta(hours=2)),
        (None, timedelta(hours=1)),
    ]
    kolkata = offset_periods(ZoneInfo("Asia/Kolkata"), _utc(2026, 1, 1), _utc(2026, 4, 1))
    assert kolkata == [(None, timedelta(hours=5, minutes=30))]


@pytest.mark.parametrize(
    ("query", "found"),
    [("greve", {"grève"}), ("GRÈVE", {"grève"}), ("cafe", {"café"}), ("café", {"café"}), ("noel", {"noël"}),
     ("Québec", {"quebec"}), ("creme brulee", {"crème"}), ("gre*", {"grève"})],
)  # fmt: skip
def test_search_folds_accents_like_french_readers_type(sessions, query, found):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    titles = {
        "grève": "Grève chez Acme",
        "café": "Le café Acme ferme",
        "noël": "Acme prépare Noël",
        "quebec": "Acme arrive a Quebec",
        "crème": "La crème brûlée d'Acme",
    }
    with sessions.begin() as session:
        watch = add_watch(session, WatchInput("acme", "acme"), now=now)
        for i, title in enumerate(titles.values()):
            _mention(session, watch.id, now - timedelta(hours=i + 1), title=title)
    with sessions() as session:
        rows = browse.find_mentions(session, browse.ListFilter(q=query)).rows
    assert {key for key, title in titles.items() if title in {r.title for r in rows}} == found


def test_the_fold_table_is_the_one_the_migration_stored():
    import importlib.util
    from pathlib import Path

    from erepwatch.db.search import FOLD_FROM, FOLD_TO

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0010_watch_groups.py"
    spec = importlib.util.spec_from_file_location("m0010", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (module.FOLD_FROM, module.FOLD_TO) == (FOLD_FROM, FOLD_TO)
    assert "é".translate(str.maketrans(FOLD_FROM, FOLD_TO)) == "e"
