"""mentions: read paths that stay fast at a million items (benchmarks/bench_scale.py)

* ``ix_mentions_watch_created`` (watch_id, created_at): a digest's mentions are those of its watches stored
  in its period; with only (watch_id, published_at), SQLite read every mention of each watch.
* PostgreSQL statistics on "is this mention the head of its story":
  the mention lists show one line per story, newest first: ``(cluster_id IS NULL OR cluster_id = id)``.
PostgreSQL cannot estimate a comparison of two columns (it guessed 11 rows where 2,009 matched, 0.5 %), so it
read, joined and sorted every head instead of walking ``ix_mentions_published_id`` from the newest and stopping
at a page. With statistics on the expression (PostgreSQL ≥ 14), written ``(…) IS TRUE`` in the queries
(``erepwatch.db.search.story_head``), the estimate is right and the plan walks the index. SQLite walks that
index already. Measured by benchmarks/bench_scale.py.

Revision ID: 0008_mention_read_paths
Revises: 0007_claims_and_recipient_errors
"""

from __future__ import annotations

from alembic import op

revision = "0008_mention_read_paths"
down_revision = "0007_claims_and_recipient_errors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_watch_created", "mentions", ["watch_id", "created_at"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return
    op.execute(
        "CREATE STATISTICS IF NOT EXISTS st_mentions_story_head"
        " ON ((cluster_id IS NULL OR cluster_id = id)) FROM mentions"
    )
    op.execute("ANALYZE mentions")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_mentions_story_head")
    op.drop_index("ix_mentions_watch_created", table_name="mentions")
