"""What every handler needs: the app's configuration, the reader's language and zone, the session, CSRF,
who acts, templates, and the one-line answers to a user's mistakes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from erepwatch.clock import utcnow
from erepwatch.links import safe_url
from erepwatch.scrub import finalize, scrub
from erepwatch.settings import Settings
from erepwatch.web.i18n import Translator, negotiate, zone
from erepwatch.web.security import LoginLimiter, new_token, same_secret

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


@dataclass
class WebConfig:
    """Everything the app is built from; the daemon and ``erepwatch serve`` each make one."""

    sessions: sessionmaker[Session]
    settings: Settings
    secret_key: str
    clock: Callable[[], datetime] = utcnow
    #: ``/healthz``: (healthy, details); None: healthy when the database answers
    health: HealthCheck | None = None
    #: ``/metrics``: (body, content type); None: the app's own, empty registry
    metrics: Callable[[], tuple[bytes, str]] | None = None
    limiter: LoginLimiter = field(default_factory=LoginLimiter)

    @property
    def password(self) -> str | None:
        return self.settings.web_password.reveal() if self.settings.web_password else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session


def config(request: Request) -> WebConfig:
    return request.app.state.config


def translator(request: Request) -> Translator:
    return Translator(
        negotiate(request.cookies.get("lang"), request.headers.get("accept-language")),
        zone(request.cookies.get("tz")),
    )


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_token()
    return str(token)


def csrf_ok(request: Request, given: object) -> bool:
    expected = request.session.get("csrf")
    return bool(expected) and isinstance(given, str) and same_secret(given, str(expected))


def logged_in(request: Request) -> bool:
    return config(request).password is None or bool(request.session.get("auth"))


def actor(request: Request) -> str:
    """Who acts, for the journal: the name given at login, else the client address."""
    name = request.session.get("user")
    client = request.client.host if request.client else "?"
    return f"{name} (web)" if name else f"web {client}"


def flash(request: Request, message: str, *, undo: int | None = None) -> None:
    request.session["flash"] = [*request.session.get("flash", [])[-3:], {"text": message, "undo": undo}]


def local_path(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site (``/x``, never ``//evil`` or ``https://evil``)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def marked(snippet: str, marks: list[list[int]]) -> Markup:
    """The snippet with its matched terms in ``<mark>``, every piece escaped."""
    out: list[str] = []
    pos = 0
    for start, end in sorted((int(m[0]), int(m[1])) for m in marks if len(m) >= 2):
        if start < pos or end > len(snippet) or start >= end:
            continue
        out.append(str(Markup.escape(snippet[pos:start])))
        out.append(f"<mark>{Markup.escape(snippet[start:end])}</mark>")
        pos = end
    out.append(str(Markup.escape(snippet[pos:])))
    return Markup("".join(out))


def safe_href(url: str | None) -> str | None:
    """A feed's link only when it is a plain http(s) one: the one URL filter, :func:`erepwatch.links.safe_url`."""
    return safe_url(url)


_env = Environment(
    loader=PackageLoader("erepwatch.web", "templates"),
    # Feed-derived text is hostile until escaped: autoescape the HTML and the Atom XML alike.
    autoescape=select_autoescape(["html", "atom", "xml", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
    # Every printed value loses the characters no HTML or XML output may hold (C0 controls, lone surrogates…).
    finalize=finalize,
)
_env.filters["scrub"] = scrub
_env.globals.update(marked=marked, safe_href=safe_href, urlencode=urlencode)


def env() -> Environment:
    return _env


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    t = translator(request)
    page = _env.get_template(name).render(
        t=t, request=request, csrf=csrf_token(request), logged_in=logged_in(request),
        has_password=config(request).password is not None, flashes=request.session.pop("flash", []),
        path=request.url.path, query=request.url.query, now=config(request).clock(), **values,
    )  # fmt: skip
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})
