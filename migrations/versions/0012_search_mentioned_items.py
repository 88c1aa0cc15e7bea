"""full-text index of the items that have a mention only, written when an item gets its first mention

Full-text search only ever filters mentions (``erepwatch.db.search.full_text``, read by ``db.mention_views``: the
web list, ``mentions --search``, the API and the Atom feeds), so an item no watch matched is never a result: indexing
it was a cost paid at every insert for nothing. On the real corpus 4,322 items are stored for 1,185 mentions, and a
real watch list matches a smaller share of what it fetches. An item is now indexed when it gets its first mention,
by whatever path makes it (the poll, the backfill of a new watch, any other insert), from a trigger on ``mentions``;
it stays indexed until the item itself is deleted (a mention deleted leaves the entry: searches go through the
mentions anyway, and a later mention of the item finds it indexed).

* SQLite: ``items_fts`` becomes an FTS5 table with its own copy of the title and text (of the mentioned items only)
  instead of an external-content table over ``items``. Deleting from an external-content table needs the very
  values that were indexed, and a row never indexed must not be deleted at all (it corrupts the index); with its
  own content FTS5 deletes a row by its rowid, and deleting a rowid it does not hold does nothing. (SQLite 3.43's
  ``contentless_delete`` would avoid the copy; the SQLite of Python builds in use is older.)
* PostgreSQL: ``items.fts_document`` stays NULL until the item's first mention, and the GIN index is partial
  (``WHERE fts_document IS NOT NULL``; ``@@`` is strict, so the planner uses it for every search). The poll and the
  backfill write the folded document themselves just before the mentions (``db.store.insert_mentions``: folded in
  Python, as since 0011); the trigger on ``mentions`` folds with the server's ``translate()`` (~1 µs a character)
  only for a writer that did not. The trigger on ``items`` no longer runs on INSERT; it recomputes the document of
  an indexed item whose title or text an UPDATE changes.

The upgrade empties the document of every item without a mention, which on PostgreSQL writes a new version of each
of those rows (most of ``items`` on a long history; not timed at a million items yet), then builds the partial index
over the rest; on SQLite it drops the old index and indexes the mentioned items again. ``items`` is locked
meanwhile: stop the daemon first, as for the earlier full-text migrations.

Revision ID: 0012_search_mentioned_items
Revises: 0011_fts_document_written
"""

from __future__ import annotations

from alembic import op

revision = "0012_search_mentioned_items"
down_revision = "0011_fts_document_written"
branch_labels = None
depends_on = None

# SQLite ---------------------------------------------------------------------------------------------------------

TOKENIZER = "tokenize='unicode61 remove_diacritics 2'"
SQLITE_UP = [
    "DROP TRIGGER IF EXISTS items_fts_ai",
    "DROP TRIGGER IF EXISTS items_fts_ad",
    "DROP TRIGGER IF EXISTS items_fts_au",
    "DROP TABLE IF EXISTS items_fts",
    f"CREATE VIRTUAL TABLE items_fts USING fts5(title, text, {TOKENIZER})",
    # The rowid lookup is FTS5's own (its content table's primary key): "already indexed" costs one b-tree probe.
    "CREATE TRIGGER items_fts_mention AFTER INSERT ON mentions "
    "WHEN NOT EXISTS (SELECT 1 FROM items_fts WHERE rowid = new.item_id) BEGIN "
    "INSERT INTO items_fts(rowid, title, text) SELECT id, title, text FROM items WHERE id = new.item_id; END",
    "CREATE TRIGGER items_fts_ad AFTER DELETE ON items BEGIN DELETE FROM items_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER items_fts_au AFTER UPDATE OF title, text ON items "
    "WHEN EXISTS (SELECT 1 FROM items_fts WHERE rowid = new.id) BEGIN "
    "UPDATE items_fts SET title = new.title, text = new.text WHERE rowid = new.id; END",
    "INSERT INTO items_fts(rowid, title, text) "
    "SELECT id, title, text FROM items WHERE id IN (SELECT item_id FROM mentions) ORDER BY id",
]
#: 0005's external-content table and triggers (every item indexed), for the downgrade.
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS items_fts_mention",
    "DROP TRIGGER IF EXISTS items_fts_ad",
    "DROP TRIGGER IF EXISTS items_fts_au",
    "DROP TABLE IF EXISTS items_fts",
    f"CREATE VIRTUAL TABLE items_fts USING fts5(title, text, content='items', content_rowid='id', {TOKENIZER})",
    "CREATE TRIGGER items_fts_ai AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER items_fts_ad AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER items_fts_au AFTER UPDATE OF title, text ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO items_fts(items_fts) VALUES ('rebuild')",
]

# PostgreSQL -----------------------------------------------------------------------------------------------------

#: 0010's table, frozen here too (the document must stay the one 0010's column gave; see 0011).
FOLD_FROM = (
    "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨ"
    "ĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚ"
    "ǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ"
)
FOLD_TO = (
    "AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhI"
    "iIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzsOoUuAaIiOoUuUuUuUu"
    "UuAaAaGgKkOoOojGgNnAaAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy"
)
_TEXT = "coalesce({p}title, '') || ' ' || left(coalesce({p}text, ''), 100000)"


def document(prefix: str = "") -> str:
    """0010's expression on the columns of ``prefix`` (``''``: the row's; ``'NEW.'``: a trigger's new row)."""
    return f"to_tsvector('simple'::regconfig, translate({_TEXT.format(p=prefix)}, '{FOLD_FROM}', '{FOLD_TO}'))"


#: An indexed item whose title or text an UPDATE changes without giving a document gets the new one.
ITEMS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION items_fts_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.fts_document IS NOT NULL AND NEW.fts_document IS NOT DISTINCT FROM OLD.fts_document
       AND (NEW.title IS DISTINCT FROM OLD.title OR NEW.text IS DISTINCT FROM OLD.text) THEN
        NEW.fts_document := {document("NEW.")};
    END IF;
    RETURN NEW;
END
$$
"""
#: A mention's item gets its document if it has none (a PK probe when the writer already gave it).
MENTIONS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION mentions_index_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE items SET fts_document = {document()} WHERE id = NEW.item_id AND fts_document IS NULL;
    RETURN NULL;
END
$$
"""
#: 0011's function and trigger (every item indexed at its INSERT), for the downgrade.
ITEMS_FUNCTION_0011 = f"""
CREATE OR REPLACE FUNCTION items_fts_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.fts_document IS NULL
       OR (TG_OP = 'UPDATE' AND NEW.fts_document IS NOT DISTINCT FROM OLD.fts_document
           AND (NEW.title IS DISTINCT FROM OLD.title OR NEW.text IS DISTINCT FROM OLD.text)) THEN
        NEW.fts_document := {document("NEW.")};
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    # The index goes first: emptying the documents of unmentioned items then maintains no GIN entry, and the
    # partial index is built once over what stays.
    op.execute("DROP INDEX IF EXISTS ix_items_fts_document")
    op.execute("DROP TRIGGER IF EXISTS items_fts_document ON items")
    op.execute(ITEMS_FUNCTION)
    op.execute(
        "CREATE TRIGGER items_fts_document BEFORE UPDATE OF title, text ON items "
        "FOR EACH ROW EXECUTE FUNCTION items_fts_document()"
    )
    op.execute(
        "UPDATE items SET fts_document = NULL WHERE fts_document IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM mentions WHERE mentions.item_id = items.id)"
    )
    op.execute(MENTIONS_FUNCTION)
    op.execute(
        "CREATE TRIGGER mentions_index_item AFTER INSERT ON mentions "
        "FOR EACH ROW EXECUTE FUNCTION mentions_index_item()"
    )
    op.execute("CREATE INDEX ix_items_fts_document ON items USING gin (fts_document) WHERE fts_document IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
        return
    op.execute("DROP TRIGGER IF EXISTS mentions_index_item ON mentions")
    op.execute("DROP FUNCTION IF EXISTS mentions_index_item()")
    op.execute("DROP INDEX IF EXISTS ix_items_fts_document")
    op.execute("DROP TRIGGER IF EXISTS items_fts_document ON items")
    op.execute(ITEMS_FUNCTION_0011)
    op.execute(f"UPDATE items SET fts_document = {document()} WHERE fts_document IS NULL")
    op.execute(
        "CREATE TRIGGER items_fts_document BEFORE INSERT OR UPDATE OF title, text, fts_document ON items "
        "FOR EACH ROW EXECUTE FUNCTION items_fts_document()"
    )
    op.execute("CREATE INDEX ix_items_fts_document ON items USING gin (fts_document)")
