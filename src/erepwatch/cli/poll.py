"""``erepwatch poll``: one poll cycle now."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import click

from erepwatch.cli.app import cli, count, get_app, json_option, print_json
from erepwatch.errors import ErepwatchError
from erepwatch.pipeline import PollStats, run_poll
from erepwatch.service.sources import Outlook


@cli.command()
@click.option(
    "--all", "all_sources", is_flag=True,
    help="Poll every source, due or not (a failing source still waits out its backoff: name it with --source).",
)  # fmt: skip
@click.option("--source", "sources", multiple=True, metavar="NAME|ID", help="Poll this source now, whatever its state.")
@json_option
def poll(all_sources: bool, sources: tuple[str, ...], as_json: bool) -> None:
    """Fetch the due sources once, store new items and mentions, print statistics."""
    from erepwatch.service import sources as svc

    app = get_app()
    ids: list[int] = []
    if sources:
        with app.sessions() as session:
            ids = [svc.get_source(session, ref).id for ref in sources]
    stats = asyncio.run(run_poll(app.sessions, app.settings, all_sources=all_sources, source_ids=ids))
    if as_json:
        print_json(stats.as_dict())
    else:
        _print(stats)
    if not stats.sources and not as_json:
        with app.sessions() as session:
            _say_why_nothing(svc.outlook(session), app.show_time)
    if stats.sources and stats.failed == stats.sources:
        # Nothing worked: a script or cron job must see it (the machine is offline, a proxy is missing…).
        raise ErepwatchError(f"every source failed ({stats.failed}): see `erepwatch source list` for why")


def _say_why_nothing(outlook: Outlook, show_time: Callable[[datetime | None], str]) -> None:
    """A poll that fetched nothing says why, and what to do, rather than a row of zeros."""
    if not outlook.enabled:
        click.echo("no source to poll: add one with `erepwatch source add URL` or `erepwatch source add-search WATCH`")
        return
    said = f"nothing due: the next check is at {show_time(outlook.next_check)}"
    if outlook.failing:
        waiting = count(outlook.failing, "failing source")
        verb = "waits" if outlook.failing == 1 else "wait"
        said += f"; {waiting} {verb} out their backoff (`erepwatch source list`), `--source ID` polls one now"
    click.echo(said)


def _print(stats: PollStats) -> None:
    click.echo(
        f"{count(stats.sources, 'source')}: {stats.fetched} fetched, {stats.not_modified} unchanged, "
        f"{stats.failed} failed; {count(stats.entries, 'entry', 'entries')}, {count(stats.new_items, 'new item')}, "
        f"{count(stats.new_mentions, 'new mention')} ({stats.ms} ms)"
    )
    for outcome in stats.outcomes:
        if outcome.status == "error":
            click.echo(f"  source {outcome.source_id} {outcome.url}: {outcome.error_kind}: {outcome.error}")
