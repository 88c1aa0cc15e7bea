"""web app: irrelevant/starred mentions, acts journal, muted publishers, keyset index, full-text index

The full-text index is the database's own: an FTS5 table kept by triggers on SQLite, a GIN expression
index on PostgreSQL (the expression is repeated in ``erepwatch.db.search``; keep them equal).

Revision ID: 0005_web_acts_search
Revises: 0004_mention_why
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_web_acts_search"
down_revision = "0004_mention_why"
branch_labels = None
depends_on = None

PG_FTS = (
    "CREATE INDEX ix_items_fts ON items USING gin "
    "(to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || left(coalesce(text, ''), 100000)))"
)
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE items_fts USING fts5(title, text, content='items', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER items_fts_ai AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER items_fts_ad AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER items_fts_au AFTER UPDATE OF title, text ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO items_fts(items_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("irrelevant", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("starred", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index("ix_mentions_published_id", ["published_at", "id"], unique=False)
    op.create_table(
        "watch_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["watch_id"], ["watches.id"], name=op.f("fk_watch_mutes_watch_id_watches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_mutes")),
        sa.UniqueConstraint("watch_id", "domain", name="uq_watch_mutes_watch_domain"),
    )
    op.create_table(
        "acts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=True),
        sa.Column("mention_id", sa.Integer(), nullable=True),
        sa.Column("domain", sa.String(length=300), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mentions.id"], name=op.f("fk_acts_mention_id_mentions"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["watch_id"], ["watches.id"], name=op.f("fk_acts_watch_id_watches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acts")),
    )
    op.create_index(op.f("ix_acts_mention_id"), "acts", ["mention_id"], unique=False)
    op.create_index(op.f("ix_acts_watch_id"), "acts", ["watch_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(PG_FTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("items_fts_ai", "items_fts_ad", "items_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS items_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_items_fts")
    op.drop_index(op.f("ix_acts_watch_id"), table_name="acts")
    op.drop_index(op.f("ix_acts_mention_id"), table_name="acts")
    op.drop_table("acts")
    op.drop_table("watch_mutes")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_published_id")
        batch_op.drop_column("starred")
        batch_op.drop_column("irrelevant")
