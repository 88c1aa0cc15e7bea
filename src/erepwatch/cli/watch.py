"""``erepwatch watch …``: the watched queries."""

from __future__ import annotations

from typing import TextIO

import click

from erepwatch.cli.app import cli, count, get_app, json_option, print_json
from erepwatch.service import watches as svc

QUERY_HELP = """Query language (case- and accent-insensitive, whole words):

\b
  acme                 a word ("apple" never matches "pineapple" or "Applebee's")
  "acme corp"          an exact phrase
  acme widget          both (implicit AND; also: acme AND widget)
  acme OR widget       either (also: acme | widget); OR binds tighter than AND
  -recall  -"X corp"   exclude a word or phrase (the - touches the term; also: NOT recall)
  lid*                 a prefix: words starting with lid (Lidl, lidar); 3 letters at least before *
  coca-cola            a hyphen inside a word is part of it: same as "coca cola"
  (acme OR acmé) -job  parentheses group
  site:example.com     from that domain or its subdomains (-site: excludes)
  intitle:acme         in the title (also intitle:"acme corp")

\b
French and typography: elisions (l'Oréal, d’Acme), accents and possessives (Apple's) are understood: oréal finds
L'Oréal, "air france" finds Air France-KLM. --fuzzy tolerates one typo in words of 5+ letters, two in
9+ letters (never in short words, numbers or common words). Try a query before saving it with
`erepwatch watch test --query Q`. AND, OR and NOT are operators in upper case only (lower case: words, with a
warning); operators of other tools (&&, NEAR, inurl:…) and a * anywhere but at the end of a word are refused.
A malformed query is refused with the column of the mistake.
"""


@cli.group()
def watch() -> None:
    """Manage watched queries."""


@watch.command("add", epilog=QUERY_HELP)
@click.argument("name")
@click.option("--query", "-q", required=True, help="What to look for (see the query language below).")
@click.option("--lang", multiple=True, help="Only items in these languages (ISO 639-1), e.g. fr,en [default: any].")
@click.option(
    "--region",
    multiple=True,
    help="Countries (ISO 3166-1) whose news-search editions `source add-search` subscribes, e.g. FR,CA; it does "
    "not filter mentions [default without --lang: watch.default_region, FR].",
)
@click.option("--fuzzy", is_flag=True, help="Tolerate a typo in long words.")
@click.option("--tag", "tags", multiple=True, metavar="GROUP=word,word", help="A custom keyword tag group.")
@click.option(
    "--search", is_flag=True,
    help="Also subscribe the catalog's news-search feeds for its languages and regions, and poll them now.",
)  # fmt: skip
@json_option
def add(
    name: str,
    query: str,
    lang: tuple[str, ...],
    region: tuple[str, ...],
    fuzzy: bool,
    tags: tuple[str, ...],
    search: bool,
    as_json: bool,
) -> None:
    """Add a watched query NAME; it is matched at once against the items already stored."""
    from erepwatch.service import first_results

    _warn(query, as_json)
    data = svc.WatchInput(
        name=name,
        query=query,
        languages=svc.parse_languages(lang),
        regions=svc.parse_regions(region),
        fuzzy=fuzzy,
        tags=svc.parse_tag_specs(tags),
    )
    app = get_app()
    with app.transaction() as session:
        created = svc.add_watch(session, data, default_region=app.settings.watch_default_region)
        result = svc.watch_as_dict(created)
    if not as_json:
        click.echo(f"added watch {result['id']} {result['name']!r}: {result['canonical_query']}")
    found = first_results.FirstResults(stored_mentions=first_results.match_stored(app.sessions, app.settings,
                                                                                  [result["id"]]))  # fmt: skip
    if search:
        polled = first_results.subscribe_and_poll(app.sessions, app.settings, result["id"])
        polled.stored_mentions = found.stored_mentions
        found = polled
    if as_json:
        print_json({**result, "first_results": found.as_dict()})
        return
    click.echo(f"{count(found.stored_mentions, 'mention')} among the items already stored")
    if search:
        failed = f", {found.polled_failed} failed" if found.polled_failed else ""
        click.echo(
            f"{count(len(found.feeds), 'search feed')} subscribed and polled{failed}: "
            f"{count(found.new_items, 'new item')}, {count(found.new_mentions, 'new mention')}"
        )
    else:
        click.echo(
            f"to search the news for it now: `erepwatch source add-search {result['name']}` "
            "(or add --search to `watch add`), then `erepwatch poll`"
        )


def _warn(query: str, as_json: bool) -> None:
    """Refuse a malformed query, and say on stderr what a valid one does that its author may not mean."""
    from erepwatch.analyze.query import parse_query, query_warnings

    parse_query(query)
    for warning in query_warnings(query):
        click.echo(f"erepwatch: warning: query {warning}", err=True)


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
        extra = f"  lang {','.join(row['lang']) or 'any'}"
        if row["region"]:
            extra += f"  region {','.join(row['region'])}"
        if row["fuzzy"]:
            extra += "  fuzzy"
        if row["tags"]:
            extra += "  tags " + "; ".join(f"{group}={','.join(words)}" for group, words in row["tags"].items())
        if row["query_error"]:
            extra += f"  (never matches: {row['query_error']})"
        click.echo(f"{row['id']:>4}  {row['name']:<24} {row['canonical_query'] or row['query']}{extra}")


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
    keys = ("id", "name", "query", "canonical_query", "query_error", "lang", "region", "fuzzy", "tags", "created_at")
    for key in keys:
        value = row[key]
        if key == "query_error" and value is None:
            continue
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
def edit(
    ref: str,
    new_name: str | None,
    query: str | None,
    lang: tuple[str, ...],
    region: tuple[str, ...],
    fuzzy: bool | None,
    tags: tuple[str, ...],
    as_json: bool,
) -> None:
    """Change a watch; a new query, language or region is matched at once against the items already stored."""
    from erepwatch.service import first_results

    if query is not None:
        _warn(query, as_json)
    app = get_app()
    with app.transaction() as session:
        changed = svc.edit_watch(
            session,
            ref,
            name=new_name,
            query=query,
            languages=svc.parse_languages(lang) if lang else None,
            regions=svc.parse_regions(region) if region else None,
            fuzzy=fuzzy,
            tags=svc.parse_tag_specs(tags) if tags else None,
        )
        row = svc.watch_as_dict(changed)
    matching_changed = query is not None or lang or fuzzy is not None
    found = first_results.match_stored(app.sessions, app.settings, [row["id"]]) if matching_changed else 0
    if as_json:
        print_json({**row, "first_results": {"stored_mentions": found}})
        return
    click.echo(f"updated watch {row['id']} {row['name']!r}: {row['canonical_query']}")
    if matching_changed:
        click.echo(f"{count(found, 'new mention')} among the items already stored")


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


@watch.command("test", epilog=QUERY_HELP)
@click.argument("ref", metavar="[NAME|ID]", required=False)
@click.option("--query", "-q", help="Try this query instead of a saved watch.")
@click.option("--lang", multiple=True, help="With --query: only items in these languages, e.g. fr,en.")
@click.option("--fuzzy", is_flag=True, help="With --query: tolerate a typo in long words.")
@click.option("--since", help="Only items published in this last period, e.g. 7d, 12h (default: all).")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True, help="Items to show.")
@json_option
def test(
    ref: str | None, query: str | None, lang: tuple[str, ...], fuzzy: bool, since: str | None, limit: int, as_json: bool
) -> None:
    """Preview which stored items a watch (or --query) would match, with counts per source."""
    import sys

    from erepwatch.analyze.snippet import Snippet, highlight
    from erepwatch.errors import InvalidInputError
    from erepwatch.service import preview
    from erepwatch.settings import parse_duration

    if (ref is None) == (query is None):
        raise click.UsageError("give either a watch NAME or --query Q")
    if query is not None:
        _warn(query, as_json)
    try:
        window = parse_duration(since) if since else None
    except ValueError as exc:
        raise InvalidInputError(f"--since: {exc}") from exc
    app = get_app()
    with app.sessions() as session:
        if query is not None:
            result = preview.preview_query(
                session, query, languages=svc.parse_languages(lang), fuzzy=fuzzy, since=window, limit=limit
            )
        else:
            result = preview.preview_watch(session, ref or "", since=window, limit=limit)
    if as_json:
        print_json(result.as_dict())
        return
    color = sys.stdout.isatty()
    click.echo(f"{result.canonical_query}: {result.matched} of {result.scanned} stored items would match")
    for name, matched in result.per_source.items():
        click.echo(f"  {matched:>6}  {name}")
    for hit in result.hits:
        click.echo(f"\n{app.show_time(hit.published)}  {hit.title}")
        click.echo(f"    {', '.join(hit.sources) or '?'}  {hit.url or ''}")
        if hit.snippet:
            snip = Snippet(hit.snippet, hit.snippet_marks)
            click.echo(f"    {highlight(snip, 'ansi' if color else 'brackets')}")


@watch.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@json_option
def import_(file: TextIO, as_json: bool) -> None:
    """Add or update watches from JSON Lines FILE ("-" for stdin), all or nothing.

    \b
    One object per line, e.g.
      {"name": "Acme", "query": "acme -jobs", "lang": "fr,en", "fuzzy": true, "tags": {"crise": ["rappel"]}}
    A watch of the same name is updated to match the line. A bad line is reported with its number and
    nothing of the file is applied.
    """
    from erepwatch.service import first_results, watch_import

    lines = watch_import.parse_jsonl(file, source=getattr(file, "name", "input"))
    app = get_app()
    with app.transaction() as session:
        result = watch_import.import_watches(session, lines)
        changed = [*result.added, *result.updated]
        ids = svc.ids_of(session, changed)
    found = first_results.match_stored(app.sessions, app.settings, ids)
    if as_json:
        print_json({**result.as_dict(), "stored_mentions": found})
    else:
        click.echo(
            f"imported {len(lines)} watches: {len(result.added)} added, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged; {count(found, 'new mention')} among the items already stored"
        )
