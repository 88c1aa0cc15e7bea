"""Writing what a poll found: items once per identity, their sources, and mentions once per watch.

Inserts use the backend's "insert or ignore" (``ON CONFLICT DO NOTHING``) so that the daemon and a CLI
``poll`` running at the same moment never fail on each other's rows: whoever comes second just links.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    Column,
    CursorResult,
    Executable,
    FromClause,
    MetaData,
    Result,
    Table,
    TableClause,
    Text,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from erepwatch.batching import chunked
from erepwatch.db.models import Item, ItemSource, Mention, MentionEmbedding
from erepwatch.db.search import document_text
from erepwatch.records import ItemDraft

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


_ITEMS = cast(Table, Item.__table__)


@lru_cache(maxsize=1)
def _pg_insert_items() -> Executable:
    """PostgreSQL: items sent with their full-text document's folded text (``fts_text``, :func:`document_text`),
    which the server only splits into words (migration 0011: its ``translate()`` cost ~1 µs a character)."""
    items = _ITEMS.to_metadata(MetaData())  # the model leaves out this PostgreSQL-only column
    items.append_column(Column("fts_document", postgresql.TSVECTOR))
    document = func.to_tsvector(literal_column("'simple'::regconfig"), bindparam("fts_text", type_=Text))
    return (
        postgresql.insert(items)
        .values(fts_document=document)
        .on_conflict_do_nothing()
        .returning(items.c.key, items.c.id)
    )


def _insert_items(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert item rows, skipping those stored meanwhile: (key, id) of the rows this statement inserted."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return insert_ignore(session, _ITEMS, rows, returning=(Item.key, Item.id))
    for row in rows:
        row["fts_text"] = document_text(row["title"], row["text"])
    statement = _pg_insert_items()
    created: list[Any] = []
    for chunk in chunked(rows):
        created.extend(connection.execute(statement, list(chunk)).all())
    return created


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
    created = _insert_items(
        session,
        [
            {
                "key": d.key,
                "url": d.url,
                "guid": d.guid,
                "title": d.title,
                "text": d.text,
                "author": d.author,
                "publisher": d.publisher,
                "publisher_domain": d.publisher_domain,
                "language": lang,
                "published_at": d.published,
                "fetched_at": now,
                "first_source_id": source_id,
            }
            for d, lang in fresh
        ],
    )
    created_by_us = {id_ for _key, id_ in created}
    ids = existing | {key: id_ for key, id_ in created}
    ids |= _ids_by_key(session, [d.key for d, _ in fresh if d.key not in ids])
    linked = {
        item_id
        for (item_id,) in insert_ignore(
            session,
            ItemSource.__table__,
            [{"item_id": ids[key], "source_id": source_id, "first_seen_at": now} for key in dict.fromkeys(keys)],
            returning=(ItemSource.item_id,),
        )
    }
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


def known_items(session: Session, keys: Iterable[str]) -> dict[str, tuple[int, datetime]]:
    """Items already stored, by key: their id and publication date (one query per batch of keys)."""
    return _known(session, keys)


def _ids_by_key(session: Session, keys: Iterable[str]) -> dict[str, int]:
    return {key: id_ for key, (id_, _published) in _known(session, keys).items()}


def _known(session: Session, keys: Iterable[str]) -> dict[str, tuple[int, datetime]]:
    """Items already stored, by key: their id and publication date (one query per batch of keys)."""
    keys = list(dict.fromkeys(keys))
    found: dict[str, tuple[int, datetime]] = {}
    for chunk in chunked(keys):
        query = select(Item.key, Item.id, Item.published_at).where(Item.key.in_(chunk))
        found.update((key, (id_, published)) for key, id_, published in session.execute(query))
    return found


@dataclass(frozen=True, slots=True)
class NewMention:
    """A mention this transaction stored: what story assignment reads of it."""

    id: int
    watch_id: int
    item_id: int
    published_at: datetime


def insert_mentions(session: Session, rows: Sequence[dict[str, Any]]) -> list[NewMention]:
    """Insert mentions (one per watch and item, whoever comes first) and return those this transaction stored, in
    id order: one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` per batch of rows (a mention a concurrent poll
    stored first is that poll's to assign a story to)."""
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


_MENTIONS = cast(Table, Mention.__table__)
_SET_STORY = (
    update(_MENTIONS)
    .where(_MENTIONS.c.id == bindparam("mention_id"))
    .values(
        cluster_id=bindparam("cluster_id"),
        cluster_reason=bindparam("cluster_reason"),
        cluster_score=bindparam("cluster_score"),
        cluster_match_id=bindparam("cluster_match_id"),
    )
)


def set_stories(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Give mentions their story (keys ``mention_id``, ``cluster_id``, ``cluster_reason``, ``cluster_score``,
    ``cluster_match_id``): one UPDATE statement executed for all the rows (``executemany``; psycopg sends a batch in
    one pipeline)."""
    if rows:
        session.connection().execute(_SET_STORY, list(rows))


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
