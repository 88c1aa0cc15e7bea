"""The CLI starts fast because it imports only what the command needs (benchmarks/bench_cli_startup.py times it).

Timings are not asserted (they depend on the machine); the imports that made every command slow are.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from erepwatch import __version__
from erepwatch import cli as cli_module
from erepwatch.cli import app as app_module

PROBE = """
import json, sys
from erepwatch.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("--version",), ()])
def test_help_and_version_import_neither_click_nor_the_database(args, tmp_path):
    loaded = _modules(*args)
    heavy = {"click", "sqlalchemy", "alembic", "httpx", "feedparser", "numpy"}
    assert not {m for m in loaded if m.split(".")[0] in heavy}
    assert "erepwatch.settings" not in loaded and "erepwatch.cli.app" not in loaded


def test_help_without_click_is_the_help_click_gives(cli, monkeypatch):
    """`erepwatch --help` is printed without click; with another option first, click prints the same text."""
    for columns in ("60", "200", "0"):
        monkeypatch.setenv("COLUMNS", columns)
        assert cli("--utc", "--help").out == cli("--help").out == cli().out, columns
    fast = cli("--help").out
    assert fast.startswith("Usage: erepwatch [OPTIONS] COMMAND [ARGS]...")
    for name in [*cli_module.COMMANDS, "--config PATH", "--database URL", "--utc", "--version", "-h, --help"]:
        assert f"  {name} " in fast, name
    assert cli("--version").out == cli("--utc", "--version").out == f"erepwatch, version {__version__}\n"
    assert cli("watch", "--help").out.startswith("Usage: erepwatch watch [OPTIONS] COMMAND")
    alone = cli("watch")  # a group without its subcommand shows its help, as `erepwatch` alone does
    assert alone.out == cli("watch", "--help").out and not alone.err


def test_listing_commands_import_neither_alembic_nor_the_matcher(cli, env):
    cli("watch", "add", "acme", "--query", "acme")
    for args in (("watch", "list"), ("mentions", "--limit", "5")):
        loaded = _modules(*args)
        heavy = {"alembic", "httpx", "feedparser", "numpy", "rapidfuzz", "apscheduler", "jinja2"}
        assert not {m for m in loaded if m.split(".")[0] in heavy}, args
        assert "erepwatch.analyze.matcher" not in loaded and "erepwatch.pipeline" not in loaded, args


def test_the_lazy_table_lists_every_command_with_its_own_help():
    app_module._register()
    assert set(cli_module.COMMANDS) == set(app_module.cli.commands)
    for name, (_, short) in cli_module.COMMANDS.items():
        real = " ".join((app_module.cli.commands[name].help or "").split())
        # The listing of `erepwatch --help` comes from the table: it must not say something else than the command.
        assert real.split()[:3] == short.rstrip("…").split()[:3], f"update cli.COMMANDS[{name!r}]: {real}"


def test_a_command_runs_with_the_collector_on_and_its_imports_frozen(cli, env):
    """Imports run without garbage collection (cli.app._imports_only); the command itself runs with it."""
    cli("watch", "add", "acme", "--query", "acme")
    probe = (
        "import gc, sys\nfrom erepwatch.cli import main\ntry:\n    main(['watch', 'list'])\nexcept SystemExit:\n"
        "    pass\nprint(gc.isenabled(), gc.get_freeze_count() > 10000, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "acme" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "True True"
