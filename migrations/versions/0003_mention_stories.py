"""mention stories: why a mention is in its story, and stored text embeddings

Revision ID: 0003_mention_stories
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_mention_stories"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cluster_reason", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("cluster_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("cluster_match_id", sa.Integer(), nullable=True))
    op.create_table(
        "mention_embeddings",
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"], ["mentions.id"], name=op.f("fk_mention_embeddings_mention_id_mentions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("mention_id", "kind", name=op.f("pk_mention_embeddings")),
    )


def downgrade() -> None:
    op.drop_table("mention_embeddings")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_column("cluster_match_id")
        batch_op.drop_column("cluster_score")
        batch_op.drop_column("cluster_reason")
