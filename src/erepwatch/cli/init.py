"""``erepwatch init``: create or upgrade the database."""

from __future__ import annotations

import click

from erepwatch.cli.app import cli, get_app, json_option, print_json
from erepwatch.db.migrate import upgrade


@cli.command()
@json_option
def init(as_json: bool) -> None:
    """Create the database or upgrade it to the latest schema (safe to run again)."""
    app = get_app(create=True)
    before, after = upgrade(app.engine)
    url = app.engine.url.render_as_string(hide_password=True)
    if as_json:
        print_json({"database": url, "from": before, "to": after, "changed": before != after})
    elif before == after:
        click.echo(f"database {url} is up to date (revision {after})")
    else:
        click.echo(f"database {url} upgraded from {before or 'empty'} to revision {after}")
