"""Shared set-up of the web tests: a database filled by polling real corpus feeds from the local feed server,
and the app built on it (the clock fixed just after the corpus's newest items)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

NOW = datetime(2025, 2, 12, 12, 0, tzinfo=UTC)
FEEDS = [
    "fr-news-franceinfo-eco-01.xml", "fr-news-franceinfo-france-01.xml", "fr-news-lefigaro-economie-01.xml",
    "fr-news-liberation-economie-01.xml", "fr-news-bfmtv-economie-social-01.xml", "fr-news-lefigaro-flash-01.xml",
    "fr-news-liberation-societe-01.xml", "fr-news-bfmtv-emploi-01.xml",
]  # fmt: skip
WATCHES = {
    "economie": "prix OR entreprise OR emploi OR salariés",
    "gouvernement": "gouvernement OR ministre OR Macron",
}


@dataclass
class Corpus:
    sessions: sessionmaker[Session]
    settings: object
    db_url: str


def fill(cli, server, extra_feeds: list[str] = ()) -> None:  # type: ignore[no-untyped-def]
    for name, query in WATCHES.items():
        cli("watch", "add", name, "--query", query, "--lang", "fr")
    for feed in [*FEEDS, *extra_feeds]:
        cli("source", "add", server.feed_url(feed))
    cli("poll", "--all")


def open_corpus(db_url: str, data_dir: Path) -> Iterator[Corpus]:
    from erepwatch.db.engine import make_engine, session_factory
    from erepwatch.settings import load_settings

    settings = load_settings(
        environ={"EREPWATCH_DATABASE_URL": db_url, "EREPWATCH_DATA_DIR": str(data_dir), "EREPWATCH_ALLOW_PRIVATE": "1"}
    )
    engine = make_engine(db_url)
    yield Corpus(session_factory(engine), settings, db_url)
    engine.dispose()


def make_app(corpus: Corpus, **settings_changes: object):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from erepwatch.web.app import create_app
    from erepwatch.web.server import make_config

    settings = replace(corpus.settings, **settings_changes) if settings_changes else corpus.settings
    return create_app(make_config(corpus.sessions, settings, clock=lambda: NOW))
