"""sources.recent_published, item_count, last_item_at: what a poll and the health pages read per source,
kept on the source instead of aggregated over all of item_sources (seconds at a million items)

Revision ID: 0006_source_stats
Revises: 0005_web_acts_search
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006_source_stats"
down_revision = "0005_web_acts_search"
branch_labels = None
depends_on = None

#: schedule.HISTORY at the time of writing (a migration never imports application code that may change).
HISTORY = 20


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recent_published", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("item_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_item_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    # Once, for the sources already there: counts and newest links in one grouped pass each.
    counts = bind.execute(
        sa.text("SELECT source_id, count(*), max(first_seen_at) FROM item_sources GROUP BY source_id")
    ).all()
    recent = bind.execute(
        sa.text(
            "SELECT source_id, published_at FROM ("
            " SELECT s.source_id AS source_id, i.published_at AS published_at,"
            "  row_number() OVER (PARTITION BY s.source_id ORDER BY i.published_at DESC) AS rn"
            " FROM item_sources s JOIN items i ON i.id = s.item_id) ranked"
            f" WHERE rn <= {HISTORY}"
        )
    ).all()
    dates: dict[int, list[str]] = defaultdict(list)
    for source_id, published in recent:
        dates[source_id].append(_iso(published))
    sources = sa.table(
        "sources",
        sa.column("id", sa.Integer),
        sa.column("recent_published", sa.JSON),
        sa.column("item_count", sa.Integer),
        sa.column("last_item_at", sa.DateTime(timezone=True)),
    )
    naive = bind.dialect.name == "sqlite"  # stored as naive UTC there, as models.UTCDateTime does
    for source_id, count, last in counts:
        at = _utc(last)
        bind.execute(
            sources.update()
            .where(sources.c.id == source_id)
            .values(
                recent_published=sorted(dates[source_id], reverse=True),
                item_count=count,
                last_item_at=at.replace(tzinfo=None) if naive and at else at,
            )
        )


def _utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime | str) -> str:
    utc = _utc(value)
    assert utc is not None
    return utc.isoformat()


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("last_item_at")
        batch_op.drop_column("item_count")
        batch_op.drop_column("recent_published")
