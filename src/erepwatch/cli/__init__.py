"""Command line: thin. Parse arguments, call the service layer, print (text or ``--json``).

Every command accepts the global options ``--config``, ``--database`` and ``--utc``, before or after the
command name. Errors are one line on stderr with a non-zero status: 1 for a refused operation, 2 for bad usage.

Start-up is kept short: this module is all the ``erepwatch`` script imports before it knows the command. It
answers ``erepwatch``, ``--help`` and ``--version`` by itself, without click (whose import alone is four times
Python's start-up); any other command goes to :mod:`erepwatch.cli.app` (click), which imports the module of
that command only, and that module what the command needs (SQLAlchemy, Alembic, the analysis stack…).
"""

from __future__ import annotations

import os
import sys

from erepwatch import __version__

#: Top-level command → (modules of ``erepwatch.cli`` that define it and its subcommands, one-line help).
#: A new command module adds its line here; a test checks this table against the commands themselves.
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "acts": (("acts",), "The journal of acts (who did what, when), newest first; `acts undo ID` reverts one."),
    "analyze": (
        ("analyze",),
        "Read texts on stdin, one per line; print sentiment, score, keywords and language per line.",
    ),
    "deliveries": (("deliveries",), "List deliveries, newest first; or resend one on purpose (--retry ID)."),
    "digest": (("digest",), "Preview or send digests."),
    "export": (("catalog",), "Back up watches, sources and recipients as one JSON or TOML file."),
    "group": (("group",), "Groups of watches to compare: your brand vs competitors (share of voice)."),
    "import": (("catalog",), "Bring configuration in: `import FILE` (a backup from `erepwatch export`) or…"),
    "init": (("init",), "Create the database or upgrade it to the latest schema (safe to run again)."),
    "mention": (("acts",), "Act on one mention: star, irrelevant (and its exclusion), mute its site."),
    "mentions": (("mentions",), "List mentions, newest first, one per story (with how many other sources carried it)."),
    "poll": (("poll",), "Fetch the due sources once, store new items and mentions, print statistics."),
    "recipient": (("recipient",), "Manage who gets digests and alerts."),
    "run": (("run",), "Run the service until stopped (SIGTERM or Ctrl-C): poll due sources, send alerts…"),
    "serve": (("serve",), "Serve the web app (mentions, trends, management pages, Atom feeds, JSON API)…"),
    "source": (("source", "catalog"), "Manage feeds."),
    "stories": (("stories",), "Stories: the mentions folded into one line, and why."),
    "watch": (("watch",), "Manage watched queries."),
}

#: The options every command takes: (name, metavar or "" for a flag, help). erepwatch.cli.app builds them.
GLOBAL_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--config", "PATH", "TOML configuration file [env: EREPWATCH_CONFIG]."),
    (
        "--database",
        "URL",
        "Database URL: sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://user@host/db "
        "(default: SQLite in the data directory) [env: EREPWATCH_DATABASE_URL].",
    ),
    ("--utc", "", "Show times in UTC instead of display.timezone (default: the machine's time zone)."),
)

SUMMARY = "erepwatch: watch what the web says about your brands, and hear about it in time."
VERSION_LINE = f"erepwatch, version {__version__}"
HELP_OPTIONS = ("-h", "--help")
#: Widest help, as click's ``max_content_width``.
MAX_WIDTH = 110


def help_width() -> int:
    """The width ``--help`` is laid out for: the terminal's (``COLUMNS`` first), at most :data:`MAX_WIDTH`."""
    # As shutil.get_terminal_size, which click asks, without importing shutil.
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (OSError, ValueError):
            columns = 0
    return max(min(columns or 80, MAX_WIDTH) - 2, 50)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def _definitions(rows: list[tuple[str, str]], width: int) -> list[str]:
    first = min(max(len(term) for term, _ in rows), 30) + 2
    out = []
    for term, text in rows:
        body = _wrap(text, max(width - first - 2, 10))
        if len(term) <= first - 2:
            out.append(f"  {term:<{first}}{body[0]}")
        else:
            out += [f"  {term}", f"  {'':<{first}}{body[0]}"]
        out += [f"  {'':<{first}}{line}" for line in body[1:]]
    return out


def top_help(width: int | None = None) -> str:
    """``erepwatch --help``: usage, global options, the commands of :data:`COMMANDS` (none of them imported)."""
    width = width or help_width()
    options = [(f"{name} {metavar}".rstrip(), text) for name, metavar, text in GLOBAL_OPTIONS]
    options += [("--version", "Show the version and exit."), (", ".join(HELP_OPTIONS), "Show this message and exit.")]
    lines = [
        "Usage: erepwatch [OPTIONS] COMMAND [ARGS]...",
        "",
        *(f"  {line}" for line in _wrap(SUMMARY, width - 2)),
        "",
        "Options:",
        *_definitions(options, width),
        "",
        "Commands:",
        *_definitions([(name, short) for name, (_, short) in sorted(COMMANDS.items())], width),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """The ``erepwatch`` script: exits with 0, 1 (refused) or 2 (bad usage); never a traceback."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in ([], *([flag] for flag in HELP_OPTIONS)):
        sys.stdout.write(top_help())
        return
    if args == ["--version"]:
        sys.stdout.write(VERSION_LINE + "\n")
        return
    from erepwatch.cli.app import run

    run(args)
