"""Full-text search indexes the items that have a mention, from their first mention on (migration 0012), on SQLite
and PostgreSQL: what a search finds is what indexing every item found, an old item a new watch matches becomes
searchable, deletes keep the index whole (FTS5's integrity-check), and the migration moves a database both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from erepwatch.analyze.matcher import MatchItem
from erepwatch.backfill import match_stored_items
from erepwatch.db.engine import make_engine, session_factory
from erepwatch.db.mention_views import MentionFilter, mention_select
from erepwatch.db.migrate import downgrade, upgrade
from erepwatch.db.models import Item, Mention, Source, Watch
from erepwatch.db.store import insert_mentions, store_items
from erepwatch.records import ItemDraft
from erepwatch.retention import purge
from erepwatch.settings import load_settings
from tests.conftest import load_migration

NOW = datetime(2026, 12, 7, tzinfo=UTC)
TEXTS = [
    ("Grève à la SNCF", "Les cheminots en grève depuis lundi."),
    ("Acme rachète Globex", "Le café du matin chez Acme."),
    ("Météo", "Pluie sur Paris, grève des taxis."),
    ("Acme et la grève", "Rien à signaler."),
    ("Bourse", "Le CAC 40 recule."),
    ("Acme lance un produit", "Un café connecté."),
]
SEARCHES = ["greve", "grève", "cafe", "acme", "acme greve", "gre*", "paris", "cac", "zzz"]


def _draft(n: int, title: str, body: str, *, age: timedelta = timedelta()) -> ItemDraft:
    url = f"https://news.example/{n}"
    return ItemDraft(
        canonical_url=url, guid=None, url=url, title=title, text=body, published=NOW - age - timedelta(hours=n)
    )


def _setup(session, watches: int = 2) -> tuple[int, list[int]]:
    source = Source(name="s", url="https://s.example/feed", interval_seconds=60, created_at=NOW, next_check_at=NOW)
    session.add(source)
    ids = []
    for n in range(watches):
        watch = Watch(name=f"w{n}", query=f"q{n}", created_at=NOW, updated_at=NOW)
        session.add(watch)
        session.flush()
        ids.append(watch.id)
    session.flush()
    return source.id, ids


def _stored_at(db_url: str, revision: str):
    """A new database at ``revision`` holding :data:`TEXTS` as one source's items, with two watches and no mention:
    the engine, its sessions, the items' ids and the watches' ids."""
    engine = make_engine(db_url)
    upgrade(engine, revision)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        source_id, watches = _setup(session)
        stored = store_items(session, [_draft(n, t, b) for n, (t, b) in enumerate(TEXTS)], source_id=source_id, now=NOW)
        ids = [s.id for s in stored]
    return engine, sessions, ids, watches


def _row(watch_id: int, item_id: int, published: datetime) -> dict:
    return {
        "watch_id": watch_id, "item_id": item_id, "created_at": NOW, "published_at": published, "snippet": "",
        "sentiment": "neutral", "score": 0.0, "notify": True, "spans": [], "snippet_marks": [], "keywords": [],
        "tags": [], "why": None,
    }  # fmt: skip


def _found(session, query: str) -> list[int]:
    """The mentions a full-text search lists (by id)."""
    rows = session.execute(mention_select(session, MentionFilter(text=query, hidden=None))).all()
    return sorted(mention.id for mention, *_ in rows)


def _expected(session, query: str) -> list[int]:
    """The same search answered without any index: every word (a prefix with ``*``) in the title or the text,
    accents folded, by Python."""
    from erepwatch.db.search import _FOLD, search_words

    words = [w.translate(_FOLD).lower() for w in search_words(query)]
    prefixes = {
        w.translate(_FOLD).lower() for w in search_words(" ".join(q[:-1] for q in query.split() if q[-1] == "*"))
    }
    found = []
    for mention_id, title, body in session.execute(
        select(Mention.id, Item.title, Item.text).join(Item, Item.id == Mention.item_id)
    ):
        import re

        tokens = set(re.findall(r"\w+", f"{title} {body}".translate(_FOLD).lower()))
        if all(w in tokens or (w in prefixes and any(t.startswith(w) for t in tokens)) for w in words):
            found.append(mention_id)
    return sorted(found)


def _indexed(session) -> set[int]:
    """The items the full-text index holds."""
    if session.get_bind().dialect.name == "sqlite":
        return set(session.scalars(text("SELECT rowid FROM items_fts")))
    return set(session.scalars(text("SELECT id FROM items WHERE fts_document IS NOT NULL")))


def _integrity(session) -> None:
    """SQLite: FTS5 checks its index (raises if it is damaged), and the index holds exactly what indexing the
    indexed items' rows as they now read gives, word by word and position by position: the table keeps no copy of
    what it indexed (migration 0013), so this compares it with a table that does, built here."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(text("INSERT INTO items_fts(items_fts) VALUES ('integrity-check')"))
    tokenizer = load_migration("0013_search_index_contentless").TOKENIZER
    session.execute(text(f"CREATE VIRTUAL TABLE temp.fresh_fts USING fts5(title, text, {tokenizer})"))
    session.execute(
        text(
            "INSERT INTO temp.fresh_fts(rowid, title, text) "
            "SELECT id, title, text FROM items WHERE id IN (SELECT id FROM items_fts_docsize)"
        )
    )
    words = []
    for table in ("main.items_fts", "temp.fresh_fts"):
        schema, name = table.split(".")
        session.execute(text(f"CREATE VIRTUAL TABLE temp.vocab USING fts5vocab({schema}, {name}, instance)"))
        words.append(session.execute(text("SELECT term, doc, col, offset FROM temp.vocab ORDER BY 1, 2, 3, 4")).all())
        session.execute(text("DROP TABLE temp.vocab"))
    session.execute(text("DROP TABLE temp.fresh_fts"))
    assert words[0] == words[1]


def test_only_mentioned_items_are_indexed_and_searches_find_the_same(sessions):
    with sessions.begin() as session:
        source_id, (w0, w1) = _setup(session)
        stored = store_items(session, [_draft(n, t, b) for n, (t, b) in enumerate(TEXTS)], source_id=source_id, now=NOW)
        assert _indexed(session) == set()  # nothing mentioned yet: nothing indexed
        ids = [s.id for s in stored]
        # the poll's way: the items' text given (PostgreSQL folds it here), two watches on one item
        seen = {ids[i]: MatchItem(TEXTS[i][0], TEXTS[i][1]) for i in (0, 1)}
        rows = [_row(w0, ids[0], NOW), _row(w1, ids[0], NOW), _row(w0, ids[1], NOW)]
        assert len(insert_mentions(session, rows, items=seen)) == 3
        # a writer that gives no text (the trigger folds it), and an ORM insert
        insert_mentions(session, [_row(w1, ids[3], NOW)])
        session.add(Mention(watch_id=w0, item_id=ids[5], created_at=NOW, published_at=NOW))
    with sessions.begin() as session:
        assert _indexed(session) == {ids[0], ids[1], ids[3], ids[5]}
        _integrity(session)
        for query in SEARCHES:
            assert _found(session, query) == _expected(session, query), query
        assert _found(session, "greve") and _found(session, "cafe*")
        # an UPDATE of an indexed item's text is searched as it now reads; an unindexed one stays out
        session.execute(update(Item).where(Item.id == ids[1]).values(text="Tempête."))
        session.execute(update(Item).where(Item.id == ids[2]).values(text="Tempête."))
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == {ids[0], ids[1], ids[3], ids[5]}
        for query in [*SEARCHES, "tempete"]:
            assert _found(session, query) == _expected(session, query), query
        assert len(_found(session, "tempete")) == 1


def test_a_watch_added_later_makes_an_old_item_searchable(sessions, db_url, tmp_path):
    with sessions.begin() as session:
        source_id, (w0,) = _setup(session, watches=1)
        stored = store_items(session, [_draft(n, t, b) for n, (t, b) in enumerate(TEXTS)], source_id=source_id, now=NOW)
        insert_mentions(session, [_row(w0, stored[4].id, NOW)])  # "Bourse" only
        assert _found(session, "acme") == []
        watch = Watch(name="acme", query="acme", created_at=NOW, updated_at=NOW)
        session.add(watch)
        session.flush()
        watch_id = watch.id
    settings = load_settings(environ={"EREPWATCH_DATA_DIR": str(tmp_path), "EREPWATCH_DATABASE_URL": db_url})
    assert match_stored_items(sessions, settings, [watch_id], now=NOW) == 3
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == {stored[i].id for i in (1, 3, 4, 5)}
        assert len(_found(session, "acme")) == 3 and len(_found(session, "cafe")) == 2
        for query in SEARCHES:
            assert _found(session, query) == _expected(session, query), query


def test_deletes_keep_the_index_whole(sessions):
    with sessions.begin() as session:
        source_id, (w0, w1) = _setup(session)
        old = store_items(
            session,
            [_draft(n, t, b, age=timedelta(days=400)) for n, (t, b) in enumerate(TEXTS)],
            source_id=source_id,
            now=NOW - timedelta(days=400),
        )
        new = store_items(
            session, [_draft(10 + n, t, b) for n, (t, b) in enumerate(TEXTS)], source_id=source_id, now=NOW
        )
        rows = [_row(w0, s.id, s.draft.published) for s in (old[0], old[1], new[0], new[1], new[3])]
        insert_mentions(session, [*rows, _row(w1, old[0].id, old[0].draft.published)])
    # retention: old items go with their mentions (mentioned or not, indexed or not)
    assert purge(sessions, now=NOW, days=30)[0] == len(TEXTS)
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == {new[0].id, new[1].id, new[3].id}
        for query in SEARCHES:
            assert _found(session, query) == _expected(session, query), query
        # a watch deleted (its mentions by cascade) leaves the items indexed; an item deleted with its mentions
        # (the database's cascade) leaves the index
        session.execute(text("DELETE FROM watches WHERE id = :w"), {"w": w0})
        session.execute(text("DELETE FROM items WHERE id = :i"), {"i": new[1].id})
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == {new[0].id, new[3].id}
        assert session.scalar(select(Mention.id)) is None
        # an item mentioned again after losing its mentions is found again, indexed once
        insert_mentions(session, [_row(w1, new[0].id, NOW)])
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == {new[0].id, new[3].id}
        assert len(_found(session, "greve")) == 1
        for query in SEARCHES:
            assert _found(session, query) == _expected(session, query), query


def test_the_migration_indexes_mentioned_items_only_and_goes_back(db_url):
    engine, sessions, ids, (w0, _w1) = _stored_at(db_url, "0011_fts_document_written")
    with sessions.begin() as session:
        session.add_all(Mention(watch_id=w0, item_id=ids[i], created_at=NOW, published_at=NOW) for i in (0, 1, 3))
    with sessions.begin() as session:
        assert _indexed_before(session) == set(ids)
        before = {query: _found(session, query) for query in SEARCHES}
    upgrade(engine)
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == {ids[0], ids[1], ids[3]}
        assert {query: _found(session, query) for query in SEARCHES} == before
    downgrade(engine, "0011_fts_document_written")
    with sessions.begin() as session:
        assert _indexed_before(session) == set(ids)
        _integrity(session)
        assert {query: _found(session, query) for query in SEARCHES} == before
        if engine.dialect.name == "postgresql":
            # every document is 0010's expression again
            generated = load_migration("0011_fts_document_written").GENERATED
            assert (
                session.execute(text(f"SELECT id FROM items WHERE fts_document IS DISTINCT FROM ({generated})")).all()
                == []
            )
    upgrade(engine)
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == {ids[0], ids[1], ids[3]}
        assert {query: _found(session, query) for query in SEARCHES} == before
    engine.dispose()


def _indexed_before(session) -> set[int]:
    """The items 0005's external-content table (SQLite) or 0011's documents (PostgreSQL) hold."""
    if session.get_bind().dialect.name == "sqlite":
        return set(session.scalars(text("SELECT rowid FROM items_fts_docsize")))
    return set(session.scalars(text("SELECT id FROM items WHERE fts_document IS NOT NULL")))


def test_the_contentless_index_finds_the_same_and_goes_back(db_url):
    """Migration 0013 (SQLite: the index without its copy of the text): the same items indexed, word for word, the
    same searches answered, before and after, both ways; PostgreSQL is untouched by it."""
    engine, sessions, ids, (w0, w1) = _stored_at(db_url, "0012_search_mentioned_items")
    with sessions.begin() as session:
        insert_mentions(session, [_row(w0, ids[i], NOW) for i in (0, 1, 3)] + [_row(w1, ids[0], NOW)])
    with sessions.begin() as session:
        indexed = _indexed(session)
        before = {query: _found(session, query) for query in SEARCHES}
        assert indexed == {ids[0], ids[1], ids[3]} and before["greve"]
    upgrade(engine)
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == indexed
        assert {query: _found(session, query) for query in SEARCHES} == before
        # the triggers keep it whole: an indexed item rewritten, an indexed one deleted, a new mention
        session.execute(update(Item).where(Item.id == ids[1]).values(title="Tempête"))
        session.execute(text("DELETE FROM items WHERE id = :i"), {"i": ids[3]})
        insert_mentions(session, [_row(w1, ids[5], NOW)])
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == {ids[0], ids[1], ids[5]}
        after = {query: _found(session, query) for query in [*SEARCHES, "tempete"]}
        assert after == {query: _expected(session, query) for query in [*SEARCHES, "tempete"]}
    downgrade(engine, "0012_search_mentioned_items")
    with sessions.begin() as session:
        _integrity(session)
        assert _indexed(session) == {ids[0], ids[1], ids[5]}
        assert {query: _found(session, query) for query in [*SEARCHES, "tempete"]} == after
    engine.dispose()
