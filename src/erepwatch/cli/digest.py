"""``erepwatch digest …``: preview the digest as it would be sent, or send what is due now."""

from __future__ import annotations

from pathlib import Path

import click

from erepwatch.cli.app import OutPath, cli, get_app, json_option, print_json, write_out
from erepwatch.clock import utcnow
from erepwatch.service.digests import preview_digest, send_now


@cli.group()
def digest() -> None:
    """Preview or send digests."""


@digest.command()
@click.option(
    "--recipient",
    "email",
    metavar="EMAIL",
    help="Whose digest (default: the first recipient, or a French digest of every watch).",
)
@click.option("--out", type=OutPath(), help="Write the HTML here (default: stdout).")
def preview(email: str | None, out: Path | None) -> None:
    """Write the HTML digest as it would be sent now (nothing is recorded or sent)."""
    app = get_app()
    now = utcnow()
    with app.sessions() as session:
        rendered = preview_digest(session, app.settings, now, email)
    if out is None:
        click.echo(rendered.html, nl=False)
    else:
        write_out(rendered.html.encode("utf-8"), out)
        click.echo(f"wrote {out} ({rendered.subject})", err=True)


@digest.command()
@click.option(
    "--recipient",
    "email",
    metavar="EMAIL",
    help="Only this recipient, and its digest now even if its time has not come.",
)
@json_option
def send(email: str | None, as_json: bool) -> None:
    """Plan what is due now (digests, alerts, spikes) and send every pending delivery."""
    app = get_app()
    now = utcnow()
    outcome = send_now(app.sessions, app.settings, now, email)
    planned_count, stats = len(outcome.planned), outcome.stats
    result = {"planned": planned_count, **stats.as_dict()}
    if as_json:
        print_json(result)
        return
    click.echo(
        f"planned {planned_count}, sent {stats.sent}, retry later {stats.retried}, failed {stats.failed}"
        + (f", unknown {stats.unknown}" if stats.unknown else "")
    )
    for error in stats.errors:
        click.echo(f"  {error}", err=True)
