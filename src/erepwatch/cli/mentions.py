"""``erepwatch mentions``: what was found, newest first, one line per story."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime

import click

from erepwatch.analyze.snippet import Snippet, highlight
from erepwatch.cli.app import cli, get_app, json_option, print_json
from erepwatch.db.mention_views import MentionView
from erepwatch.errors import InvalidInputError
from erepwatch.service.mentions import SENTIMENTS, count_mentions, list_mentions
from erepwatch.settings import parse_duration

_SENTIMENT_MARK = {"negative": ("-", "red"), "positive": ("+", "green"), "neutral": ("=", None)}


def _line(view: MentionView, every_member: bool, color: bool, show_time: Callable[[datetime], str]) -> str:
    mark, colour = _SENTIMENT_MARK.get(view.sentiment, ("?", None))
    mark = click.style(mark, fg=colour) if color and colour else mark
    others = len(view.other_sources)  # publishers, each once: the "+N sources" of every face
    more = "" if every_member or not others else f"  (+{others} source{'s' if others > 1 else ''})"
    tags = f"  #{' #'.join(view.tags)}" if view.tags else ""
    head = f"{mark} {show_time(view.published)}  [{view.watch}]  {view.title}{more}{tags}"
    lines = [head, f"    {view.source or '?'}  {view.url or ''}"]
    if view.snippet:
        snippet = Snippet(view.snippet, tuple((start, end) for start, end in sorted(view.snippet_marks)))
        lines.append(f"    {highlight(snippet, 'ansi' if color else 'brackets')}")
    return "\n".join(lines)


@cli.command()
@click.option("--watch", "watch_ref", metavar="NAME|ID", help="Only this watch.")
@click.option("--since", help="Only mentions published in this last period, e.g. 1d, 12h.")
@click.option("--sentiment", type=click.Choice(SENTIMENTS), help="Only this sentiment.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many.")
@click.option("--all", "every_member", is_flag=True, help="Every member of each story cluster, not one per story.")
@json_option
def mentions(
    watch_ref: str | None, since: str | None, sentiment: str | None, limit: int, every_member: bool, as_json: bool
) -> None:
    """List mentions, newest first, one per story (with how many other sources carried it)."""
    try:
        window = parse_duration(since) if since else None
    except ValueError as exc:
        raise InvalidInputError(f"--since: {exc}") from exc
    app = get_app()
    with app.sessions() as session:
        views = list_mentions(
            session, watch=watch_ref, since=window, sentiment=sentiment, limit=limit, every_member=every_member
        )
    if as_json:
        print_json([v.as_dict() for v in views])
        return
    if not views:
        click.echo("no mentions")
    color = sys.stdout.isatty()
    for view in views:
        click.echo(_line(view, every_member, color, app.show_time))
    if len(views) == limit:
        with app.sessions() as session:
            total = count_mentions(
                session, watch=watch_ref, since=window, sentiment=sentiment, every_member=every_member
            )
        if total > limit:
            click.echo(f"… and {total - limit} more: raise --limit or narrow with --since, --watch, --sentiment")
