"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 02:51:48.992977
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("at_time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekday", sa.String(length=10), nullable=True),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("min_sentiment", sa.String(length=10), nullable=True),
        sa.Column("send_empty", sa.Boolean(), nullable=False),
        sa.Column("notify_urls", sa.JSON(), nullable=False),
        sa.Column("watch_ids", sa.JSON(), nullable=False),
        sa.Column("digest_cursor", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipients")),
        sa.UniqueConstraint("email", name=op.f("uq_recipients_email")),
    )
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("fuzzy", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watches")),
        sa.UniqueConstraint("name", name=op.f("uq_watches_name")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mention_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["recipients.id"], name=op.f("fk_deliveries_recipient_id_recipients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("message_id", name=op.f("uq_deliveries_message_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index("ix_deliveries_status_next", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=40), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_kind", sa.String(length=30), nullable=True),
        sa.Column("last_error_message", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["watch_id"], ["watches.id"], name=op.f("fk_sources_watch_id_watches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
        sa.UniqueConstraint("url", name=op.f("uq_sources_url")),
    )
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sources_next_check_at"), ["next_check_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sources_watch_id"), ["watch_id"], unique=False)

    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=2100), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("guid", sa.String(length=2000), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=500), nullable=True),
        sa.Column("publisher", sa.String(length=500), nullable=True),
        sa.Column("publisher_domain", sa.String(length=300), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_source_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["first_source_id"], ["sources.id"], name=op.f("fk_items_first_source_id_sources"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("key", name=op.f("uq_items_key")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_fetched_at"), ["fetched_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_published_at"), ["published_at"], unique=False)

    op.create_table(
        "item_sources",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_sources_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_item_sources_source_id_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "source_id", name=op.f("pk_item_sources")),
    )
    with op.batch_alter_table("item_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_sources_source_id"), ["source_id"], unique=False)

    op.create_table(
        "mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("snippet_marks", sa.JSON(), nullable=False),
        sa.Column("sentiment", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_mentions_item_id_items"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["watch_id"], ["watches.id"], name=op.f("fk_mentions_watch_id_watches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentions")),
        sa.UniqueConstraint("watch_id", "item_id", name="uq_mentions_watch_item"),
    )
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mentions_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mentions_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_mentions_item_id"), ["item_id"], unique=False)
        batch_op.create_index("ix_mentions_watch_published", ["watch_id", "published_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_watch_published")
        batch_op.drop_index(batch_op.f("ix_mentions_item_id"))
        batch_op.drop_index(batch_op.f("ix_mentions_created_at"))
        batch_op.drop_index(batch_op.f("ix_mentions_cluster_id"))

    op.drop_table("mentions")
    with op.batch_alter_table("item_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_sources_source_id"))

    op.drop_table("item_sources")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_published_at"))
        batch_op.drop_index(batch_op.f("ix_items_fetched_at"))

    op.drop_table("items")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sources_watch_id"))
        batch_op.drop_index(batch_op.f("ix_sources_next_check_at"))

    op.drop_table("sources")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_next")
        batch_op.drop_index(batch_op.f("ix_deliveries_recipient_id"))

    op.drop_table("deliveries")
    op.drop_table("watches")
    op.drop_table("recipients")
