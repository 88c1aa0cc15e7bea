"""sources.claimed_by: who claimed a source for a poll (so a dead poller's claims come back at once);
recipients.last_error: why planning skipped a recipient

Revision ID: 0007_claims_and_recipient_errors
Revises: 0006_source_stats
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_claims_and_recipient_errors"
down_revision = "0006_source_stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("last_error")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
