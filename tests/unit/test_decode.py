"""Content decoding with a bound on decoded bytes: every coding, stacked codings, unlabelled gzip, bombs."""

from __future__ import annotations

import gzip
import zlib

import brotli
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.ingest.decode import STEP, BodyTooLarge, BoundedDecoder, DecodeError, codings, decode_body
from tests.hostile import brotli_bomb, gzip_bomb, gzip_br_bomb, gzip_gzip_bomb

DATA = b"<rss>" + bytes(range(256)) * 20_000 + b"</rss>"

ENCODED = {
    "gzip": ("gzip", gzip.compress(DATA)),
    "x-gzip": ("x-gzip", gzip.compress(DATA)),
    "deflate (zlib)": ("deflate", zlib.compress(DATA)),
    "deflate (raw)": ("deflate", zlib.compress(DATA)[2:-4]),
    "br": ("br", brotli.compress(DATA)),
    "gzip, gzip": ("gzip, gzip", gzip.compress(gzip.compress(DATA))),
    "gzip, br": ("gzip, br", brotli.compress(gzip.compress(DATA))),
    "br, deflate": ("br, deflate", zlib.compress(brotli.compress(DATA))),
    "unlabelled gzip": ("", gzip.compress(DATA)),
    "gzip labelled once, applied twice": ("gzip", gzip.compress(gzip.compress(DATA))),
    "identity": ("identity", DATA),
    "none": (None, DATA),
}


@pytest.mark.parametrize("name", list(ENCODED))
def test_every_coding_round_trips(name):
    coding, raw = ENCODED[name]
    assert decode_body(raw, coding, len(DATA)) == DATA
    with pytest.raises(BodyTooLarge):
        decode_body(raw, coding, len(DATA) - 1)


@pytest.mark.parametrize("name", list(ENCODED))
def test_any_chunking_gives_the_same_body(name):
    coding, raw = ENCODED[name]
    decoder = BoundedDecoder(coding, len(DATA))
    for start in range(0, len(raw), 7):
        decoder.feed(raw[start : start + 7])
    assert decoder.finish() == DATA


def test_codings_are_removed_last_applied_first_and_capped():
    assert codings("gzip, br") == ["br", "gzip"]
    assert codings(" Identity ") == []
    with pytest.raises(DecodeError, match="stacked"):
        codings("gzip, gzip, gzip, gzip, gzip")
    with pytest.raises(DecodeError, match="unsupported content coding 'zstd'"):
        BoundedDecoder("zstd", 100)


def test_corrupt_data_is_a_decode_error():
    with pytest.raises(DecodeError):
        decode_body(b"\x1f\x8b\x08\x00garbage-garbage-garbage", "gzip", 10**6)
    with pytest.raises(DecodeError):
        decode_body(b"not brotli at all, not at all", "br", 10**6)


@pytest.mark.parametrize(
    ("coding", "bomb"),
    [
        ("gzip", gzip_bomb),
        ("br", brotli_bomb),
        ("gzip, gzip", gzip_gzip_bomb),
        ("br, gzip", gzip_br_bomb),
        ("gzip", gzip_gzip_bomb),  # the second layer is found by its magic number
    ],
    ids=["gzip", "br", "gzip-gzip", "br-gzip", "unlabelled"],
)
def test_bombs_stop_at_the_cap_with_bounded_memory(coding, bomb):
    raw = bomb()
    process = psutil.Process()
    before = process.memory_info().rss
    decoder = BoundedDecoder(coding, 5 * 2**20)
    with pytest.raises(BodyTooLarge):
        for start in range(0, len(raw), 16384):
            decoder.feed(raw[start : start + 16384])
        decoder.finish()
    # 5 MiB kept plus a few slices, not the gigabyte the bomb holds.
    assert process.memory_info().rss - before < 5 * 2**20 + 40 * STEP + 20 * 2**20


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["gzip", "deflate", "br", "gzip, br", "", None]))
def test_garbage_gives_a_named_error_or_bytes(raw, coding):
    try:
        body = decode_body(raw, coding, 10_000)
    except (DecodeError, BodyTooLarge):
        return
    assert isinstance(body, bytes) and len(body) <= 10_000
