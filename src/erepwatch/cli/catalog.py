"""Search feeds, discovery, OPML, Google Alerts migration and backup on the command line.

- ``erepwatch source add-search WATCH [--provider P…] [--subreddit S…] [--mastodon INSTANCE…]``
- ``erepwatch source providers`` · ``source discover URL [--add]``
- ``erepwatch source import FILE.opml`` · ``source export [--out FILE]``
- ``erepwatch export [--out FILE] [--format json|toml]``: watches, sources and recipients, one file
- ``erepwatch import FILE`` (a backup; same as ``import file FILE``) · ``erepwatch import google-alerts FILE.json``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from erepwatch.cli.app import Group, OutPath, cli, get_app, json_option, print_json, write_out
from erepwatch.cli.source import source
from erepwatch.errors import ErepwatchError, FetchError, InvalidInputError
from erepwatch.service.watches import get_watch


@source.command("add-search")
@click.argument("watch_ref", metavar="WATCH")
@click.option(
    "--provider",
    "providers",
    multiple=True,
    help="google-news, bing-news, reddit, hackernews, mastodon (repeatable; default: all but mastodon).",
)
@click.option("--subreddit", "subreddits", multiple=True, help="Also search within this subreddit (repeatable).")
@click.option("--mastodon", "instances", multiple=True, help="Follow the query's hashtags on this instance.")
@json_option
def add_search(watch_ref: str, providers: tuple[str, ...], subreddits: tuple[str, ...], instances: tuple[str, ...],
               as_json: bool) -> None:  # fmt: skip
    """Subscribe WATCH to the catalog's search feeds for its languages and regions."""
    from erepwatch.service.search_feeds import add_search_feeds

    app = get_app()
    with app.transaction() as session:
        watch = get_watch(session, watch_ref)
        report = add_search_feeds(
            session, watch, list(providers), options={"subreddit": subreddits, "mastodon": instances},
            interval=app.settings.poll_search_interval, base_url=app.settings.catalog_base_url or None,
        )  # fmt: skip
        result = report.as_dict()
    if as_json:
        print_json(result)
        return
    for verb in ("added", "updated", "kept"):
        for row in result[verb]:  # type: ignore[attr-defined]
            click.echo(f"{verb:<8} {row['name']}  {row['url']}")
    for name in result["removed"]:  # type: ignore[attr-defined]
        click.echo(f"removed  {name}")
    for row in result["shared"]:  # type: ignore[attr-defined]
        click.echo(f"shared   {row['url']} is already polled as {row['source']!r}")
    for provider, notes in result["approximations"].items():  # type: ignore[attr-defined]
        for note in notes:
            click.echo(f"note     {provider}: {note}")


@source.command("providers")
@json_option
def providers_(as_json: bool) -> None:
    """List the search-feed providers of the catalog."""
    from erepwatch.catalog import PROVIDERS

    rows = [{"name": p.name, "title": p.title, "default": p.default, "about": p.about} for p in PROVIDERS.values()]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['name']:<12} {'default ' if row['default'] else 'on demand'}  {row['about']}")


@source.command("discover")
@click.argument("url")
@click.option("--add", "add_first", is_flag=True, help="Add the first feed found as a source.")
@json_option
def discover(url: str, add_first: bool, as_json: bool) -> None:
    """Find the feeds a web page announces (<link rel="alternate">) or links to (<a href> on a site's RSS index page,
    e.g. /rss/), YouTube channel pages included."""
    from erepwatch.pipeline import fetch_policy
    from erepwatch.service import sources as svc

    app = get_app()
    # The same function as the web page's "find a site's feeds".
    try:
        found = svc.discover_site(url, policy=fetch_policy(app.settings))
    except FetchError as exc:
        raise InvalidInputError(f"cannot fetch {url}: {exc.kind}: {exc}") from exc
    rows: list[dict[str, Any]] = [{"url": f.url, "title": f.title, "format": f.format} for f in found]
    added = None
    if add_first and found:
        with app.transaction() as session:
            created = svc.add_source(session, svc.SourceInput(url=found[0].url, name=found[0].title),
                                     default_interval=app.settings.poll_interval)  # fmt: skip
            added = svc.source_as_dict(created, 0)
    if as_json:
        print_json({"feeds": rows, "added": added})
        return
    if not rows:
        click.echo(f"no feed announced by {url}")
    for row in rows:
        click.echo(f"{row['format']:<5} {row['url']}" + (f"  ({row['title']})" if row["title"] else ""))
    if added:
        click.echo(f"added source {added['id']} {added['name']!r}")


@source.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE.opml")
@json_option
def import_opml_cmd(path: Path, as_json: bool) -> None:
    """Add the feeds of an OPML file (your feed reader's export); feeds already here are left alone."""
    from erepwatch.service.subscriptions import import_opml

    app = get_app()
    with app.transaction() as session:
        try:
            report = import_opml(session, path.read_bytes(), default_interval=app.settings.poll_interval).as_dict()
        except InvalidInputError as exc:
            raise InvalidInputError(f"{path}: {exc}") from exc
    if as_json:
        print_json(report)
        return
    click.echo(f"{len(report['added'])} added, {len(report['existing'])} already present, "
               f"{len(report['refused'])} refused")  # fmt: skip
    for line in report["refused"]:
        click.echo(f"refused  {line}", err=True)


@source.command("export")
@click.option("--out", type=OutPath(), help="Write here instead of stdout.")
def export_opml_cmd(out: Path | None) -> None:
    """Write every source as OPML 2.0 (search feeds grouped by watch)."""
    from erepwatch.service.subscriptions import export_opml

    with get_app().sessions() as session:
        data = export_opml(session)
    write_out(data, out)


@cli.command("export")
@click.option("--out", type=OutPath(), help="Write here instead of stdout.")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "toml"]), help="Default: from --out's extension, else JSON."
)
def export_cmd(out: Path | None, fmt: str | None) -> None:
    """Back up watches, sources and recipients as one JSON or TOML file."""
    from erepwatch.service.backup import dump_backup, export_backup

    fmt = fmt or ("toml" if out is not None and out.suffix.lower() == ".toml" else "json")
    with get_app().sessions() as session:
        text = dump_backup(export_backup(session), fmt)
    write_out(text.encode("utf-8"), out)


class _ImportGroup(Group):
    """``import FILE`` is ``import file FILE``: a backup is what one imports without saying more."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "file", self.commands["file"], args
        return super().resolve_command(ctx, args)


@cli.group("import", cls=_ImportGroup)
def import_group() -> None:
    """Bring configuration in: `import FILE` (a backup from `erepwatch export`) or `import google-alerts FILE`."""


@import_group.command("file")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE")
@json_option
def import_file(path: Path, as_json: bool) -> None:
    """Restore a backup (JSON or TOML); rows already present are updated, nothing is deleted."""
    from erepwatch.service.backup import import_backup, load_backup

    fmt = {".toml": "toml", ".json": "json"}.get(path.suffix.lower())
    try:
        data = load_backup(path.read_text(encoding="utf-8"), fmt)
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path} is not UTF-8 text") from exc
    except ErepwatchError as exc:
        raise InvalidInputError(f"{path}: {exc}") from exc
    app = get_app()
    with app.transaction() as session:
        report = import_backup(session, data, default_interval=app.settings.poll_interval).as_dict()
    if as_json:
        print_json(report)
        return
    for table in ("watches", "sources", "recipients"):
        click.echo(f"{table:<10} {report['created'][table]} created, {report['updated'][table]} updated, "
                   f"{report['unchanged'][table]} unchanged")  # fmt: skip
    for problem in report["problems"]:
        click.echo(f"skipped  {problem}", err=True)


@import_group.command("google-alerts")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE.json")
@json_option
def import_google_alerts(path: Path, as_json: bool) -> None:
    """Recreate Google Alerts from Google's data export: watches, search feeds, recipients' schedule."""
    from erepwatch.catalog.google_alerts import read_alerts_export
    from erepwatch.service.google_alerts_import import import_alerts

    try:
        export = read_alerts_export(path.read_bytes())
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path} is not UTF-8 text: give the JSON file of Google's export") from exc
    except (ErepwatchError, ValueError) as exc:
        raise InvalidInputError(f"{path}: {exc}") from exc
    app = get_app()
    with app.transaction() as session:
        report = import_alerts(
            session, export, interval=app.settings.poll_search_interval,
            base_url=app.settings.catalog_base_url or None,
        ).as_dict()  # fmt: skip
    if as_json:
        print_json(report)
        return
    click.echo(
        f"{len(report['watches_created'])} watches created, {len(report['watches_existing'])} already "
        f"present, {report['feeds_added']} search feeds added, {len(report['recipients'])} recipients"
    )
    for line in report["refused"]:
        click.echo(f"not imported: {line}")
    for line in report["unmapped"]:
        click.echo(f"not mapped:   {line}")
