"""``erepwatch group …``: saved groups of watches ("my brand vs competitors") and their share of voice."""

from __future__ import annotations

import click

from erepwatch.cli.app import cli, get_app, json_option, print_json
from erepwatch.service import groups as svc
from erepwatch.service.watches import parse_list


@cli.group()
def group() -> None:
    """Groups of watches to compare: your brand vs competitors (share of voice)."""


_BRAND = click.option(
    "--brand", "brands", multiple=True, metavar="WATCH", help="Your brand's watch (repeat or comma-separate)."
)
_COMPETITOR = click.option(
    "--competitor",
    "competitors",
    multiple=True,
    metavar="WATCH",
    help="A competitor's watch (repeat or comma-separate).",
)


@group.command("add")
@click.argument("name")
@_BRAND
@_COMPETITOR
@json_option
def add(name: str, brands: tuple[str, ...], competitors: tuple[str, ...], as_json: bool) -> None:
    """Save a group: `group add "Boulangeries" --brand maison-dupont --competitor paul,brioche-doree`."""
    with get_app().transaction() as session:
        data = svc.GroupInput(name, parse_list(brands), parse_list(competitors))
        row = svc.group_as_dict(session, svc.add_group(session, data))
    if as_json:
        print_json(row)
    else:
        click.echo(f"added group {row['name']}: {', '.join(row['brands'])} vs {', '.join(row['competitors'])}")


@group.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List the saved groups."""
    with get_app().sessions() as session:
        rows = [svc.group_as_dict(session, g) for g in svc.list_groups(session)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no groups yet: add one with `erepwatch group add NAME --brand W --competitor W`")
    for row in rows:
        click.echo(f"{row['name']:<28} {', '.join(row['brands'])} vs {', '.join(row['competitors'])}")


@group.command("edit")
@click.argument("ref")
@click.option("--name", help="New name.")
@_BRAND
@_COMPETITOR
@json_option
def edit(ref: str, name: str | None, brands: tuple[str, ...], competitors: tuple[str, ...], as_json: bool) -> None:
    """Rename a group or replace its brand or competitors (only the options given)."""
    with get_app().transaction() as session:
        changed = svc.edit_group(
            session, ref, name=name, brands=parse_list(brands) or None, competitors=parse_list(competitors) or None
        )
        row = svc.group_as_dict(session, changed)
    if as_json:
        print_json(row)
    else:
        click.echo(f"updated group {row['name']}")


@group.command()
@click.argument("ref")
@json_option
def remove(ref: str, as_json: bool) -> None:
    """Remove a group (its watches stay)."""
    with get_app().transaction() as session:
        gone = svc.remove_group(session, ref)
        row = {"id": gone.id, "name": gone.name, "removed": True}
    if as_json:
        print_json(row)
    else:
        click.echo(f"removed group {row['name']}")


@group.command()
@click.argument("ref")
@click.option("--days", type=click.Choice(["7", "30", "90"]), default="30", show_default=True)
@click.option("--tz", default="UTC", show_default=True, metavar="ZONE", help="Days are counted in this time zone.")
@json_option
def share(ref: str, days: str, tz: str, as_json: bool) -> None:
    """Share of voice of a group: each watch's part of the group's stories over the period."""
    from erepwatch.clock import utcnow

    with get_app().sessions() as session:
        result = svc.share_of_voice(session, ref, days=int(days), now=utcnow(), tz=tz)
    if as_json:
        print_json(result.as_dict())
        return
    click.echo(f"{result.group}, last {days} days: {result.total} stories, your brand {result.brand_percent} %")
    for line in result.lines:
        click.echo(f"  {line.watch:<28} {line.role.value:<10} {line.stories:>6}  {line.percent:5.1f} %")
