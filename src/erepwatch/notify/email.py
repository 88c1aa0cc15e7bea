"""The e-mail itself: multipart/alternative (plain text, then HTML), UTF-8, and the headers mail clients
and list tools expect. The Message-ID is the delivery's idempotency key, decided before any sending."""

from __future__ import annotations

import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from urllib.parse import quote

from erepwatch.notify.render import Rendered
from erepwatch.signing import unsubscribe_url

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def sender_domain(mail_from: str) -> str:
    return mail_from.rpartition("@")[2] or "localhost"


def make_message_id(key: str, mail_from: str) -> str:
    """``<key@domain>`` from a key unique per delivery (kind, recipient, period or batch)."""
    return f"<{_KEY_UNSAFE.sub('-', key)}@{sender_domain(mail_from)}>"


def unsubscribe_targets(
    *, mail_from: str, recipient: str, base_url: str = "", secret: str = ""
) -> tuple[str, str | None]:
    """(List-Unsubscribe header value, the link shown in the message body): the web app's signed one-click
    link when its public URL is known, else a mail to the sender."""
    mailto = f"mailto:{mail_from}?subject={quote('unsubscribe ' + recipient)}"
    if base_url and secret:
        web = unsubscribe_url(base_url, secret, recipient)
        return f"<{web}>, <{mailto}>", web
    return f"<{mailto}>", mailto


def build_message(
    rendered: Rendered,
    *,
    mail_from: str,
    to: str,
    message_id: str,
    date: datetime,
    kind: str,
    base_url: str = "",
    secret: str = "",
) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address("erepwatch", addr_spec=mail_from)
    msg["To"] = to
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["Subject"] = rendered.subject
    header, _ = unsubscribe_targets(mail_from=mail_from, recipient=to, base_url=base_url, secret=secret)
    msg["List-Unsubscribe"] = header
    msg["List-Id"] = f"erepwatch {kind} <{kind}.erepwatch.{sender_domain(mail_from)}>"
    # RFC 3834: an automatic message; vacation responders must not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg
