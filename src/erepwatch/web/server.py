"""Serving the app with uvicorn: in a thread of the daemon (:class:`WebServer`), or in the foreground
(:func:`serve_forever`, ``erepwatch serve``). Both refuse a non-loopback address without a password."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.errors import ConfigError
from erepwatch.settings import Settings
from erepwatch.signing import secret_key
from erepwatch.web.base import HealthCheck, WebConfig
from erepwatch.web.security import check_bind

if TYPE_CHECKING:
    from erepwatch.daemon import Daemon

log = logging.getLogger(__name__)


def make_config(
    sessions: sessionmaker[Session], settings: Settings, *, clock: Callable[[], datetime] | None = None,
    health: HealthCheck | None = None, metrics: Callable[[], tuple[bytes, str]] | None = None,
) -> WebConfig:  # fmt: skip
    extra: dict[str, Any] = {"clock": clock} if clock else {}
    return WebConfig(sessions, settings, secret_key(settings), health=health, metrics=metrics, **extra)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a busy port is one line naming the setting (uvicorn would log
    its own error and exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise ConfigError(
            "web.addr",
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): stop what uses it or set EREPWATCH_WEB_ADDR "
            "(or serve --addr) to a free host:port",
        ) from exc


def _uvicorn(cfg: WebConfig, addr: str) -> tuple[uvicorn.Server, socket.socket]:
    from erepwatch.web.app import create_app

    host, port = check_bind(addr, cfg.password)
    sock = _listen(host, port)
    config = uvicorn.Config(
        create_app(cfg), host=host, port=port, log_level="warning", access_log=False, lifespan="off",
        server_header=False, proxy_headers=False, timeout_graceful_shutdown=2,
    )  # fmt: skip
    return uvicorn.Server(config), sock


class WebServer:
    """The app on ``addr`` in a background thread; ``port`` is the one bound (useful with port 0)."""

    def __init__(self, cfg: WebConfig, addr: str) -> None:
        self.server, sock = _uvicorn(cfg, addr)
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, name="web", daemon=True)

    @property
    def port(self) -> int:
        servers = getattr(self.server, "servers", None) or []
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    @property
    def host(self) -> str:
        return str(self.server.config.host)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise OSError(f"the web app could not listen on {self.host}:{self.server.config.port}")
            if time.monotonic() > deadline:
                raise TimeoutError("the web app did not start in time")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=5)


def serve_forever(cfg: WebConfig, addr: str) -> None:
    """``erepwatch serve``: until SIGTERM or Ctrl-C (uvicorn handles both)."""
    server, sock = _uvicorn(cfg, addr)
    log.info("web listening addr=%s", addr)
    server.run(sockets=[sock])


def daemon_web(daemon: Daemon) -> WebServer:
    """The daemon's web side (given to :class:`~erepwatch.daemon.Daemon` by ``erepwatch run``): the whole app, with
    the daemon's health (``Daemon.health``) and metrics."""
    from erepwatch.metrics import CONTENT_TYPE

    config = make_config(
        daemon.sessions, daemon.settings, clock=daemon.clock, health=daemon.health,
        metrics=lambda: (daemon.metrics.exposition(), CONTENT_TYPE),
    )  # fmt: skip
    return WebServer(config, daemon.settings.web_addr)
