"""``erepwatch run``: the daemon."""

from __future__ import annotations

import logging
import os
import sys

import click

from erepwatch.cli.app import cli, get_app
from erepwatch.daemon import Daemon
from erepwatch.logs import configure_logging
from erepwatch.web.server import daemon_web


@cli.command()
@click.option(
    "--migrate",
    is_flag=True,
    help="Create or upgrade the database first (as `erepwatch init`), once it answers; the Docker entry point.",
)
def run(migrate: bool) -> None:
    """Run the service until stopped (SIGTERM or Ctrl-C): poll due sources, send alerts and digests, purge old
    data, and serve the web page, /healthz and /metrics on web.addr. Refuses to start when another daemon
    already runs on the same database."""
    from erepwatch.web.security import check_bind

    app = get_app(create=True)
    configure_logging(app.settings)
    # Refused before anything else: an open address without a password is a configuration mistake.
    password = app.settings.web_password
    check_bind(app.settings.web_addr, password.reveal() if password else None)
    code = Daemon(app.engine, app.settings, migrate=migrate, web=daemon_web).run()
    # Everything is committed, the lock released and the engine closed; tearing down the interpreter (the
    # language model, the lexicons, idle pool threads) would only add seconds to a stop that must fit in 10.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
