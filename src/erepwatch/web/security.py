"""The web app's guards: where it may listen, who may use it, forged requests, and the headers every answer
carries.

- Listening off loopback needs ``EREPWATCH_WEB_PASSWORD`` (environment or ``*_FILE``, never the command line):
  :func:`check_bind` refuses to start otherwise.
- With a password, pages ask for it once (a signed, HttpOnly, SameSite cookie keeps the session) and the API
  takes it as ``Authorization: Bearer …``; failed logins are limited per client address (:class:`LoginLimiter`).
- Every form carries a per-session CSRF token, checked on every POST; API calls that change something must be
  JSON (a cross-site page cannot send JSON without a CORS preflight, which this app never grants) and, like
  forms, must not come from another origin.
- Every answer carries a strict Content-Security-Policy (no inline script or style: the app's own files only),
  and requests for another host name are refused (DNS rebinding of a loopback app).
- A request body is read up to :data:`MAX_BODY` bytes and refused beyond (413): the web app runs in the daemon's
  process, so one huge POST must not fill its memory (the API reads JSON whole) or the disk (uploads spool there).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from erepwatch.errors import ConfigError

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    # "no-referrer" would make browsers send ``Origin: null`` on our own forms; links out carry rel=noreferrer.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The largest request body: the largest upload (``erepwatch.web.transfer.MAX_UPLOAD``, 5 MiB) with its form around
#: it. Nothing else the app takes comes near (an OPML file of a thousand feeds is about 130 kB).
MAX_BODY = 6 * 1024 * 1024


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(addr: str, password: str | None) -> tuple[str, int]:
    """(host, port) to listen on; refuses a non-loopback address without a password."""
    host, _, port = addr.rpartition(":")
    host = host.strip("[]")
    if not is_loopback(host) and not password:
        raise ConfigError(
            "web.addr",
            f"{addr} is reachable from other machines: set EREPWATCH_WEB_PASSWORD (or EREPWATCH_WEB_PASSWORD_FILE) "
            "first, or listen on 127.0.0.1",
        )
    return host, int(port)


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class LoginLimiter:
    """At most ``attempts`` failed logins per client address within ``window`` seconds."""

    attempts: int = 5
    window: float = 600.0
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def _trim(self, client: str, now: float) -> deque[float]:
        failures = self._failures[client]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds to wait before trying again; 0 when allowed."""
        now = time.monotonic() if now is None else now
        failures = self._trim(client, now)
        if len(failures) < self.attempts:
            return 0
        return max(1, int(failures[0] + self.window - now) + 1)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._trim(client, now).append(now)
        if len(self._failures) > 10_000:  # a flood of addresses must not grow memory without end
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


class GuardMiddleware:
    """Security headers on every answer; unknown Host names refused; cross-origin unsafe requests refused."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = {h.lower() for h in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "").lower()
        name = host.rsplit(":", 1)[0].strip("[]") if not host.endswith("]") else host.strip("[]")
        if self.hosts and name not in self.hosts and host not in self.hosts:
            await _plain(send, 421, b"unknown host name\n")
            return
        if scope["method"] not in SAFE_METHODS and not _same_origin(headers, host, scope.get("scheme", "http")):
            await _plain(send, 403, b"cross-origin request refused\n")
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in HEADERS if k not in present]
            await send(message)

        await self.app(scope, _limited(receive, headers), send_with_headers)


def _limited(receive: Receive, headers: Headers) -> Receive:
    """``receive`` that refuses a body over :data:`MAX_BODY`: at its first chunk when the client declares a larger
    length, else at the chunk that crosses it. The refusal is raised where the handler reads (an HTTPException), so
    the app answers 413 in its own way (the page in the reader's language, JSON under /api/) and the form parser
    closes the files it had spooled; a disconnect, which a streaming answer listens for, passes as it is."""
    declared = headers.get("content-length", "")
    too_large = declared.isdigit() and int(declared) > MAX_BODY
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if too_large or received > MAX_BODY:
                raise HTTPException(413, f"request body larger than {MAX_BODY // (1024 * 1024)} MB")
        return message

    return receive_limited


def _same_origin(headers: Headers, host: str, scheme: str) -> bool:
    site = headers.get("sec-fetch-site")
    if site is not None:  # a modern browser says where the request comes from
        return site in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:  # not a browser, or a browser's same-origin request that omits it
        return True
    if origin == "null":
        return False
    return origin.split("://", 1)[-1].lower() == host


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *HEADERS]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
