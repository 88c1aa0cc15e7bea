"""The web app: Starlette routes, the session and the guards around them (see ``security.py``).

Built by :func:`create_app` from a :class:`~erepwatch.web.base.WebConfig`; served by uvicorn, in a thread of the
daemon (``erepwatch run``) or alone (``erepwatch serve``). Handlers are plain functions run in Starlette's thread
pool: they call ``service/`` and render; none holds a query of its own.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from erepwatch.errors import ErepwatchError
from erepwatch.web import api, feeds, groups, manage, pages, transfer
from erepwatch.web.base import WebConfig, config, csrf_ok, flash, local_path, redirect, render, translator
from erepwatch.web.i18n import LOCALES, zone
from erepwatch.web.security import MAX_BODY, GuardMiddleware, is_loopback, same_secret

log = logging.getLogger(__name__)

#: Paths open without logging in: probes, the login itself, unsubscribe links (the token is the credential),
#: the app's own files, and the API description.
PUBLIC = ("/healthz", "/metrics", "/login", "/unsubscribe/", "/static/", "/openapi.json", "/lang/", "/tz")


def check_health(cfg: WebConfig) -> tuple[bool, dict[str, Any]]:
    """``/healthz`` of ``erepwatch serve``: healthy when the database answers (the daemon passes its own)."""
    from erepwatch.service.common import database_answers

    answers = database_answers(cfg.sessions)
    return answers, {"database": answers}


def healthz(request: Request) -> Response:
    cfg = config(request)
    ok, details = (cfg.health or (lambda: check_health(cfg)))()
    body = {"status": "ok" if ok else "unhealthy", **details}
    return JSONResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})


def metrics(request: Request) -> Response:
    cfg = config(request)
    if cfg.metrics is None:
        return PlainTextResponse("", headers={"Cache-Control": "no-store"})
    body, ctype = cfg.metrics()
    return Response(body, media_type=ctype, headers={"Cache-Control": "no-store"})


async def login(request: Request) -> Response:
    cfg = config(request)
    t = translator(request)
    if cfg.password is None:
        return redirect("/")
    client = request.client.host if request.client else "?"
    error = None
    status = 200
    if request.method == "POST":
        async with request.form() as form:
            fields = {k: str(v) for k, v in form.items()}
        wait = cfg.limiter.retry_after(client)
        if not csrf_ok(request, fields.get("csrf")):
            error, status = t("forbidden"), 403
        elif wait:
            return render(request, "login.html", 429, error=t("too_many", seconds=wait),
                          next=local_path(fields.get("next") or "/"))  # fmt: skip
        elif same_secret(fields.get("password") or "", cfg.password):
            cfg.limiter.succeeded(client)
            request.session.clear()
            request.session["auth"] = True
            request.session["user"] = (fields.get("name") or "").strip()[:60]
            return redirect(local_path(fields.get("next") or "/"))
        else:
            cfg.limiter.failed(client)
            error, status = t("bad_password"), 401
    return render(request, "login.html", status, error=error, next=local_path(request.query_params.get("next")))


def logout(request: Request) -> Response:
    request.session.clear()
    return redirect("/login" if config(request).password else "/")


def switch_lang(request: Request) -> Response:
    lang = request.path_params["lang"]
    response = RedirectResponse(local_path(request.query_params.get("next")), status_code=303)
    if lang in LOCALES:
        response.set_cookie("lang", lang, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


async def set_tz(request: Request) -> Response:
    """The browser's zone (sent once by app.js) or the one picked on the page."""
    async with request.form() as form:
        fields = {k: str(v) for k, v in form.items()}
    name = zone(fields.get("tz") or "")
    response = redirect(local_path(fields.get("next") or "/"))
    response.set_cookie("tz", name, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


class AuthMiddleware:
    """Behind a password: pages redirect to the login, the API answers 401 unless given the Bearer token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        cfg = config(request)
        path = scope["path"]
        if cfg.password is None or path.startswith(PUBLIC) or request.session.get("auth"):
            await self.app(scope, receive, send)
            return
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer ") and same_secret(bearer[7:].strip(), cfg.password):
            scope["erepwatch.bearer"] = True
            await self.app(scope, receive, send)
            return
        if path.startswith("/api/") or path.startswith("/feeds/") or path == "/feed.atom":
            response: Response = JSONResponse(
                {"error": "authentication required"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        else:
            response = redirect("/login?next=" + (path if local_path(path) == path else "/"))
        await response(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    t = translator(request)
    message = {404: t("not_found"), 413: t("too_large_body", mb=MAX_BODY // (1024 * 1024))}.get(
        exc.status_code, str(exc.detail)
    )
    return render(request, "error.html", exc.status_code, message=message)


async def _user_error(request: Request, exc: Exception) -> Response:
    """A mistake of the user (bad filter, unknown watch…): one line saying what to change, never a traceback."""
    from erepwatch.errors import ConflictError, NotFoundError

    status = 404 if isinstance(exc, NotFoundError) else 409 if isinstance(exc, ConflictError) else 400
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=status)
    return render(request, "error.html", status, message=str(exc))


def routes() -> list[BaseRoute]:
    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{lang}", switch_lang, methods=["GET"]),
        Route("/tz", set_tz, methods=["POST"]),
        *pages.routes(),
        *transfer.routes(),
        *manage.routes(),
        *groups.routes(),
        *feeds.routes(),
        *api.routes(),
        Route("/favicon.ico", lambda request: RedirectResponse("/static/favicon.svg", status_code=301)),
        Mount("/static", StaticFiles(packages=[("erepwatch.web", "static")]), name="static"),
    ]


class CsrfMiddleware:
    """Forms (urlencoded or multipart) must carry the session's token; the API must be JSON (see security.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        ctype = Request(scope).headers.get("content-type", "").split(";")[0].strip().lower()
        if path.startswith("/api/"):
            # POST is the one method a cross-site page can send without a CORS preflight (PATCH, DELETE cannot).
            if scope.get("erepwatch.bearer") or ctype == "application/json" or scope["method"] != "POST":
                await self.app(scope, receive, send)
                return
            response: Response = JSONResponse({"error": "send the request body as application/json"}, 415)
            await response(scope, receive, send)
            return
        # Form handlers check the token themselves (they read the form); the login and unsubscribe pages too.
        await self.app(scope, receive, send)


def create_app(cfg: WebConfig) -> Starlette:
    hosts: set[str] = set()
    if cfg.password is None:
        # Without a password only loopback names may reach the app: a DNS-rebound name is refused.
        host = cfg.settings.web_addr.rpartition(":")[0].strip("[]")
        hosts = {"127.0.0.1", "localhost", "::1", "testserver"} | ({host} if is_loopback(host) else set())
        if cfg.settings.web_base_url:
            from urllib.parse import urlsplit

            hosts.add((urlsplit(cfg.settings.web_base_url).hostname or "").lower())
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(GuardMiddleware, hosts=hosts),
            Middleware(
                SessionMiddleware,
                secret_key=cfg.secret_key,
                session_cookie="erepwatch_session",
                same_site="lax",
                https_only=cfg.settings.web_base_url.startswith("https://"),
                max_age=30 * 86400,
            ),
            Middleware(AuthMiddleware),
            Middleware(CsrfMiddleware),
        ],
        exception_handlers={HTTPException: _http_error, ErepwatchError: _user_error},
    )
    app.state.config = cfg
    app.state.started = time.time()
    return app


__all__ = ["PUBLIC", "WebConfig", "check_health", "create_app", "flash"]
