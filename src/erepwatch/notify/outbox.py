"""The delivery outbox: decide what each message holds (one transaction), then send it at most once.

Planning a digest or an alert and recording the Delivery row that fixes its content (mention ids, period)
happen in one transaction, with the recipient's row locked, so two planners (daemon and ``digest send``)
never plan the same content twice.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.db.models import Delivery, Recipient, Watch
from erepwatch.errors import DeliveryError
from erepwatch.notify import queries
from erepwatch.notify.alert_rules import (
    SpikeCheck,
    alarming_for,
    alert_allowed,
    daily_counts,
    detect_spike,
    spike_from_details,
)
from erepwatch.notify.digest import (
    CHART_DAYS,
    Digest,
    build_digest,
    chart_days,
    digest_due,
    troubled_sources,
    wanted,
)
from erepwatch.notify.email import build_message, make_message_id, unsubscribe_targets
from erepwatch.notify.render import Rendered, chat_lines, render_alert, render_digest, spike_sentence
from erepwatch.notify.transports import EmlTransport, SmtpTransport, Transport, send_push
from erepwatch.settings import Settings, effective_outbox_dir
from erepwatch.signing import secret_key

log = logging.getLogger(__name__)

#: A poll stamps its mentions with the time it started and commits later; a mention stamped up to this long
#: before a period's start can still be new to it. Mentions already in an earlier message are excluded by id,
#: so the overlap of windows never repeats anything.
LATE_COMMIT_WINDOW = timedelta(hours=1)
#: A row left in "sending" longer than this was interrupted by a crash.
SENDING_LEASE = timedelta(minutes=15)
MAX_RETRY_DELAY = timedelta(hours=6)
SPIKE_REPEAT = timedelta(hours=24)
LIVE = ("pending", "sending", "sent", "unknown")


# --- planning ---------------------------------------------------------------------------------------------


def _lock_recipient(session: Session, recipient_id: int) -> Recipient | None:
    return session.scalar(select(Recipient).where(Recipient.id == recipient_id).with_for_update())


def _already_in(session: Session, recipient_id: int, kinds: Sequence[str], since: datetime) -> set[int]:
    """Mention ids already carried by this recipient's live messages of these kinds ending after ``since``."""
    rows = session.scalars(
        select(Delivery).where(
            Delivery.recipient_id == recipient_id,
            Delivery.kind.in_(kinds),
            Delivery.status.in_(LIVE),
            Delivery.period_end >= since,
        )
    )
    return {int(i) for d in rows for i in d.mention_ids or ()}


def _covered_until(session: Session, recipient: Recipient) -> datetime:
    latest = session.scalar(
        select(Delivery.period_end)
        .where(Delivery.recipient_id == recipient.id, Delivery.kind == "digest", Delivery.status.in_(LIVE))
        .order_by(Delivery.period_end.desc())
        .limit(1)
    )
    candidates = [d for d in (recipient.digest_cursor, latest) if d is not None]
    return max(candidates) if candidates else recipient.created_at


def _new_delivery(
    recipient: Recipient,
    kind: str,
    key: str,
    settings: Settings,
    now: datetime,
    *,
    start: datetime,
    mention_ids: Sequence[int],
    channel: str = "email",
    details: dict[str, Any] | None = None,
) -> Delivery:
    return Delivery(
        recipient_id=recipient.id,
        kind=kind,
        channel=channel,
        period_start=start,
        period_end=now,
        mention_ids=sorted(int(i) for i in mention_ids),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        message_id=make_message_id(f"{kind}.{recipient.id}.{key}.{channel}", settings.mail_from),
        created_at=now,
        details=details,
    )


def plan_digest(
    session: Session, recipient_id: int, now: datetime, settings: Settings, *, force: bool = False
) -> Delivery | None:
    """Record the recipient's digest if it is due (or ``force``): everything found since the last one."""
    recipient = _lock_recipient(session, recipient_id)
    if recipient is None:
        return None
    covered = _covered_until(session, recipient)
    if not force and not digest_due(
        frequency=recipient.frequency,
        at=recipient.at_time,
        tz=recipient.timezone,
        weekday=recipient.weekday,
        covered_until=covered,
        now=now,
    ):
        return None
    cursor = recipient.digest_cursor
    start = cursor - LATE_COMMIT_WINDOW if cursor else recipient.created_at
    exclude = _already_in(session, recipient.id, ("digest",), start)
    rows = queries.found_between(session, queries.watch_ids_of(session, recipient), start, now, exclude=exclude)
    rows = [r for r in rows if wanted(r, recipient.min_sentiment)]
    if not rows and not recipient.send_empty:
        # Nothing to say is a successful digest: the next one starts here.
        recipient.digest_cursor = max(now, cursor) if cursor else now
        return None
    delivery = _new_delivery(
        recipient,
        "digest",
        now.strftime("%Y%m%dT%H%M%S%f"),
        settings,
        now,
        start=cursor or recipient.created_at,
        mention_ids=[r.id for r in rows],
    )
    session.add(delivery)
    session.flush()
    return delivery


def plan_due_digests(session: Session, now: datetime, settings: Settings) -> list[Delivery]:
    """Every scheduled digest due at ``now``. Call inside a transaction (``with sessions.begin()``)."""
    planned = []
    for rid in session.scalars(select(Recipient.id).where(Recipient.frequency.in_(("daily", "weekly")))).all():
        delivery = plan_digest(session, rid, now, settings)
        if delivery is not None:
            planned.append(delivery)
    return planned


def plan_alerts(session: Session, now: datetime, settings: Settings) -> list[Delivery]:
    """Instant alerts (negative or crisis-tagged news, batched, rate-limited) and spike alerts."""
    planned: list[Delivery] = []
    for rid in session.scalars(select(Recipient.id).where(Recipient.frequency == "instant")).all():
        planned.extend(_plan_instant(session, rid, now, settings))
    planned.extend(_plan_spikes(session, now, settings))
    return planned


def _last_sent_alert(session: Session, recipient_id: int) -> datetime | None:
    return session.scalar(
        select(Delivery.created_at)
        .where(Delivery.recipient_id == recipient_id, Delivery.kind == "alert", Delivery.channel == "email")
        .order_by(Delivery.created_at.desc())
        .limit(1)
    )


def _plan_instant(session: Session, recipient_id: int, now: datetime, settings: Settings) -> list[Delivery]:
    recipient = _lock_recipient(session, recipient_id)
    if recipient is None or not alert_allowed(
        _last_sent_alert(session, recipient.id), now, settings.notify_alert_min_interval
    ):
        return []  # the cursor stays: what waits goes out, batched, in the next alert
    cursor = recipient.alert_cursor
    start = cursor - LATE_COMMIT_WINDOW if cursor else recipient.created_at
    exclude = _already_in(session, recipient.id, ("alert",), start)
    rows = queries.found_between(session, queries.watch_ids_of(session, recipient), start, now, exclude=exclude)
    rows = alarming_for(rows, recipient.min_sentiment)
    recipient.alert_cursor = now
    if not rows:
        return []
    ids = [r.id for r in rows]
    key = now.strftime("%Y%m%dT%H%M%S%f")
    out = [_new_delivery(recipient, "alert", key, settings, now, start=cursor or start, mention_ids=ids)]
    if recipient.notify_urls:
        out.append(
            _new_delivery(
                recipient, "alert", key, settings, now, start=cursor or start, mention_ids=ids, channel="push"
            )
        )
    session.add_all(out)
    session.flush()
    return out


def spike_of(session: Session, watch_id: int, now: datetime, settings: Settings) -> SpikeCheck:
    published = queries.published_since(session, watch_id, now - timedelta(days=8))
    count, previous = daily_counts(published, now=now)
    return detect_spike(count, previous, k=settings.notify_spike_k, min_count=settings.notify_spike_min_count)


def _plan_spikes(session: Session, now: datetime, settings: Settings) -> list[Delivery]:
    out: list[Delivery] = []
    recipients = list(session.scalars(select(Recipient).order_by(Recipient.id)))
    if not recipients:
        return out
    for watch in session.scalars(select(Watch).order_by(Watch.id)).all():
        check = spike_of(session, watch.id, now, settings)
        if not check.is_spike:
            continue
        ids = [r.id for r in queries.found_between(session, [watch.id], now - timedelta(days=1), now)]
        for recipient in recipients:
            if recipient.watch_ids and watch.id not in {int(i) for i in recipient.watch_ids}:
                continue
            if _recent_spike(session, recipient.id, watch.id, now):
                continue
            details = {"watch_id": watch.id, "watch": watch.name, **check.as_dict()}
            key = f"w{watch.id}.{now:%Y%m%dT%H%M%S%f}"
            channels = ["email"] + (["push"] if recipient.notify_urls else [])
            for channel in channels:
                delivery = _new_delivery(
                    recipient,
                    "spike",
                    key,
                    settings,
                    now,
                    start=now - timedelta(days=1),
                    mention_ids=ids[:200],
                    channel=channel,
                    details=details,
                )
                session.add(delivery)
                out.append(delivery)
    session.flush()
    return out


def _recent_spike(session: Session, recipient_id: int, watch_id: int, now: datetime) -> bool:
    rows = session.scalars(
        select(Delivery.details).where(
            Delivery.recipient_id == recipient_id, Delivery.kind == "spike", Delivery.created_at > now - SPIKE_REPEAT
        )
    )
    return any((d or {}).get("watch_id") == watch_id for d in rows)


# --- rendering --------------------------------------------------------------------------------------------


def digest_for(
    session: Session, recipient: Recipient, start: datetime, end: datetime, mention_ids: Sequence[int], now: datetime
) -> Digest:
    watch_ids = queries.watch_ids_of(session, recipient)
    rows = queries.rows_by_id(session, mention_ids)
    points = queries.chart_points(session, watch_ids, end - timedelta(days=CHART_DAYS + 1))
    return build_digest(
        rows,
        start=start,
        end=end,
        chart=chart_days(points, end=end, tz=recipient.timezone),
        troubles=troubled_sources(queries.source_health(session, watch_ids), now),
    )


def _signing_key(settings: Settings) -> str:
    """The key of the web app's unsubscribe links; only needed (and created) when the web app's URL is known."""
    return secret_key(settings) if settings.web_base_url else ""


def render_delivery(
    session: Session, delivery: Delivery, recipient: Recipient, settings: Settings, now: datetime
) -> Rendered:
    _, unsubscribe = unsubscribe_targets(
        mail_from=settings.mail_from,
        recipient=recipient.email,
        base_url=settings.web_base_url,
        secret=_signing_key(settings),
    )
    common = {
        "locale": recipient.locale,
        "tz": recipient.timezone,
        "email": recipient.email,
        "unsubscribe": unsubscribe,
    }
    if delivery.kind == "digest":
        digest = digest_for(
            session,
            recipient,
            delivery.period_start or delivery.created_at,
            delivery.period_end or delivery.created_at,
            delivery.mention_ids or [],
            now,
        )
        return render_digest(digest, **common)
    rows = queries.rows_by_id(session, delivery.mention_ids or [])
    if delivery.kind == "spike":
        d = dict(delivery.details or {})
        return render_alert(rows, spike=spike_from_details(d), spike_watch=d.get("watch"), **common)
    return render_alert(rows, **common)


def preview_digest(session: Session, recipient: Recipient, settings: Settings, now: datetime) -> Rendered:
    """The digest the recipient would get if it were sent now, without recording anything."""
    cursor = recipient.digest_cursor
    start = cursor - LATE_COMMIT_WINDOW if cursor else recipient.created_at
    exclude = _already_in(session, recipient.id, ("digest",), start)
    rows = queries.found_between(session, queries.watch_ids_of(session, recipient), start, now, exclude=exclude)
    rows = [r for r in rows if wanted(r, recipient.min_sentiment)]
    digest = digest_for(session, recipient, cursor or recipient.created_at, now, [r.id for r in rows], now)
    _, unsubscribe = unsubscribe_targets(
        mail_from=settings.mail_from,
        recipient=recipient.email,
        base_url=settings.web_base_url,
        secret=_signing_key(settings),
    )
    return render_digest(
        digest, locale=recipient.locale, tz=recipient.timezone, email=recipient.email, unsubscribe=unsubscribe
    )


# --- sending ----------------------------------------------------------------------------------------------


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
            session.scalars(select(Delivery).where(Delivery.status == "sending", Delivery.next_attempt_at <= now))
        )
        for delivery in stale:
            recipient = session.get(Recipient, delivery.recipient_id)
            proof = transport.delivered(delivery.message_id) if delivery.channel == "email" else None
            if proof is False:
                delivery.status = "pending"
                delivery.next_attempt_at = now
                continue
            delivery.status = "sent" if proof else "unknown"
            delivery.sent_at = now if proof else None
            delivery.last_error = None if proof else "interrupted while sending: may have gone out; not resent"
            _advance_cursor(recipient, delivery)
        return len(stale)


def _advance_cursor(recipient: Recipient | None, delivery: Delivery) -> None:
    if recipient is not None and delivery.kind == "digest" and delivery.period_end is not None:
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
            query = select(Delivery.id).where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
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
) -> tuple[Delivery, Recipient, EmailMessage | tuple[str, str]] | None:
    with sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        recipient = session.get(Recipient, delivery.recipient_id) if delivery else None
        if delivery is None or recipient is None or delivery.status != "pending":
            return None
        rendered = render_delivery(session, delivery, recipient, settings, now)
        if delivery.channel == "push":
            rows = queries.rows_by_id(session, delivery.mention_ids or [])
            spike_line = spike_sentence(recipient.locale, delivery.details) if delivery.kind == "spike" else None
            payload: EmailMessage | tuple[str, str] = chat_lines(rendered.subject, rows, spike_line=spike_line)
        else:
            payload = build_message(
                rendered,
                mail_from=settings.mail_from,
                to=recipient.email,
                message_id=delivery.message_id,
                date=now,
                kind=delivery.kind,
                base_url=settings.web_base_url,
                secret=_signing_key(settings),
            )
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
        if delivery.channel == "email":
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
            .where(Delivery.id == delivery_id, Delivery.status == "pending")
            .values(status="sending", attempts=Delivery.attempts + 1, next_attempt_at=now + SENDING_LEASE)
        )
        return result.rowcount == 1


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
            delivery.status = "sent"
            delivery.sent_at = now
            delivery.last_error = None
            _advance_cursor(session.get(Recipient, delivery.recipient_id), delivery)
            stats.sent += 1
            return
        delivery.last_error = str(error)[:2000]
        stats.errors.append(f"{delivery.message_id}: {error}")
        if error.permanent or delivery.attempts >= settings.notify_max_attempts:
            delivery.status = "failed"
            delivery.next_attempt_at = None
            stats.failed += 1
        else:
            delivery.status = "pending"
            delivery.next_attempt_at = now + retry_delay(settings, delivery.attempts)
            stats.retried += 1
