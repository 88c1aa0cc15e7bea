"""Planning: decide what each message holds, and record it as a Delivery row, in one transaction.

Planning a digest or an alert and recording the Delivery row that fixes its content (mention ids, period)
happen in one transaction, with the recipient's row locked, so two planners (the daemon and ``digest send``)
never plan the same content twice. What is planned is composed and sent by :mod:`erepwatch.notify.send`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from erepwatch.db.mention_views import MentionView
from erepwatch.db.models import Delivery, Recipient, Watch
from erepwatch.enums import DIGEST_FREQUENCIES, LIVE_STATUSES, Channel, DeliveryKind, DeliveryStatus, Frequency
from erepwatch.errors import DatabaseUnavailableError
from erepwatch.notify import queries
from erepwatch.notify.alert_rules import (
    SpikeCheck,
    alarming_for,
    alert_allowed,
    alerted_stories,
    daily_counts,
    detect_spike,
    stories_to_alert,
)
from erepwatch.notify.digest import digest_due, wanted
from erepwatch.notify.email import make_message_id
from erepwatch.settings import Settings

log = logging.getLogger(__name__)

#: A poll stamps its mentions with the time it started and commits later; a mention stamped up to this long
#: before a period's start can still be new to it. Mentions already in an earlier message are excluded by id,
#: so the overlap of windows never repeats anything.
LATE_COMMIT_WINDOW = timedelta(hours=1)
SPIKE_REPEAT = timedelta(hours=24)


def _lock_recipient(session: Session, recipient_id: int) -> Recipient | None:
    return session.scalar(select(Recipient).where(Recipient.id == recipient_id).with_for_update())


def _already_in(session: Session, recipient_id: int, kinds: Sequence[DeliveryKind], since: datetime) -> set[int]:
    """Mention ids already carried by this recipient's live messages of these kinds ending after ``since``."""
    rows = session.scalars(
        select(Delivery).where(
            Delivery.recipient_id == recipient_id,
            Delivery.kind.in_(kinds),
            Delivery.status.in_(LIVE_STATUSES),
            Delivery.period_end >= since,
        )
    )
    return {int(i) for d in rows for i in d.mention_ids or ()}


def _covered_until(session: Session, recipient: Recipient) -> datetime:
    latest = session.scalar(
        select(Delivery.period_end)
        .where(
            Delivery.recipient_id == recipient.id,
            Delivery.kind == DeliveryKind.DIGEST,
            Delivery.status.in_(LIVE_STATUSES),
        )
        .order_by(Delivery.period_end.desc())
        .limit(1)
    )
    candidates = [d for d in (recipient.digest_cursor, latest) if d is not None]
    return max(candidates) if candidates else recipient.created_at


#: How far back a recipient's first digest looks: a new recipient (or a new user, whose watches were just
#: matched against the stored items) gets what was found in the last day or week, not "nothing new" over the
#: minute since it was added. Alerts never look back: old news is not an alert.
FIRST_DIGEST_SPAN = {Frequency.DAILY: timedelta(days=1), Frequency.WEEKLY: timedelta(days=7)}


def first_start(recipient: Recipient, kind: DeliveryKind, now: datetime) -> datetime:
    """Where a recipient's first ``kind`` message starts, before any was sent."""
    span = FIRST_DIGEST_SPAN.get(Frequency(recipient.frequency)) if kind == DeliveryKind.DIGEST else None
    return min(recipient.created_at, now - span) if span is not None else recipient.created_at


def window_start(cursor: datetime | None, recipient: Recipient, kind: DeliveryKind, now: datetime) -> datetime:
    """Where the search for a recipient's new mentions starts: a little before its cursor (see
    :data:`LATE_COMMIT_WINDOW`), or :func:`first_start` when nothing was sent yet."""
    return cursor - LATE_COMMIT_WINDOW if cursor else first_start(recipient, kind, now)


def unsent_mentions(session: Session, recipient: Recipient, kind: DeliveryKind, now: datetime) -> list[MentionView]:
    """News mentions of the recipient's watches stored since its ``kind`` cursor and not yet in one of its
    ``kind`` messages: the one window computation of digests, alerts and the digest preview."""
    cursor = recipient.digest_cursor if kind == DeliveryKind.DIGEST else recipient.alert_cursor
    start = window_start(cursor, recipient, kind, now)
    exclude = _already_in(session, recipient.id, (kind,), start)
    return queries.found_between(session, queries.watch_ids_of(session, recipient), start, now, exclude=exclude)


def _new_delivery(
    recipient: Recipient,
    kind: DeliveryKind,
    key: str,
    settings: Settings,
    now: datetime,
    *,
    start: datetime,
    mention_ids: Sequence[int],
    channel: Channel = Channel.EMAIL,
    details: dict[str, Any] | None = None,
) -> Delivery:
    return Delivery(
        recipient_id=recipient.id,
        kind=kind,
        channel=channel,
        period_start=start,
        period_end=now,
        mention_ids=sorted(int(i) for i in mention_ids),
        status=DeliveryStatus.PENDING,
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
    rows = [
        r for r in unsent_mentions(session, recipient, DeliveryKind.DIGEST, now) if wanted(r, recipient.min_sentiment)
    ]
    if not rows and not recipient.send_empty:
        # Nothing to say is a successful digest: the next one starts here.
        recipient.digest_cursor = max(now, cursor) if cursor else now
        return None
    delivery = _new_delivery(
        recipient,
        DeliveryKind.DIGEST,
        now.strftime("%Y%m%dT%H%M%S%f"),
        settings,
        now,
        start=cursor or first_start(recipient, DeliveryKind.DIGEST, now),
        mention_ids=[r.id for r in rows],
    )
    session.add(delivery)
    session.flush()
    return delivery


def _guarded(session: Session, recipient_id: int, plan: Callable[[int], Sequence[Delivery | None]]) -> list[Delivery]:
    """Plan one recipient in a savepoint. A value planning cannot use (a time zone, time or weekday that no entry
    point accepts any more, but an old row or a hand edit holds) skips that recipient alone, with the reason
    stored on it (``recipient list`` shows it) — never the whole cycle, which would stop every other
    recipient's mail and, in the daemon, the polling behind it."""
    try:
        with session.begin_nested():
            planned = [d for d in plan(recipient_id) if d is not None]
    except DatabaseUnavailableError:
        raise  # the database itself: nothing can be planned
    except Exception as exc:
        reason = f"planning skipped: {type(exc).__name__}: {exc}"[:2000]
        log.warning("recipient_id=%s %s", recipient_id, reason)
        session.execute(update(Recipient).where(Recipient.id == recipient_id).values(last_error=reason))
        return []
    session.execute(
        update(Recipient).where(Recipient.id == recipient_id, Recipient.last_error.is_not(None)).values(last_error=None)
    )
    return planned


def plan_due_digests(session: Session, now: datetime, settings: Settings) -> list[Delivery]:
    """Every scheduled digest due at ``now``. Call inside a transaction (``with sessions.begin()``)."""
    planned: list[Delivery] = []
    for rid in session.scalars(select(Recipient.id).where(Recipient.frequency.in_(DIGEST_FREQUENCIES))).all():
        planned.extend(_guarded(session, rid, lambda rid: [plan_digest(session, rid, now, settings)]))
    return planned


def plan_alerts(session: Session, now: datetime, settings: Settings) -> list[Delivery]:
    """Instant alerts (negative or crisis-tagged news, batched, rate-limited) and spike alerts."""
    planned: list[Delivery] = []
    for rid in session.scalars(select(Recipient.id).where(Recipient.frequency == Frequency.INSTANT)).all():
        planned.extend(_guarded(session, rid, lambda rid: _plan_instant(session, rid, now, settings)))
    planned.extend(_plan_spikes(session, now, settings))
    return planned


def _last_sent_alert(session: Session, recipient_id: int) -> datetime | None:
    return session.scalar(
        select(Delivery.created_at)
        .where(
            Delivery.recipient_id == recipient_id,
            Delivery.kind == DeliveryKind.ALERT,
            Delivery.channel == Channel.EMAIL,
        )
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
    start = window_start(cursor, recipient, DeliveryKind.ALERT, now)
    rows = alarming_for(unsent_mentions(session, recipient, DeliveryKind.ALERT, now), recipient.min_sentiment)
    # One alert per story: a story this recipient was already alerted about comes back only if it changed.
    told = _already_in(session, recipient.id, (DeliveryKind.ALERT,), now - settings.analysis_cluster_window)
    rows, changes = stories_to_alert(rows, alerted_stories(queries.rows_by_id(session, told)))
    recipient.alert_cursor = now
    if not rows:
        return []
    ids = [r.id for r in rows]
    key = now.strftime("%Y%m%dT%H%M%S%f")
    details = {"changes": {str(k): str(v) for k, v in changes.items()}} if changes else None
    out = [
        _new_delivery(
            recipient, DeliveryKind.ALERT, key, settings, now, start=cursor or start, mention_ids=ids, details=details
        )
    ]
    if recipient.notify_urls:
        out.append(
            _new_delivery(
                recipient,
                DeliveryKind.ALERT,
                key,
                settings,
                now,
                start=cursor or start,
                mention_ids=ids,
                channel=Channel.PUSH,
                details=details,
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
            channels = [Channel.EMAIL] + ([Channel.PUSH] if recipient.notify_urls else [])
            for channel in channels:
                delivery = _new_delivery(
                    recipient,
                    DeliveryKind.SPIKE,
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
            Delivery.recipient_id == recipient_id,
            Delivery.kind == DeliveryKind.SPIKE,
            Delivery.created_at > now - SPIKE_REPEAT,
        )
    )
    return any((d or {}).get("watch_id") == watch_id for d in rows)
