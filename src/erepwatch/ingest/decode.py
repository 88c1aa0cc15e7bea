"""Content-coding decoders that never hold more than a bounded slice of output at once.

httpx decodes every network chunk whole before its caller can count the bytes: a 10 KiB brotli chunk
may become gigabytes in one call. Here each coding is a stage that hands out at most :data:`STEP` bytes per
call (zlib's ``max_length``, brotli's ``output_buffer_limit``), so a stack of codings (``gzip, gzip``,
``gzip, br``…) is unrolled lazily and the caller's cap on *decoded* bytes is checked before more is produced.

A body whose decoded bytes still begin with the gzip magic number (a server that gzips twice and says so
once, or serves ``.gz`` files as feeds) gets one more gzip stage, under the same cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

import brotli

#: Largest slice of output any stage produces per call.
STEP = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
#: The codings we decode, in the order we prefer them (sent as Accept-Encoding).
SUPPORTED = ("gzip", "deflate", "br")
ACCEPT_ENCODING = ", ".join(SUPPORTED)
#: At most this many codings are unrolled; a longer stack is a hostile server, not a feed.
MAX_STACK = 4


class DecodeError(Exception):
    """The body is not valid data of its content coding, or names a coding we do not decode."""


class BodyTooLarge(Exception):
    """Decoded bytes passed the cap."""


class _Stage:
    """One content coding, fed compressed bytes, handing back at most STEP bytes per piece."""

    def feed(self, data: bytes) -> Iterator[bytes]:
        raise NotImplementedError

    def finish(self) -> Iterator[bytes]:
        return iter(())


class _Zlib(_Stage):
    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._inflater = zlib.decompressobj(wbits)
        # RFC 9110's "deflate" is zlib-wrapped, but many servers send raw deflate; httpx tries both too.
        self._raw_fallback = raw_fallback

    def feed(self, data: bytes) -> Iterator[bytes]:
        inflater = self._inflater
        if inflater.eof:
            return  # bytes after the end of the stream are ignored, as httpx and browsers do
        try:
            out = inflater.decompress(data, STEP)
        except zlib.error as exc:
            if self._raw_fallback:
                self._raw_fallback = False
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                yield from self.feed(data)
                return
            raise DecodeError(str(exc)) from exc
        self._raw_fallback = False
        yield out
        # A full slice may leave output pending inside zlib even when all input was taken: ask again.
        while (inflater.unconsumed_tail or len(out) == STEP) and not inflater.eof:
            try:
                out = inflater.decompress(inflater.unconsumed_tail, STEP)
            except zlib.error as exc:
                raise DecodeError(str(exc)) from exc
            yield out


class _Brotli(_Stage):
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        decompressor = self._decompressor
        if decompressor.is_finished():
            return
        try:
            out = decompressor.process(data, output_buffer_limit=STEP)
            yield out
            # With a limit, the rest waits inside the decompressor; it comes out with empty input
            # (can_accept_more_data() may say yes while output is still pending).
            while out and not decompressor.is_finished():
                out = decompressor.process(b"", output_buffer_limit=STEP)
                yield out
        except brotli.error as exc:
            raise DecodeError(f"invalid brotli data: {exc}") from exc


class _Chain(_Stage):
    """Stages applied in order; each piece of one goes through the next before more is produced."""

    def __init__(self, stages: Sequence[_Stage]) -> None:
        self._stages = list(stages)

    def _through(self, pieces: Iterator[bytes], index: int) -> Iterator[bytes]:
        if index == len(self._stages):
            yield from (p for p in pieces if p)
            return
        stage = self._stages[index]
        for piece in pieces:
            if piece:
                yield from self._through(stage.feed(piece), index + 1)

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(iter((data,)), 0)

    def finish(self) -> Iterator[bytes]:
        for index, stage in enumerate(self._stages):
            yield from self._through(stage.finish(), index + 1)


class _SniffGzip(_Stage):
    """Inflates the bytes when they begin with the gzip magic number, up to ``depth`` unlabelled layers."""

    def __init__(self, depth: int) -> None:
        self._depth = depth
        self._head = b""
        self._inner: _Stage | None = None
        self._decided = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._decided:
            self._head += data
            if len(self._head) < len(GZIP_MAGIC):
                return
            self._decided = True
            data, self._head = self._head, b""
            if data.startswith(GZIP_MAGIC) and self._depth > 0:
                self._inner = _Chain([_Zlib(16 + zlib.MAX_WBITS), _SniffGzip(self._depth - 1)])
        if self._inner is None:
            yield data
        else:
            yield from self._inner.feed(data)

    def finish(self) -> Iterator[bytes]:
        if not self._decided:
            self._decided = True
            if self._head:
                yield self._head
        elif self._inner is not None:
            yield from self._inner.finish()


def _stage(coding: str) -> _Stage:
    if coding in {"gzip", "x-gzip"}:
        return _Zlib(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _Zlib(zlib.MAX_WBITS, raw_fallback=True)
    if coding == "br":
        return _Brotli()
    raise DecodeError(f"unsupported content coding {coding!r} (we decode {', '.join(SUPPORTED)})")


def codings(header: str | None) -> list[str]:
    """The codings of a Content-Encoding header in the order they are *removed* (the last applied first)."""
    names = [c.strip().lower() for c in (header or "").split(",")]
    names = [c for c in names if c and c != "identity"]
    if len(names) > MAX_STACK:
        raise DecodeError(f"{len(names)} stacked content codings; at most {MAX_STACK} are decoded")
    return list(reversed(names))


class BoundedDecoder:
    """Feed it raw body chunks, then :meth:`finish` for the decoded body; :class:`BodyTooLarge` past ``cap``.

    Output is produced in slices of :data:`STEP` through every stage and counted as it comes, so the memory
    held at any moment is the decoded body so far (≤ cap) plus a few slices, whatever the compression ratio
    or the number of codings.
    """

    def __init__(self, content_encoding: str | None, cap: int) -> None:
        self._chain = _Chain([*(_stage(c) for c in codings(content_encoding)), _SniffGzip(MAX_STACK)])
        self._cap = cap
        self._chunks: list[bytes] = []
        self.size = 0

    def _keep(self, pieces: Iterator[bytes]) -> None:
        for piece in pieces:
            self.size += len(piece)
            if self.size > self._cap:
                raise BodyTooLarge(f"body exceeds the {self._cap}-byte cap once decoded")
            self._chunks.append(piece)

    def feed(self, raw: bytes) -> None:
        self._keep(self._chain.feed(raw))

    def finish(self) -> bytes:
        self._keep(self._chain.finish())
        return b"".join(self._chunks)


def decode_body(raw: bytes, content_encoding: str | None, cap: int) -> bytes:
    """The whole body at once, with the same bounds (for callers that hold the raw bytes already)."""
    decoder = BoundedDecoder(content_encoding, cap)
    for start in range(0, len(raw), STEP):
        decoder.feed(raw[start : start + STEP])
    return decoder.finish()
