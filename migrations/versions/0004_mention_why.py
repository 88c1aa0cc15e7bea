"""mentions.why: the words that decided each mention's sentiment and tags

Revision ID: 0004_mention_why
Revises: 0003_mention_stories
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_mention_why"
down_revision = "0003_mention_stories"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("why", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_column("why")
