"""SQLAlchemy 2 models: the tables erepwatch keeps, the same on SQLite and PostgreSQL.

Timestamps are stored as UTC and always come back time-zone aware (see :class:`UTCDateTime`),
whatever the backend, so no code ever compares a naive datetime with an aware one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so Alembic migrations are identical on both backends.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the database; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    """A feed URL polled on its own schedule, with its health."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="feed")  # feed | search
    watch_id: Mapped[int | None] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str | None] = mapped_column(String(40))
    interval_seconds: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    next_check_at: Mapped[datetime] = mapped_column(index=True)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_checked_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error_kind: Mapped[str | None] = mapped_column(String(30))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str | None] = mapped_column(Text)
    #: publication dates (ISO, UTC, newest first) of the source's newest items: its rhythm, for the schedule.
    recent_published: Mapped[list[Any] | None] = mapped_column(JSON)
    #: items this source carried, and when it last brought one it had not carried before (kept at each poll
    #: so that listing sources never counts all of item_sources).
    item_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_item_at: Mapped[datetime | None]
    #: the poller that claimed it for a fetch in flight (``host/pid/start``, erepwatch/claims.py); None when idle
    claimed_by: Mapped[str | None] = mapped_column(String(200))

    watch: Mapped[Watch | None] = relationship()


class Item(Base):
    """One normalized entry, stored once however many sources and polls bring it."""

    __tablename__ = "items"
    # The web list's site and language filters and the trends' sites, answered without reading the long rows.
    __table_args__ = (
        Index("ix_items_publisher_domain", "publisher_domain"),
        Index("ix_items_id_domain_language", "id", "publisher_domain", "language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: canonical URL, or "guid:<guid>" when the entry has no usable link.
    key: Mapped[str] = mapped_column(String(2100), unique=True)
    url: Mapped[str | None] = mapped_column(String(2000))
    guid: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(500))
    publisher: Mapped[str | None] = mapped_column(String(500))
    publisher_domain: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(10))
    published_at: Mapped[datetime] = mapped_column(index=True)
    fetched_at: Mapped[datetime] = mapped_column(index=True)
    #: the source that first brought the item, for the publisher line when the feed names none.
    first_source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))


class ItemSource(Base):
    """Which sources carried an item ("seen in")."""

    __tablename__ = "item_sources"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True, index=True)
    first_seen_at: Mapped[datetime]


class Watch(Base):
    """A named query with its languages, regions and keyword tag groups."""

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    query: Mapped[str] = mapped_column(Text)
    languages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    regions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fuzzy: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WatchGroup(Base):
    """Watches a person compares: their brand(s) and competitors; the trends show its share of voice."""

    __tablename__ = "watch_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    members: Mapped[list[WatchGroupMember]] = relationship(
        cascade="all, delete-orphan", order_by="WatchGroupMember.watch_id", lazy="selectin"
    )


class WatchGroupMember(Base):
    """One watch of a group, as a brand or a competitor (``enums.GroupRole``)."""

    __tablename__ = "watch_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("watch_groups.id", ondelete="CASCADE"), primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(12))


class Mention(Base):
    """An item matched by a watch: where it matched, what is said, and the story cluster it belongs to."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("watch_id", "item_id", name="uq_mentions_watch_item"),
        # A watch's list in the list's own keyset order (published_at, id), walked backwards to a page.
        Index("ix_mentions_watch_published", "watch_id", "published_at", "id"),
        # The web list's keyset order across every watch, and its starred filter.
        Index("ix_mentions_published_id", "published_at", "id"),
        # A digest's period: its watches' mentions stored between two instants (benchmarks/bench_scale.py).
        Index("ix_mentions_watch_created", "watch_id", "created_at"),
        Index("ix_mentions_starred_published", "starred", "published_at"),
        # Trends count from this index alone.
        Index("ix_mentions_trends", "watch_id", "published_at", "sentiment", "cluster_id", "irrelevant", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    #: copy of the item's date, so listing a watch's mentions by date needs no join.
    published_at: Mapped[datetime]
    #: [{"field": "title", "start": 0, "end": 4, "term": "acme", "fuzzy": false}, …]
    spans: Mapped[list[Any]] = mapped_column(JSON, default=list)
    snippet: Mapped[str] = mapped_column(Text, default="")
    snippet_marks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sentiment: Mapped[str] = mapped_column(String(10), default="neutral")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    keywords: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: the words that decided the sentiment and each tag: {"sentiment": [...], "tags": {"crisis": [...]}}
    why: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: id of the cluster's first mention; equal to ``id`` for a cluster's representative.
    cluster_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: Why the mention is in its story (``analyze.stories.JoinReason``), the score of that decision (title
    #: similarity 0-100 for lexical joins, cosine for semantic ones) and the mention it matched.
    cluster_reason: Mapped[str | None] = mapped_column(String(10))
    cluster_score: Mapped[float | None] = mapped_column(Float)
    cluster_match_id: Mapped[int | None] = mapped_column(Integer)
    #: False for items published long before the watch or source existed: stored, never notified.
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    #: marked irrelevant by a person: out of lists, digests, alerts, counts and trends (undoable, see Act).
    irrelevant: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    starred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    watch: Mapped[Watch] = relationship()
    item: Mapped[Item] = relationship()


class MentionEmbedding(Base):
    """A mention's text embedding, computed once and kept with the model that made it (a model change makes
    it stale: it is computed again). ``kind`` says which text was embedded ("title" for stories)."""

    __tablename__ = "mention_embeddings"

    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64))
    #: float32 little-endian, L2-normalised
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class WatchMute(Base):
    """A publisher (its domain) muted for one watch: its mentions of that watch are hidden, now and later."""

    __tablename__ = "watch_mutes"
    __table_args__ = (UniqueConstraint("watch_id", "domain", name="uq_watch_mutes_watch_domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]


class Act(Base):
    """What a person did to the results (irrelevant, star, mute, exclusion), by whom and when; undoable."""

    __tablename__ = "acts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # irrelevant | star | mute | exclude
    watch_id: Mapped[int | None] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), index=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str | None] = mapped_column(String(300))
    #: what the act changed, to undo it (an exclusion's query before and after).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(200))


class Recipient(Base):
    """Who gets what, when."""

    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    frequency: Mapped[str] = mapped_column(String(10), default="daily")  # instant | daily | weekly
    at_time: Mapped[str] = mapped_column(String(5), default="08:00")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    weekday: Mapped[str | None] = mapped_column(String(10))
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    min_sentiment: Mapped[str | None] = mapped_column(String(10))
    send_empty: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_urls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: ids of the watches followed; empty means all watches.
    watch_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: end of the period covered by the last successful digest: the next one starts exactly here.
    digest_cursor: Mapped[datetime | None]
    #: creation time of the newest mention already considered for an instant alert.
    alert_cursor: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: why planning skipped this recipient (a value that cannot be used); None when its last planning went fine
    last_error: Mapped[str | None] = mapped_column(Text)


class Delivery(Base):
    """One message to one recipient in the outbox: pending → sent / failed, never sent twice."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # digest | alert | spike
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    mention_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sending | sent | failed | unknown
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    #: idempotency key, recorded before sending and used as the e-mail's Message-ID.
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    #: email | push (the recipient's Apprise URLs)
    channel: Mapped[str] = mapped_column(String(10), default="email", server_default="email")
    #: what the message says beyond its mentions (a spike's numbers).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
