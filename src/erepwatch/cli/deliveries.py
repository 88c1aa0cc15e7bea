"""``erepwatch deliveries``: the outbox — what was sent, what waits for a retry, what failed and why."""

from __future__ import annotations

import click

from erepwatch.cli.app import cli, count, get_app, json_option, print_json
from erepwatch.enums import DeliveryStatus, values
from erepwatch.service.deliveries import list_deliveries

STATUSES = values(DeliveryStatus)


@cli.command()
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many.")
@click.option(
    "--retry",
    "retry_id",
    type=click.IntRange(min=1),
    metavar="ID",
    help="Resend this unknown (may have gone out) or failed delivery at the next send; nothing else resends it.",
)
@json_option
def deliveries(status: str | None, limit: int, retry_id: int | None, as_json: bool) -> None:
    """List deliveries, newest first; or resend one on purpose (--retry ID)."""
    if retry_id is not None:
        from erepwatch.clock import utcnow
        from erepwatch.service.deliveries import retry_delivery

        with get_app().transaction() as session:
            delivery = retry_delivery(session, retry_id, utcnow())
            row = {"id": delivery.id, "status": delivery.status, "message_id": delivery.message_id}
        if as_json:
            print_json(row)
        else:
            click.echo(
                f"delivery {row['id']} will be sent again at the next send (`erepwatch digest send` or the daemon)"
            )
        return
    app = get_app()
    with app.sessions() as session:
        rows = list_deliveries(session, status=status, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no deliveries")
    for r in rows:
        line = f"{r['id']:>5}  {app.show_time(r['created_at'])}  {r['status']:<8} {r['kind']:<6} {r['channel']:<5}"
        line += f" {r['recipient']}"
        line += f"  {count(r['mentions'], 'mention')}, {count(r['attempts'], 'attempt')}"
        if r["last_error"]:
            line += f"  ({r['last_error']})"
        click.echo(line)
