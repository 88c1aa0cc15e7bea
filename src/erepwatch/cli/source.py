"""``erepwatch source …``: the feeds polled."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import click

from erepwatch.cli.app import cli, get_app, json_option, print_json
from erepwatch.errors import InvalidInputError
from erepwatch.service import sources as svc
from erepwatch.settings import Settings, parse_duration


@cli.group()
def source() -> None:
    """Manage feeds."""


@source.command("add")
@click.argument("url")
@click.option("--name", help="A short name (default: host and path).")
@click.option("--interval", help="Time between two polls, e.g. 15m, 1h (default: poll.interval).")
@click.option("--no-check", is_flag=True, help="Add it without fetching it first (a feed that is down for now).")
@json_option
def add(url: str, name: str | None, interval: str | None, no_check: bool, as_json: bool) -> None:
    """Add the feed at URL (RSS, Atom, RDF or JSON Feed), once one fetch showed that it is a readable feed."""
    try:
        every = parse_duration(interval) if interval else None
    except ValueError as exc:
        raise InvalidInputError(f"--interval: {exc}") from exc
    app = get_app()
    if every is not None:
        every = _within_limits(every, app.settings)
    svc.check_feed_url(url)
    if not no_check:
        asyncio.run(svc.check_feed(url, app.settings))
    with app.transaction() as session:
        created = svc.add_source(
            session, svc.SourceInput(url=url, name=name, interval=every), default_interval=app.settings.poll_interval
        )
        row = svc.source_as_dict(created, 0)
    if as_json:
        print_json(row)
    else:
        every_text = _human(timedelta(seconds=row["interval"]))
        click.echo(f"added source {row['id']} {row['name']!r} ({row['url']}), every {every_text}")


def _within_limits(every: timedelta, settings: Settings) -> timedelta:
    """The interval the scheduler will really keep, said when it is not the one asked for."""
    low, high = settings.poll_min_interval, settings.poll_max_interval
    kept = min(max(every, low), high)
    if kept != every:
        bound, key = ("poll.min_interval", "EREPWATCH_POLL_MIN_INTERVAL") if kept == low else (
            "poll.max_interval", "EREPWATCH_POLL_MAX_INTERVAL")  # fmt: skip
        click.echo(
            f"erepwatch: note: --interval {_human(every)} is outside {bound}: the source is checked every "
            f"{_human(kept)} (set {key} to change the limit)",
            err=True,
        )
    return kept


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@source.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List feeds with their health."""
    app = get_app()
    with app.sessions() as session:
        rows = [svc.source_as_dict(s, n) for s, n in svc.list_sources(session)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no sources yet: add one with `erepwatch source add URL`")
    for row in rows:
        if row["failures"]:
            state = "BROKEN" if row["broken"] else "FAILING"
            health = f"{state} x{row['failures']} ({row['last_error_kind']}: {row['last_error']})"
        elif row["last_success"]:
            health = f"ok {app.show_time(row['last_success'])}"
        else:
            health = "never polled"
        click.echo(f"{row['id']:>4}  {row['name']:<32} {row['items']:>6} items  {health}")


@source.command()
@click.argument("ref", metavar="NAME|ID")
@json_option
def remove(ref: str, as_json: bool) -> None:
    """Remove a feed (items it brought stay)."""
    with get_app().transaction() as session:
        gone = svc.remove_source(session, ref)
        row = {"id": gone.id, "name": gone.name, "url": gone.url, "removed": True}
    if as_json:
        print_json(row)
    else:
        click.echo(f"removed source {row['id']} {row['name']!r}")
