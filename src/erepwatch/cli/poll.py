"""``erepwatch poll``: one poll cycle now."""

from __future__ import annotations

import asyncio

import click

from erepwatch.cli.app import cli, get_app, json_option, print_json
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
        f"{stats.sources} sources: {stats.fetched} fetched, {stats.not_modified} unchanged, {stats.failed} failed; "
        f"{stats.entries} entries, {stats.new_items} new items, {stats.new_mentions} new mentions ({stats.ms} ms)"
    )
    for outcome in stats.outcomes:
        if outcome.status == "error":
            click.echo(f"  source {outcome.source_id} {outcome.url}: {outcome.error_kind}: {outcome.error}")
