"""Every command, given a representative bad input, answers in one line on stderr — never a traceback.

The commands run as processes (``python -m erepwatch``), as a user runs them, on SQLite.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EREPWATCH_") or k.startswith("EREPWATCH_TEST")}
    base |= {
        "EREPWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "EREPWATCH_DATA_DIR": str(tmp_path / "data"),
        "EREPWATCH_ALLOW_PRIVATE": "1",
    }

    def run(*args: str, env: dict[str, str] | None = None, stdin: str = "", cwd: Path = tmp_path,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return subprocess.run(
            [sys.executable, "-m", "erepwatch", *args], env={**base, **(env or {})}, input=stdin, cwd=cwd,
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    return run


@pytest.fixture
def ready(run: Run, tmp_path: Path) -> Run:
    """An initialised database with one watch, one source and one recipient."""
    for args in (
        ("init",),
        ("watch", "add", "acme", "--query", "acme"),
        ("source", "add", "--no-check", "https://example.org/feed.xml"),
        ("recipient", "add", "dir@exemple.fr"),
    ):
        result = run(*args)
        assert result.returncode == 0, result.stderr
    return run


@pytest.fixture
def taken_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


def _dead_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more: a connection is refused at once
    return port


def _garbage(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def _cases(tmp_path: Path, port: int) -> list[tuple[tuple[str, ...], str, dict[str, str]]]:
    """(arguments, a word the message must hold, extra environment)."""
    jsonl = _garbage(tmp_path, "w.jsonl", b'{"name": "x"\n')
    opml = _garbage(tmp_path, "s.opml", b"<opml><body><outline")
    backup = _garbage(tmp_path, "b.json", b"{not json")
    alerts = _garbage(tmp_path, "a.json", b"\xff\xfe garbage")
    return [
        (("watch", "add", "x", "--query", '"unclosed'), "column", {}),
        (("watch", "add", "x", "--query", "x", "--lang", "xx"), "xx", {}),
        (("watch", "add", "acme", "--query", "acme"), "acme", {}),
        (("watch", "show", "nosuch"), "nosuch", {}),
        (("watch", "edit", "nosuch", "--query", "x"), "nosuch", {}),
        (("watch", "edit", "acme", "--query", "(x"), "column", {}),
        (("watch", "remove", "nosuch"), "nosuch", {}),
        (("watch", "test", "--query", "a OR"), "column", {}),
        (("watch", "test", "acme", "--since", "soon"), "--since", {}),
        (("watch", "import", jsonl), "line 1", {}),
        (("watch", "import", str(tmp_path / "none.jsonl")), "none.jsonl", {}),
        (("source", "add", "not a url"), "not a url", {}),
        (("source", "add", "https://example.org/x", "--interval", "often"), "--interval", {}),
        (("source", "add", f"http://127.0.0.1:{_dead_port()}/feed"), "network", {}),
        (("source", "remove", "nosuch"), "nosuch", {}),
        (("source", "add-search", "nosuch"), "nosuch", {}),
        (("source", "discover", "http://127.0.0.1:1/"), "127.0.0.1:1", {}),
        (("source", "import", opml), "s.opml", {}),
        (("source", "export", "--out", "/nonexistent/dir/s.opml"), "/nonexistent/dir", {}),
        (("source", "list"), "EREPWATCH_POLL_INTERVAL", {"EREPWATCH_POLL_INTERVAL": "often"}),
        (("source", "providers", "--config", str(tmp_path / "none.toml")), "none.toml", {}),
        (("poll",), "EREPWATCH_FETCH_TIMEOUT", {"EREPWATCH_FETCH_TIMEOUT": "-1"}),
        (("mentions", "--since", "yesterday"), "--since", {}),
        (("mentions", "--watch", "nosuch"), "nosuch", {}),
        (("analyze", "--lang", "zz-zz"), "zz-zz", {}),
        (("recipient", "add", "not-an-email"), "not-an-email", {}),
        (("recipient", "add", "a@b.fr", "--tz", "Mars/Olympus"), "Mars/Olympus", {}),
        (("recipient", "edit", "no@such.fr", "--at", "08:00"), "no@such.fr", {}),
        (("recipient", "remove", "no@such.fr"), "no@such.fr", {}),
        (("recipient", "list"), "EREPWATCH_NOPE", {"EREPWATCH_NOPE": "1"}),
        (("group", "add", "g", "--brand", "nosuch", "--competitor", "x"), "nosuch", {}),
        (("group", "edit", "nosuch", "--name", "x"), "nosuch", {}),
        (("group", "remove", "nosuch"), "nosuch", {}),
        (("group", "share", "nosuch"), "nosuch", {}),
        (("group", "list"), "EREPWATCH_NOPE", {"EREPWATCH_NOPE": "1"}),
        (("digest", "preview", "--out", "/nonexistent/dir/x.html"), "/nonexistent/dir", {}),
        (("digest", "send", "--recipient", "no@such.fr"), "no@such.fr", {}),
        (("deliveries", "--status", "lost"), "lost", {}),
        (("export", "--out", "/nonexistent/dir/b.json"), "/nonexistent/dir", {}),
        (("import", backup), "b.json", {}),
        (("import", "google-alerts", alerts), "a.json", {}),
        (("init",), "database", {"EREPWATCH_DATABASE_URL": "sqlite:////proc/erepwatch/x.db"}),
        (("run",), "EREPWATCH_WEB_ADDR", {"EREPWATCH_WEB_ADDR": f"127.0.0.1:{port}"}),
        (("serve",), "EREPWATCH_WEB_ADDR", {"EREPWATCH_WEB_ADDR": f"127.0.0.1:{port}"}),
        (("serve", "--addr", "0.0.0.0:8080"), "PASSWORD", {}),
        (("stories", "explain", "999999"), "999999", {}),
        (("watch", "list", "--database", "sqlite:///nowhere/x.db"), "nowhere", {}),
        (("mention", "star", "999999"), "999999", {}),
        (("mention", "irrelevant", "999999", "--apply"), "999999", {}),
        (("mention", "mute", "999999"), "999999", {}),
        (("acts",), "Mars/Olympus", {"EREPWATCH_DISPLAY_TIMEZONE": "Mars/Olympus"}),
        (("acts", "undo", "999999"), "999999", {}),
    ]


def _command_path(args: tuple[str, ...]) -> tuple[str, ...]:
    """The command (and subcommand) ``args`` run, resolved as click resolves it."""
    from erepwatch.cli.app import cli

    command: click.Command = cli
    path: list[str] = []
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name, found, rest = command.resolve_command(click.Context(command), rest)
        assert name is not None and found is not None, args
        path.append(name)
        command = found
        rest = rest[1:] if rest and rest[0] == name else rest
    return tuple(path)


def _every_command() -> set[tuple[str, ...]]:
    """Every command and subcommand of the CLI, from its table (cli.COMMANDS) and the groups it names."""
    from erepwatch.cli.app import _register, cli

    _register()

    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        if not isinstance(command, click.Group) or command.invoke_without_command:
            yield path
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))

    return {path for name, command in cli.commands.items() for path in walk(command, (name,))}


def test_the_bad_inputs_cover_every_command(tmp_path: Path) -> None:
    """A new command or subcommand cannot be forgotten here: each must have its bad input above."""
    covered = {_command_path(args) for args, _, _ in _cases(tmp_path, 1)}
    assert not _every_command() - covered, f"add a bad input for: {sorted(_every_command() - covered)}"


def _one_line(args: tuple[str, ...], stderr: str) -> bool:
    lines = stderr.strip().splitlines()
    if args[0] in ("run", "serve"):  # the daemon logs its start, serve says where it will listen
        lines = lines[-1:]
    return len(lines) == 1 and lines[0].startswith("erepwatch: ")


def test_every_command_refuses_bad_input_in_one_line(ready: Run, tmp_path: Path, taken_port: int) -> None:
    failures = []
    for args, word, extra in _cases(tmp_path, taken_port):
        started = time.monotonic()
        result = ready(*args, env=extra)
        print(f"{time.monotonic() - started:5.2f}s  {' '.join(args)}")
        problem = None
        if "Traceback" in result.stderr:
            problem = "a traceback"
        elif result.returncode == 0:
            problem = "success"
        elif word not in result.stderr:
            problem = f"no {word!r} in the message"
        elif not _one_line(args, result.stderr):
            problem = "not one line"
        if problem:
            failures.append(f"{' '.join(args)}: {problem}: {result.stderr.strip()[:400]}")
    assert not failures, "\n".join(failures)


def test_cli_refuses_a_database_that_does_not_exist(run: Run, tmp_path: Path) -> None:
    result = run("--database", "sqlite:///nonexistent/dir/x.db", "watch", "list")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(tmp_path / "nonexistent" / "dir" / "x.db") in result.stderr
    assert "erepwatch init" in result.stderr and "--database" in result.stderr
    assert "sqlite:////" in result.stderr, "the message explains relative and absolute SQLite URLs"
    assert not (tmp_path / "nonexistent").exists(), "nothing is created by a mistyped --database"


def test_cli_refuses_an_uninitialised_database_and_init_creates_it(run: Run, tmp_path: Path) -> None:
    (tmp_path / "empty.db").write_bytes(b"")
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run("--database", url, "mentions")
    assert result.returncode == 1 and "not initialised" in result.stderr and "erepwatch init" in result.stderr
    assert run("--database", url, "init").returncode == 0
    assert run("--database", url, "mentions").returncode == 0


def test_bad_database_url_names_the_option(run: Run) -> None:
    result = run("--database", "mysql://x", "watch", "list")
    assert result.returncode == 1 and "--database" in result.stderr and "--database-url" not in result.stderr


def test_an_unreachable_database_names_where_and_the_option(run: Run) -> None:
    result = run("--database", f"postgresql://postgres:secret@127.0.0.1:{_dead_port()}/x", "mentions")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "--database" in result.stderr and "127.0.0.1" in result.stderr and "secret" not in result.stderr
