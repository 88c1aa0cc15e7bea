"""``erepwatch watch …``: the watched queries."""

from __future__ import annotations

import click

from erepwatch.analyze.matcher import canonical_query
from erepwatch.cli import cli, get_app, json_option, print_json
from erepwatch.service import watches as svc

QUERY_HELP = """Query language (case- and accent-insensitive, whole words):

\b
  acme                 a word
  "acme corp"          an exact phrase
  acme widget          both (implicit AND)
  acme OR widget       either (also: acme | widget)
  -recall  -"X corp"   exclude a word or phrase
  (acme OR acmé) -job  parentheses group
  site:example.com     from that domain or its subdomains (-site: excludes)
  intitle:acme         in the title
"""


@cli.group()
def watch() -> None:
    """Manage watched queries."""


@watch.command("add", epilog=QUERY_HELP)
@click.argument("name")
@click.option("--query", "-q", required=True, help="What to look for (see the query language below).")
@click.option("--lang", multiple=True, help="Only items in these languages, e.g. fr,en.")
@click.option("--region", multiple=True, help="Regions for search feeds, e.g. FR,CA.")
@click.option("--fuzzy", is_flag=True, help="Tolerate a typo in long words.")
@click.option("--tag", "tags", multiple=True, metavar="GROUP=word,word", help="A custom keyword tag group.")
@json_option
def add(name: str, query: str, lang: tuple[str, ...], region: tuple[str, ...], fuzzy: bool,
        tags: tuple[str, ...], as_json: bool) -> None:
    """Add a watched query NAME."""
    data = svc.WatchInput(
        name=name, query=query, languages=svc.parse_languages(lang), regions=svc.parse_regions(region),
        fuzzy=fuzzy, tags=svc.parse_tag_specs(tags),
    )
    with get_app().transaction() as session:
        created = svc.add_watch(session, data)
        result = svc.watch_as_dict(created)
    if as_json:
        print_json(result)
    else:
        click.echo(f"added watch {result['id']} {result['name']!r}: {result['canonical_query']}")


@watch.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List watches."""
    with get_app().sessions() as session:
        rows = [svc.watch_as_dict(w) for w in svc.list_watches(session)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no watches yet: add one with `erepwatch watch add NAME --query Q`")
    for row in rows:
        extra = f" [{','.join(row['lang'])}]" if row["lang"] else ""
        click.echo(f"{row['id']:>4}  {row['name']:<24} {row['canonical_query']}{extra}")


@watch.command()
@click.argument("ref", metavar="NAME|ID")
@json_option
def show(ref: str, as_json: bool) -> None:
    """Show one watch, its query in canonical form."""
    with get_app().sessions() as session:
        row = svc.watch_as_dict(svc.get_watch(session, ref))
    if as_json:
        print_json(row)
        return
    for key in ("id", "name", "query", "canonical_query", "lang", "region", "fuzzy", "tags", "created_at"):
        value = row[key]
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        elif isinstance(value, dict):
            value = "; ".join(f"{g}={','.join(w)}" for g, w in value.items()) or "-"
        click.echo(f"{key:>16}: {value}")


@watch.command()
@click.argument("ref", metavar="NAME|ID")
@click.option("--name", "new_name", help="New name.")
@click.option("--query", "-q", help="New query.")
@click.option("--lang", multiple=True, help="Replace the languages (empty string: any).")
@click.option("--region", multiple=True, help="Replace the regions.")
@click.option("--fuzzy/--no-fuzzy", default=None, help="Turn typo tolerance on or off.")
@click.option("--tag", "tags", multiple=True, metavar="GROUP=word,word", help="Replace the custom tag groups.")
@json_option
def edit(ref: str, new_name: str | None, query: str | None, lang: tuple[str, ...], region: tuple[str, ...],
         fuzzy: bool | None, tags: tuple[str, ...], as_json: bool) -> None:
    """Change a watch."""
    if query is not None:
        canonical_query(query)
    with get_app().transaction() as session:
        changed = svc.edit_watch(
            session, ref, name=new_name, query=query,
            languages=svc.parse_languages(lang) if lang else None,
            regions=svc.parse_regions(region) if region else None,
            fuzzy=fuzzy, tags=svc.parse_tag_specs(tags) if tags else None,
        )
        row = svc.watch_as_dict(changed)
    if as_json:
        print_json(row)
    else:
        click.echo(f"updated watch {row['id']} {row['name']!r}: {row['canonical_query']}")


@watch.command()
@click.argument("ref", metavar="NAME|ID")
@json_option
def remove(ref: str, as_json: bool) -> None:
    """Remove a watch and its mentions."""
    with get_app().transaction() as session:
        gone = svc.remove_watch(session, ref)
        row = {"id": gone.id, "name": gone.name, "removed": True}
    if as_json:
        print_json(row)
    else:
        click.echo(f"removed watch {row['id']} {row['name']!r}")
