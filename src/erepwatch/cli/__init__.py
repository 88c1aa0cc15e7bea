"""Command line: thin. Parse arguments, call the service layer, print (text or ``--json``).

Every command accepts the global options ``--config`` and ``--database``, before or after the command
name. Errors are one line on stderr with a non-zero status: 1 for a refused operation, 2 for bad usage.

Start-up is kept short (``--help`` in a few tens of milliseconds): the command modules, SQLAlchemy,
Alembic and the analysis stack are imported only when the command that needs them runs. The top-level
commands are therefore listed here, in :data:`COMMANDS`, with the module(s) that define them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from functools import cached_property
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from erepwatch import __version__
from erepwatch.errors import ErepwatchError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from erepwatch.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

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


class App:
    """What a command needs, created lazily: settings, engine, sessions.

    Only ``init`` and ``run`` create a database (``create=True``); every other command refuses one that
    does not exist or was never initialised, so a mistyped ``--database`` is not a new empty database.
    """

    def __init__(
        self, config: Path | None = None, database: str | None = None, *, create: bool = False, utc: bool = False
    ) -> None:
        self.config = config
        self.database = database
        self.create = create
        self.utc = utc

    @cached_property
    def settings(self) -> Settings:
        from erepwatch.settings import load_settings

        _configure_logging()  # here rather than at start: `--help` need not import logging
        return load_settings(self.config, database_url=self.database)

    @cached_property
    def engine(self) -> Engine:
        from erepwatch.db.engine import make_engine, require_existing

        if not self.create:
            require_existing(self.settings.database_url)
        return make_engine(self.settings.database_url, create=self.create)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from erepwatch.db.engine import session_factory
        from erepwatch.db.migrate import ensure_schema, require_schema

        if self.create:
            ensure_schema(self.engine)
        else:
            require_schema(self.engine)
        return session_factory(self.engine)

    @cached_property
    def timezone(self) -> tzinfo:
        """Where the times printed are shown: UTC with --utc, else display.timezone, else the machine's zone."""
        if self.utc:
            return UTC
        if self.settings.display_timezone:
            from zoneinfo import ZoneInfo

            return ZoneInfo(self.settings.display_timezone)
        return datetime.now().astimezone().tzinfo or UTC

    def show_time(self, when: datetime | str | None) -> str:
        """A stored time as a person reads it: ``2026-12-06 21:14 CET``, in :attr:`timezone`."""
        if when is None:
            return "-"
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # the database keeps UTC
        local = when.astimezone(self.timezone)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None:
        ctx.find_root().meta[f"erepwatch.{param.name}"] = value
    return value


def _global_params() -> list[click.Option]:
    return [
        click.Option(
            ["--config"],
            metavar="PATH",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            expose_value=False,
            callback=_remember,
            is_eager=True,
            help="TOML configuration file [env: EREPWATCH_CONFIG].",
        ),
        click.Option(
            ["--database"],
            metavar="URL",
            expose_value=False,
            callback=_remember,
            is_eager=True,
            help="Database URL: sqlite:///relative/path.db, sqlite:////absolute/path.db or postgresql://user@host/db "
            "(default: SQLite in the data directory) [env: EREPWATCH_DATABASE_URL].",
        ),
        click.Option(
            ["--utc"],
            is_flag=True,
            default=None,
            expose_value=False,
            callback=_remember,
            is_eager=True,
            help="Show times in UTC instead of display.timezone (default: the machine's time zone).",
        ),
    ]


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")(f)


class OutPath(click.Path):
    """A file to write: its folder must exist, checked before any work is done."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(os.fsdecode(super().convert(value, param, ctx)))
        folder = path.expanduser().absolute().parent
        if not folder.is_dir():
            self.fail(f"folder {str(folder)!r} does not exist: create it or choose another path", param, ctx)
        return path.expanduser()


def write_out(data: bytes, out: Path | None) -> None:
    """``data`` to ``out`` (stdout when None), a write failure told in one line."""
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise ErepwatchError(f"cannot write {out}: {exc.strerror or exc}; choose another --out") from exc


def get_app(*, create: bool = False) -> App:
    ctx = click.get_current_context()
    root = ctx.find_root()
    app = root.obj
    if app is None:
        app = root.obj = App(
            root.meta.get("erepwatch.config"),
            root.meta.get("erepwatch.database"),
            create=create,
            utc=bool(root.meta.get("erepwatch.utc")),
        )
    return app


def print_json(value: Any) -> None:
    import json

    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


class Group(click.Group):
    """A click group whose commands all accept the global options, before or after their name."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not isinstance(cmd, click.Group):
            names = {p.name for p in cmd.params}
            cmd.params.extend(p for p in _global_params() if p.name not in names)
        super().add_command(cmd, name)

    def group(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", Group)
        return super().group(*args, **kwargs)


class LazyGroup(Group):
    """The top-level group: a command's module is imported when that command runs, not before."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            for module in COMMANDS[cmd_name][0]:
                import_module(f"erepwatch.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The listing of `--help` comes from the table, so that it imports none of the commands.
        rows = [
            (name, COMMANDS[name][1] if name in COMMANDS else self.commands[name].get_short_help_str(80))
            for name in self.list_commands(ctx)
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    params=_global_params(),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.version_option(__version__, prog_name="erepwatch")
def cli() -> None:
    """erepwatch: watch what the web says about your brands, and hear about it in time."""


def _register() -> None:
    """Import every command module (what a lazy lookup does one command at a time)."""
    for modules, _help in COMMANDS.values():
        for module in modules:
            import_module(f"erepwatch.cli.{module}")


def _configure_logging() -> None:
    import logging

    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"erepwatch: {message}", err=True)
    sys.exit(code)


def _machine_error(exc: BaseException) -> str | None:
    """One line for an error of the machine's state (database, files, network), None for anything else."""
    # Driver errors arrive as StorageError (db.engine.translate_errors); what SQLAlchemy raises on its own (a
    # session used after a failed flush…) is a bug, but still told in one line.
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError):
        return f"database error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return None


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="erepwatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        _fail("aborted", 130)
    except click.UsageError as exc:
        _fail(exc.format_message(), 2)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except ErepwatchError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        message = _machine_error(exc)
        if message is None:
            # A bug, not a user's mistake: one line all the same, with what to send to the developers.
            message = f"unexpected {type(exc).__name__}: {exc} (a bug: please report it with the command you ran)"
        _fail(message)
