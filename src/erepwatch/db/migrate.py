"""Create or upgrade the database schema with Alembic (``erepwatch init``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import erepwatch
from erepwatch.errors import StorageError


def migrations_dir() -> Path:
    """The Alembic folder: inside the installed package (wheel) or at the top of a source checkout."""
    package = Path(erepwatch.__file__).resolve().parent
    for candidate in (package / "migrations", package.parents[1] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the migrations folder is missing from this installation")


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # The engine's URL is never put in the config: Alembic gets the live connection instead
    # (and configparser would choke on a "%" in a password).
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config_for_scripts()).get_current_head() or ""


def _config_for_scripts() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to ``revision`` (the latest by default); returns (revision before, revision after).
    Idempotent."""
    before = current_revision(engine)
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return before, current_revision(engine) or ""


def ensure_schema(engine: Engine) -> None:
    """Create the schema of an empty database; refuse to work on an outdated one (``erepwatch init`` upgrades)."""
    current = current_revision(engine)
    if current is None:
        upgrade(engine)
        return
    head = head_revision()
    if current != head:
        raise StorageError(
            f"the database schema is at revision {current} but this erepwatch needs {head}: run `erepwatch init`"
        )
