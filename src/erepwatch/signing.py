"""The web app's signing key, and the signed one-click unsubscribe tokens put in e-mails.

The key signs session cookies and unsubscribe links. It comes from ``EREPWATCH_WEB_SECRET`` (or ``*_FILE``);
without it, a random key is created once in the data directory (mode 0600) so links in e-mails already sent
keep working after a restart. The daemon (which writes the e-mails) and ``erepwatch serve`` (which answers the
links) must share it: same data directory, or the same variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from erepwatch.errors import InvalidInputError
from erepwatch.settings import Settings

KEY_FILE = "web-secret"
_UNSUBSCRIBE_SALT = "erepwatch.unsubscribe"


def secret_key(settings: Settings) -> str:
    if settings.web_secret:
        return settings.web_secret.reveal()
    path = Path(settings.data_dir) / KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


def unsubscribe_token(secret: str, email: str) -> str:
    return str(URLSafeSerializer(secret, salt=_UNSUBSCRIBE_SALT).dumps(email.lower()))


def read_unsubscribe_token(secret: str, token: str) -> str:
    """The address a token was made for; InvalidInputError when it was not made with this key."""
    try:
        email = URLSafeSerializer(secret, salt=_UNSUBSCRIBE_SALT).loads(token)
    except BadSignature as exc:
        raise InvalidInputError("this unsubscribe link is damaged or was not made by this erepwatch") from exc
    if not isinstance(email, str):
        raise InvalidInputError("this unsubscribe link is damaged")
    return email


def unsubscribe_url(base_url: str, secret: str, email: str) -> str:
    """``{base_url}/unsubscribe/{token}``: one click (a POST, RFC 8058) unsubscribes, without logging in."""
    return f"{base_url.rstrip('/')}/unsubscribe/{unsubscribe_token(secret, email)}"
