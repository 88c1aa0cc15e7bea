"""Create or upgrade the database schema with Alembic (``erepwatch init``), and check it for other commands.

Alembic is imported only to migrate: the check every command makes reads the ``alembic_version`` table and
the revision ids written in the migration files, which costs a millisecond instead of Alembic's import.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

import erepwatch
from erepwatch.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

VERSION_TABLE = "alembic_version"


def migrations_dir() -> Path:
    """The Alembic folder: inside the installed package (wheel) or at the top of a source checkout."""
    package = Path(erepwatch.__file__).resolve().parent
    for candidate in (package / "migrations", package.parents[1] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the migrations folder is missing from this installation")


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # The engine's URL is never put in the config: Alembic gets the live connection instead
    # (and configparser would choke on a "%" in a password).
    return config


_ASSIGNED = re.compile(r"""^(revision|down_revision)\s*(?::[^=]+)?=\s*(.+?)\s*$""", re.MULTILINE)


@cache
def head_revision() -> str:
    """The latest revision: the one no migration file names as its ``down_revision``."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        values = {name: ast.literal_eval(value) for name, value in _ASSIGNED.findall(path.read_text("utf-8"))}
        if isinstance(values.get("revision"), str):
            revisions.add(values["revision"])
            down = values.get("down_revision")
            parents.update([down] if isinstance(down, str) else list(down or ()))
    heads = revisions - parents
    if len(heads) != 1:
        raise StorageError(f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}); expected one")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to ``revision`` (the latest by default); returns (revision before, revision after).
    Idempotent."""
    from alembic import command

    before = current_revision(engine)
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return before, current_revision(engine) or ""


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` by the migrations' own downgrades (tests and benchmarks compare a
    revision with the one before it; a person can go back after an upgrade)."""
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def ensure_schema(engine: Engine) -> None:
    """Create the schema of an empty database; refuse to work on an outdated one (``erepwatch init`` upgrades)."""
    if current_revision(engine) is None:
        upgrade(engine)
    require_schema(engine)


def require_schema(engine: Engine) -> None:
    """Refuse a database that was never initialised or is at another revision than this erepwatch's."""
    current = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise StorageError(
            f"the database {where} is not initialised: run `erepwatch init` with the same --database, "
            "or check that --database (EREPWATCH_DATABASE_URL) names the right one"
        )
    head = head_revision()
    if current != head:
        raise StorageError(
            f"the database schema is at revision {current} but this erepwatch needs {head}: run `erepwatch init`"
        )
