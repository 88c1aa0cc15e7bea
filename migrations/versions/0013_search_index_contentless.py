"""SQLite: the full-text index keeps no copy of the mentioned items' title and text (a contentless FTS5 table)

0012's ``items_fts`` held its own copy of what it indexed, so a first poll of the real corpus wrote the 3.2 M
characters of its 903 matched items twice (in ``items`` and in ``items_fts_content``): 3.6 MB of a 17.5 MB database,
and as many more pages for each source's commit to write to the WAL. Nothing reads that copy: search only asks
FTS5 for rowids (``erepwatch.db.search.full_text``). The table is now contentless (``content=''``), which indexes
the same words from the same text, so every search finds what it found.

A contentless table has no content to delete a row by: FTS5's ``'delete'`` command is given the values that were
indexed, which are the item's row as the triggers see it (``old.title``, ``old.text``: the index follows every
UPDATE of them). Whether an item is indexed is told by ``items_fts_docsize``, FTS5's own table of one row per indexed
document (a ``rowid`` lookup on a contentless table cannot say it). A ``'delete'`` of a row never indexed, or with
other values than those indexed, would corrupt the index, hence the ``WHEN`` on both triggers.

The upgrade builds the index again from the mentioned items' rows (as 0012's upgrade did): 0.56 s for a database
holding a first poll of the corpus (903 indexed items, 3.2 M characters, the same 542,196 words and positions after
it; load ~7), time that grows with the mentioned items' text; ``items`` is locked meanwhile, so stop the daemon
first. The downgrade restores 0012's table with its copy. PostgreSQL is unchanged (its document is a column of
``items``).

Revision ID: 0013_search_index_contentless
Revises: 0012_search_mentioned_items
"""

from __future__ import annotations

from alembic import op

revision = "0013_search_index_contentless"
down_revision = "0012_search_mentioned_items"
branch_labels = None
depends_on = None

TOKENIZER = "tokenize='unicode61 remove_diacritics 2'"
#: An item is indexed when FTS5 holds its document's size: one b-tree probe of a plain table.
_INDEXED = "EXISTS (SELECT 1 FROM items_fts_docsize WHERE id = {row}.{column})"
_DROP = [
    "DROP TRIGGER IF EXISTS items_fts_mention",
    "DROP TRIGGER IF EXISTS items_fts_ad",
    "DROP TRIGGER IF EXISTS items_fts_au",
    "DROP TABLE IF EXISTS items_fts",
]
_REINDEX = (
    "INSERT INTO items_fts(rowid, title, text) "
    "SELECT id, title, text FROM items WHERE id IN (SELECT item_id FROM mentions) ORDER BY id"
)
SQLITE_UP = [
    *_DROP,
    f"CREATE VIRTUAL TABLE items_fts USING fts5(title, text, content='', {TOKENIZER})",
    "CREATE TRIGGER items_fts_mention AFTER INSERT ON mentions "
    f"WHEN NOT {_INDEXED.format(row='new', column='item_id')} BEGIN "
    "INSERT INTO items_fts(rowid, title, text) SELECT id, title, text FROM items WHERE id = new.item_id; END",
    f"CREATE TRIGGER items_fts_ad AFTER DELETE ON items WHEN {_INDEXED.format(row='old', column='id')} BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER items_fts_au AFTER UPDATE OF title, text ON items "
    f"WHEN {_INDEXED.format(row='new', column='id')} BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    _REINDEX,
]
#: 0012's table with its own copy, and its triggers.
SQLITE_DOWN = [
    *_DROP,
    f"CREATE VIRTUAL TABLE items_fts USING fts5(title, text, {TOKENIZER})",
    "CREATE TRIGGER items_fts_mention AFTER INSERT ON mentions "
    "WHEN NOT EXISTS (SELECT 1 FROM items_fts WHERE rowid = new.item_id) BEGIN "
    "INSERT INTO items_fts(rowid, title, text) SELECT id, title, text FROM items WHERE id = new.item_id; END",
    "CREATE TRIGGER items_fts_ad AFTER DELETE ON items BEGIN DELETE FROM items_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER items_fts_au AFTER UPDATE OF title, text ON items "
    "WHEN EXISTS (SELECT 1 FROM items_fts WHERE rowid = new.id) BEGIN "
    "UPDATE items_fts SET title = new.title, text = new.text WHERE rowid = new.id; END",
    _REINDEX,
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
