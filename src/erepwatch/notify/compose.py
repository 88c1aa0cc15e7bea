"""Composing: a planned delivery (or a digest preview) rendered into what a transport sends.

Reads the delivery's mentions through the one read model and renders them (:mod:`erepwatch.notify.render`)
as an e-mail (:func:`erepwatch.notify.email.build_message`) or a push message's lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.orm import Session

from erepwatch.db.models import Delivery, Recipient
from erepwatch.enums import Channel, DeliveryKind
from erepwatch.notify import queries
from erepwatch.notify.alert_rules import spike_from_details
from erepwatch.notify.digest import CHART_DAYS, Digest, build_digest, chart_days, troubled_sources, wanted
from erepwatch.notify.email import build_message, unsubscribe_targets
from erepwatch.notify.plan import first_start, unsent_mentions
from erepwatch.notify.render import Rendered, chat_lines, render_alert, render_digest, spike_sentence
from erepwatch.settings import Settings
from erepwatch.signing import secret_key

#: What a transport takes: an e-mail, or a push message's (title, body).
Payload = EmailMessage | tuple[str, str]


def _signing_key(settings: Settings) -> str:
    """The key of the web app's unsubscribe links; only needed (and created) when the web app's URL is known."""
    return secret_key(settings) if settings.web_base_url else ""


def _unsubscribe_link(settings: Settings, recipient: Recipient) -> str | None:
    """The unsubscribe link the body shows (the web app's signed link, else a mailto to the sender)."""
    return unsubscribe_targets(
        mail_from=settings.mail_from,
        recipient=recipient.email,
        base_url=settings.web_base_url,
        secret=_signing_key(settings),
    )[1]


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


def render_delivery(
    session: Session, delivery: Delivery, recipient: Recipient, settings: Settings, now: datetime
) -> Rendered:
    unsubscribe = _unsubscribe_link(settings, recipient)
    if delivery.kind == DeliveryKind.DIGEST:
        digest = digest_for(
            session,
            recipient,
            delivery.period_start or delivery.created_at,
            delivery.period_end or delivery.created_at,
            delivery.mention_ids or [],
            now,
        )
        return render_digest(
            digest, locale=recipient.locale, tz=recipient.timezone, email=recipient.email, unsubscribe=unsubscribe
        )
    rows = queries.rows_by_id(session, delivery.mention_ids or [])
    if delivery.kind == DeliveryKind.SPIKE:
        d = dict(delivery.details or {})
        spike, spike_watch = spike_from_details(d), d.get("watch")
    else:
        spike, spike_watch = None, None
    # Why a story already alerted is back (turned negative, crisis tag added), recorded when it was planned.
    changes = {int(k): str(v) for k, v in (delivery.details or {}).get("changes", {}).items()}
    return render_alert(
        rows,
        locale=recipient.locale,
        tz=recipient.timezone,
        email=recipient.email,
        unsubscribe=unsubscribe,
        spike=spike,
        spike_watch=spike_watch,
        changes=changes,
    )


def preview_digest(session: Session, recipient: Recipient, settings: Settings, now: datetime) -> Rendered:
    """The digest the recipient would get if it were sent now, without recording anything."""
    cursor = recipient.digest_cursor
    rows = [
        r for r in unsent_mentions(session, recipient, DeliveryKind.DIGEST, now) if wanted(r, recipient.min_sentiment)
    ]
    start = cursor or first_start(recipient, DeliveryKind.DIGEST, now)
    digest = digest_for(session, recipient, start, now, [r.id for r in rows], now)
    unsubscribe = _unsubscribe_link(settings, recipient)
    return render_digest(
        digest, locale=recipient.locale, tz=recipient.timezone, email=recipient.email, unsubscribe=unsubscribe
    )


def compose(session: Session, delivery: Delivery, recipient: Recipient, settings: Settings, now: datetime) -> Payload:
    """The message of a planned delivery, ready for its channel's transport."""
    rendered = render_delivery(session, delivery, recipient, settings, now)
    if delivery.channel == Channel.PUSH:
        rows = queries.rows_by_id(session, delivery.mention_ids or [])
        spike_line = spike_sentence(recipient.locale, delivery.details) if delivery.kind == DeliveryKind.SPIKE else None
        return chat_lines(rendered.subject, rows, spike_line=spike_line)
    return build_message(
        rendered,
        mail_from=settings.mail_from,
        to=recipient.email,
        message_id=delivery.message_id,
        date=now,
        kind=delivery.kind,
        base_url=settings.web_base_url,
        secret=_signing_key(settings),
    )
