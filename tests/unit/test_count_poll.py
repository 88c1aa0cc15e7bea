"""benchmarks/count_poll.py counts a section's instructions exactly, a worker thread's too, and reads them from
callgrind's files as callgrind wrote them (a small Python program under valgrind, ~3 s)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from count_poll import ENVIRONMENT, callgrind, compile_client, estimated_cycles, read_dumps

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("valgrind") is None or shutil.which("cc") is None, reason="needs valgrind and a C compiler"
    ),
]

#: Sections as count_poll's counted process makes them: the same work twice, twice the work, the work in a thread.
PROGRAM = """
import ctypes, sys, threading

client = ctypes.CDLL(sys.argv[1])
client.section_end.argtypes = [ctypes.c_char_p]

def work(n):
    x = 1
    for _ in range(n):
        x = (x * 31 + 7) & 0xFFFF  # the same small integers all along: each iteration costs the same

def in_thread(n):
    thread = threading.Thread(target=work, args=(n,))
    thread.start()
    thread.join()

def section(label, run):
    client.section_start()
    run()
    client.section_end(label.encode())

section("warm", lambda: (work(1000), in_thread(1000)))
section("once", lambda: work(20_000))
section("again", lambda: work(20_000))
section("twice", lambda: work(40_000))
section("thread", lambda: in_thread(20_000))
"""


def test_sections_are_counted_exactly_and_in_every_thread(tmp_path: Path) -> None:
    shim = compile_client(tmp_path)
    command = [*callgrind(tmp_path, cache_sim=True), sys.executable, "-c", PROGRAM, str(shim)]
    subprocess.run(command, env=os.environ | ENVIRONMENT, check=True, timeout=120)
    counts = read_dumps(tmp_path)
    assert set(counts) == {"warm", "once", "again", "twice", "thread"}  # only the labelled dumps
    ir = {label: c["Ir"] for label, c in counts.items()}
    print(ir)  # shown when an assertion fails
    assert ir["once"] > 1_000_000  # tens of instructions an iteration
    # the same work, the same count: to 0.1 % (of 16 M, 0 to ~2,000 instructions moved in the runs seen)
    assert ir["again"] == pytest.approx(ir["once"], rel=1e-3)
    assert ir["twice"] - ir["once"] == pytest.approx(ir["once"], rel=0.01)  # nothing but the section counted
    # the thread's instructions are counted, and only a thread's start and join besides
    assert ir["once"] < ir["thread"] < ir["once"] * 1.05
    # every event of the simulated caches and branches read, the line's trailing zeros too
    assert all(len(c) == 13 for c in counts.values())
    cycles = estimated_cycles(counts["once"])
    assert cycles is not None and cycles > ir["once"]
