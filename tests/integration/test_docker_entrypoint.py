"""The image's start-up, run as a plain process (no Docker engine here): ENTRYPOINT + CMD from the Dockerfile
on an empty database create the schema, serve /healthz, make the HEALTHCHECK command succeed, and stop on
SIGTERM in time."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect

REPO = Path(__file__).resolve().parents[2]


def _instruction(name: str) -> list[str]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return json.loads(re.findall(rf"^{name}\s+(?:--\S+\s+)*(?:CMD\s+)?(\[.+\])\s*$", text, re.M)[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_entrypoint_migrates_serves_health_and_stops(db_url, tmp_path):
    command = _instruction("ENTRYPOINT") + _instruction("CMD")
    assert command[0] == "erepwatch"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EREPWATCH_") or k.startswith("EREPWATCH_TEST")}
    env |= {
        "EREPWATCH_DATABASE_URL": db_url,
        "EREPWATCH_DATA_DIR": str(tmp_path / "data"),
        "EREPWATCH_WEB_ADDR": f"127.0.0.1:{port}",
        "EREPWATCH_LOG_FORMAT": "json",
    }
    executable = Path(sys.executable).with_name("erepwatch")
    proc = subprocess.Popen([str(executable), *command[1:]], env=env, stderr=subprocess.PIPE, text=True)
    healthcheck = [sys.executable if a == "python" else a for a in _instruction("HEALTHCHECK")]
    # The probe follows EREPWATCH_WEB_ADDR (as in the container, where it is in the image's environment).
    probe_env = {**os.environ, "EREPWATCH_WEB_ADDR": f"0.0.0.0:{port}"}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = subprocess.run(healthcheck, capture_output=True, timeout=10, env=probe_env)
            if probe.returncode == 0:
                break
            time.sleep(0.3)
        assert probe.returncode == 0, probe.stderr
        engine = create_engine(db_url)
        try:
            assert {"sources", "items", "mentions", "deliveries", "alembic_version"} <= set(
                inspect(engine).get_table_names()
            )
        finally:
            engine.dispose()
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        elapsed = time.monotonic() - started
        err = proc.stderr.read()
    assert code == 0 and elapsed < 10, err
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert "database schema" in events and events[-1] == "stopped"
