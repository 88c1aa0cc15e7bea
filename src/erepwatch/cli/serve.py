"""``erepwatch serve``: the web app alone, against the same database as the daemon."""

from __future__ import annotations

import click

from erepwatch.cli.app import cli, get_app
from erepwatch.logs import configure_logging


@cli.command()
@click.option("--addr", metavar="HOST:PORT", help="Listen here instead of web.addr [env: EREPWATCH_WEB_ADDR].")
def serve(addr: str | None) -> None:
    """Serve the web app (mentions, trends, management pages, Atom feeds, JSON API) until stopped, without
    polling or sending. Listens on 127.0.0.1:8080 by default; any other address needs EREPWATCH_WEB_PASSWORD
    (or EREPWATCH_WEB_PASSWORD_FILE)."""
    from erepwatch.settings import parse_host_port
    from erepwatch.web.security import check_bind
    from erepwatch.web.server import make_config, serve_forever

    app = get_app()
    configure_logging(app.settings)
    try:
        target = parse_host_port(addr) if addr else app.settings.web_addr
    except ValueError as exc:
        raise click.UsageError(f"--addr: {exc}") from exc
    password = app.settings.web_password
    check_bind(target, password.reveal() if password else None)  # before touching the database
    config = make_config(app.sessions, app.settings)
    click.echo(f"erepwatch web app on http://{target}/ (Ctrl-C to stop)", err=True)
    serve_forever(config, target)
