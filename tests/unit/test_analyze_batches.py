"""``erepwatch analyze`` reads stdin in batches: every line already waiting, never waiting for more."""

from __future__ import annotations

import io
import os
import threading

from erepwatch.cli.analyze import line_batches


def test_a_piped_file_comes_in_full_batches() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, "".join(f"ligne {i}\r\n" for i in range(10)).encode() + "é sans fin".encode())
    os.close(write_fd)
    with os.fdopen(read_fd, encoding="utf-8") as stream:
        batches = list(line_batches(stream, size=4))
    assert [len(b) for b in batches] == [4, 4, 3]
    assert batches[0][0] == "ligne 0" and batches[-1][-1] == "é sans fin"


def test_a_line_is_answered_before_the_next_one_is_written() -> None:
    read_fd, write_fd = os.pipe()
    stream = os.fdopen(read_fd, encoding="utf-8")
    batches = line_batches(stream, size=64)
    os.write(write_fd, b"first\n")
    # The writer keeps the pipe open: the first batch must not wait for more input.
    got: list[list[str]] = []
    reader = threading.Thread(target=lambda: got.append(next(batches)))
    reader.start()
    reader.join(timeout=10)
    assert got == [["first"]]
    os.write(write_fd, b"second\nthird\n")
    os.close(write_fd)
    assert list(batches) == [["second", "third"]]
    stream.close()


def test_a_stream_without_a_file_descriptor_is_read_in_batches() -> None:
    stream = io.StringIO("a\nb\nc\n")
    assert list(line_batches(stream, size=2)) == [["a", "b"], ["c"]]
