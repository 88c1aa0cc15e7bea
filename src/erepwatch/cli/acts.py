"""``erepwatch mention …`` and ``erepwatch acts …``: the same acts as the web page's buttons (star, irrelevant with
its suggested exclusion, mute a site for a watch), journaled and undoable, through the same service functions."""

from __future__ import annotations

import getpass

import click

from erepwatch.cli.app import cli, get_app, json_option, print_json


def _actor() -> str:
    try:
        return f"cli {getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@cli.group()
def mention() -> None:
    """Act on one mention: star, irrelevant (and its exclusion), mute its site."""


def _done(row: dict[str, object], as_json: bool, text: str) -> None:
    if as_json:
        print_json(row)
    else:
        click.echo(f"{text} (act {row['id']}; undo with `erepwatch acts undo {row['id']}`)")


@mention.command("star")
@click.argument("mention_id", type=int)
@click.option("--off", is_flag=True, help="Unstar instead.")
@json_option
def star(mention_id: int, off: bool, as_json: bool) -> None:
    """Star a mention (list them with `mentions` on the web page's "starred" filter)."""
    from erepwatch.service import acts

    with get_app().transaction() as session:
        row = acts.act_as_dict(acts.set_star(session, mention_id, not off, actor=_actor()), None)
    _done(row, as_json, f"mention {mention_id} {'unstarred' if off else 'starred'}")


@mention.command("irrelevant")
@click.argument("mention_id", type=int)
@click.option("--apply", "apply_", is_flag=True, help="Also apply the suggested exclusion to the watch's query.")
@json_option
def irrelevant(mention_id: int, apply_: bool, as_json: bool) -> None:
    """Mark a mention irrelevant (out of lists, digests, alerts, counts and trends) and show the exclusion that
    would keep such mentions out of the watch, with its preview."""
    from erepwatch.service import acts

    actor = _actor()
    with get_app().transaction() as session:
        marked = acts.act_as_dict(acts.mark_irrelevant(session, mention_id, actor=actor), None)
        proposal = acts.propose_exclusion(session, mention_id)
        applied = None
        if apply_ and proposal.new_query:
            applied = acts.act_as_dict(
                acts.apply_exclusion(session, proposal.watch, proposal.new_query, actor=actor,
                                     expected_query=proposal.query), proposal.watch,
            )  # fmt: skip
    if as_json:
        print_json({"act": marked, "proposal": proposal.as_dict(), "applied": applied})
        return
    _done(marked, False, f"mention {mention_id} marked irrelevant")
    if proposal.suggestion is None:
        click.echo("no word separates it from the relevant mentions; mute its site with `mention mute`")
        return
    click.echo(f"suggested exclusion for {proposal.watch}: {proposal.suggestion.term}")
    click.echo(f"  {proposal.query}  →  {proposal.new_query}")
    click.echo(f"  30 days: {proposal.matched_before} → {proposal.matched_after} items"
               + ("" if proposal.still_matches_it else ", this one no longer"))  # fmt: skip
    if applied:
        click.echo(f"applied (act {applied['id']})")
    else:
        click.echo("apply it with --apply, or `erepwatch watch edit` by hand")


@mention.command("mute")
@click.argument("mention_id", type=int)
@json_option
def mute(mention_id: int, as_json: bool) -> None:
    """Mute the mention's site for its watch: its mentions of that watch are hidden, now and later."""
    from erepwatch.service import acts, browse

    with get_app().transaction() as session:
        story = browse.get_story(session, mention_id)
        if not story.domain:
            raise click.UsageError(f"mention {mention_id} has no known site to mute")
        row = acts.act_as_dict(acts.mute_publisher(session, story.watch_id, story.domain, actor=_actor()), story.watch)
    _done(row, as_json, f"{story.domain} muted for {story.watch}")


@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def acts(ctx: click.Context, as_json: bool) -> None:
    """The journal of acts (who did what, when), newest first; `acts undo ID` reverts one."""
    if ctx.invoked_subcommand is not None:
        return
    from erepwatch.service import acts as svc

    app = get_app()
    with app.sessions() as session:
        rows = [svc.act_as_dict(a, w) for a, w in svc.list_acts(session)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no act yet")
    for row in rows:
        what = row["domain"] or (f"mention {row['mention_id']}" if row["mention_id"] else "")
        undone = f"  (undone {app.show_time(row['undone_at'])} by {row['undone_by']})" if row["undone_at"] else ""
        click.echo(f"{row['id']:>5}  {app.show_time(row['at'])}  {row['kind']:<10} {row['watch'] or '':<16} {what}  "
                   f"by {row['actor']}{undone}")  # fmt: skip


@acts.command("undo")
@click.argument("act_id", type=int)
@json_option
def undo(act_id: int, as_json: bool) -> None:
    """Revert an act (a mention relevant again, unstarred, a site unmuted, a query restored)."""
    from erepwatch.service import acts as svc

    with get_app().transaction() as session:
        row = svc.act_as_dict(svc.undo(session, act_id, actor=_actor()), None)
    if as_json:
        print_json(row)
    else:
        click.echo(f"act {act_id} ({row['kind']}) undone")
