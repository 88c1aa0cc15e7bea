"""The outbox as a person reads it: what was sent, what waits for a retry, what failed and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erepwatch.db.models import Delivery, Mention, Recipient
from erepwatch.enums import DeliveryStatus
from erepwatch.errors import InvalidInputError, NotFoundError

#: States a delivery can be resent from on purpose: it may have gone out (``unknown``) or was given up.
RETRYABLE = (DeliveryStatus.UNKNOWN, DeliveryStatus.FAILED)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def list_deliveries(session: Session, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Deliveries newest first, as plain dicts (the ``deliveries --json`` objects)."""
    query = (
        select(Delivery, Recipient.email)
        .join(Recipient, Recipient.id == Delivery.recipient_id)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(Delivery.status == status)
    rows = session.execute(query).all()
    story_of = _stories_of(session, {int(i) for d, _ in rows for i in d.mention_ids or ()})
    return [
        {
            "id": d.id,
            "recipient": email,
            "kind": d.kind,
            "channel": d.channel,
            "status": d.status,
            "attempts": d.attempts,
            # What the message's subject counts: one line per story, however many outlets carried it.
            "mentions": len({story_of.get(int(i), int(i)) for i in d.mention_ids or ()}),
            "members": len(d.mention_ids or []),
            "period_start": _iso(d.period_start),
            "period_end": _iso(d.period_end),
            "next_attempt": _iso(d.next_attempt_at) if d.status == DeliveryStatus.PENDING else None,
            "last_error": d.last_error,
            "message_id": d.message_id,
            "created_at": _iso(d.created_at),
            "sent_at": _iso(d.sent_at),
        }
        for d, email in rows
    ]


def retry_delivery(session: Session, delivery_id: int, now: datetime) -> Delivery:
    """Send again, on purpose, a delivery that may have gone out (``unknown``) or was given up (``failed``):
    it becomes ``pending`` for the next send, with the same Message-ID (a mail reader that got the first copy
    shows one message). Nothing else ever resends an ``unknown`` delivery."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFoundError(f"no delivery {delivery_id}; see `erepwatch deliveries`")
    if delivery.status not in RETRYABLE:
        raise InvalidInputError(
            f"delivery {delivery_id} is {delivery.status}; only {' or '.join(RETRYABLE)} deliveries are resent"
        )
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.attempts = 0
    delivery.last_error = f"resent on request after: {delivery.last_error or delivery.status}"[:2000]
    session.flush()
    return delivery


def _stories_of(session: Session, mention_ids: set[int]) -> dict[int, int]:
    ids = sorted(mention_ids)
    out: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for mention_id, story in session.execute(
            select(Mention.id, func.coalesce(Mention.cluster_id, Mention.id)).where(Mention.id.in_(chunk))
        ):
            out[mention_id] = story
    return out
