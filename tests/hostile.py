"""A hostile feed server on 127.0.0.1: every way a feed host can try to hang, bloat or crash a poll.

Each path is one behaviour (see :data:`CASES` in the resilience suite for what each must cost). The bombs are
built once per process, streamed from a few compressed megabytes at most, and decoded sizes are far past any
cap (1 GiB), so a client that decoded them whole would show it in its memory at once.
"""

from __future__ import annotations

import functools
import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import brotli

BOMB_SIZE = 2**30  # decoded bytes of every bomb


def _deflate_stream(size: int, wbits: int) -> bytes:
    # Compressing 1 GiB of zeros block by block at level 1 takes about a second and a few KiB of memory.
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"\0" * 2**20
    parts = [compressor.compress(b"<rss>")]
    parts.extend(compressor.compress(block) for _ in range(size // len(block)))
    parts.append(compressor.flush())
    return b"".join(parts)


@functools.cache
def gzip_bomb() -> bytes:
    return _deflate_stream(BOMB_SIZE, 16 + zlib.MAX_WBITS)


@functools.cache
def deflate_bomb() -> bytes:
    """Raw deflate (no zlib wrapper): what many servers send as ``deflate``; the gzip bomb's own stream."""
    return gzip_bomb()[10:-8]


@functools.cache
def brotli_bomb() -> bytes:
    compressor = brotli.Compressor(quality=4)
    block = b"\0" * 2**20
    parts = [compressor.process(b"<rss>")]
    parts.extend(compressor.process(block) for _ in range(BOMB_SIZE // len(block)))
    parts.append(compressor.finish())
    return b"".join(parts)


@functools.cache
def gzip_gzip_bomb() -> bytes:
    return gzip.compress(gzip_bomb(), 9)


@functools.cache
def gzip_br_bomb() -> bytes:
    """``Content-Encoding: br, gzip``: brotli first, then gzip over it."""
    return gzip.compress(brotli_bomb(), 9)


def rss(items: str, *, title: str = "hostile", extra_head: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{extra_head}<rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.com/</link>{items}</channel></rss>"
    ).encode("utf-8", "surrogatepass")


def item(n: int, *, title: str = "", link: str = "", author: str = "", body: str = "") -> str:
    return (
        f"<item><title>{title or f'Acme story {n}'}</title><link>{link or f'https://news.example.com/a/{n}'}</link>"
        f"<guid>hostile-{n}</guid><pubDate>Mon, 30 Nov 2026 {n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d} GMT"
        f"</pubDate>{f'<author>{author}</author>' if author else ''}"
        f"<description>{body or f'Acme did thing {n}.'}</description></item>"
    )


@functools.cache
def many_entries(count: int = 100_000) -> bytes:
    """About 8 MB: under the byte cap, far over any entry budget; the newest entries are at the end."""
    return rss(
        "".join(
            f"<item><title>Acme {n}</title><guid>m{n}</guid><pubDate>{1 + n // 86400 % 28} Nov 2026 "
            f"{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d} GMT</pubDate></item>"
            for n in range(count)
        )
    )


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']><rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><link>https://x.example/1'
    "</link></item></channel></rss>"
).encode()


@dataclass
class HostileServer:
    host: str = "127.0.0.1"
    port: int = 0
    #: extra static routes: path -> (status, headers, body)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    #: requests seen, by path
    hits: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"


def _handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._write(body)

        def _write(self, data: bytes) -> bool:
            try:
                self.wfile.write(data)
                return True
            except OSError:
                self.close_connection = True
                return False

        def _drip(self, data: Iterator[bytes], pause: float) -> None:
            for piece in data:
                if server._stop.is_set() or not self._write(piece):
                    return
                time.sleep(pause)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            query = parse_qs(parts.query)
            server.hits[path] = server.hits.get(path, 0) + 1
            rss_type = {"Content-Type": "application/rss+xml"}
            if path in server.routes:
                status, headers, body = server.routes[path]
                return self._send(status, headers, body)
            if path == "/drip-body":
                # Valid headers, then one byte per 0.2 s forever: each read succeeds, so only a total deadline ends it.
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                return self._drip(iter(lambda: b" ", None), 0.2)
            if path == "/drip-headers":
                raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" + b"X-Pad: " + b"a" * 100000
                return self._drip((raw[i : i + 1] for i in range(len(raw))), 0.2)
            if path == "/endless":
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Connection", "close")
                self.end_headers()
                self._write(b"<rss>")
                chunk = b"<!-- " + b"x" * 65536 + b" -->"
                while not server._stop.is_set() and self._write(chunk):
                    pass
                self.close_connection = True
                return None
            if path == "/length-2g":
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(2 * 2**30))
                self.end_headers()
                chunk = b" " * 65536
                while not server._stop.is_set() and self._write(chunk):
                    pass
                self.close_connection = True
                return None
            bombs: dict[str, tuple[str, Callable[[], bytes]]] = {
                "/bomb/gzip": ("gzip", gzip_bomb),
                "/bomb/deflate": ("deflate", deflate_bomb),
                "/bomb/br": ("br", brotli_bomb),
                "/bomb/gzip-gzip": ("gzip, gzip", gzip_gzip_bomb),
                "/bomb/br-gzip": ("br, gzip", gzip_br_bomb),
                "/bomb/unlabelled": ("gzip", gzip_gzip_bomb),  # gzip twice, labelled once
            }
            if path in bombs:
                coding, body = bombs[path]
                return self._send(200, {**rss_type, "Content-Encoding": coding}, body())
            if path == "/redirect-loop":
                return self._send(302, {"Location": "/redirect-loop"}, b"")
            if path.startswith("/chain/"):
                hops = int(path.rsplit("/", 1)[1])
                target = f"/chain/{hops - 1}" if hops > 0 else "/good"
                return self._send(302, {"Location": target}, b"")
            if path == "/to":
                return self._send(302, {"Location": query["url"][0]}, b"")
            if path == "/changing":
                # A new entry at every request: never a 304, always something new.
                n = server.hits[path]
                return self._send(200, rss_type, rss(item(1_000_000 + n)))
            if path == "/many":
                return self._send(200, rss_type, many_entries())
            return self._send(404, {"Content-Type": "text/plain"}, b"not found")

    return Handler


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-body is what the tests do on purpose


def start_hostile_server() -> tuple[HostileServer, Callable[[], None]]:
    server = HostileServer()
    httpd = _Quiet((server.host, 0), _handler(server))
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server._stop.set()
        httpd.shutdown()
        httpd.server_close()

    return server, stop


def json_feed(items: object, **extra: object) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": items, **extra}).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
