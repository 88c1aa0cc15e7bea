"""``erepwatch poll``: one poll cycle now."""

from __future__ import annotations

import asyncio

import click

from erepwatch.cli.app import cli, count, get_app, json_option, print_json
from erepwatch.errors import ErepwatchError
from erepwatch.pipeline import PollStats, run_poll


@cli.command()
@click.option("--all", "all_sources", is_flag=True, help="Poll every source, due or not.")
@json_option
def poll(all_sources: bool, as_json: bool) -> None:
    """Fetch the due sources once, store new items and mentions, print statistics."""
    app = get_app()
    stats = asyncio.run(run_poll(app.sessions, app.settings, all_sources=all_sources))
    if as_json:
        print_json(stats.as_dict())
    else:
        _print(stats)
    if stats.sources and stats.failed == stats.sources:
        # Nothing worked: a script or cron job must see it (the machine is offline, a proxy is missing…).
        raise ErepwatchError(f"every source failed ({stats.failed}): see `erepwatch source list` for why")


def _print(stats: PollStats) -> None:
    click.echo(
        f"{count(stats.sources, 'source')}: {stats.fetched} fetched, {stats.not_modified} unchanged, "
        f"{stats.failed} failed; {count(stats.entries, 'entry', 'entries')}, {count(stats.new_items, 'new item')}, "
        f"{count(stats.new_mentions, 'new mention')} ({stats.ms} ms)"
    )
    for outcome in stats.outcomes:
        if outcome.status == "error":
            click.echo(f"  source {outcome.source_id} {outcome.url}: {outcome.error_kind}: {outcome.error}")
