"""PostgreSQL's full-text document of an item, written by the writer of its first mention (migrations 0011 and
0012), is the very one migration 0010's generated column computed with ``translate()``: for every item of the
corpus, for hand-made edge cases, for a writer that gives none (the trigger) and across a downgrade and upgrade.
An item no watch mentions has none."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from erepwatch.db.engine import make_engine, session_factory
from erepwatch.db.migrate import downgrade, upgrade
from erepwatch.db.models import Item, Mention, Source, Watch
from erepwatch.db.search import FOLD_FROM, FOLD_TO, document_text
from erepwatch.db.store import indexing_for_search, insert_mentions, store_items
from erepwatch.errors import ErepwatchError, StorageError
from erepwatch.ingest.items import items_from_feed
from erepwatch.ingest.parse import parse_feed
from erepwatch.records import ItemDraft
from tests.conftest import corpus_feeds, load_migration

NOW = datetime(2026, 12, 7, tzinfo=UTC)
ON_POSTGRES = pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)


#: Items that have a document differing from migration 0010's expression on the same row.
DIFFERENT = text(
    "SELECT key FROM items WHERE fts_document IS NOT NULL "
    f"AND fts_document IS DISTINCT FROM ({load_migration('0011_fts_document_written').GENERATED})"
)
INDEXED = text("SELECT key FROM items WHERE fts_document IS NOT NULL ORDER BY key")


def _source(session) -> int:
    source = Source(name="s", url="https://s.example/feed", interval_seconds=60, created_at=NOW, next_check_at=NOW)
    session.add(source)
    session.flush()
    return source.id


def _watch(session) -> int:
    watch = Watch(name="w", query="w", created_at=NOW, updated_at=NOW)
    session.add(watch)
    session.flush()
    return watch.id


def _mention(watch_id: int, item_id: int) -> dict:
    return {
        "watch_id": watch_id, "item_id": item_id, "created_at": NOW, "published_at": NOW, "snippet": "",
        "sentiment": "neutral", "score": 0.0, "notify": True, "spans": [], "snippet_marks": [], "keywords": [],
        "tags": [], "why": None,
    }  # fmt: skip


def _draft(n: int, title: str, body: str) -> ItemDraft:
    url = f"https://news.example/{n}"
    return ItemDraft(canonical_url=url, guid=None, url=url, title=title, text=body, published=NOW - timedelta(hours=n))


EDGES = [
    ("Grève à Québec", "Noël, crème brûlée, ÉTÉ, Œuvre, straße, İstanbul, ſ, ǅ"),
    (FOLD_FROM, FOLD_TO),
    ("plain ascii", ""),
    ("", "only a text"),
    ("Москва и Πάτρα", "中文 عربي ’quotes’ — dash"),
    ("long", "é" * 99_990 + " fin" + " après" * 10),  # the document stops at 100,000 characters of the text
]


def test_the_fold_in_python_is_translate():
    for title, body in EDGES:
        expected = f"{title} {body[:100_000]}".translate(str.maketrans(FOLD_FROM, FOLD_TO))
        assert document_text(title, body) == expected
    assert document_text(None, None) == " "


@ON_POSTGRES
def test_the_written_document_is_0010s_for_edge_cases_and_writers_that_give_none(sessions):
    with sessions.begin() as session:
        source_id, watch_id = _source(session), _watch(session)
        drafts = [_draft(n, t, b) for n, (t, b) in enumerate(EDGES)]
        stored = store_items(session, [*drafts, _draft(99, "Grève", "jamais mentionné")], source_id=source_id, now=NOW)
        assert all(s.is_new for s in stored)
        assert session.execute(INDEXED).all() == []  # no mention yet: no document
        # the poll's way: the items' text given, folded in Python
        items = {s.id: s.draft for s in stored[: len(EDGES)]}
        insert_mentions(session, [_mention(watch_id, i) for i in items], items=items)
        # an ORM insert of an item and its mention gives no document: the mention's trigger computes it
        orm = Item(key="orm", title="Été à Paris", text="grève", published_at=NOW, fetched_at=NOW)
        session.add(orm)
        session.flush()
        session.add(Mention(watch_id=watch_id, item_id=orm.id, created_at=NOW, published_at=NOW))
    with sessions.begin() as session:
        assert session.execute(DIFFERENT).all() == []
        assert [k for (k,) in session.execute(INDEXED)] == sorted([d.key for d in drafts] + ["orm"])
        found = "SELECT key FROM items WHERE fts_document @@ to_tsquery('simple', :q) ORDER BY key"
        assert [k for (k,) in session.execute(text(found), {"q": "greve"})] == ["https://news.example/0", "orm"]
        # an UPDATE of the text that leaves the document alone gets the new one; an unmentioned item stays out
        session.execute(update(Item).where(Item.key == "orm").values(text="Noël"))
        session.execute(update(Item).where(Item.key == "https://news.example/2").values(title="Crème"))
        session.execute(update(Item).where(Item.key == "https://news.example/99").values(title="Grève encore"))
    with sessions.begin() as session:
        assert session.execute(DIFFERENT).all() == []
        assert [k for (k,) in session.execute(text(found), {"q": "greve"})] == ["https://news.example/0"]
        assert "https://news.example/99" not in {k for (k,) in session.execute(INDEXED)}


@ON_POSTGRES
def test_documents_sent_in_the_drivers_pipeline_are_0010s_and_their_failure_is_a_storage_error(sessions):
    """The poll's way (db.store.indexing_for_search): the statements go while the block runs, leaving it waits; the
    server's refusal, seen only then, is a StorageError."""
    with sessions.begin() as session:
        source_id, watch_id = _source(session), _watch(session)
        drafts = [_draft(n, t, b) for n, (t, b) in enumerate(EDGES)]
        stored = store_items(session, [*drafts, _draft(99, "Grève", "jamais mentionné")], source_id=source_id, now=NOW)
        items = {s.id: s.draft for s in stored[: len(EDGES)]}
        ran = False
        with indexing_for_search(session, items):
            ran = True
        assert ran
        assert [k for (k,) in session.execute(INDEXED)] == sorted(d.key for d in drafts)  # the same transaction
        insert_mentions(session, [_mention(watch_id, i) for i in items])  # the trigger finds them indexed
    with sessions.begin() as session:
        assert session.execute(DIFFERENT).all() == []
        assert [k for (k,) in session.execute(INDEXED)] == sorted(d.key for d in drafts)
    with pytest.raises(StorageError, match="0x00"), sessions.begin() as session:
        (item,) = store_items(session, [_draft(50, "nul", "ok")], source_id=source_id, now=NOW)
        with indexing_for_search(session, {item.id: _draft(50, "nul \x00", "ok")}):
            pass
    with sessions.begin() as session:  # nothing of the failed transaction stayed
        assert session.execute(text("SELECT count(*) FROM items WHERE key = 'https://news.example/50'")).scalar() == 0


@pytest.mark.slow
@ON_POSTGRES
def test_every_corpus_item_gets_0010s_document_and_keeps_it_across_a_downgrade(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    total = 0
    with sessions.begin() as session:
        source_id, watch_id = _source(session), _watch(session)
        for path in corpus_feeds():
            raw = path.read_bytes()
            raw = gzip.decompress(raw) if path.suffix == ".gz" else raw
            try:
                drafts = items_from_feed(parse_feed(raw, {}, None), fetched_at=NOW)
            except (ErepwatchError, ValueError):
                continue  # not a feed: the corpus's hostile cases
            new = {s.id: s.draft for s in store_items(session, drafts, source_id=source_id, now=NOW) if s.is_new}
            insert_mentions(session, [_mention(watch_id, i) for i in new], items=new)  # every item mentioned
            total += len(new)
    assert total > 4000
    with sessions.begin() as session:
        assert session.execute(DIFFERENT).all() == []
        before = session.execute(text("SELECT key, fts_document::text FROM items ORDER BY key")).all()
        assert all(document is not None for _key, document in before)
    downgrade(engine, "0010_watch_groups")  # the generated column again, computed by the server
    with sessions.begin() as session:
        assert session.execute(text("SELECT key, fts_document::text FROM items ORDER BY key")).all() == before
    upgrade(engine)
    with sessions.begin() as session:
        assert session.execute(text("SELECT key, fts_document::text FROM items ORDER BY key")).all() == before
    engine.dispose()
