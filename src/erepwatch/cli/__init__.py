"""Command line: thin. Parse arguments, call the service layer, print (text or ``--json``).

Every command accepts the global options ``--config`` and ``--database``, before or after the command
name. Errors are one line on stderr with a non-zero status: 1 for a refused operation, 2 for bad usage.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from erepwatch import __version__
from erepwatch.errors import ErepwatchError, StorageError
from erepwatch.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


class App:
    """What a command needs, created lazily: settings, engine, sessions."""

    def __init__(self, config: Path | None = None, database: str | None = None) -> None:
        self.config = config
        self.database = database

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.config, database_url=self.database)

    @cached_property
    def engine(self) -> Engine:
        from erepwatch.db.engine import make_engine

        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from erepwatch.db.engine import session_factory
        from erepwatch.db.migrate import ensure_schema

        ensure_schema(self.engine)
        return session_factory(self.engine)

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
            type=click.Path(path_type=Path),
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
            help="Database URL (default: SQLite in the data directory) [env: EREPWATCH_DATABASE_URL].",
        ),
    ]


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")(f)


def get_app() -> App:
    ctx = click.get_current_context()
    root = ctx.find_root()
    app = root.obj
    if app is None:
        app = root.obj = App(root.meta.get("erepwatch.config"), root.meta.get("erepwatch.database"))
    return app


def print_json(value: Any) -> None:
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


@click.group(
    cls=Group,
    params=_global_params(),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.version_option(__version__, prog_name="erepwatch")
def cli() -> None:
    """erepwatch: watch what the web says about your brands, and hear about it in time."""


def _register() -> None:
    # One module per command group; importing it adds its commands to `cli`.
    from erepwatch.cli import (  # noqa: F401
        analyze,
        catalog,
        deliveries,
        digest,
        init,
        mentions,
        poll,
        recipient,
        run,
        source,
        watch,
    )


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


def main(argv: list[str] | None = None) -> None:
    _register()
    _configure_logging()
    try:
        cli.main(args=argv, prog_name="erepwatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("erepwatch: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(f"erepwatch: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"erepwatch: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except ErepwatchError as exc:
        click.echo(f"erepwatch: {exc}", err=True)
        sys.exit(1)
    except OperationalError as exc:
        click.echo(f"erepwatch: database unavailable: {str(exc.orig).splitlines()[0]}", err=True)
        sys.exit(1)
    except SQLAlchemyError as exc:
        click.echo(f"erepwatch: database error: {StorageError(exc)}".splitlines()[0], err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("erepwatch: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
