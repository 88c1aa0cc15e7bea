"""``erepwatch deliveries``: the outbox — what was sent, what waits for a retry, what failed and why."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from erepwatch.cli import cli, get_app, json_option, print_json
from erepwatch.db.models import Delivery, Recipient

STATUSES = ("pending", "sending", "sent", "failed", "unknown")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


@cli.command()
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many.")
@json_option
def deliveries(status: str | None, limit: int, as_json: bool) -> None:
    """List deliveries, newest first."""
    with get_app().sessions() as session:
        query = (
            select(Delivery, Recipient.email)
            .join(Recipient, Recipient.id == Delivery.recipient_id)
            .order_by(Delivery.created_at.desc(), Delivery.id.desc())
            .limit(limit)
        )
        if status:
            query = query.where(Delivery.status == status)
        rows = [
            {
                "id": d.id,
                "recipient": email,
                "kind": d.kind,
                "channel": d.channel,
                "status": d.status,
                "attempts": d.attempts,
                "mentions": len(d.mention_ids or []),
                "period_start": _iso(d.period_start),
                "period_end": _iso(d.period_end),
                "next_attempt": _iso(d.next_attempt_at) if d.status == "pending" else None,
                "last_error": d.last_error,
                "message_id": d.message_id,
                "created_at": _iso(d.created_at),
                "sent_at": _iso(d.sent_at),
            }
            for d, email in session.execute(query)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no deliveries")
    for r in rows:
        line = (
            f"{r['id']:>5}  {r['created_at'][:16]}  {r['status']:<8} {r['kind']:<6} {r['channel']:<5} {r['recipient']}"
        )
        line += f"  {r['mentions']} mentions, {r['attempts']} attempts"
        if r["last_error"]:
            line += f"  ({r['last_error']})"
        click.echo(line)
