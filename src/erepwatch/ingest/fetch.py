"""Fetching feeds over HTTP: polite, bounded, and refusing what a monitoring daemon must never fetch.

What this module guarantees, whatever the server does:
- only ``http``/``https``; hosts resolving to loopback, private, link-local… addresses are refused unless
  allowed, checked on the address actually connected to (so DNS rebinding and redirects cannot sneak in);
- redirects are followed one by one up to a cap, each hop checked again;
- the body is streamed and decoded incrementally (ingest/decode.py), cut at ``max_bytes`` of *decoded* bytes
  whatever the coding or stack of codings (a gzip or brotli bomb is "too_large", using a few slices of memory);
- every fetch has a total deadline covering connect, headers, body, redirects and retries: a server that
  drips one byte a second cannot hold a poll (the per-read timeout restarts with every byte);
- conditional GET with the stored validators: a 304 costs no body and no parsing;
- connection errors are retried with exponential backoff; 429/503 report their ``Retry-After``;
- every failure is a :class:`FetchError` whose ``kind`` comes from a closed set.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import select
import socket
import ssl
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpcore
import httpx

from erepwatch import USER_AGENT
from erepwatch.errors import FetchError, SourceErrorKind
from erepwatch.ingest.decode import ACCEPT_ENCODING, BodyTooLarge, BoundedDecoder, DecodeError
from erepwatch.ingest.politeness import HostGate, shared_gate
from erepwatch.records import FetchResult, Validators
from erepwatch.settings import DEFAULTS

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/feed+json;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, application/json;q=0.7, */*;q=0.1"
)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    timeout: float = DEFAULTS.fetch_timeout.total_seconds()
    #: seconds from the first request to the complete body, redirects and retries included
    deadline: float = DEFAULTS.fetch_deadline.total_seconds()
    max_bytes: int = DEFAULTS.fetch_max_bytes
    max_redirects: int = DEFAULTS.fetch_max_redirects
    retries: int = DEFAULTS.fetch_retries
    backoff: float = 0.5
    concurrency: int = DEFAULTS.fetch_concurrency
    per_host: int = DEFAULTS.fetch_per_host
    allow_private: bool = DEFAULTS.allow_private
    user_agent: str = USER_AGENT


class ForbiddenAddressError(Exception):
    """Raised inside the transport when a host resolves to an address we must not contact."""


#: IPv6 prefixes whose low 32 bits (NAT64) carry an IPv4 address the packet is really meant for.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: mapped, IPv4-compatible, NAT64 or 6to4 (or None).

    ``ipaddress.is_global`` judges these by their IPv6 prefix alone, so ``[64:ff9b::a9fe:a9fe]`` (NAT64 of
    169.254.169.254) or ``[::127.0.0.1]`` would pass as public; what they reach is the embedded address.
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:
            return False  # a tunnel endpoint whose real client address is obfuscated: never a feed host
        inner = embedded_ipv4(ip)
        if inner is not None:
            ip = inner
    return ip.is_global and not ip.is_multicast


#: How long a fetcher reuses a host's resolved addresses (a poll's fetches, not longer than DNS caches do).
DNS_CACHE_SECONDS = 60.0


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building one reads the whole CA bundle (~40 ms), and a context is safe to
    share between connections and threads."""
    return httpx.create_ssl_context(trust_env=False)


def _readable(sock: socket.socket | None) -> bool:
    """Whether an idle kept-alive connection has something to read: its server closed it (or broke protocol)."""
    if sock is None or sock.fileno() < 0:
        return True
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class _AsyncioStream(httpcore.AsyncNetworkStream):
    """A connection on asyncio's own streams. httpcore's default for asyncio goes through anyio, whose cancel
    scope around every read and write, and whose task group around every connect, cost more CPU than the 304
    exchange itself (issue 17: the all-304 re-poll is mostly this): asyncio's ``timeout`` does the same here."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "read timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
        except (OSError, RuntimeError) as exc:  # RuntimeError: writing to a transport closed under us
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.close()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError) as exc:  # ssl.SSLError is an OSError; _transport_error finds it as the cause
            self._writer.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return _readable(self._writer.get_extra_info("socket"))
        return None


class _AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connects with asyncio itself (see :class:`_AsyncioStream`); fetches always run on asyncio."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or f"connecting to {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _AsyncioStream(reader, writer)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise ForbiddenAddressError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves names itself and connects to a checked IP address, never to a name.

    Checking the resolved address *and connecting to that very address* closes the gap between a
    check and a second, different DNS answer at connect time.
    """

    def __init__(self, allow_private: bool) -> None:
        self._inner = _AsyncioBackend()
        self._allow_private = allow_private
        #: host → its addresses and when they expire: a poll fetches dozens of searches from one host
        #: (news.google.com), and each resolution is a thread hop; the address connected to is still the
        #: address checked, so a later DNS answer can never slip in.
        self._resolved: dict[tuple[str, int], tuple[float, list[str]]] = {}

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        if _is_ip_literal(host):
            return [host.strip("[]")]
        now = time.monotonic()
        cached = self._resolved.get((host, port))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        self._resolved[host, port] = (now + DNS_CACHE_SECONDS, addresses)
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses(host, port, timeout)
        allowed = addresses if self._allow_private else [a for a in addresses if is_public_address(a)]
        if not allowed:
            raise ForbiddenAddressError(
                f"{host} resolves to a private or local address ({', '.join(addresses)}); "
                "set EREPWATCH_ALLOW_PRIVATE=1 to allow it"
            )
        last_error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise ForbiddenAddressError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool rebuilt on the guarded network backend."""

    def __init__(self, allow_private: bool, limits: httpx.Limits) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False, limits=limits)
        # httpx does not expose httpcore's `network_backend`; the pool is rebuilt with the same settings.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(allow_private),
        )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date, RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _http_error(response: httpx.Response, url: str) -> FetchError:
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    reason = response.reason_phrase or "error"
    if status == 429:
        return FetchError(
            SourceErrorKind.HTTP_429,
            f"HTTP 429 {reason}: the server asks to slow down",
            url=url,
            retry_after=retry_after,
        )
    if status >= 500:
        return FetchError(SourceErrorKind.HTTP_5XX, f"HTTP {status} {reason}", url=url, retry_after=retry_after)
    return FetchError(SourceErrorKind.HTTP_4XX, f"HTTP {status} {reason}", url=url)


def _transport_error(exc: Exception, url: str) -> FetchError:
    if isinstance(exc, ForbiddenAddressError):
        return FetchError(SourceErrorKind.FORBIDDEN_ADDRESS, str(exc), url=url)
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(SourceErrorKind.TIMEOUT, f"timed out ({type(exc).__name__})", url=url)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return FetchError(SourceErrorKind.TLS, f"TLS error: {cause}", url=url)
        cause = cause.__cause__ or cause.__context__
    return FetchError(SourceErrorKind.NETWORK, f"network error: {exc or type(exc).__name__}", url=url)


def check_url(url: str) -> httpx.URL:
    """Refuse what is not an absolute http(s) URL before any network activity."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(SourceErrorKind.NETWORK, f"invalid URL: {exc}", url=url) from exc
    if parsed.scheme not in {"http", "https"}:
        raise FetchError(
            SourceErrorKind.FORBIDDEN_ADDRESS,
            f"scheme {parsed.scheme or '(none)'!r} is not fetched; only http and https",
            url=url,
        )
    if not parsed.host:
        raise FetchError(SourceErrorKind.NETWORK, "URL has no host", url=url)
    return parsed


class _Deadline:
    """A fetch's total deadline, started by its first request (on the event loop's clock)."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._at: float | None = None

    def start(self) -> float:
        if self._at is None:
            self._at = asyncio.get_running_loop().time() + self._seconds
        return self._at

    def left(self) -> float:
        if self._at is None:
            return self._seconds
        return self._at - asyncio.get_running_loop().time()


class _Cookies(httpx.Cookies):
    """The client's cookies (a site that sets one on a redirect gets it back on the next hop), read off a response
    only when it sets one: httpx otherwise wraps every response and its request in urllib's objects for the jar to
    find nothing (5 % of a fetch's CPU on loopback)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """httpx's client with :class:`_Cookies` for its jar."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _Cookies()


def _blank(body: bytes) -> bool:
    """``not body.strip()`` without its copy of the whole body (the corpus's first poll: 17 MB copied to be read)."""
    return not body or body.isspace()


class Fetcher:
    """An HTTP client shared by one poll: connection pool, global and per-host concurrency limits."""

    def __init__(
        self, policy: FetchPolicy, *, transport: httpx.AsyncBaseTransport | None = None, gate: HostGate | None = None
    ) -> None:
        self.policy = policy
        # Per-host minimum interval and concurrency (ingest/politeness.py), shared by the process's polls.
        self._gate = gate or shared_gate()
        limits = httpx.Limits(max_connections=policy.concurrency, max_keepalive_connections=policy.concurrency)
        self._client = _Client(
            transport=transport or GuardedTransport(policy.allow_private, limits),
            timeout=httpx.Timeout(policy.timeout),
            # Only the codings ingest/decode.py decodes with a bound on the output.
            headers={"User-Agent": policy.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
            trust_env=False,
        )
        self._all = asyncio.Semaphore(policy.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(policy.per_host))
        for host, rule in self._gate.rules.items():
            if rule.concurrency:
                self._hosts[host] = asyncio.Semaphore(rule.concurrency)

    @contextlib.asynccontextmanager
    async def _polite(self, host: str) -> AsyncIterator[None]:
        # Entered after the host's slot and before a global one: waiting for a host must not hold a global slot.
        await self._gate.wait(host)
        try:
            yield
        except FetchError as exc:
            if exc.kind == SourceErrorKind.HTTP_429 or str(exc).startswith("HTTP 503"):
                self._gate.defer(host, exc.retry_after)
            raise

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, validators: Validators | None = None) -> FetchResult:
        validators = validators or Validators()
        parsed = check_url(url)
        clock = _Deadline(self.policy.deadline)
        attempt = 0
        while True:
            try:
                return await self._fetch_once(url, parsed, validators, clock)
            except FetchError as exc:
                retriable = exc.kind in {SourceErrorKind.NETWORK, SourceErrorKind.TIMEOUT}
                if not retriable or attempt >= self.policy.retries or clock.left() <= 0:
                    raise
                await asyncio.sleep(min(self.policy.backoff * 2**attempt, clock.left()))
                attempt += 1

    async def _fetch_once(self, url: str, current: httpx.URL, validators: Validators, clock: _Deadline) -> FetchResult:
        started = time.monotonic()
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        for _hop in range(self.policy.max_redirects + 1):
            async with self._hosts[current.host], self._polite(current.host), self._all:
                # The deadline runs from the first request on: waiting for a polite slot is not the server's time.
                try:
                    async with asyncio.timeout_at(clock.start()):
                        outcome = await self._exchange(current, headers, url, started)
                except TimeoutError as exc:
                    raise FetchError(
                        SourceErrorKind.TIMEOUT,
                        f"no complete response within the {self.policy.deadline:g}-second fetch deadline",
                        url=str(current),
                    ) from exc
                if isinstance(outcome, FetchResult):
                    return outcome
                current = outcome
        raise FetchError(SourceErrorKind.HTTP_4XX, f"more than {self.policy.max_redirects} redirects", url=url)

    async def _exchange(
        self, current: httpx.URL, headers: dict[str, str], url: str, started: float
    ) -> FetchResult | httpx.URL:
        """One request: its result, or the next URL to follow."""
        request = self._client.build_request("GET", current, headers=headers)
        try:
            response = await self._client.send(request, stream=True)
        except (httpx.TransportError, ForbiddenAddressError) as exc:
            raise _transport_error(exc, str(current)) from exc
        try:
            if response.has_redirect_location:
                target = current.join(response.headers["location"])
                check_url(str(target))
                return target
            if response.status_code == 304:
                return self._result(url, current, response, None, started)
            if response.status_code >= 300:
                raise _http_error(response, str(current))
            body = await self._read_capped(response, str(current))
            return self._result(url, current, response, body, started)
        finally:
            await response.aclose()

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        cap = self.policy.max_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise FetchError(
                SourceErrorKind.TOO_LARGE, f"body of {int(declared)} bytes exceeds the {cap}-byte cap", url=url
            )
        if response.is_stream_consumed:
            # An in-memory response (a mock transport): httpx read and decoded it already; only the cap applies.
            body = response.content
            if len(body) > cap:
                raise FetchError(SourceErrorKind.TOO_LARGE, f"body exceeds the {cap}-byte cap", url=url)
            if _blank(body):
                raise FetchError(SourceErrorKind.EMPTY, "the server sent an empty body", url=url)
            return body
        try:
            # Raw bytes, decoded here slice by slice: httpx would inflate each network chunk whole first.
            decoder = BoundedDecoder(response.headers.get("content-encoding"), cap)
            raw_size = 0
            async for chunk in response.aiter_raw():
                raw_size += len(chunk)
                if raw_size > cap:
                    raise FetchError(SourceErrorKind.TOO_LARGE, f"body exceeds the {cap}-byte cap", url=url)
                decoder.feed(chunk)
            body = decoder.finish()
        except BodyTooLarge as exc:
            raise FetchError(SourceErrorKind.TOO_LARGE, str(exc), url=url) from exc
        except DecodeError as exc:
            raise FetchError(SourceErrorKind.NETWORK, f"cannot decode the response body: {exc}", url=url) from exc
        except MemoryError as exc:  # an address-space limit reached anyway: this source's failure, not the poll's
            raise FetchError(SourceErrorKind.TOO_LARGE, "body too large for the memory available", url=url) from exc
        except httpx.TransportError as exc:
            raise _transport_error(exc, url) from exc
        if _blank(body):
            raise FetchError(SourceErrorKind.EMPTY, "the server sent an empty body", url=url)
        return body

    @staticmethod
    def _result(
        url: str, final: httpx.URL, response: httpx.Response, body: bytes | None, started: float
    ) -> FetchResult:
        headers = {k.lower(): v for k, v in response.headers.items()}
        validators = Validators(etag=headers.get("etag"), last_modified=headers.get("last-modified"))
        return FetchResult(
            url=url,
            final_url=str(final),
            status=response.status_code,
            content=body,
            headers=headers,
            validators=validators,
            elapsed_ms=int((time.monotonic() - started) * 1000),
        )
