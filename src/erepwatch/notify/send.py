"""Sending: every planned delivery whose time has come goes out at most once, with retries.

Sending follows a claim protocol that makes a crash safe:

1. the transport is connected first (a dead server fails here, and the row simply stays ``pending``);
2. the row is switched ``pending`` → ``sending`` with its attempt counted, and **committed**;
3. the message goes out;
4. the row becomes ``sent`` (or ``pending`` again with a backoff, or ``failed``) and, for a digest, the
   recipient's cursor moves to the end of the period.

A row found in ``sending`` after its lease means the process died between 2 and 4. With the .eml outbox
the file's existence tells whether it was written. With SMTP nobody can tell, and the row becomes
``unknown`` and is never resent: **at most once** at that point, so the crash can never make a second e-mail
(the window is the few milliseconds of one SMTP DATA exchange; ``erepwatch deliveries`` lists such rows).
Everywhere else the outbox is at least once (retries until sent or out of attempts), which together makes
every message go out once, except at that crash point where it may be missing but is never doubled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.db.models import Delivery, Recipient
from erepwatch.db.store import rowcount
from erepwatch.enums import Channel, DeliveryKind, DeliveryStatus
from erepwatch.errors import DeliveryError
from erepwatch.notify.compose import Payload, compose
from erepwatch.notify.transports import EmlTransport, SmtpTransport, Transport, send_push
from erepwatch.settings import Settings, effective_outbox_dir

log = logging.getLogger(__name__)

#: A row left in "sending" longer than this was interrupted by a crash.
SENDING_LEASE = timedelta(minutes=15)
MAX_RETRY_DELAY = timedelta(hours=6)


#: The counters of :class:`SendStats` that are outcomes of a send attempt (the metrics' labels).
SEND_RESULTS = ("sent", "retried", "failed", "unknown")


@dataclass(slots=True)
class SendStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "unknown": self.unknown,
            "skipped": self.skipped,
            "errors": self.errors,
        }


def make_transport(settings: Settings) -> Transport:
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url, settings.smtp_password)
    return EmlTransport(effective_outbox_dir(settings))


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    return min(settings.notify_retry_base * (2 ** max(0, attempts - 1)), MAX_RETRY_DELAY)


def recover_interrupted(sessions: sessionmaker[Session], transport: Transport, now: datetime) -> int:
    """Rows left in ``sending`` by a crash: sent if the transport can prove it, else ``unknown`` (never resent)."""
    with sessions() as session, session.begin():
        stale = list(
            session.scalars(
                select(Delivery).where(Delivery.status == DeliveryStatus.SENDING, Delivery.next_attempt_at <= now)
            )
        )
        for delivery in stale:
            recipient = session.get(Recipient, delivery.recipient_id)
            proof = transport.delivered(delivery.message_id) if delivery.channel == Channel.EMAIL else None
            if proof is False:
                delivery.status = DeliveryStatus.PENDING
                delivery.next_attempt_at = now
                continue
            delivery.status = DeliveryStatus.SENT if proof else DeliveryStatus.UNKNOWN
            delivery.sent_at = now if proof else None
            delivery.last_error = None if proof else "interrupted while sending: may have gone out; not resent"
            _advance_cursor(recipient, delivery)
        return len(stale)


def _advance_cursor(recipient: Recipient | None, delivery: Delivery) -> None:
    if recipient is not None and delivery.kind == DeliveryKind.DIGEST and delivery.period_end is not None:
        cursor = recipient.digest_cursor
        recipient.digest_cursor = max(cursor, delivery.period_end) if cursor else delivery.period_end


def send_pending(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    *,
    recipient_id: int | None = None,
    transport: Transport | None = None,
) -> SendStats:
    """Send every pending delivery whose time has come; one recipient's failure never stops the others."""
    own = transport is None
    transport = transport or make_transport(settings)
    stats = SendStats()
    try:
        stats.unknown += recover_interrupted(sessions, transport, now)
        with sessions() as session:
            query = select(Delivery.id).where(
                Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now
            )
            if recipient_id is not None:
                query = query.where(Delivery.recipient_id == recipient_id)
            due = list(session.scalars(query.order_by(Delivery.next_attempt_at, Delivery.id)))
        for delivery_id in due:
            _send_one(sessions, settings, transport, delivery_id, now, stats)
    finally:
        if own:
            transport.close()
    return stats


def _prepare(
    sessions: sessionmaker[Session], settings: Settings, delivery_id: int, now: datetime
) -> tuple[Delivery, Recipient, Payload] | None:
    with sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        recipient = session.get(Recipient, delivery.recipient_id) if delivery else None
        if delivery is None or recipient is None or delivery.status != DeliveryStatus.PENDING:
            return None
        payload = compose(session, delivery, recipient, settings, now)
        session.expunge_all()
        return delivery, recipient, payload


def _send_one(
    sessions: sessionmaker[Session],
    settings: Settings,
    transport: Transport,
    delivery_id: int,
    now: datetime,
    stats: SendStats,
) -> None:
    try:
        prepared = _prepare(sessions, settings, delivery_id, now)
    except Exception as exc:  # a rendering bug must not stop other deliveries
        log.exception("rendering delivery %s failed", delivery_id)
        _record(sessions, settings, delivery_id, now, DeliveryError(f"cannot render: {exc}", permanent=True), stats)
        return
    if prepared is None:
        stats.skipped += 1
        return
    delivery, recipient, payload = prepared
    try:
        if delivery.channel == Channel.EMAIL:
            connect = getattr(transport, "connect", None)
            if connect is not None:
                connect()  # fail before claiming when the server is down
    except DeliveryError as exc:
        _record(sessions, settings, delivery_id, now, exc, stats, claimed=False)
        return
    if not _claim(sessions, delivery_id, now):
        stats.skipped += 1
        return
    try:
        if isinstance(payload, EmailMessage):
            transport.send(payload)
        else:
            send_push(list(recipient.notify_urls or []), *payload)
    except DeliveryError as exc:
        _record(sessions, settings, delivery_id, now, exc, stats)
        return
    except Exception as exc:  # an unexpected library error: retry rather than lose the message
        _record(sessions, settings, delivery_id, now, DeliveryError(str(exc)), stats)
        return
    _record(sessions, settings, delivery_id, now, None, stats)


def _claim(sessions: sessionmaker[Session], delivery_id: int, now: datetime) -> bool:
    """pending → sending, committed before anything leaves; only one process can win it."""
    with sessions() as session, session.begin():
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.SENDING, attempts=Delivery.attempts + 1, next_attempt_at=now + SENDING_LEASE)
        )
        return rowcount(result) == 1


def _record(
    sessions: sessionmaker[Session],
    settings: Settings,
    delivery_id: int,
    now: datetime,
    error: DeliveryError | None,
    stats: SendStats,
    *,
    claimed: bool = True,
) -> None:
    with sessions() as session, session.begin():
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return
        if not claimed:
            delivery.attempts += 1
        if error is None:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = now
            delivery.last_error = None
            _advance_cursor(session.get(Recipient, delivery.recipient_id), delivery)
            stats.sent += 1
            return
        delivery.last_error = str(error)[:2000]
        stats.errors.append(f"{delivery.message_id}: {error}")
        if error.may_have_gone:
            # Handed over in full, reply lost: as after a crash mid-send, never resent by itself (a second
            # copy is worse than a missing one, and `deliveries --retry ID` resends on purpose).
            delivery.status = DeliveryStatus.UNKNOWN
            delivery.next_attempt_at = None
            _advance_cursor(session.get(Recipient, delivery.recipient_id), delivery)
            stats.unknown += 1
        elif error.permanent or delivery.attempts >= settings.notify_max_attempts:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            stats.failed += 1
        else:
            delivery.status = DeliveryStatus.PENDING
            delivery.next_attempt_at = now + retry_delay(settings, delivery.attempts)
            stats.retried += 1
