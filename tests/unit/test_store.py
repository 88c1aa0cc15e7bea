"""Storage on SQLite and PostgreSQL: migrations equal the models, items stored once, pragmas set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text

from erepwatch.db.engine import make_engine
from erepwatch.db.migrate import current_revision, ensure_schema, head_revision, upgrade
from erepwatch.db.models import Base, Item, ItemSource, Mention, Source, Watch
from erepwatch.db.store import NewMention, insert_mentions, poll_settings, set_stories, store_items
from erepwatch.errors import StorageError
from erepwatch.records import ItemDraft
from tests.conftest import statements_run

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _source(session, name: str) -> int:
    source = Source(
        name=name, url=f"https://{name}.example/feed", interval_seconds=60, created_at=NOW, next_check_at=NOW
    )
    session.add(source)
    session.flush()
    return source.id


def draft(n: int, **extra) -> ItemDraft:
    return ItemDraft(
        canonical_url=f"https://news.example/{n}",
        guid=None,
        url=f"https://news.example/{n}",
        title=f"title {n}",
        text="body",
        published=NOW - timedelta(hours=n),
        **extra,
    )


def test_migrations_match_models(sessions):
    with sessions() as session:
        diff = compare_metadata(MigrationContext.configure(session.connection()), Base.metadata)
    # The full-text index (an FTS5 table; a generated tsvector column and its GIN index) is the database's own,
    # outside the models.
    assert [d for d in diff if "fts" not in repr(d)] == []


def test_upgrade_is_idempotent(db_url):
    engine = make_engine(db_url)
    assert upgrade(engine)[1] == head_revision()
    assert upgrade(engine) == (head_revision(), head_revision())
    engine.dispose()


def test_outdated_schema_is_refused_until_init(db_url):
    engine = make_engine(db_url)
    assert head_revision() != "0001", "the test needs a schema with more than one revision"
    upgrade(engine, "0001")  # a database left by an older erepwatch
    with pytest.raises(StorageError, match="erepwatch init"):
        ensure_schema(engine)
    upgrade(engine)
    ensure_schema(engine)  # after `init` the same database is accepted
    engine.dispose()


def test_items_stored_once_and_linked_to_every_source(sessions):
    with sessions() as session, session.begin():
        a, b = _source(session, "a"), _source(session, "b")
        first = store_items(session, [draft(1), draft(2)], source_id=a, now=NOW, language_of=lambda d: "fr")
        again = store_items(session, [draft(2), draft(3)], source_id=b, now=NOW + timedelta(minutes=1))
    assert [s.is_new for s in first] == [True, True]
    assert [s.is_new for s in again] == [False, True]
    assert first[1].id == again[0].id
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 3
        assert session.scalar(select(func.count()).select_from(ItemSource)) == 4
        assert session.scalar(select(Item.language).where(Item.id == first[0].id)) == "fr"


def _mention(watch_id: int, item_id: int) -> dict[str, object]:
    """A mention row as a poll makes it (``MentionDraft.as_row``)."""
    return {
        "watch_id": watch_id,
        "item_id": item_id,
        "created_at": NOW,
        "published_at": NOW,
        "snippet": "s",
        "sentiment": "neutral",
        "score": 0.0,
        "notify": True,
        "spans": [],
        "snippet_marks": [],
        "keywords": [],
        "tags": [],
        "why": {},
    }


def _items_and_two_watches(session, source_name: str, count: int) -> tuple[list[int], list[Watch]]:
    """``count`` new items of one source and two watches, flushed: what a mention needs to point at."""
    sid = _source(session, source_name)
    items = [s.id for s in store_items(session, [draft(n) for n in range(count)], source_id=sid, now=NOW)]
    watches = [Watch(name=f"w{n}", query="x", created_at=NOW, updated_at=NOW) for n in range(2)]
    session.add_all(watches)
    session.flush()
    return items, watches


def test_mentions_stored_once_in_one_statement_per_batch(sessions):
    with sessions() as session, session.begin():
        items, watches = _items_and_two_watches(session, "m", 300)
        with statements_run(session.connection()) as statements:
            first = insert_mentions(session, [_mention(watches[0].id, i) for i in items])
            # SQLite: one multi-row INSERT per slice (300 = 256 + 32 + 12, batching.sized_for_statements);
            # PostgreSQL: one.
            inserts = 3 if session.connection().dialect.name == "sqlite" else 1
            assert len(statements) == inserts, "one INSERT … RETURNING a slice of the batch, not one per row"
            again = insert_mentions(session, [_mention(w.id, items[0]) for w in watches])  # one already stored
            set_stories(
                session,
                [
                    {"mention_id": m.id, "cluster_id": first[0].id, "cluster_reason": "lexical", "cluster_score": 90.0,
                     "cluster_match_id": first[0].id}
                    for m in first
                ],
            )  # fmt: skip
            assert len(statements) == inserts + 2, "the stories of a batch in one statement (executemany)"
    assert [m.item_id for m in first] == items and all(isinstance(m, NewMention) for m in first)
    assert first[0].published_at == NOW  # aware UTC, as read back by the ORM
    assert [(m.watch_id, m.item_id) for m in again] == [(watches[1].id, items[0])]
    with sessions() as session:
        stored = {m.id: m for m in session.scalars(select(Mention))}
        assert sorted(stored) == sorted(m.id for m in first + again)
        assert {(stored[m.id].cluster_id, stored[m.id].cluster_reason) for m in first} == {(first[0].id, "lexical")}
        assert stored[again[0].id].cluster_id is None


def test_datetimes_come_back_aware_utc(sessions):
    with sessions() as session, session.begin():
        sid = _source(session, "tz")
        store_items(session, [draft(1)], source_id=sid, now=NOW)
    with sessions() as session:
        item = session.scalar(select(Item))
        assert item.published_at.tzinfo is not None and item.published_at == NOW - timedelta(hours=1)


def test_naive_datetime_is_refused(sessions):
    with sessions() as session, pytest.raises(Exception, match="naive"), session.begin():
        session.add(
            Source(
                name="n",
                url="https://n.example",
                interval_seconds=60,
                created_at=datetime(2026, 1, 1),
                next_check_at=NOW,
            )
        )
        session.flush()


def test_sqlite_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_revision_recorded(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_head_revision_read_from_the_files_is_alembics():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from erepwatch.db.migrate import migrations_dir

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_poll_transaction_reads_a_new_database_by_its_indexes(sessions):
    """A new database's tables were analysed empty (migration 0010): a plan made while a poll's first items go in
    reads the whole table for each foreign-key check or story UPDATE, and its connection keeps it. A poll's
    transaction asks for its indexes (``poll_settings``, or ``begin_source`` with the known items), and commits
    without waiting for the WAL flush; the next transaction on the same connection has the server's settings again."""
    from erepwatch.db.store import begin_source

    lookup = "EXPLAIN SELECT 1 FROM items WHERE id = 1 FOR KEY SHARE"
    with sessions() as session:
        with session.begin():
            sid = _source(session, "a")
            store_items(session, [draft(n) for n in range(3)], source_id=sid, now=NOW)
            before = "\n".join(line for (line,) in session.execute(text(lookup)))
            poll_settings(session)
            plan = "\n".join(line for (line,) in session.execute(text(lookup)))
            assert session.scalar(text("SHOW synchronous_commit")) == "off"
        with session.begin():
            assert session.scalar(text("SHOW synchronous_commit")) == "on"
            assert "Seq Scan on items" in "\n".join(line for (line,) in session.execute(text(lookup)))
        with session.begin():
            assert set(begin_source(session, [draft(1).key, "absent"])) == {draft(1).key}
            assert session.scalar(text("SHOW synchronous_commit")) == "off"
            assert "Seq Scan" not in "\n".join(line for (line,) in session.execute(text(lookup)))
    assert "Seq Scan on items" in before, before  # what the plans of a new database were
    assert "Index Scan" in plan and "Seq Scan" not in plan, plan


def test_poll_mentions_are_stored_as_the_orm_would_store_them(sessions):
    """A poll's mention rows go in as one array per column on PostgreSQL: the same rows (JSON text included, word for
    word) as SQLAlchemy's own insert gives, on both databases."""
    from erepwatch.db.store import insert_ignore

    with sessions() as session, session.begin():
        items, watches = _items_and_two_watches(session, "j", 3)

        def row(watch_id: int, item_id: int, n: int) -> dict[str, object]:
            return {
                "watch_id": watch_id,
                "item_id": item_id,
                "created_at": NOW,
                "published_at": NOW - timedelta(hours=n),
                "spans": [{"field": "title", "start": 0, "end": 4, "term": 'Écho "quoted" ’'}],
                "snippet": f"snippet {n} — « guillemets »",
                "snippet_marks": [[0, 4], [10, 12]],
                "sentiment": ("negative", "neutral", "positive")[n],
                "score": 1 if n == 2 else -0.25 * n + 0.1,  # an int among floats too
                "keywords": ["grève", "crise"][:n],
                "tags": ["crise"] if n else [],
                "why": {"sentiment": ["grève"], "tags": {"crise": ["grève", "n\\ul"]}} if n else {},
                "notify": n % 2 == 0,
            }

        stored = insert_mentions(session, [row(watches[0].id, item, n) for n, item in enumerate(items)])
        assert [m.item_id for m in stored] == items
        insert_ignore(session, Mention.__table__, [row(watches[1].id, item, n) for n, item in enumerate(items)])
        columns = (
            "item_id, created_at, published_at, spans, snippet, snippet_marks, sentiment, score, keywords, tags, why, "
            "notify, irrelevant, starred, cluster_id"
        )
        read = f"SELECT {columns} FROM mentions WHERE watch_id = :w ORDER BY item_id"
        if sessions.kw["bind"].dialect.name == "postgresql":  # the JSON text as stored, not parsed again
            for name in ("spans", "snippet_marks", "keywords", "tags", "why"):
                read = read.replace(f" {name},", f" {name}::text,")
            assert read.count("::text") == 5
        first, second = (session.execute(text(read), {"w": w.id}).all() for w in watches)
    assert first == second and len(first) == 3


def test_sqlite_datetime_is_the_text_sqlalchemy_writes():
    """The SQLite fast path formats datetimes itself: the same text as UTCDateTime and SQLAlchemy's DATETIME."""
    from sqlalchemy.dialects import sqlite

    from erepwatch.db.models import UTCDateTime
    from erepwatch.db.store import sqlite_datetime

    dialect = sqlite.dialect()
    orm = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    paris = timezone(timedelta(hours=1))
    values = [
        NOW,
        NOW.replace(microsecond=123456),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 30, tzinfo=paris),  # the day before, in UTC
        datetime(2026, 3, 29, 2, 30, 5, 7, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
    ]
    assert [sqlite_datetime(v) for v in values] == [orm(v) for v in values]
    assert sqlite_datetime(None) is None
    with pytest.raises(ValueError, match="naive"):
        sqlite_datetime(datetime(2026, 1, 1))


def test_poll_items_and_links_are_stored_as_sqlalchemys_insert_stores_them(sessions):
    """store_items writes items and links with prebuilt SQL (SQLite: multi-row VALUES of plain values; PostgreSQL:
    arrays): the same stored values, as text, as SQLAlchemy's own insert of the same rows gives."""
    from erepwatch.db.store import insert_ignore

    paris = timezone(timedelta(hours=1))
    now = datetime(2026, 5, 4, 3, 2, 1, 654321, tzinfo=paris)
    drafts = [
        draft(1),
        ItemDraft(
            canonical_url=None,
            guid="tag:x,2026:é/2",
            url=None,
            title="Titre « accentué » — ’",
            text="Texte\nsur deux lignes\u00a0et un NUL\\0 échappé",
            published=datetime(2026, 5, 1, 23, 30, tzinfo=paris),
            author="Zoé",
            publisher="Le Monde",
            publisher_domain="lemonde.fr",
        ),
        ItemDraft(
            canonical_url="https://x.example/3",
            guid=None,
            url="https://x.example/3?utm=1",
            title="",
            text="",
            published=datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        ),
    ]
    languages = {d.key: lang for d, lang in zip(drafts, ("fr", None, "en"), strict=True)}
    items = (
        "SELECT key, url, guid, title, text, author, publisher, publisher_domain, language, "
        "CAST(published_at AS TEXT), CAST(fetched_at AS TEXT), first_source_id = :s FROM items ORDER BY key"
    )
    links = (
        "SELECT i.key, l.source_id = :s, CAST(l.first_seen_at AS TEXT) "
        "FROM item_sources l JOIN items i ON i.id = l.item_id ORDER BY i.key"
    )

    def stored(write) -> tuple[list[object], list[object]]:  # the source's id as a flag: sequences survive rollbacks
        with sessions() as session:
            session.begin()
            sid = _source(session, "e")
            write(session, sid)
            got = session.execute(text(items), {"s": sid}).all(), session.execute(text(links), {"s": sid}).all()
            session.rollback()
        return got

    def fast(session, sid: int) -> None:
        result = store_items(session, drafts, source_id=sid, now=now, language_of=lambda d: languages[d.key])
        assert [s.is_new and s.new_link for s in result] == [True, True, True]

    def orm(session, sid: int) -> None:
        rows = [
            {
                "key": d.key,
                "url": d.url,
                "guid": d.guid,
                "title": d.title,
                "text": d.text,
                "author": d.author,
                "publisher": d.publisher,
                "publisher_domain": d.publisher_domain,
                "language": languages[d.key],
                "published_at": d.published,
                "fetched_at": now,
                "first_source_id": sid,
            }
            for d in drafts
        ]
        ids = insert_ignore(session, Item.__table__, rows, returning=(Item.id,))
        link_rows = [{"item_id": i, "source_id": sid, "first_seen_at": now} for (i,) in ids]
        insert_ignore(session, ItemSource.__table__, link_rows)

    fast_rows, orm_rows = stored(fast), stored(orm)
    assert len(fast_rows[0]) == 3 and len(fast_rows[1]) == 3
    assert fast_rows == orm_rows


def test_known_items_read_as_the_orm_reads_them(sessions):
    """known_items runs the driver's SQL (SQLite: an IN list of plain text; PostgreSQL: one binary array): the same
    ids and the same aware UTC dates as SQLAlchemy's select of the model gives."""
    from erepwatch.db.store import begin_source, known_items

    paris = timezone(timedelta(hours=1))
    drafts = [draft(n) for n in range(3)] + [
        ItemDraft(
            canonical_url=None,
            guid="g é",
            url=None,
            title="t",
            text="x",
            published=datetime(2026, 1, 1, 0, 30, 0, 7, tzinfo=paris),
        )
    ]
    with sessions() as session, session.begin():
        sid = _source(session, "k")
        store_items(session, drafts, source_id=sid, now=NOW)
        keys = [d.key for d in drafts] + ["https://news.example/absent"]
        known = known_items(session, keys)
        orm = {
            key: (id_, published)
            for key, id_, published in session.execute(select(Item.key, Item.id, Item.published_at))
        }
        assert begin_source(session, keys) == known  # the poll's way (PostgreSQL: with its settings, one round trip)
    assert known == orm and len(known) == 4
    assert all(published.tzinfo is UTC for _id, published in known.values())
    assert known["guid:g é"][1] == datetime(2025, 12, 31, 23, 30, 0, 7, tzinfo=UTC)


def test_set_stories_stores_what_sqlalchemys_executemany_stores(sessions):
    """set_stories runs the driver's SQL (SQLite: executemany of tuples; PostgreSQL: one UPDATE joined to binary
    arrays): the same columns as SQLAlchemy's executemany of the UPDATE, a mention given twice keeping its last row."""
    from sqlalchemy import bindparam, update

    table = Mention.__table__
    reference = (
        update(table)
        .where(table.c.id == bindparam("mention_id"))
        .values({c: bindparam(c) for c in ("cluster_id", "cluster_reason", "cluster_score", "cluster_match_id")})
    )
    with sessions() as session, session.begin():
        items, watches = _items_and_two_watches(session, "st", 4)
        fast, orm = (insert_mentions(session, [_mention(w.id, i) for i in items]) for w in watches)

        def rows(mentions: list[NewMention]) -> list[dict[str, object]]:
            by_item = [
                (7, "lexical", 91.5, 3),
                (7, "semantic", 1, None),  # an int score
                (None, None, None, None),
                (12, "lexical", 0.25, 12),
            ]
            out = [
                {"mention_id": m.id, "cluster_id": c, "cluster_reason": r, "cluster_score": s, "cluster_match_id": x}
                for m, (c, r, s, x) in zip(mentions, by_item, strict=True)
            ]
            return [*out, {**out[0], "cluster_id": 8, "cluster_score": 50.0}]  # the first mention again: last wins

        set_stories(session, rows(fast))
        session.connection().execute(reference, rows(orm))
        read = (
            "SELECT item_id, cluster_id, cluster_reason, cluster_score, cluster_match_id FROM mentions "
            "WHERE watch_id = :w ORDER BY item_id"
        )
        got_fast, got_orm = (session.execute(text(read), {"w": w.id}).all() for w in watches)
    assert got_fast == got_orm and got_fast[0][1:3] == (8, "lexical")


def test_sqlite_keeps_few_statement_texts_whatever_the_batch_sizes(sessions):
    """Every distinct multi-row INSERT text is a compiled statement the SQLite driver keeps per connection (up to
    128, ~1 kB a row): batches of 1 to 40 items must reuse the texts of 1, 2, 4 … 32 rows, not make 40 of each."""
    # batches of 1 to 40 rows: 1 … 15 rows as they come, 16 and 32 for the rest
    with sessions() as session, session.begin():
        sid = _source(session, "sizes")
        watch = Watch(name="w", query="x", created_at=NOW, updated_at=NOW)
        session.add(watch)
        session.flush()
        n = 0
        with statements_run(session.connection()) as run:
            for size in range(1, 41):
                stored = store_items(session, [draft(n + k) for k in range(size)], source_id=sid, now=NOW)
                insert_mentions(session, [_mention(watch.id, s.id) for s in stored])
                n += size
        texts = set(run)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == n
        assert session.scalar(select(func.count()).select_from(Mention)) == n
    if session.bind.dialect.name == "sqlite":
        for table in (
            "INSERT INTO items",
            "INSERT INTO item_sources",
            "INSERT INTO mentions",
            "FROM items WHERE key IN",
        ):
            assert len({t for t in texts if table in t}) == 17, table


@pytest.fixture
def sqlite_sessions(tmp_path):
    """Sessions on a fresh SQLite database: the driver's own path (db.store's prebuilt statements) is SQLite's."""
    from erepwatch.db.engine import session_factory

    engine = make_engine(f"sqlite:///{tmp_path / 'erepwatch.db'}")
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def test_a_success_on_sqlite_is_stored_as_the_core_statement_stores_it(sqlite_sessions):
    """SQLite records a source's success with prebuilt text on the driver: every shape of outcome writes the row the
    pipeline's Core statement writes (dates, the history's JSON text, the title kept, the counts added)."""
    from itertools import product

    from erepwatch.db.store import record_success_sqlite
    from erepwatch.pipeline import _success_statement

    later = NOW + timedelta(hours=1, microseconds=7)
    history = [NOW - timedelta(hours=n, seconds=n) for n in range(3)]
    paris = timezone(timedelta(hours=1))
    read = (
        "SELECT next_check_at, etag, last_modified, last_checked_at, last_success_at, consecutive_failures, "
        "claimed_by, last_error_kind, last_error_message, title, recent_published, item_count, last_item_at "
        "FROM sources WHERE id = :id"
    )
    shapes = list(product([False, True], repeat=5))
    with sqlite_sessions() as session, session.begin():
        for n, (next_check, validators, title, with_history, new_links) in enumerate(shapes):
            ids = []
            for side in ("driver", "core"):
                sid = _source(session, f"{side}{n}")
                session.execute(
                    text(
                        "UPDATE sources SET consecutive_failures = 3, claimed_by = 'p', last_error_kind = 'fetch', "
                        "last_error_message = 'e', item_count = 2, title = CASE WHEN :keep THEN 'kept' END "
                        "WHERE id = :id"
                    ),
                    {"id": sid, "keep": n % 3 == 0},
                )
                ids.append(sid)
            record_success_sqlite(
                session,
                ids[0],
                NOW.astimezone(paris),
                next_check=later if next_check else None,
                validators=('"e1"', None) if validators else None,
                title="Feed — é" if title else None,
                history=[d.isoformat() for d in history] if with_history else None,
                new_links=4 if new_links else 0,
            )
            params = {"source_id": ids[1], "now": NOW.astimezone(paris), "next_check": later if next_check else None}
            params |= {"new_etag": '"e1"', "new_last_modified": None, "new_title": "Feed — é", "new_links": 4}
            params["history"] = [d.isoformat() for d in history]
            statement = _success_statement(next_check, validators, title, with_history, new_links)
            session.connection().execute(statement, params)
            driver, core = (session.execute(text(read), {"id": i}).one() for i in ids)
            assert driver == core, (n, driver, core)


def test_the_driver_path_raises_what_sqlalchemy_raises(sqlite_sessions):
    """SQLite's prebuilt statements run on the driver: its errors come out as through SQLAlchemy (db.engine): a value
    the database refuses is a StorageError (a row problem: the source is stored entry by entry), what the driver
    calls an OperationalError (a locked or broken database) a DatabaseUnavailableError."""
    from erepwatch.db.store import _sqlite_rows
    from erepwatch.errors import DatabaseUnavailableError

    refused = "INSERT INTO items (key) VALUES (?)"  # NOT NULL columns left out
    failing = "SELECT * FROM no_such_table WHERE 1 = ?"
    for sql, kind in ((refused, StorageError), (failing, DatabaseUnavailableError)):
        with sqlite_sessions() as session, session.begin():
            connection = session.connection()
            with pytest.raises(StorageError) as by_driver:
                _sqlite_rows(connection, sql, [1])
            with pytest.raises(StorageError) as by_sqlalchemy:
                connection.exec_driver_sql(sql, (1,))
        assert type(by_driver.value) is type(by_sqlalchemy.value) is kind
        assert str(by_driver.value) == str(by_sqlalchemy.value)
