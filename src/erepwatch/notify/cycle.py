"""One delivery cycle: plan what is due, then send every pending delivery. The only place that knows the
order of the notify steps, as :func:`erepwatch.pipeline.run_poll` is for a poll; the daemon and
``erepwatch digest send`` both call :func:`run_notify`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from erepwatch.db.models import Delivery, Recipient
from erepwatch.notify.plan import plan_alerts, plan_digest, plan_due_digests
from erepwatch.notify.send import SendStats, send_pending
from erepwatch.notify.transports import Transport
from erepwatch.settings import Settings


@dataclass(frozen=True, slots=True)
class Planned:
    """A delivery recorded by this cycle's planning (for logs and the CLI's count)."""

    delivery_id: int
    recipient: str | None
    kind: str
    channel: str
    mentions: int


@dataclass(slots=True)
class NotifyResult:
    planned: list[Planned] = field(default_factory=list)
    stats: SendStats = field(default_factory=SendStats)


def _planned(session: Session, delivery: Delivery) -> Planned:
    recipient = session.get(Recipient, delivery.recipient_id)
    return Planned(
        delivery.id,
        recipient.email if recipient else None,
        delivery.kind,
        delivery.channel,
        len(delivery.mention_ids or []),
    )


def run_notify(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    *,
    recipient_id: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    transport: Transport | None = None,
) -> NotifyResult:
    """Plan (one transaction) then send.

    Without ``recipient_id``: every scheduled digest due at ``now``, instant alerts and spike alerts, then every
    pending delivery. With it: that recipient's digest now, due or not, then that recipient's pending
    deliveries. ``should_stop`` is asked between planning and sending (the daemon's stop signal): what was
    planned stays pending for the next cycle.
    """
    with sessions() as session, session.begin():
        if recipient_id is not None:
            found = plan_digest(session, recipient_id, now, settings, force=True)
            deliveries = [found] if found is not None else []
        else:
            deliveries = plan_due_digests(session, now, settings) + plan_alerts(session, now, settings)
        planned = [_planned(session, d) for d in deliveries]
    if should_stop is not None and should_stop():
        return NotifyResult(planned)
    stats = send_pending(sessions, settings, now, recipient_id=recipient_id, transport=transport)
    return NotifyResult(planned, stats)
