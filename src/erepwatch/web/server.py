"""A small HTTP server in a thread of the daemon: ``/healthz``, ``/metrics``, ``/`` and ``/feed.atom``.

The standard library's threading server is enough for a health probe, a Prometheus scrape and a page read
by a few people; it keeps the image free of an ASGI stack.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from erepwatch.metrics import CONTENT_TYPE
from erepwatch.web import pages

if TYPE_CHECKING:
    from erepwatch.daemon import Daemon

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Routes:
    """What the server answers with; each callable runs in the request's thread."""

    health: Callable[[], tuple[bool, dict[str, Any]]]
    metrics: Callable[[], tuple[bytes, str]]
    index: Callable[[], str]
    atom: Callable[[], str]


def _handler(routes: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "erepwatch"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http " + format, *args)

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            try:
                if path == "/healthz":
                    ok, details = routes.health()
                    body = json.dumps({"status": "ok" if ok else "unhealthy", **details}, default=str).encode()
                    self._send(200 if ok else 503, body, "application/json")
                elif path == "/metrics":
                    body, ctype = routes.metrics()
                    self._send(200, body, ctype)
                elif path in ("/", "/index.html"):
                    self._send(200, routes.index().encode(), "text/html; charset=utf-8")
                elif path == "/feed.atom":
                    self._send(200, routes.atom().encode(), "application/atom+xml; charset=utf-8")
                else:
                    self._send(404, b"not found\n", "text/plain; charset=utf-8")
            except Exception:  # the page must never take the daemon down; the probe reports the cause
                log.exception("web request path=%s failed", path)
                self._send(503, b"service unavailable\n", "text/plain; charset=utf-8")

    return Handler


class WebServer:
    def __init__(self, addr: str, routes: Routes) -> None:
        host, _, port = addr.rpartition(":")
        self.httpd = ThreadingHTTPServer((host.strip("[]"), int(port)), _handler(routes))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="web", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def daemon_web(daemon: Daemon) -> WebServer:
    """The daemon's web side (given to :class:`~erepwatch.daemon.Daemon` by ``erepwatch run``)."""

    def index() -> str:
        with daemon.sessions() as session:
            return pages.render_index(session, daemon.clock())

    def atom() -> str:
        with daemon.sessions() as session:
            return pages.render_atom(session, daemon.clock(), daemon.settings.web_base_url)

    routes = Routes(daemon.health, lambda: (daemon.metrics.exposition(), CONTENT_TYPE), index, atom)
    return WebServer(daemon.settings.web_addr, routes)
