"""The fetch stage against a real HTTP server on 127.0.0.1: what happens in each bad case.

- 304 with stored validators: no body, counted as success;
- redirects: followed one by one, capped, each hop re-checked (file:// and private hosts refused);
- a body past the cap (even streamed without Content-Length): `too_large`, the download stops;
- 429/503: the `Retry-After` delay is reported; 4xx/5xx map to their kinds;
- a dead port: `network` after the configured retries; a slow server: `timeout`;
- private addresses refused unless allowed, before any byte is sent.
"""

from __future__ import annotations

import asyncio
import gzip
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from datetime import UTC, datetime

import pytest

from erepwatch import USER_AGENT
from erepwatch.errors import FetchError, SourceErrorKind
from erepwatch.ingest import fetch as fetch_module
from erepwatch.ingest.fetch import Fetcher, FetchPolicy, is_public_address, parse_retry_after
from erepwatch.records import Validators
from tests.conftest import FEEDS
from tests.hostile import start_hostile_server

FEED = "en-news-bbc-world-01.xml"


def fetch(url: str, validators: Validators | None = None, **policy: object):
    async def go():
        async with Fetcher(FetchPolicy(allow_private=True, **policy)) as fetcher:  # type: ignore[arg-type]
            return await fetcher.fetch(url, validators)

    return asyncio.run(go())


def failure(url: str, **policy: object) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, **policy)
    return info.value


def test_get_then_conditional_get(server):
    first = fetch(server.feed_url(FEED))
    assert first.status == 200 and first.content == (FEEDS / FEED).read_bytes()  # gzip undone
    assert first.validators.etag and first.validators.last_modified
    second = fetch(server.feed_url(FEED), first.validators)
    assert second.not_modified and second.content is None


def test_sends_honest_user_agent_and_accepts_compression(server):
    result = fetch(server.feed_url(FEED))
    assert result.headers.get("content-encoding") == "gzip"
    sent = server.request_headers[-1]
    assert sent["User-Agent"] == USER_AGENT and USER_AGENT.startswith("erepwatch/") and "(+http" in USER_AGENT
    assert {"gzip", "deflate", "br"} <= {e.strip() for e in sent["Accept-Encoding"].split(",")}


def test_redirect_chain_followed_and_capped(server):
    target = server.feed_url(FEED)
    one = server.url(f"/redirect?to={target}")
    assert fetch(one).final_url == target
    chain = target
    for _ in range(3):
        chain = server.url(f"/redirect?to={chain}")
    assert failure(chain, max_redirects=2).kind is SourceErrorKind.HTTP_4XX


def test_a_cookie_set_on_a_redirect_is_sent_to_the_next_hop(server):
    # Sites that check cookies set one and redirect; the client keeps it (and reads no response that sets none).
    body = (FEEDS / FEED).read_bytes()
    server.routes["/cookie-check"] = (302, {"Location": "/cookie-feed", "Set-Cookie": "seen=1; Path=/"}, b"")
    server.routes["/cookie-feed"] = (200, {"Content-Type": "application/rss+xml"}, body)
    server.request_headers.clear()
    result = fetch(server.url("/cookie-check"))
    assert result.status == 200 and result.content == body
    cookies = [{k.lower(): v for k, v in h.items()}.get("cookie") for h in server.request_headers]
    assert cookies == [None, "seen=1"]


def test_redirect_to_file_scheme_refused(server):
    error = failure(server.url("/redirect?to=file:///etc/passwd"))
    assert error.kind is SourceErrorKind.FORBIDDEN_ADDRESS


def test_private_address_refused_before_any_request(server):
    before = len(server.requests)
    with pytest.raises(FetchError) as info:
        asyncio.run(_fetch_private(server.feed_url(FEED)))
    assert info.value.kind is SourceErrorKind.FORBIDDEN_ADDRESS
    assert "EREPWATCH_ALLOW_PRIVATE" in str(info.value)
    assert len(server.requests) == before


async def _fetch_private(url: str):
    async with Fetcher(FetchPolicy(allow_private=False, retries=0)) as fetcher:
        return await fetcher.fetch(url)


def test_body_over_cap_is_too_large(server):
    assert failure(server.url("/huge"), max_bytes=1_000_000).kind is SourceErrorKind.TOO_LARGE
    # Declared Content-Length over the cap: refused without reading.
    assert (
        failure(server.feed_url("podcast-giantbomb-large-01.rss"), max_bytes=10_000).kind is SourceErrorKind.TOO_LARGE
    )


def test_gzip_bomb_is_capped_after_decompression(server):
    bomb = gzip.compress(b"<rss>" + b" " * 50_000_000)
    server.routes["/bomb"] = (200, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}, bomb)
    assert len(bomb) < 1_000_000
    assert failure(server.url("/bomb"), max_bytes=5_000_000).kind is SourceErrorKind.TOO_LARGE


@pytest.mark.parametrize(
    ("path", "kind", "retry_after"),
    [
        ("/status/429?retry_after=120", SourceErrorKind.HTTP_429, 120.0),
        ("/status/503?retry_after=30", SourceErrorKind.HTTP_5XX, 30.0),
        ("/status/500", SourceErrorKind.HTTP_5XX, None),
        ("/status/404", SourceErrorKind.HTTP_4XX, None),
        ("/status/410", SourceErrorKind.HTTP_4XX, None),
    ],
    ids=["429", "503", "500", "404", "410"],
)
def test_http_errors(server, path, kind, retry_after):
    error = failure(server.url(path))
    assert error.kind is kind and error.retry_after == retry_after


def test_empty_body(server):
    server.routes["/empty"] = (200, {"Content-Type": "application/rss+xml"}, b"  \n")
    assert failure(server.url("/empty")).kind is SourceErrorKind.EMPTY


def test_dead_port_is_network_error_after_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = datetime.now(UTC)
    error = failure(f"http://127.0.0.1:{port}/feed", retries=2, backoff=0.05)
    assert error.kind is SourceErrorKind.NETWORK
    assert (datetime.now(UTC) - started).total_seconds() >= 0.15  # 0.05 + 0.1 of backoff


def test_slow_server_times_out(server):
    assert failure(server.url("/slow?s=2"), timeout=0.3, retries=0).kind is SourceErrorKind.TIMEOUT


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x", "http://", "nonsense"])
def test_non_http_refused(url):
    with pytest.raises(FetchError):
        fetch(url)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.1.1", False),
        ("172.16.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("0.0.0.0", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        # IPv6 forms carrying an IPv4 address: judged by the address they reach (issue 18 point 9).
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::5db8:d822", True),  # NAT64 of 93.184.216.34
        ("64:ff9b:1::a00:1", False),  # local-use NAT64 of 10.0.0.1
        ("2002:a9fe:a9fe::", False),  # 6to4 of 169.254.169.254
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:5db8:d822::1", True),  # 6to4 of 93.184.216.34
        ("::169.254.169.254", False),  # IPv4-compatible
        ("::127.0.0.1", False),
        ("::10.0.0.1", False),
        ("::ffff:169.254.169.254", False),  # IPv4-mapped
        ("::ffff:93.184.216.34", True),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("::", False),
    ],
)
def test_public_address_classification(address, public):
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    "host", ["[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::]", "[::169.254.169.254]", "[::127.0.0.1]", "[::ffff:7f00:1]"]
)
def test_embedded_ipv4_refused_before_connecting(host):
    with pytest.raises(FetchError) as info:
        asyncio.run(_fetch_private(f"http://{host}/feed"))
    assert info.value.kind is SourceErrorKind.FORBIDDEN_ADDRESS


@pytest.fixture(scope="module")
def hostile():
    server, stop = start_hostile_server()
    yield server
    stop()


@pytest.mark.parametrize("path", ["/drip-body", "/drip-headers"])
def test_total_deadline_ends_a_dripping_server(hostile, path):
    # Each byte arrives well within the read timeout; only the total deadline ends the fetch.
    started = time.monotonic()
    error = failure(hostile.url(path), timeout=1.0, deadline=1.5, retries=2, backoff=0.05)
    elapsed = time.monotonic() - started
    assert error.kind is SourceErrorKind.TIMEOUT and "deadline" in str(error)
    assert elapsed < 3.0  # the retries share the deadline, they do not restart it


@pytest.mark.parametrize("path", ["/bomb/br", "/bomb/gzip-gzip", "/bomb/br-gzip", "/bomb/unlabelled", "/bomb/deflate"])
def test_every_bomb_is_too_large(hostile, path):
    assert failure(hostile.url(path), max_bytes=2_000_000).kind is SourceErrorKind.TOO_LARGE


def test_unsupported_coding_is_named(hostile):
    hostile.routes["/zstd"] = (200, {"Content-Encoding": "zstd"}, b"(\xb5/\xfd whatever")
    error = failure(hostile.url("/zstd"))
    assert error.kind is SourceErrorKind.NETWORK and "zstd" in str(error)


def test_retry_after_formats():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:00 GMT", now) == 60
    assert parse_retry_after("garbage", now) is None and parse_retry_after(None, now) is None


# --- TLS: a real HTTPS server on 127.0.0.1, with a certificate authority made for the test -----------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test's certificates")
    d = tmp_path_factory.mktemp("tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=erepwatch test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "srv.pem", "-days", "2", "-extfile", "ext")  # fmt: skip
    body = (FEEDS / FEED).read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a second request may reuse the TLS connection

        def do_GET(self) -> None:
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d / "srv.pem", d / "srv.key")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/feed", d / "ca.pem", body
    httpd.shutdown()
    httpd.server_close()


def test_https_fetch_and_conditional_get(tls_server, monkeypatch: pytest.MonkeyPatch):
    url, ca, body = tls_server
    monkeypatch.setattr(fetch_module, "_ssl_context", lambda: ssl.create_default_context(cafile=str(ca)))

    async def go():
        async with Fetcher(FetchPolicy(allow_private=True)) as fetcher:
            first = await fetcher.fetch(url)
            again = await fetcher.fetch(url, first.validators)  # on the kept-alive TLS connection
            return first, again

    first, again = asyncio.run(go())
    assert first.status == 200 and first.content == body and first.validators.etag == '"v1"'
    assert again.status == 304 and again.content is None


def test_untrusted_certificate_is_a_tls_error(tls_server):
    url, _ca, _body = tls_server
    error = failure(url, retries=0)
    assert error.kind == SourceErrorKind.TLS, error


def test_a_blank_body_is_told_as_strip_tells_it():
    """The empty-body check reads the body without copying it: blank exactly when ``strip()`` leaves nothing."""
    from erepwatch.ingest.fetch import _blank

    singles = [bytes([b]) for b in range(256)]
    pairs = [a + b for a in singles[:40] for b in singles[:40]]
    bodies = [b"", *singles, *pairs, b" \t\r\n\x0b\x0c" * 3, b"  <rss/>\n"]
    assert [_blank(body) for body in bodies] == [not body.strip() for body in bodies]
