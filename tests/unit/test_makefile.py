"""`make run` installs what erepwatch needs to run, `make test` adds the test tools (issue 14 point 9)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _dry_run(tmp_path: Path, target: str) -> str:
    for name in ("Makefile", "pyproject.toml", "uv.lock"):
        shutil.copy(REPO / name, tmp_path / name)
    done = subprocess.run(["make", "-n", target], cwd=tmp_path, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_syncs_the_runtime_only_and_make_test_the_test_extra(tmp_path):
    run = [line for line in _dry_run(tmp_path, "run").splitlines() if " sync " in line]
    assert run and all("--extra" not in line for line in run), run
    test = [line for line in _dry_run(tmp_path, "test").splitlines() if " sync " in line]
    assert test and any("--extra test" in line for line in test), test
