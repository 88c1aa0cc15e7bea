"""web filters: indexes for the site, language and starred filters of the mentions list and the trends; the
PostgreSQL full-text document stored in a generated column ``items.fts_document`` (GIN-indexed)

The list reads mentions in (published_at, id) order and tests item columns without reading the items' rows (their
long text comes first): the set of a site's items from ``ix_items_publisher_domain``, an item's site and language
from the covering ``ix_items_id_domain_language`` (also what the trends count by site); the trends read the
mentions from the covering ``ix_mentions_trends`` alone.

Revision ID: 0009_web_filter_indexes
Revises: 0008_mention_read_paths
"""

from __future__ import annotations

from alembic import op

revision = "0009_web_filter_indexes"
down_revision = "0008_mention_read_paths"
branch_labels = None
depends_on = None


PG_DOCUMENT = "to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || left(coalesce(text, ''), 100000))"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The searched words stored once per item (not recomputed for each row a common word's search checks).
        op.execute(f"ALTER TABLE items ADD COLUMN fts_document tsvector GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED")
        op.execute("CREATE INDEX ix_items_fts_document ON items USING gin (fts_document)")
        op.execute("DROP INDEX IF EXISTS ix_items_fts")
    op.create_index("ix_items_publisher_domain", "items", ["publisher_domain"], unique=False)
    op.create_index("ix_items_id_domain_language", "items", ["id", "publisher_domain", "language"], unique=False)
    op.create_index("ix_mentions_starred_published", "mentions", ["starred", "published_at"], unique=False)
    op.create_index(
        "ix_mentions_trends", "mentions",
        ["watch_id", "published_at", "sentiment", "cluster_id", "irrelevant", "item_id"], unique=False,
    )  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_items_fts ON items USING gin ({PG_DOCUMENT})")
        op.execute("DROP INDEX IF EXISTS ix_items_fts_document")
        op.execute("ALTER TABLE items DROP COLUMN fts_document")
    op.drop_index("ix_mentions_trends", table_name="mentions")
    op.drop_index("ix_mentions_starred_published", table_name="mentions")
    op.drop_index("ix_items_id_domain_language", table_name="items")
    op.drop_index("ix_items_publisher_domain", table_name="items")
