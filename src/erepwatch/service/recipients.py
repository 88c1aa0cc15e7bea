"""Recipients: who gets what, when — frequency, time of day and zone, watches followed, filters, channels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from erepwatch.clock import utcnow
from erepwatch.db.models import Recipient, Watch
from erepwatch.enums import SEVERITY, Frequency, values
from erepwatch.errors import ConflictError, InvalidInputError
from erepwatch.notify.digest import WEEKDAYS, parse_at
from erepwatch.notify.strings import LOCALES
from erepwatch.service.common import find_one
from erepwatch.service.watches import get_watch, parse_list
from erepwatch.settings import parse_email

FREQUENCIES = values(Frequency)


def check_recipient_values(changes: dict[str, Any]) -> None:
    """Refuse a recipient value that cannot be used (unknown time zone, ``25:00``, a weekday or locale we do not
    have…) with one line naming it; normalises ``at_time`` and ``weekday`` in place. Every way in (CLI, web,
    backup import, Google Alerts import) goes through here, so planning never meets such a value."""
    if changes.get("frequency") is not None and changes["frequency"] not in FREQUENCIES:
        raise InvalidInputError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    if changes.get("at_time") is not None:
        try:
            hour, minute = parse_at(str(changes["at_time"]))
        except ValueError as exc:
            raise InvalidInputError(f"--at: {exc}") from exc
        changes["at_time"] = f"{hour:02d}:{minute:02d}"
    if changes.get("timezone") is not None:
        try:
            if not isinstance(changes["timezone"], str) or len(changes["timezone"]) > 64:
                raise ValueError(changes["timezone"])
            ZoneInfo(changes["timezone"])
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
            raise InvalidInputError(f"unknown time zone {changes['timezone']!r} (use e.g. Europe/Paris)") from exc
    if changes.get("weekday") is not None:
        day = str(changes["weekday"]).strip().lower()
        if day not in WEEKDAYS:
            raise InvalidInputError(f"day must be one of {', '.join(WEEKDAYS)}")
        changes["weekday"] = day
    if changes.get("locale") is not None and changes["locale"] not in LOCALES:
        raise InvalidInputError(f"locale must be one of {', '.join(LOCALES)}")
    if changes.get("min_sentiment") not in (None, "") and changes["min_sentiment"] not in SEVERITY:
        raise InvalidInputError(f"min sentiment must be one of {', '.join(SEVERITY)}")
    if changes.get("notify_urls"):
        from erepwatch.notify.transports import valid_push_url

        for url in changes["notify_urls"]:
            if not valid_push_url(url):
                raise InvalidInputError("a --notify URL is not understood by Apprise (see its list of services)")


def resolve_watches(session: Session, refs: Sequence[str] | None) -> list[int] | None:
    if refs is None:
        return None
    return sorted({get_watch(session, ref).id for ref in parse_list(list(refs))})


def add_recipient(
    session: Session, email: str, *, watches: Sequence[str] = (), now: datetime | None = None, **options: Any
) -> Recipient:
    try:
        email = parse_email(email)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc
    if session.scalar(select(Recipient.id).where(Recipient.email == email)) is not None:
        raise ConflictError(f"{email} is already a recipient; change it with `recipient edit`")
    values = {
        "frequency": "daily",
        "at_time": "08:00",
        "timezone": "Europe/Paris",
        "locale": "fr",
        "send_empty": False,
        **{k: v for k, v in options.items() if v is not None},
    }
    check_recipient_values(values)
    if values["frequency"] == "weekly" and not values.get("weekday"):
        values["weekday"] = "monday"
    recipient = Recipient(
        email=email,
        watch_ids=resolve_watches(session, watches) or [],
        notify_urls=list(values.pop("notify_urls", [])),
        created_at=now or utcnow(),
        **values,
    )
    session.add(recipient)
    session.flush()
    return recipient


def get_recipient(session: Session, ref: str | int) -> Recipient:
    return find_one(session, Recipient, ref, by="email", what="recipient")


def list_recipients(session: Session) -> list[Recipient]:
    return list(session.scalars(select(Recipient).order_by(Recipient.email)))


def edit_recipient(session: Session, ref: str, *, watches: Sequence[str] | None = None, **changes: Any) -> Recipient:
    recipient = get_recipient(session, ref)
    changes = {k: v for k, v in changes.items() if v is not None}
    check_recipient_values(changes)
    if changes.get("min_sentiment") == "":
        changes["min_sentiment"] = None
    for key, value in changes.items():
        setattr(recipient, key, list(value) if key == "notify_urls" else value)
    if watches is not None:
        recipient.watch_ids = resolve_watches(session, watches) or []
    if recipient.frequency == "weekly" and not recipient.weekday:
        recipient.weekday = "monday"
    # Its values are checked again above: why planning once skipped it no longer holds.
    recipient.last_error = None
    session.flush()
    return recipient


def remove_recipient(session: Session, ref: str) -> Recipient:
    recipient = get_recipient(session, ref)
    session.delete(recipient)
    session.flush()
    return recipient


def recipient_as_dict(session: Session, recipient: Recipient) -> dict[str, Any]:
    names = dict(session.execute(select(Watch.id, Watch.name)).all())
    return {
        "id": recipient.id,
        "email": recipient.email,
        "frequency": recipient.frequency,
        "at": recipient.at_time,
        "tz": recipient.timezone,
        "day": recipient.weekday,
        "locale": recipient.locale,
        "min_sentiment": recipient.min_sentiment,
        "send_empty": bool(recipient.send_empty),
        "watches": [names.get(int(i), f"#{i}") for i in recipient.watch_ids or []],
        # Apprise URLs carry tokens: show only which services they reach.
        "notify": [str(u).split("://", 1)[0] + "://…" for u in recipient.notify_urls or []],
        "digest_cursor": recipient.digest_cursor.isoformat() if recipient.digest_cursor else None,
        "created_at": recipient.created_at.isoformat(),
        # why planning skipped this recipient (a value no entry point accepts any more); None when fine
        "last_error": recipient.last_error,
    }


def preview_recipient(session: Session, email: str | None) -> Recipient:
    """Whose digest a preview shows: this recipient, else the first one, else a French digest of every watch
    (a transient row, never added to the session)."""
    if email:
        return get_recipient(session, email)
    existing = list_recipients(session)
    if existing:
        return existing[0]
    return Recipient(
        id=0,
        email="preview@localhost",
        frequency="daily",
        at_time="08:00",
        timezone="Europe/Paris",
        locale="fr",
        watch_ids=[],
        notify_urls=[],
        created_at=datetime(1970, 1, 1, tzinfo=UTC),
    )
