"""The click side of the command line: the root group, the global options, what a command needs (:class:`App`).

The command modules are imported lazily, one command at a time, from the table :data:`erepwatch.cli.COMMANDS`;
SQLAlchemy, Alembic and the analysis stack are imported only by the commands that need them.
"""

from __future__ import annotations

import gc
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
from erepwatch.cli import COMMANDS, GLOBAL_OPTIONS, HELP_OPTIONS, MAX_WIDTH, SUMMARY, top_help
from erepwatch.errors import DatabaseUnavailableError, ErepwatchError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from erepwatch.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


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

        try:
            if self.create:
                ensure_schema(self.engine)
            else:
                require_schema(self.engine)
        except DatabaseUnavailableError as exc:
            # The driver says what failed (no such database, refused, bad password); the user needs where and how.
            where = self.engine.url.render_as_string(hide_password=True)
            raise DatabaseUnavailableError(
                f"{exc} ({where}: is the server up and the database created? "
                "else fix --database or EREPWATCH_DATABASE_URL)"
            ) from exc
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

    def close(self) -> None:
        """Close the pooled connections, if any were made (called when the command's context closes). A process
        that exits drops them anyway; a command run in-process, as the tests run them, would leave them to the
        garbage collector, and psycopg warns of each one it finds open."""
        engine = self.__dict__.pop("engine", None)
        if engine is not None:
            self.__dict__.pop("sessions", None)
            engine.dispose()


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None:
        ctx.find_root().meta[f"erepwatch.{param.name}"] = value
    return value


def _global_params() -> list[click.Option]:
    types: dict[str, click.ParamType] = {"--config": click.Path(exists=True, dir_okay=False, path_type=Path)}
    return [
        click.Option(
            [name],
            metavar=metavar or None,
            type=types.get(name),
            is_flag=not metavar,
            default=None,
            expose_value=False,
            callback=_remember,
            is_eager=True,
            help=text,
        )
        for name, metavar, text in GLOBAL_OPTIONS
    ]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 mention``, ``2 mentions``, ``0 entries``: a number with its noun, as a person writes it."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


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
        root.call_on_close(app.close)
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
        modules = [f"erepwatch.cli.{module}" for module in COMMANDS.get(cmd_name, ((), ""))[0]]
        if any(module not in sys.modules for module in modules):
            with _imports_only():
                for module in modules:
                    import_module(module)
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The text `erepwatch --help` prints without click (erepwatch.cli.top_help), whatever the other options.
        formatter.write(top_help(formatter.width))


@click.group(
    cls=LazyGroup,
    params=_global_params(),
    help=SUMMARY,
    context_settings={"help_option_names": list(HELP_OPTIONS), "max_content_width": MAX_WIDTH},
)
@click.version_option(__version__, prog_name="erepwatch")
def cli() -> None:
    pass


def _register() -> None:
    """Import every command module (what a lazy lookup does one command at a time)."""
    for modules, _help in COMMANDS.values():
        for module in modules:
            import_module(f"erepwatch.cli.{module}")


@contextmanager
def _imports_only() -> Iterator[None]:
    """No garbage collection while a command's modules are imported; what they built is then frozen.

    Importing SQLAlchemy and the models creates a few hundred thousand objects that live as long as the process;
    the collector would walk all of them again and again while they are created, finding nothing to free (a tenth
    of the start-up of `mentions`). Frozen (:func:`gc.freeze`), they are left out of every later collection, the
    daemon's included; the collector is on again for what the command itself allocates.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


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


#: What click (8.2 and later) raises for a group given no subcommand; nothing before.
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def run(argv: list[str]) -> None:
    """Run the command of ``argv`` (:func:`erepwatch.cli.main` answers ``--help`` and ``--version`` itself)."""
    try:
        cli.main(args=argv, prog_name="erepwatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        _fail("aborted", 130)
    except _NO_ARGS_IS_HELP as exc:
        # A group without its subcommand (`erepwatch watch`) shows its help, as `erepwatch` alone does.
        click.echo(exc.format_message())
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
