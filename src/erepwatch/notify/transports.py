"""Sending: SMTP (STARTTLS, SMTPS, AUTH), a folder of .eml files when no SMTP server is set, Apprise for
push channels. Every failure becomes a :class:`DeliveryError` that says whether retrying can help:
4xx replies, network errors and a dead server are temporary; 5xx replies are permanent (RFC 5321 §4.2.1).
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from erepwatch.errors import DeliveryError
from erepwatch.settings import Secret

#: Authentication refusals are a configuration problem: fixing the password must let the mail go out.
_AUTH_CODES = {530, 534, 535, 538}


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def delivered(self, message_id: str) -> bool | None:
        """Whether a message with this id already left (None: this transport cannot know)."""
        ...

    def close(self) -> None: ...


def classify_smtp(exc: Exception) -> DeliveryError:
    """The SMTP or network exception as a DeliveryError, temporary or permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items())
        return DeliveryError(f"recipient refused: {detail}", permanent=all(c >= 500 for c in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        message = f"SMTP {code} {_text(exc.smtp_error)}"
        if code in _AUTH_CODES:
            return DeliveryError(f"authentication failed: {message}", permanent=False)
        return DeliveryError(message, permanent=500 <= code < 600)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"SMTP server disconnected: {exc}", permanent=False)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"SMTP server lacks a required extension: {exc}", permanent=False)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(f"TLS error with the SMTP server: {exc}", permanent=False)
    if isinstance(exc, OSError):
        return DeliveryError(f"cannot reach the SMTP server: {exc}", permanent=False)
    return DeliveryError(f"SMTP error: {exc}", permanent=False)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class _DataTracking(smtplib.SMTP):
    """Knows whether the end of DATA (the message and its final ``.``) has been sent: a failure after that
    point is "may have gone out", before it "was not sent"."""

    data_done = False

    def send(self, s: Any) -> None:
        super().send(s)
        # smtplib.SMTP.data() sends the quoted message and the terminator in this one call.
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.data_done = True


class _TrackingSMTP(_DataTracking):
    pass


class _TrackingSMTPSSL(_DataTracking, smtplib.SMTP_SSL):
    pass


class SmtpTransport:
    """``smtp://[user@]host[:port][?starttls=true|false|auto&verify=false&cafile=PATH&timeout=30]`` or
    ``smtps://…`` (implicit TLS, port 465). Without ``starttls``, STARTTLS is used when the server offers it."""

    def __init__(self, url: str, password: Secret | str | None = None) -> None:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = password.reveal() if isinstance(password, Secret) else password
        self.starttls = query.get("starttls", "auto").lower()
        self.timeout = float(query.get("timeout", 30))
        self.context = ssl.create_default_context(cafile=query.get("cafile"))
        if query.get("verify", "true").lower() in {"0", "false", "no"}:
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        try:
            if self.implicit_tls:
                conn: smtplib.SMTP = _TrackingSMTPSSL(self.host, self.port, timeout=self.timeout, context=self.context)
            else:
                conn = _TrackingSMTP(self.host, self.port, timeout=self.timeout)
            try:
                conn.ehlo()
                if not self.implicit_tls and self.starttls not in {"false", "0", "no"}:
                    if conn.has_extn("starttls"):
                        conn.starttls(context=self.context)
                        conn.ehlo()
                    elif self.starttls != "auto":
                        raise smtplib.SMTPNotSupportedError("STARTTLS required by the SMTP URL but not offered")
                if self.user:
                    conn.login(self.user, self.password or "")
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.close()
                raise
        except Exception as exc:
            raise classify_smtp(exc) from exc
        self._conn = conn
        return conn

    def connect(self) -> None:
        """Open the session now, so that a server that is down fails before a delivery is marked as sending."""
        self._connect()

    def send(self, message: EmailMessage) -> None:
        conn = self._connect()
        if isinstance(conn, _DataTracking):
            conn.data_done = False
        try:
            conn.send_message(message)
        except Exception as exc:
            handed_over = isinstance(conn, _DataTracking) and conn.data_done
            self.close()
            error = classify_smtp(exc)
            if handed_over and not isinstance(exc, smtplib.SMTPResponseException):
                # The whole message and its final "." were sent; the reply never came (timeout, dropped
                # connection). The server may well have accepted it: resending would risk a second copy.
                raise DeliveryError(
                    f"no reply after the message was sent ({error}): it may have gone out; not resent",
                    may_have_gone=True,
                ) from exc
            raise error from exc

    def delivered(self, message_id: str) -> bool | None:
        return None  # SMTP cannot be asked whether it accepted a message earlier

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.quit()
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def eml_name(message_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", message_id.strip("<>")) + ".eml"


class EmlTransport:
    """Writes each message to ``DIR/<message-id>.eml``, atomically; writing the same message twice is a no-op,
    so this transport is exactly-once even across a crash."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def connect(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create the outbox folder {self.directory}: {exc}") from exc

    def send(self, message: EmailMessage) -> None:
        self.connect()
        target = self.directory / eml_name(str(message["Message-ID"]))
        if target.exists():
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as out:
                out.write(message.as_bytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise DeliveryError(f"cannot write {target}: {exc}") from exc

    def delivered(self, message_id: str) -> bool | None:
        return (self.directory / eml_name(message_id)).exists()

    def close(self) -> None:
        pass


def send_push(urls: list[str], title: str, body: str) -> None:
    """Send one short notification to every Apprise URL; any refusal is a temporary failure (Apprise
    does not say which kind it was), retried until the attempts run out."""
    import apprise  # imported here: it loads many plugins, and most commands never push

    app = apprise.Apprise()
    bad = [u for u in urls if not app.add(u)]
    if bad:
        raise DeliveryError(f"{len(bad)} notification URL(s) are not understood by Apprise", permanent=True)
    if not app.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT):
        raise DeliveryError("a push channel refused or could not be reached", permanent=False)


def valid_push_url(url: str) -> bool:
    import apprise

    return bool(apprise.Apprise().add(url))
