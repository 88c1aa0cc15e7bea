"""saved watch groups (share of voice "my brand vs competitors"); accent-folded full-text search on PostgreSQL;
read paths of the combined web filters

* ``watch_groups`` and ``watch_group_members``: a named group of watches, each a ``brand`` or a ``competitor``;
  the trends page shows the share of voice of a saved group (issue 13, point 3). A watch deleted leaves its groups.
* PostgreSQL: ``items.fts_document`` folds accents before it splits words, as SQLite's FTS5 table does
  (``unicode61 remove_diacritics 2``), so "greve" finds "grève". ``translate()`` with a fixed table is immutable,
  so the generated column needs no extension (``unaccent`` is not immutable and needs a superuser to install).
  ``erepwatch.db.search`` folds the searched words with the same table (a test compares them).
* ``ix_mentions_watch_published`` gains ``id``: a watch's list walks it backwards in the list's own order
  (published_at, id) and stops at a page, instead of sorting every mention of the watch.
* PostgreSQL statistics on ``tags::jsonb``: without them the planner guessed 0.1 % for any tag and sorted every
  mention of a watch instead of walking its index (227 ms → 3 ms for watch + tag + search at 100,000 mentions,
  benchmarks/bench_web.py).

Revision ID: 0010_watch_groups
Revises: 0009_web_filter_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_watch_groups"
down_revision = "0009_web_filter_indexes"
branch_labels = None
depends_on = None

#: Latin letters with a diacritic (U+00C0–U+024F whose NFKD form is one ASCII letter) and that letter; frozen here
#: because the stored column depends on it (erepwatch.db.search.FOLD_FROM/FOLD_TO must stay equal).
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
_TEXT = "coalesce(title, '') || ' ' || left(coalesce(text, ''), 100000)"
OLD_DOCUMENT = f"to_tsvector('simple'::regconfig, {_TEXT})"
NEW_DOCUMENT = f"to_tsvector('simple'::regconfig, translate({_TEXT}, '{FOLD_FROM}', '{FOLD_TO}'))"


def _document(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_items_fts_document")
    op.execute("ALTER TABLE items DROP COLUMN IF EXISTS fts_document")
    op.execute(f"ALTER TABLE items ADD COLUMN fts_document tsvector GENERATED ALWAYS AS ({expression}) STORED")
    op.execute("CREATE INDEX ix_items_fts_document ON items USING gin (fts_document)")


def upgrade() -> None:
    op.create_table(
        "watch_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_watch_groups"),
        sa.UniqueConstraint("name", name="uq_watch_groups_name"),
    )
    op.create_table(
        "watch_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["watch_groups.id"], name="fk_watch_group_members_group_id_watch_groups", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["watch_id"], ["watches.id"], name="fk_watch_group_members_watch_id_watches", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "watch_id", name="pk_watch_group_members"),
    )
    op.drop_index("ix_mentions_watch_published", table_name="mentions")
    op.create_index("ix_mentions_watch_published", "mentions", ["watch_id", "published_at", "id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _document(NEW_DOCUMENT)
    if bind.dialect.server_version_info >= (14,):
        op.execute("CREATE STATISTICS IF NOT EXISTS st_mentions_tags ON ((tags::jsonb)) FROM mentions")
    op.execute("ANALYZE mentions")
    op.execute("ANALYZE items")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_mentions_tags")
        _document(OLD_DOCUMENT)
    op.drop_index("ix_mentions_watch_published", table_name="mentions")
    op.create_index("ix_mentions_watch_published", "mentions", ["watch_id", "published_at"], unique=False)
    op.drop_table("watch_group_members")
    op.drop_table("watch_groups")
