"""``erepwatch recipient …``: who gets digests and alerts, when, in which language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from erepwatch.cli.app import cli, get_app, json_option, print_json
from erepwatch.enums import Sentiment, values
from erepwatch.notify.digest import WEEKDAYS
from erepwatch.notify.strings import LOCALES
from erepwatch.service import recipients as svc


def _options(edit: bool) -> Callable[[Any], Any]:
    def decorate(f: Any) -> Any:
        opts = [
            click.option(
                "--frequency",
                type=click.Choice(svc.FREQUENCIES),
                help="instant: alerts as they come; daily or weekly: a digest" + ("" if edit else " [default: daily]"),
            ),
            click.option(
                "--at", "at_time", metavar="HH:MM", help="Time of the digest" + ("" if edit else " [default: 08:00]")
            ),
            click.option(
                "--tz",
                "timezone",
                metavar="ZONE",
                help="Time zone, e.g. Europe/Paris" + ("" if edit else " [default: Europe/Paris]"),
            ),
            click.option("--day", "weekday", type=click.Choice(WEEKDAYS), help="Day of a weekly digest."),
            click.option(
                "--watch",
                "watches",
                multiple=True,
                metavar="W",
                help="Follow only these watches (repeat or comma-separate; default: all).",
            ),
            click.option(
                "--min-sentiment",
                type=click.Choice(values(Sentiment)),
                help="Only mentions at least this bad (negative: only negative ones); crisis tags always.",
            ),
            click.option("--locale", type=click.Choice(LOCALES), help="Language of the messages [default: fr]."),
            click.option(
                "--notify",
                "notify_urls",
                multiple=True,
                metavar="APPRISE_URL",
                help="Also push alerts to this Apprise URL (Slack, Teams, Telegram, ntfy, Discord…).",
            ),
            click.option(
                "--send-empty/--no-send-empty", default=None, help="Send a one-line digest when there is nothing new."
            ),
        ]
        for opt in reversed(opts):
            f = opt(f)
        return f

    return decorate


@cli.group()
def recipient() -> None:
    """Manage who gets digests and alerts."""


@recipient.command("add")
@click.argument("email")
@_options(edit=False)
@json_option
def add(email: str, watches: tuple[str, ...], notify_urls: tuple[str, ...], as_json: bool, **options: Any) -> None:
    """Add a recipient (French daily digest at 08:00 Paris time by default)."""
    with get_app().transaction() as session:
        created = svc.add_recipient(session, email, watches=watches, notify_urls=list(notify_urls), **options)
        row = svc.recipient_as_dict(session, created)
    if as_json:
        print_json(row)
    else:
        click.echo(f"added recipient {row['email']} ({_when(row)})")


@recipient.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List recipients."""
    with get_app().sessions() as session:
        rows = [svc.recipient_as_dict(session, r) for r in svc.list_recipients(session)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no recipients yet: add one with `erepwatch recipient add EMAIL`")
    for row in rows:
        watches = ", ".join(row["watches"]) or "all watches"
        click.echo(f"{row['email']:<32} {_when(row):<36} {row['locale']}  {watches}")


def _when(row: dict[str, Any]) -> str:
    """When the recipient hears from erepwatch, in words: an instant recipient has no time of day."""
    if row["frequency"] == "instant":
        return "instant alerts"
    if row["frequency"] == "weekly":
        return f"weekly, {row['day'] or 'mon'} at {row['at']} {row['tz']}"
    return f"daily at {row['at']} {row['tz']}"


@recipient.command("edit")
@click.argument("email")
@_options(edit=True)
@click.option("--all-watches", is_flag=True, help="Follow every watch again.")
@json_option
def edit(
    email: str, watches: tuple[str, ...], notify_urls: tuple[str, ...], all_watches: bool, as_json: bool, **options: Any
) -> None:
    """Change a recipient's settings (only the options given)."""
    with get_app().transaction() as session:
        changed = svc.edit_recipient(
            session,
            email,
            watches=[] if all_watches else (list(watches) if watches else None),
            notify_urls=list(notify_urls) if notify_urls else None,
            **options,
        )
        row = svc.recipient_as_dict(session, changed)
    if as_json:
        print_json(row)
    else:
        click.echo(f"updated recipient {row['email']}")


@recipient.command()
@click.argument("email")
@json_option
def remove(email: str, as_json: bool) -> None:
    """Remove a recipient (and its pending deliveries)."""
    with get_app().transaction() as session:
        gone = svc.remove_recipient(session, email)
        row = {"id": gone.id, "email": gone.email, "removed": True}
    if as_json:
        print_json(row)
    else:
        click.echo(f"removed recipient {row['email']}")
