"""``erepwatch stories explain ID``: why each mention is in its story."""

from __future__ import annotations

import click

from erepwatch.cli.app import cli, count, get_app, json_option, print_json
from erepwatch.service.stories import StoryMember, explain_story

_HOW = {
    "founder": "started the story",
    "lexical": "near-identical headline to #{matched} (title similarity {score:.0f}/100)",
    "semantic": "same event in other words as #{matched} (meaning similarity {score:.3f})",
    "follow_up": "a new story following up #{matched} (similarity {score:.3f}), kept apart",
    "merged": "started a story of its own, merged into this one when #{matched} reported both (similarity {score:.3f})",
}


def _why(member: StoryMember) -> str:
    if member.how is None:
        return "joined before reasons were recorded"
    template = _HOW.get(member.how, member.how)
    return template.format(matched=member.matched, score=member.score or 0.0)


@cli.group()
def stories() -> None:
    """Stories: the mentions folded into one line, and why."""


@stories.command()
@click.argument("ref", type=int, metavar="ID")
@json_option
def explain(ref: int, as_json: bool) -> None:
    """Show each member of the story of mention ID: how it joined, the score, the member it matched."""
    app = get_app()
    with app.sessions() as session:
        story = explain_story(session, ref)
    if as_json:
        print_json(story.as_dict())
        return
    n = len(story.publishers)
    click.echo(f"story {story.id} [{story.watch}]: {count(len(story.members), 'mention')} from {count(n, 'source')}")
    for m in story.members:
        click.echo(f"  #{m.id}  {app.show_time(m.published)}  {m.source or '?'}  {m.title}")
        click.echo(f"      {_why(m)}")
