"""Digests as a person asks for them: preview one without recording anything, or send what is due now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from erepwatch.notify.compose import preview_digest as compose_preview
from erepwatch.notify.cycle import NotifyResult, run_notify
from erepwatch.notify.render import Rendered
from erepwatch.service.recipients import get_recipient, preview_recipient
from erepwatch.settings import Settings


def preview_digest(session: Session, settings: Settings, now: datetime, email: str | None = None) -> Rendered:
    """The digest ``email`` (default: the first recipient, else a French digest of every watch) would get now."""
    return compose_preview(session, preview_recipient(session, email), settings, now)


def send_now(
    sessions: sessionmaker[Session], settings: Settings, now: datetime, email: str | None = None
) -> NotifyResult:
    """One delivery cycle now; with ``email``, only that recipient, and its digest even if not due yet."""
    recipient_id = None
    if email:
        with sessions() as session:
            recipient_id = get_recipient(session, email).id
    return run_notify(sessions, settings, now, recipient_id=recipient_id)
