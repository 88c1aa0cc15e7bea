"""Reading pages: the mentions list (filters in the URL, keyset pages), acting on a mention (star, irrelevant
with its suggested exclusion, mute a site), the trends, the journal of actions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from erepwatch.service import acts as acts_svc
from erepwatch.service import browse
from erepwatch.service import trends as trends_svc
from erepwatch.web.base import config, csrf_ok, flash, local_path, redirect, render, translator
from erepwatch.web.charts import day_chart, share_bar

#: Facets are counted over every mention; a minute-old menu is as good as a fresh one and keeps pages fast.
FACET_TTL = 60.0


def _facets(request: Request, watch: str | None) -> dict[str, list[str]]:
    import time

    cache: dict[Any, tuple[float, dict[str, list[str]]]] = request.app.state.__dict__.setdefault("facets", {})
    hit = cache.get(watch)
    if hit and time.monotonic() - hit[0] < FACET_TTL:
        return hit[1]
    with config(request).read() as session:
        values = browse.facet_values(session, watch)
    cache[watch] = (time.monotonic(), values)
    return values


def mentions_page(request: Request) -> Response:
    t = translator(request)
    filters = browse.ListFilter.from_params(request.query_params, tz=t.tz)
    after = request.query_params.get("after") or None
    with config(request).read() as session:
        page = browse.find_mentions(session, filters, after=after)
    facets = _facets(request, filters.watch)
    params = filters.as_params()
    return render(
        request, "mentions.html", page=page, filters=filters, params=params, facets=facets,
        next_url="/?" + _qs({**params, "after": page.next_cursor}) if page.next_cursor else None,
        first_url=("/?" + _qs(params)) if after else None, here="/?" + request.url.query,
    )  # fmt: skip


def _qs(params: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in params.items() if v})


async def _form(request: Request) -> dict[str, str]:
    async with request.form() as form:  # closes whatever files a client sent to a form that takes none
        if not csrf_ok(request, form.get("csrf")):
            from starlette.exceptions import HTTPException

            raise HTTPException(403, translator(request)("forbidden"))
        return {k: str(v) for k, v in form.items()}


async def act(request: Request) -> Response:
    """The buttons of a mention row: star, unstar, irrelevant, restore, mute its site."""
    from starlette.concurrency import run_in_threadpool

    form = await _form(request)
    mention_id = int(request.path_params["mention_id"])
    back = local_path(form.get("next"))
    what = request.path_params["what"]
    cfg = config(request)
    t = translator(request)
    from erepwatch.web.base import actor

    who = actor(request)

    def run() -> Response:
        with cfg.write() as session:
            if what == "star":
                done = acts_svc.set_star(session, mention_id, True, actor=who)
            elif what == "unstar":
                done = acts_svc.set_star(session, mention_id, False, actor=who)
            elif what == "irrelevant":
                done = acts_svc.mark_irrelevant(session, mention_id, actor=who)
                flash(request, t("marked_irrelevant"), undo=done.id)
                return redirect(f"/mentions/{mention_id}/exclusion?next=" + _quote(back))
            elif what == "relevant":
                done = acts_svc.undo_latest(session, mention_id, "irrelevant", actor=who)
            elif what == "mute":
                story = browse.get_story(session, mention_id)
                if not story.domain:
                    from erepwatch.errors import InvalidInputError

                    raise InvalidInputError("this mention's site is unknown; it cannot be muted")
                done = acts_svc.mute_publisher(session, story.watch_id, story.domain, actor=who)
                flash(request, t("mute", domain=story.domain, watch=story.watch), undo=done.id)
                return redirect(back)
            else:
                from starlette.exceptions import HTTPException

                raise HTTPException(404)
        return redirect(back)

    return await run_in_threadpool(run)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def exclusion_page(request: Request) -> Response:
    mention_id = int(request.path_params["mention_id"])
    with config(request).read() as session:
        story = browse.get_story(session, mention_id)
        proposal = acts_svc.propose_exclusion(session, mention_id, now=config(request).clock())
    return render(request, "exclusion.html", story=story, proposal=proposal,
                  back=local_path(request.query_params.get("next")))  # fmt: skip


async def apply_exclusion(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from erepwatch.web.base import actor

    form = await _form(request)
    cfg = config(request)
    t = translator(request)
    who = actor(request)

    def run() -> Response:
        with cfg.write() as session:
            done = acts_svc.apply_exclusion(session, form.get("watch", ""), form.get("new_query", ""), actor=who,
                                            expected_query=form.get("query"))  # fmt: skip
            flash(request, t("exclusion_applied", query=form.get("new_query", "")), undo=done.id)
        return redirect(local_path(form.get("next")))

    return await run_in_threadpool(run)


async def undo(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from erepwatch.web.base import actor

    form = await _form(request)
    cfg = config(request)
    who = actor(request)
    act_id = int(request.path_params["act_id"])

    def run() -> Response:
        with cfg.write() as session:
            acts_svc.undo(session, act_id, actor=who)
        return redirect(local_path(form.get("next")))

    return await run_in_threadpool(run)


def acts_page(request: Request) -> Response:
    with config(request).read() as session:
        rows = acts_svc.list_acts(session, limit=200)
    return render(request, "acts.html", rows=rows)


def trends_page(request: Request) -> Response:
    from erepwatch.service import groups as gsvc
    from erepwatch.service.watches import list_watches

    t = translator(request)
    days = request.query_params.get("days", "30")
    days_n = int(days) if days in ("7", "30", "90") else 30
    cfg = config(request)
    ticked = request.query_params.getlist("watch")
    with cfg.read() as session:
        names = [w.name for w in list_watches(session)]
        groups = [g.name for g in gsvc.list_groups(session)]
        # The share of voice is a saved group's (the one asked for, else the first), unless watches are ticked.
        asked = request.query_params.get("group")
        group = asked if asked in groups else (groups[0] if groups and not ticked else None)
        chosen = [w for w in ticked if w in names] or names[:6]
        if group is not None and not ticked:
            members = gsvc.group_as_dict(session, gsvc.get_group(session, group))
            chosen = [*members["brands"], *members["competitors"]]
        report = trends_svc.trends(session, chosen, days=days_n, now=cfg.clock(), tz=t.tz)
        share_of = None
        if group is not None:
            # Counted once: the group's share comes from the report when it covers the group's watches.
            share_of = gsvc.share_of_voice(session, group, days=days_n, now=cfg.clock(), tz=t.tz, report=report)
    charts = {w.watch: day_chart(w, t) for w in report.watches}
    if share_of is not None:
        share = share_bar([(line.watch, line.stories) for line in share_of.lines])
        roles = {line.watch: line.role.value for line in share_of.lines}
    else:
        share, roles = share_bar(report.share), {}
    return render(request, "trends.html", report=report, charts=charts, share=share, names=names, chosen=chosen,
                  days=days_n, groups=groups, group=group, share_of=share_of, roles=roles)  # fmt: skip


def routes() -> list[BaseRoute]:
    return [
        Route("/", mentions_page, methods=["GET", "HEAD"]),
        Route("/mentions/{mention_id:int}/{what:str}", act, methods=["POST"]),
        Route("/mentions/{mention_id:int}/exclusion", exclusion_page, methods=["GET"]),
        Route("/exclusion", apply_exclusion, methods=["POST"]),
        Route("/acts", acts_page, methods=["GET"]),
        Route("/acts/{act_id:int}/undo", undo, methods=["POST"]),
        Route("/trends", trends_page, methods=["GET"]),
    ]
