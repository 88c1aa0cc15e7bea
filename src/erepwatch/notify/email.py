"""The e-mail itself: multipart/alternative (plain text, then HTML), UTF-8, and the headers mail clients
and list tools expect. The Message-ID is the delivery's idempotency key, decided before any sending."""

from __future__ import annotations

import re
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import quote

from erepwatch.notify.render import Rendered
from erepwatch.signing import unsubscribe_url

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def sender(mail_from: str) -> tuple[str, str]:
    """(display name, address) of ``mail.from``, which may be ``Veille Acme <veille@acme.fr>``."""
    name, addr = parseaddr(mail_from)
    return name, addr or mail_from


def sender_domain(mail_from: str) -> str:
    return sender(mail_from)[1].rpartition("@")[2] or "localhost"


def make_message_id(key: str, mail_from: str) -> str:
    """``<key@domain>`` from a key unique per delivery (kind, recipient, period or batch)."""
    return f"<{_KEY_UNSAFE.sub('-', key)}@{sender_domain(mail_from)}>"


def unsubscribe_targets(
    *, mail_from: str, recipient: str, base_url: str = "", secret: str = ""
) -> tuple[str, str | None]:
    """(List-Unsubscribe header value, the link shown in the message body): the web app's signed one-click
    link when its public URL is known, else a mail to the sender."""
    mailto = f"mailto:{sender(mail_from)[1]}?subject={quote('unsubscribe ' + recipient)}"
    if base_url and secret:
        web = unsubscribe_url(base_url, secret, recipient)
        return f"<{web}>, <{mailto}>", web
    return f"<{mailto}>", mailto


class _MailPolicy(EmailPolicy):
    """SMTP's policy, except for two headers.

    A subject with accents: Python's folder leaves a space at the end of a folded line before an encoded word,
    which clients show as a double space once unfolded ("et  Crédit"). Such a subject is written as RFC 2047
    encoded words only (whitespace between them vanishes when decoded).

    ``List-Unsubscribe``: a list of ``<URL>`` (RFC 2369) where encoded words are not allowed and that clients read
    as is; Python's folder encodes any word longer than a line, and a signed link is. It is written as given,
    folded only between two URLs (a line may be up to 998 characters long).
    """

    def _url_list(self, name: str, value: Any) -> str | None:
        text = str(value)
        if name.lower() != "list-unsubscribe" or not text.isascii():
            return None
        urls = [url.strip() for url in _URL_SEPARATOR.split(text)]
        return f"{name}: {(',' + self.linesep + ' ').join(urls)}{self.linesep}"

    def _encoded_subject(self, name: str, value: Any) -> str | None:
        text = str(value)
        if name.lower() != "subject" or text.isascii():
            return None
        encoded = Header(text, "utf-8", header_name=name).encode(linesep=self.linesep, maxlinelen=78)
        return f"{name}: {encoded}{self.linesep}"

    def fold(self, name: str, value: Any) -> str:
        return self._encoded_subject(name, value) or self._url_list(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        written = self._encoded_subject(name, value) or self._url_list(name, value)
        return written.encode("ascii") if written else super().fold_binary(name, value)


_URL_SEPARATOR = re.compile(r"(?<=>)\s*,\s*")


_POLICY = _MailPolicy(linesep="\r\n")
_FROM_LINE = re.compile(r"^From ", re.MULTILINE)


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
    msg = EmailMessage(policy=_POLICY)
    name, addr = sender(mail_from)
    msg["From"] = Address(name or "erepwatch", addr_spec=addr)
    msg["To"] = to
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["Subject"] = rendered.subject
    header, _ = unsubscribe_targets(mail_from=mail_from, recipient=to, base_url=base_url, secret=secret)
    msg["List-Unsubscribe"] = header
    if header.startswith("<https://") or header.startswith("<http://"):
        # RFC 8058: the web link unsubscribes with one POST, which Gmail and Yahoo offer as a button.
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["List-Id"] = f"erepwatch {kind} <{kind}.erepwatch.{sender_domain(mail_from)}>"
    # RFC 3834: an automatic message; vacation responders must not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    # Quoted-printable keeps the text 7-bit, and a line starting with "From " is written "=46rom ", so that no
    # mbox on the way turns it into ">From ".
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    text = msg.get_payload()
    if isinstance(text, str):
        msg.set_payload(_FROM_LINE.sub("=46rom ", text))
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg
