"""Writing what a poll found: items once per identity, their sources, and mentions once per watch.

Inserts use the backend's "insert or ignore" (``ON CONFLICT DO NOTHING``) so that the daemon and a CLI
``poll`` running at the same moment never fail on each other's rows: whoever comes second just links.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import (
    CursorResult,
    Executable,
    FromClause,
    Result,
    TableClause,
    delete,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from erepwatch.batching import chunked, sized_for_statements
from erepwatch.db.engine import driver_error, sqlite_driver_error
from erepwatch.db.models import Mention, MentionEmbedding, UTCDateTime
from erepwatch.db.search import document_text
from erepwatch.records import ItemDraft

if TYPE_CHECKING:
    import psycopg

# Rows go in chunks (batching.chunked, 500 rows): SQLite allows at most 32,766 bound parameters per
# statement, and items have ~14 columns.


def insert_ignore(
    session: Session, table: FromClause, rows: Sequence[dict[str, Any]], *, returning: Sequence[Any] = ()
) -> list[Any]:
    """Insert rows, skipping those that conflict; with ``returning``, the rows this statement inserted."""
    if not rows:
        return []
    connection = session.connection()
    statement = _insert_ignore(connection.dialect.name, cast(TableClause, table), tuple(returning))
    inserted: list[Any] = []
    for chunk in chunked(rows):
        result = connection.execute(statement, list(chunk))
        if returning:
            inserted.extend(result.all())
    return inserted


@lru_cache(maxsize=32)
def _insert_ignore(dialect: str, table: TableClause, returning: tuple[Any, ...]) -> Executable:
    """One statement object per table and dialect, built once: its cache key (by which SQLAlchemy finds the
    compiled form) is memoised on it, where a statement built again at every source was walked again."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing()
    return statement.returning(*returning) if returning else statement


#: An item's columns a poll writes, besides fetched_at and first_source_id (the same for a whole batch).
_ITEM_COLUMNS = ("key", "url", "guid", "title", "text", "author", "publisher", "publisher_domain", "language")

# PostgreSQL: a batch of items as one array per column, unnested by the server. The statement's text never
# changes, so the driver converts it once and the server plans it once; the multi-row VALUES it replaces was a
# new text for every batch size (13 placeholders a row) that psycopg split again each time (~70 µs/entry of CPU,
# benchmarks/bench_poll.py). No full-text document: an item gets one with its first mention (migration 0012,
# :func:`index_for_search`). The arrays go in binary (``%(…)b``, typed by their cast): in text form psycopg escaped
# every element with a regular expression (~80 µs of CPU an item when the article text went twice, as text and as
# document); the driver's SQL is run on the connection, its values converted here (:func:`_pg_datetime`).
_PG_INSERT_ITEMS = (
    f"INSERT INTO items ({', '.join(_ITEM_COLUMNS)}, published_at, fetched_at, first_source_id) "
    f"SELECT {', '.join(f'r.{c}' for c in _ITEM_COLUMNS)}, r.published_at, %(fetched_at)s, %(source_id)s "
    f"FROM unnest({', '.join(f'%({c})b::text[]' for c in _ITEM_COLUMNS)}, %(published_at)b::timestamptz[]) "
    f"AS r({', '.join(_ITEM_COLUMNS)}, published_at) "
    "ON CONFLICT DO NOTHING RETURNING key, id"
)
_PG_LINK_ITEMS = (
    "INSERT INTO item_sources (item_id, source_id, first_seen_at) "
    "SELECT unnest(%(item_ids)b::integer[]), %(source_id)s, %(now)s "
    "ON CONFLICT DO NOTHING RETURNING item_id"
)


def _pg_datetime(value: datetime | None) -> datetime | None:
    """What :class:`UTCDateTime` gives PostgreSQL for an aware datetime (the same instant, in UTC); a naive one is
    refused as it refuses it."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to the database; use an aware one")
    return value.astimezone(UTC)


def _insert_items(
    session: Session, fresh: Sequence[tuple[ItemDraft, str | None]], source_id: int, now: datetime
) -> list[Any]:
    """Insert new items, skipping those stored meanwhile: (key, id) of the rows this statement inserted."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        fetched_at = sqlite_datetime(now)
        created_here: list[Any] = []
        for chunk in sized_for_statements(fresh):
            values: list[Any] = []
            for d, lang in chunk:
                values += (
                    d.key,
                    d.url,
                    d.guid,
                    d.title,
                    d.text,
                    d.author,
                    d.publisher,
                    d.publisher_domain,
                    lang,
                    sqlite_datetime(d.published),
                    fetched_at,
                    source_id,
                )
            sql = _sqlite_insert(_SQLITE_ITEMS, len(chunk), "key, id")
            created_here += _sqlite_rows(connection, sql, values)
        return created_here
    # PostgreSQL (settings accept no other database)
    created: list[Any] = []
    for chunk in chunked(fresh):
        drafts = [d for d, _lang in chunk]
        columns: dict[str, Any] = {
            c: [getattr(d, c) for d in drafts] for c in _ITEM_COLUMNS if c not in {"key", "language"}
        }
        columns["key"] = [d.key for d in drafts]
        columns["language"] = [lang for _d, lang in chunk]
        columns["published_at"] = [_pg_datetime(d.published) for d in drafts]
        params = columns | {"fetched_at": _pg_datetime(now), "source_id": source_id}
        created.extend(connection.exec_driver_sql(_PG_INSERT_ITEMS, params).all())
    return created


# SQLite: the poll's rows as one multi-row ``INSERT … VALUES (?, …), … ON CONFLICT DO NOTHING RETURNING`` of prebuilt
# text with a flat list of plain values, run on the driver's connection (:func:`_sqlite_rows`, errors still translated
# as db.engine translates them). SQLAlchemy's insert of
# dicts spent ~40 µs of CPU per item building parameters and converting each datetime through two type processors
# (benchmarks/bench_poll.py); the text is built once per number of rows, one of 20 (batching.sized_for_statements), so
# SQLite's statement cache keeps a few small texts a table compiled, not one per batch size up to 500 rows.
_SQLITE_ITEMS = (*_ITEM_COLUMNS, "published_at", "fetched_at", "first_source_id")
_SQLITE_LINKS = ("item_id", "source_id", "first_seen_at")


def sqlite_datetime(value: datetime | None) -> str | None:
    """The text SQLite stores for an aware datetime: what :class:`UTCDateTime` and SQLAlchemy's SQLite DATETIME
    make of it (UTC, microseconds always written), so rows written either way compare and sort alike."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to the database; use an aware one")
    v = value.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - SQLAlchemy's own format, kept verbatim
        v.year,
        v.month,
        v.day,
        v.hour,
        v.minute,
        v.second,
        v.microsecond,
    )


@lru_cache(maxsize=64)
def _sqlite_insert(columns: tuple[str, ...], rows: int, returning: str) -> str:
    table = {_SQLITE_ITEMS: "items", _SQLITE_LINKS: "item_sources", _SQLITE_MENTIONS: "mentions"}[columns]
    row = f"({', '.join('?' * len(columns))})"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * rows)} "
        f"ON CONFLICT DO NOTHING RETURNING {returning}"
    )


def _sqlite_rows(connection: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """SQLite: ``sql`` run on the session's driver connection, in its open transaction, and its rows; the driver's
    errors raised as SQLAlchemy's would have been (db.engine). The poll's statements are prebuilt text with plain
    values: SQLAlchemy's execution of them (an execution context, a result with its metadata, the events) cost ~15 µs
    of CPU a statement, ~1,400 statements a first poll of the corpus (benchmarks/bench_poll.py)."""
    try:
        return _sqlite_driver(connection).execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise sqlite_driver_error(exc) from exc


def _sqlite_run_many(connection: Connection, sql: str, params: Sequence[Sequence[Any]]) -> None:
    """:func:`_sqlite_rows` of the driver's executemany (a statement without rows)."""
    try:
        _sqlite_driver(connection).executemany(sql, params)
    except sqlite3.Error as exc:
        raise sqlite_driver_error(exc) from exc


def _sqlite_driver(connection: Connection) -> sqlite3.Connection:
    return cast(sqlite3.Connection, connection.connection.driver_connection)


def _link_items(session: Session, item_ids: Sequence[int], source_id: int, now: datetime) -> set[int]:
    """Link items to the source (once): the ids of the links this statement made."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        seen_at = sqlite_datetime(now)
        linked_here: set[int] = set()
        for chunk in sized_for_statements(item_ids):
            values = tuple(value for item_id in chunk for value in (item_id, source_id, seen_at))
            sql = _sqlite_insert(_SQLITE_LINKS, len(chunk), "item_id")
            linked_here.update(i for (i,) in _sqlite_rows(connection, sql, values))
        return linked_here
    linked: set[int] = set()
    for chunk in chunked(item_ids):
        params = {"item_ids": list(chunk), "source_id": source_id, "now": _pg_datetime(now)}
        linked.update(i for (i,) in connection.exec_driver_sql(_PG_LINK_ITEMS, params))
    return linked


@dataclass(frozen=True, slots=True)
class StoredItem:
    id: int
    draft: ItemDraft
    language: str | None
    is_new: bool
    #: the item's stored publication date (the draft's for a new item)
    published: datetime | None = None
    #: this source had not carried the item before
    new_link: bool = False


def store_items(
    session: Session,
    drafts: Sequence[ItemDraft],
    *,
    source_id: int,
    now: datetime,
    language_of: Callable[[ItemDraft], str | None] = lambda draft: None,
    known: Mapping[str, tuple[int, datetime]] | None = None,
) -> list[StoredItem]:
    """Store new items, link every item to the source; says which items were new.

    ``language_of`` runs only for items not stored yet: language is detected once per item, at ingest.
    ``known``: what :func:`known_items` said of these drafts' keys in this transaction, when the caller asked
    first (to leave stored items' text alone); otherwise it is asked here.
    """
    if not drafts:
        return []
    keys = [d.key for d in drafts]
    known = _known(session, keys) if known is None else {k: known[k] for k in keys if k in known}
    existing = {key: id_ for key, (id_, _published) in known.items()}
    fresh = [(d, language_of(d)) for d in drafts if d.key not in existing]
    language = {d.key: lang for d, lang in fresh}
    # RETURNING gives exactly the rows this statement created: a concurrent poll that stored the same item
    # first makes it "not new" here, so it is matched (and notified) once.
    created = _insert_items(session, fresh, source_id, now)
    created_by_us = {id_ for _key, id_ in created}
    ids = existing | {key: id_ for key, id_ in created}
    ids |= _ids_by_key(session, [d.key for d, _ in fresh if d.key not in ids])
    linked = _link_items(session, [ids[key] for key in dict.fromkeys(keys)], source_id, now)
    return [
        StoredItem(
            ids[d.key],
            d,
            language.get(d.key),
            ids[d.key] in created_by_us,
            known[d.key][1] if d.key in known else d.published,
            ids[d.key] in linked,
        )
        for d in drafts
    ]


def record_success_sqlite(
    session: Session,
    source_id: int,
    now: datetime,
    *,
    next_check: datetime | None,
    validators: tuple[str | None, str | None] | None,
    title: str | None,
    history: Sequence[str] | None,
    new_links: int,
) -> None:
    """SQLite: a source's success in one UPDATE of prebuilt text on the driver (the pipeline's Core statement, as
    SQLite stores its values: dates as :func:`sqlite_datetime` writes them, the history as the JSON type's
    ``json.dumps``). ``validators``: the response's (etag, last modified), None to keep the stored ones; ``title``
    fills only an empty one; ``new_links`` > 0 adds to the source's item count and dates its last new item."""
    at = sqlite_datetime(now)
    params: list[Any] = [at, at]
    if next_check is not None:
        params.append(sqlite_datetime(next_check))
    if validators is not None:
        params += validators
    if title is not None:
        params.append(title)
    if history is not None:
        params.append(json.dumps(list(history)))
    if new_links:
        params += (new_links, at)
    params.append(source_id)
    sql = _sqlite_success(
        next_check is not None, validators is not None, title is not None, history is not None, bool(new_links)
    )
    _sqlite_rows(session.connection(), sql, params)


@lru_cache(maxsize=32)
def _sqlite_success(next_check: bool, validators: bool, title: bool, history: bool, new_links: bool) -> str:
    sets = [
        "last_checked_at = ?",
        "last_success_at = ?",
        "consecutive_failures = 0",
        "claimed_by = NULL",
        "last_error_kind = NULL",
        "last_error_message = NULL",
    ]
    if next_check:
        sets.append("next_check_at = ?")
    if validators:
        sets += ("etag = ?", "last_modified = ?")
    if title:
        sets.append("title = coalesce(title, ?)")
    if history:
        sets.append("recent_published = ?")
    if new_links:
        sets += ("item_count = item_count + ?", "last_item_at = ?")
    return f"UPDATE sources SET {', '.join(sets)} WHERE id = ?"


def poll_settings(session: Session) -> None:
    """PostgreSQL: a poll's source transaction reads tables by their indexes and commits without waiting for the
    WAL flush. SQLite plans each statement by its indexes anyway, and commits in WAL mode without a sync
    (``synchronous=NORMAL``, db/engine.py).

    Indexes: on a new database the tables are tiny when a poll's first statements are planned, and the plans a
    connection keeps (the foreign-key checks of every inserted link and mention, the story UPDATE by id) then scan
    the whole table: the first poll of the corpus read 9.3 M item rows and 0.7 M mention rows that way, one scan per
    row inserted (item_sources' inserts 0.98 s of the server's time instead of 0.07), growing with the square of the
    poll. Every lookup of a poll's transaction has an index (keys, ids, a watch's recent mentions), so none loses
    by it.

    Commit: ``synchronous_commit = off`` for this transaction only. A crash of the server (not of erepwatch) in the
    ~0.6 s after the commit (three ``wal_writer_delay``) can lose the transaction, whole, never corrupt anything:
    the source then reads as not polled (its validators and next check with its items and mentions), and the next
    poll brings the same entries again; any transaction committed after it (a delivery sent, an act) flushes it
    too. The poll stops waiting for one WAL flush per source (148 in a first poll of the corpus, ~0.7 s of its
    wall time; benchmarks/bench_poll.py)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_PG_POLL_SETTINGS)


_PG_POLL_SETTINGS = "SELECT set_config('enable_seqscan', 'off', true), set_config('synchronous_commit', 'off', true)"


def known_items(session: Session, keys: Iterable[str]) -> dict[str, tuple[int, datetime]]:
    """Items already stored, by key: their id and publication date (one query per batch of keys)."""
    return _known(session, keys)


def begin_source(session: Session, keys: Iterable[str]) -> dict[str, tuple[int, datetime]]:
    """A poll's source transaction begins: :func:`poll_settings`, then :func:`known_items` of its entries' keys. On
    PostgreSQL in one round trip (the driver's pipeline mode), where they were two of the ~10 a source's transaction
    waits for."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return _known(session, keys)
    keys = list(dict.fromkeys(keys))
    with _pipeline(connection) as driver:
        driver.execute(_PG_POLL_SETTINGS)
        cursors = [driver.execute(_PG_KNOWN, {"keys": list(chunk)}) for chunk in chunked(keys)]
    return {key: (id_, published.astimezone(UTC)) for cursor in cursors for key, id_, published in cursor.fetchall()}


def _ids_by_key(session: Session, keys: Iterable[str]) -> dict[str, int]:
    return {key: id_ for key, (id_, _published) in _known(session, keys).items()}


def _known(session: Session, keys: Iterable[str]) -> dict[str, tuple[int, datetime]]:
    """Items already stored, by key: their id and publication date (one query per batch of keys)."""
    keys = list(dict.fromkeys(keys))
    found: dict[str, tuple[int, datetime]] = {}
    if not keys:
        return found
    connection = session.connection()
    dialect = connection.dialect
    # SQLite: an IN list of as many '?' as keys is a text per count, so counts come from a set of 20.
    for chunk in sized_for_statements(keys) if dialect.name == "sqlite" else chunked(keys):
        if dialect.name == "postgresql":
            rows = connection.exec_driver_sql(_PG_KNOWN, {"keys": list(chunk)})
            found.update((key, (id_, published.astimezone(UTC))) for key, id_, published in rows)
        else:
            read = _datetime_reader(dialect)
            stored = _sqlite_rows(connection, _sqlite_known(len(chunk)), chunk)
            found.update((key, (id_, read(published))) for key, id_, published in stored)
    return found


# The known-items query as the driver's SQL, its dates read as UTCDateTime reads them: SQLAlchemy rendered the IN list
# again for every source (an expanding parameter) and processed each row. PostgreSQL: one text, the keys one binary
# array (the unique index on key answers ``= ANY``).
_PG_KNOWN = "SELECT key, id, published_at FROM items WHERE key = ANY(%(keys)b::text[])"


@lru_cache(maxsize=32)
def _sqlite_known(keys: int) -> str:
    return f"SELECT key, id, published_at FROM items WHERE key IN ({', '.join('?' * keys)})"


@lru_cache(maxsize=8)
def _datetime_reader(dialect: Dialect) -> Callable[[Any], datetime]:
    """UTCDateTime's own reading of a stored date on ``dialect`` (SQLite: its text to an aware UTC datetime)."""
    return cast(Callable[[Any], datetime], UTCDateTime().dialect_impl(dialect).result_processor(dialect, None))


@dataclass(frozen=True, slots=True)
class NewMention:
    """A mention this transaction stored: what story assignment reads of it."""

    id: int
    watch_id: int
    item_id: int
    published_at: datetime


#: The columns of a poll's mention rows (``MentionDraft.as_row``): plain values (with their PostgreSQL type), and
#: JSON ones.
_MENTION_VALUES = {
    "watch_id": "integer",
    "item_id": "integer",
    "created_at": "timestamptz",
    "published_at": "timestamptz",
    "snippet": "text",
    "sentiment": "text",
    "score": "float8",
    "notify": "boolean",
}
_MENTION_JSON = ("spans", "snippet_marks", "keywords", "tags", "why")
_POLL_MENTION_KEYS = {*_MENTION_VALUES, *_MENTION_JSON}
# PostgreSQL: a batch of mentions as one array per column, like items (one statement text whatever the batch, arrays
# in binary). The JSON columns get json.dumps' text, which is what SQLAlchemy's JSON type sends through psycopg;
# ``irrelevant`` and ``starred`` take their server defaults.
_PG_INSERT_MENTIONS = (
    f"INSERT INTO mentions ({', '.join(_MENTION_VALUES)}, {', '.join(_MENTION_JSON)}) "
    f"SELECT {', '.join(f'r.{c}' for c in _MENTION_VALUES)}, {', '.join(f'r.{c}::json' for c in _MENTION_JSON)} "
    f"FROM unnest({', '.join(f'%({c})b::{t}[]' for c, t in _MENTION_VALUES.items())}, "
    f"{', '.join(f'%({c})b::text[]' for c in _MENTION_JSON)}) "
    f"AS r({', '.join((*_MENTION_VALUES, *_MENTION_JSON))}) "
    "ON CONFLICT DO NOTHING RETURNING id, watch_id, item_id, published_at"
)


class Searchable(Protocol):
    """What the full-text index reads of an item (``MatchItem`` is one)."""

    @property
    def title(self) -> str | None: ...
    @property
    def text(self) -> str | None: ...


def insert_mentions(
    session: Session, rows: Sequence[dict[str, Any]], *, items: Mapping[int, Searchable] | None = None
) -> list[NewMention]:
    """Insert mentions (one per watch and item, whoever comes first) and return those this transaction stored, in
    id order: one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` per batch of rows (a mention a concurrent poll
    stored first is that poll's to assign a story to).

    An item is indexed for full-text search when it gets its first mention (migration 0012), by a trigger on
    ``mentions``. ``items``: the title and text of the rows' items, by id, when the caller has them: PostgreSQL's
    documents are then folded here (:func:`index_for_search`) rather than by the trigger's ``translate()``."""
    connection = session.connection()
    if items and connection.dialect.name == "postgresql":
        index_for_search(session, items)
    if connection.dialect.name == "sqlite" and all(row.keys() == _POLL_MENTION_KEYS for row in rows):
        return _insert_mentions_sqlite(session, rows)
    if connection.dialect.name == "postgresql" and all(row.keys() == _POLL_MENTION_KEYS for row in rows):
        inserted: list[Any] = []
        for chunk in chunked(rows):
            params = {key: [row[key] for row in chunk] for key in ("watch_id", "item_id", "snippet", "sentiment")}
            params["notify"] = [None if row["notify"] is None else bool(row["notify"]) for row in chunk]
            # one element type per array in binary: an int score among floats is the float it stands for
            params["score"] = [None if row["score"] is None else float(row["score"]) for row in chunk]
            params |= {key: [_pg_datetime(row[key]) for row in chunk] for key in ("created_at", "published_at")}
            params |= {key: [_dumps(row[key]) for row in chunk] for key in _MENTION_JSON}
            inserted.extend(
                (id_, watch_id, item_id, published.astimezone(UTC))
                for id_, watch_id, item_id, published in connection.exec_driver_sql(_PG_INSERT_MENTIONS, params)
            )
    else:
        inserted = insert_ignore(
            session,
            Mention.__table__,
            rows,
            returning=(Mention.id, Mention.watch_id, Mention.item_id, Mention.published_at),
        )
    return sorted(
        (NewMention(id_, watch_id, item_id, published) for id_, watch_id, item_id, published in inserted),
        key=lambda m: m.id,
    )


# PostgreSQL: the documents of items about to get a mention, folded in Python (:func:`document_text`) and split by
# the server, for the items that have none yet; in id order, so two writers that index the same items wait for each
# other instead of deadlocking.
_PG_INDEX_ITEMS = (
    "UPDATE items SET fts_document = to_tsvector('simple'::regconfig, r.document) "
    "FROM unnest(%(ids)b::integer[], %(document)b::text[]) AS r(id, document) "
    "WHERE items.id = r.id AND items.fts_document IS NULL"
)


def index_for_search(session: Session, items: Mapping[int, Searchable]) -> None:
    """PostgreSQL: give these items their full-text document if they have none (an item has one from its first
    mention, migration 0012). SQLite's trigger reads the item's row itself: nothing to do there."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    for chunk in chunked(sorted(items)):
        connection.exec_driver_sql(_PG_INDEX_ITEMS, _index_params(chunk, items))


def _index_params(ids: Sequence[int], items: Mapping[int, Searchable]) -> dict[str, Any]:
    return {"ids": list(ids), "document": [document_text(items[i].title, items[i].text) for i in ids]}


@contextmanager
def indexing_for_search(session: Session, items: Mapping[int, Searchable]) -> Iterator[None]:
    """:func:`index_for_search` done by PostgreSQL while the body runs: the statements go in the driver's pipeline
    mode, sent whole and not waited for, and leaving the block waits for them (their errors are raised there, as a
    :class:`StorageError`). The body must not use the session. SQLite: nothing to do, the body just runs.

    Splitting the documents into words (``to_tsvector``, ~0.2 µs a character) is most of the server's time in a first
    poll (~0.8 s of ~1.7 s on the corpus); the poll analyses the mentions meanwhile (benchmarks/bench_poll.py)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql" or not items:
        yield
        return
    from psycopg.generators import send

    with _pipeline(connection) as driver:
        for chunk in chunked(sorted(items)):
            driver.execute(_PG_INDEX_ITEMS, _index_params(chunk, items))
        # The pipeline sends what the socket takes at once: push the rest (the documents run to megabytes), so the
        # server has whole statements to work on while the body runs.
        driver.wait(send(driver.pgconn))
        yield


@contextmanager
def _pipeline(connection: Connection) -> Iterator[psycopg.Connection[Any]]:
    """PostgreSQL: the session's driver connection in pipeline mode (statements sent without waiting for their
    results; leaving waits for them all), its errors raised as SQLAlchemy's would have been (db.engine)."""
    from psycopg import Connection as Driver
    from psycopg import Error, InterfaceError, OperationalError

    driver = cast(Driver[Any], connection.connection.driver_connection)
    try:
        with driver.pipeline():
            yield driver
    except Error as exc:
        raise driver_error(exc, unavailable=isinstance(exc, OperationalError | InterfaceError)) from exc


def _json_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with its defaults (what SQLAlchemy's JSON type writes for these columns), the same text, from
    one C encoder made once: ``dumps`` makes one at every call, through three Python calls (a poll encodes five
    values a mention: ~14 µs of CPU a mention, ~5 this way). No check for circular references: a mention's row is
    lists and dicts made for it (``MentionDraft.as_row``)."""
    from json.encoder import JSONEncoder, encode_basestring_ascii

    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # a Python without the C accelerator
        return json.dumps
    defaults = JSONEncoder()
    encode = c_make_encoder(
        None,
        defaults.default,
        encode_basestring_ascii,
        defaults.indent,
        defaults.key_separator,
        defaults.item_separator,
        defaults.sort_keys,
        defaults.skipkeys,
        defaults.allow_nan,
    )

    def dumps(value: Any) -> str:
        if isinstance(value, str):
            return encode_basestring_ascii(value)
        return "".join(encode(value, 0))

    return dumps


_dumps = _json_encoder()


#: SQLite: a poll's mention row as the SQL text's values (``irrelevant`` and ``starred`` given as SQLAlchemy's insert
#: gave them, the model's defaults).
_SQLITE_MENTIONS = (*_MENTION_VALUES, *_MENTION_JSON, "irrelevant", "starred")


def _insert_mentions_sqlite(session: Session, rows: Sequence[dict[str, Any]]) -> list[NewMention]:
    """:func:`insert_mentions` on SQLite, for a poll's rows: prebuilt text, plain values (JSON as json.dumps' text,
    what SQLAlchemy's JSON type writes); the stored publication date is the row's, in UTC."""
    connection = session.connection()
    published = {(row["watch_id"], row["item_id"]): row["published_at"] for row in rows}
    inserted: list[NewMention] = []
    dumps = _dumps
    for chunk in sized_for_statements(rows):
        params: list[Any] = []
        for r in chunk:
            params += (
                r["watch_id"],
                r["item_id"],
                sqlite_datetime(r["created_at"]),
                sqlite_datetime(r["published_at"]),
                r["snippet"],
                r["sentiment"],
                r["score"],
                r["notify"],
                dumps(r["spans"]),
                dumps(r["snippet_marks"]),
                dumps(r["keywords"]),
                dumps(r["tags"]),
                dumps(r["why"]),
                False,
                False,
            )
        sql = _sqlite_insert(_SQLITE_MENTIONS, len(chunk), "id, watch_id, item_id")
        inserted += (
            NewMention(id_, watch_id, item_id, published[watch_id, item_id].astimezone(UTC))
            for id_, watch_id, item_id in _sqlite_rows(connection, sql, params)
        )
    inserted.sort(key=lambda m: m.id)
    return inserted


def set_stories(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Give mentions their story (keys ``mention_id``, ``cluster_id``, ``cluster_reason``, ``cluster_score``,
    ``cluster_match_id``): SQLite, the driver's executemany of one UPDATE; PostgreSQL, one UPDATE joined to the
    batch's arrays."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # Plain tuples into the driver's executemany (SQLAlchemy's dicts cost more than SQLite's UPDATE itself).
        params = [
            (r["cluster_id"], r["cluster_reason"], r["cluster_score"], r["cluster_match_id"], r["mention_id"])
            for r in rows
        ]
        _sqlite_run_many(connection, _SQLITE_SET_STORY, params)
    else:
        # One UPDATE joined to the batch's arrays (binary): psycopg's executemany sent a statement per row, each
        # dumped in Python. A mention given twice keeps its last row, as the executemany's last UPDATE left it.
        last = {r["mention_id"]: r for r in rows}
        for chunk in chunked(list(last.values())):
            connection.exec_driver_sql(
                _PG_SET_STORY,
                {
                    "mention_id": [r["mention_id"] for r in chunk],
                    "cluster_id": [r["cluster_id"] for r in chunk],
                    "cluster_reason": [r["cluster_reason"] for r in chunk],
                    "cluster_score": [None if r["cluster_score"] is None else float(r["cluster_score"]) for r in chunk],
                    "cluster_match_id": [r["cluster_match_id"] for r in chunk],
                },
            )


_PG_SET_STORY = (
    "UPDATE mentions AS m SET cluster_id = r.cluster_id, cluster_reason = r.cluster_reason, "
    "cluster_score = r.cluster_score, cluster_match_id = r.cluster_match_id "
    "FROM unnest(%(mention_id)b::integer[], %(cluster_id)b::integer[], %(cluster_reason)b::text[], "
    "%(cluster_score)b::float8[], %(cluster_match_id)b::integer[]) "
    "AS r(mention_id, cluster_id, cluster_reason, cluster_score, cluster_match_id) WHERE m.id = r.mention_id"
)
_SQLITE_SET_STORY = (
    "UPDATE mentions SET cluster_id = ?, cluster_reason = ?, cluster_score = ?, cluster_match_id = ? WHERE id = ?"
)


def save_embeddings(session: Session, mention_ids: Sequence[int], kind: str, model_version: str, vectors: Any) -> None:
    """Store one float32 vector per mention (replacing any earlier one of that kind, e.g. of an older model)."""
    if not mention_ids:
        return
    import numpy as np

    ids = list(mention_ids)
    for chunk in chunked(ids):
        session.execute(
            delete(MentionEmbedding).where(MentionEmbedding.mention_id.in_(chunk), MentionEmbedding.kind == kind)
        )
    rows = [
        {
            "mention_id": mention_id,
            "kind": kind,
            "model_version": model_version,
            "vector": np.asarray(vector, dtype="<f4").tobytes(),
        }
        for mention_id, vector in zip(ids, vectors, strict=True)
    ]
    session.execute(insert(MentionEmbedding), rows)


def load_embeddings(session: Session, mention_ids: Sequence[int], kind: str, model_version: str) -> dict[int, Any]:
    """The stored vectors of these mentions made by ``model_version`` (stale ones are left out)."""
    import numpy as np

    out: dict[int, Any] = {}
    ids = list(mention_ids)
    for chunk in chunked(ids):
        rows = session.execute(
            select(MentionEmbedding.mention_id, MentionEmbedding.vector).where(
                MentionEmbedding.mention_id.in_(chunk),
                MentionEmbedding.kind == kind,
                MentionEmbedding.model_version == model_version,
            )
        )
        for mention_id, blob in rows:
            out[mention_id] = np.frombuffer(blob, dtype="<f4")
    return out


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (its result is a cursor result; the ORM's typing says only Result)."""
    return cast("CursorResult[Any]", result).rowcount or 0
