"""A storage failure is recorded as the storage's (kind ``storage``), never as the feed's ``parse`` (issue 18
point 9): a SQLite database that cannot grow (``PRAGMA max_page_count``, what a full disk looks like to it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, text

from erepwatch.db.models import Source
from erepwatch.pipeline import run_poll
from erepwatch.settings import load_settings


def test_a_full_database_is_recorded_as_storage(server, tmp_path):
    from erepwatch.db.engine import make_engine, session_factory
    from erepwatch.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'full.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    now = datetime.now(UTC)
    with factory() as session, session.begin():
        session.add(Source(name="big", url=server.feed_url("fr-news-lefigaro-economie-01.xml"),
                           interval_seconds=3600, created_at=now - timedelta(days=1), next_check_at=now))  # fmt: skip
    with engine.connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
    engine.dispose()

    full = make_engine(url)
    event.listen(full, "connect", lambda conn, _rec: conn.execute(f"PRAGMA max_page_count = {pages}"))
    settings = load_settings(environ={"EREPWATCH_DATA_DIR": str(tmp_path), "EREPWATCH_ALLOW_PRIVATE": "1"})
    stats = asyncio.run(run_poll(session_factory(full), settings, all_sources=True))
    (outcome,) = stats.outcomes
    assert outcome.error_kind == "storage", outcome
    assert "full" in (outcome.error or "")
    with session_factory(full)() as session:
        source = session.query(Source).one()
        assert source.last_error_kind == "storage" and source.consecutive_failures == 1
    full.dispose()
