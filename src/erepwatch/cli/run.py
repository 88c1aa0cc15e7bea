"""``erepwatch run``: the daemon."""

from __future__ import annotations

import logging

from erepwatch.cli import cli, get_app
from erepwatch.daemon import Daemon


@cli.command()
def run() -> None:
    """Run the service: poll due sources on their schedules until stopped (SIGTERM or Ctrl-C)."""
    app = get_app()
    logging.getLogger().setLevel(app.settings.log_level.upper())
    Daemon(app.sessions, app.settings).run()
