"""Who holds a claim on a source, and whether that poller still exists.

A poll claims its sources before fetching them (their next check pushed by a lease, so a crash still
reschedules). The claim also names its owner: host, process id and the process's start time (the start time
tells a recycled pid from the poller that died). A new poll or daemon on the same host takes back at once the
claims of an owner that is gone, instead of leaving its sources waiting for the lease to expire.

An owner on another host cannot be checked from here (a second container on the same database): its claims
still come back when their lease ends.
"""

from __future__ import annotations

import functools
import os
import socket


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19].decode() if len(fields) > 19 else None  # field 22 of stat(5), counted after "(comm)"


@functools.cache
def this_owner() -> str:
    """This process, as a claim names it: ``host/pid/start``."""
    pid = os.getpid()
    return f"{socket.gethostname()[:150]}/{pid}/{_start_time(pid) or '?'}"


def owner_gone(owner: str) -> bool:
    """True when ``owner`` ran on this host and that process no longer exists (or is another one now)."""
    parts = owner.rsplit("/", 2)
    if len(parts) != 3:
        return False
    host, pid_text, started = parts
    if host != socket.gethostname()[:150] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if owner == this_owner():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user
    return started != "?" and _start_time(pid) not in (None, started)
