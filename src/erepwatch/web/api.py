"""The JSON API, ``/api/v1/…``: mentions (filters, pages), the acts on them, watches (with the preview),
sources, recipients, trends. Described by ``/openapi.json`` (see ``openapi.py``); calls the same service functions
as the pages and the CLI. Errors are ``{"error": "one line saying what to change"}`` with a 4xx status."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from erepwatch.errors import InvalidInputError, NotFoundError, QuerySyntaxError
from erepwatch.service import acts as asvc
from erepwatch.service import browse
from erepwatch.service import groups as gsvc
from erepwatch.service import recipients as rsvc
from erepwatch.service import sources as ssvc
from erepwatch.service import trends as tsvc
from erepwatch.service import watches as wsvc
from erepwatch.service.preview import preview_query
from erepwatch.settings import parse_duration
from erepwatch.web.base import WebConfig, actor, config, translator
from erepwatch.web.openapi import document

Body = dict[str, Any]
Handler = Callable[[Request, WebConfig, Body], Any]
MAX_ID = 2**62


async def _body(request: Request) -> Body:
    if request.method in ("GET", "HEAD", "DELETE"):
        return {}
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidInputError("the request body must be a JSON object")
    return data


def endpoint(handler: Handler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        body = await _body(request)
        result = await run_in_threadpool(handler, request, config(request), body)
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status_code=status, headers={"Cache-Control": "no-store"})

    return run


def _id(request: Request, name: str) -> int:
    value = int(request.path_params[name])
    if value > MAX_ID:
        raise NotFoundError(f"no {name.removesuffix('_id')} numbered {value}")
    return value


def _text(body: Body, key: str, *, required: bool = False, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is None:
        if required:
            raise InvalidInputError(f"{key}: required")
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{key}: must be a string")
    return value


def _strings(body: Body, key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return wsvc.parse_list(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{key}: must be a list of strings")
    return list(value)


def _flag(body: Body, key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise InvalidInputError(f"{key}: must be true or false")
    return value


def _tags(body: Body) -> dict[str, list[str]] | None:
    value = body.get("tags")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v) for k, v in value.items()
    ):
        raise InvalidInputError('tags: must be an object of lists of words, e.g. {"crise": ["rappel"]}')
    return {k: list(v) for k, v in value.items()}


# --- mentions and acts -----------------------------------------------------------------------------------


def mentions(request: Request, cfg: WebConfig, body: Body) -> Any:
    filters = browse.ListFilter.from_params(request.query_params, tz=translator(request).tz)
    raw = request.query_params.get("limit", str(browse.PAGE_SIZE))
    if not raw.isdigit() or not 1 <= int(raw) <= browse.MAX_PAGE_SIZE:
        raise InvalidInputError(f"limit: a number from 1 to {browse.MAX_PAGE_SIZE}")
    with cfg.read() as session:
        page = browse.find_mentions(session, filters, limit=int(raw), after=request.query_params.get("after") or None)
    return {"items": [r.as_dict() for r in page.rows], "next": page.next_cursor}


def mention(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.read() as session:
        return browse.get_story(session, _id(request, "mention_id")).as_dict()


def _act_result(act: Any, watch: str | None = None) -> Any:
    return asvc.act_as_dict(act, watch)


def star(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.write() as session:
        act = asvc.set_star(session, _id(request, "mention_id"), request.method == "POST", actor=_actor(request))
        return _act_result(act)


def irrelevant(request: Request, cfg: WebConfig, body: Body) -> Any:
    mention_id = _id(request, "mention_id")
    with cfg.write() as session:
        if request.method == "POST":
            act = asvc.mark_irrelevant(session, mention_id, actor=_actor(request))
        else:
            act = asvc.undo_latest(session, mention_id, "irrelevant", actor=_actor(request))
        return _act_result(act)


def exclusion(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.read() as session:
        return asvc.propose_exclusion(session, _id(request, "mention_id"), now=cfg.clock()).as_dict()


def apply_exclusion(request: Request, cfg: WebConfig, body: Body) -> Any:
    new_query = _text(body, "new_query", required=True) or ""
    with cfg.write() as session:
        act = asvc.apply_exclusion(session, request.path_params["name"], new_query, actor=_actor(request),
                                   expected_query=_text(body, "expected_query"))  # fmt: skip
        return _act_result(act)


def mute(request: Request, cfg: WebConfig, body: Body) -> Any:
    domain = _text(body, "domain", required=True) or ""
    with cfg.write() as session:
        return _act_result(asvc.mute_publisher(session, request.path_params["name"], domain, actor=_actor(request)))


def acts(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.read() as session:
        return [asvc.act_as_dict(a, w) for a, w in asvc.list_acts(session)]


def undo(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.write() as session:
        return _act_result(asvc.undo(session, _id(request, "act_id"), actor=_actor(request)))


def _actor(request: Request) -> str:
    return "api" if request.scope.get("erepwatch.bearer") else actor(request)


# --- watches ----------------------------------------------------------------------------------------------


def watches(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.read() as session:
        return [wsvc.watch_as_dict(w) for w in wsvc.list_watches(session)]


def watch_create(request: Request, cfg: WebConfig, body: Body) -> Any:
    data = wsvc.WatchInput(
        name=_text(body, "name", required=True) or "", query=_text(body, "query", required=True) or "",
        languages=wsvc.parse_languages(_strings(body, "lang") or []),
        regions=wsvc.parse_regions(_strings(body, "region") or []), fuzzy=bool(_flag(body, "fuzzy")),
        tags=_tags(body),
    )  # fmt: skip
    with cfg.write() as session:
        return JSONResponse(wsvc.watch_as_dict(wsvc.add_watch(session, data, now=cfg.clock())), status_code=201)


def watch(request: Request, cfg: WebConfig, body: Body) -> Any:
    name = request.path_params["name"]
    if request.method == "GET":
        with cfg.read() as session:
            return wsvc.watch_as_dict(wsvc.get_watch(session, name))
    if request.method == "DELETE":
        with cfg.write() as session:
            gone = wsvc.remove_watch(session, name)
            return {"name": gone.name, "removed": True}
    langs, regions = _strings(body, "lang"), _strings(body, "region")
    changes = {
        "name": _text(body, "name"), "query": _text(body, "query"),
        "languages": wsvc.parse_languages(langs) if langs is not None else None,
        "regions": wsvc.parse_regions(regions) if regions is not None else None,
        "fuzzy": _flag(body, "fuzzy"), "tags": _tags(body),
    }  # fmt: skip
    with cfg.write() as session:
        return wsvc.watch_as_dict(wsvc.edit_watch(session, name, now=cfg.clock(), **changes))


def preview(request: Request, cfg: WebConfig, body: Body) -> Any:
    """The live preview of the watch form: what the query would match among stored items (last 30 days)."""
    params = request.query_params
    query = params.get("query", "")
    try:
        since = parse_duration(params.get("since", "30d"))
    except ValueError as exc:
        raise InvalidInputError(f"since: {exc}") from exc
    try:
        with cfg.read() as session:
            result = preview_query(session, query, languages=wsvc.parse_languages(params.get("lang", "")),
                                   fuzzy=params.get("fuzzy") in ("1", "true", "on"),
                                   since=min(since, timedelta(days=366)), limit=10, now=cfg.clock())  # fmt: skip
    except QuerySyntaxError as exc:
        return JSONResponse({"error": str(exc), "problem": exc.problem, "column": exc.column}, status_code=400)
    return result.as_dict()


# --- sources and recipients -------------------------------------------------------------------------------


def sources(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.read() as session:
        return [ssvc.source_as_dict(s, n) for s, n in ssvc.list_sources(session)]


def source_create(request: Request, cfg: WebConfig, body: Body) -> Any:
    interval = None
    raw = body.get("interval")
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise InvalidInputError("interval: a duration such as 15m, or seconds")
        try:
            interval = parse_duration(raw)
        except ValueError as exc:
            raise InvalidInputError(f"interval: {exc}") from exc
    data = ssvc.SourceInput(url=_text(body, "url", required=True) or "", name=_text(body, "name"), interval=interval)
    with cfg.write() as session:
        created = ssvc.add_source(session, data, default_interval=cfg.settings.poll_interval, now=cfg.clock())
        return JSONResponse(ssvc.source_as_dict(created, 0), status_code=201)


def source(request: Request, cfg: WebConfig, body: Body) -> Any:
    source_id = _id(request, "source_id")
    with cfg.write() as session:
        gone = ssvc.remove_source(session, source_id)
        return {"id": gone.id, "name": gone.name, "removed": True}


def source_enable(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.write() as session:
        enabled = ssvc.enable_source(session, _id(request, "source_id"), now=cfg.clock())
        return ssvc.source_as_dict(enabled, 0)


def _recipient_changes(body: Body) -> dict[str, Any]:
    return {
        "frequency": _text(body, "frequency"), "at_time": _text(body, "at"), "timezone": _text(body, "tz"),
        "weekday": _text(body, "day"), "locale": _text(body, "locale"),
        "min_sentiment": _text(body, "min_sentiment"), "send_empty": _flag(body, "send_empty"),
        "notify_urls": _strings(body, "notify"),
    }  # fmt: skip


def recipients(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.read() as session:
        return [rsvc.recipient_as_dict(session, r) for r in rsvc.list_recipients(session)]


def recipient_create(request: Request, cfg: WebConfig, body: Body) -> Any:
    email = _text(body, "email", required=True) or ""
    with cfg.write() as session:
        created = rsvc.add_recipient(session, email, watches=_strings(body, "watches") or [], now=cfg.clock(),
                                     **_recipient_changes(body))  # fmt: skip
        return JSONResponse(rsvc.recipient_as_dict(session, created), status_code=201)


def recipient(request: Request, cfg: WebConfig, body: Body) -> Any:
    ref = str(_id(request, "recipient_id"))
    with cfg.write() as session:
        if request.method == "DELETE":
            gone = rsvc.remove_recipient(session, ref)
            return {"email": gone.email, "removed": True}
        edited = rsvc.edit_recipient(session, ref, watches=_strings(body, "watches"), **_recipient_changes(body))
        return rsvc.recipient_as_dict(session, edited)


def trends(request: Request, cfg: WebConfig, body: Body) -> Any:
    days = request.query_params.get("days", "30")
    if days not in ("7", "30", "90"):
        raise InvalidInputError("days: 7, 30 or 90")
    with cfg.read() as session:
        names = request.query_params.getlist("watch") or [w.name for w in wsvc.list_watches(session)]
        report = tsvc.trends(session, names, days=int(days), now=cfg.clock(), tz=translator(request).tz)
    return {
        "start": report.start.isoformat(), "end": report.end.isoformat(),
        "watches": [
            {"watch": w.watch, "total": w.total, "spikes": sorted(d.isoformat() for d in w.spikes),
             "days": [{"day": d.day.isoformat(), "negative": d.negative, "neutral": d.neutral,
                       "positive": d.positive} for d in w.days]}
            for w in report.watches
        ],
        "share": [{"watch": w, "mentions": n} for w, n in report.share],
        "publishers": [{"site": s, "mentions": n} for s, n in report.publishers],
    }  # fmt: skip


# --- groups (share of voice) -------------------------------------------------------------------------------


def groups(request: Request, cfg: WebConfig, body: Body) -> Any:
    with cfg.read() as session:
        return [gsvc.group_as_dict(session, g) for g in gsvc.list_groups(session)]


def group_create(request: Request, cfg: WebConfig, body: Body) -> Any:
    data = gsvc.GroupInput(_text(body, "name", required=True) or "", _strings(body, "brands") or [],
                           _strings(body, "competitors") or [])  # fmt: skip
    with cfg.write() as session:
        created = gsvc.add_group(session, data, now=cfg.clock())
        return JSONResponse(gsvc.group_as_dict(session, created), status_code=201)


def group(request: Request, cfg: WebConfig, body: Body) -> Any:
    name = request.path_params["name"]
    if request.method == "GET":
        with cfg.read() as session:
            return gsvc.group_as_dict(session, gsvc.get_group(session, name))
    with cfg.write() as session:
        if request.method == "DELETE":
            gone = gsvc.remove_group(session, name)
            return {"name": gone.name, "removed": True}
        edited = gsvc.edit_group(session, name, name=_text(body, "name"), brands=_strings(body, "brands"),
                                 competitors=_strings(body, "competitors"), now=cfg.clock())  # fmt: skip
        return gsvc.group_as_dict(session, edited)


def group_share(request: Request, cfg: WebConfig, body: Body) -> Any:
    days = request.query_params.get("days", "30")
    if days not in ("7", "30", "90"):
        raise InvalidInputError("days: 7, 30 or 90")
    with cfg.read() as session:
        return gsvc.share_of_voice(session, request.path_params["name"], days=int(days), now=cfg.clock(),
                                   tz=translator(request).tz).as_dict()  # fmt: skip


def openapi(request: Request) -> Response:
    return JSONResponse(document(), headers={"Cache-Control": "no-cache"})


def routes() -> list[BaseRoute]:
    v = "/api/v1"
    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route(f"{v}/mentions", endpoint(mentions), methods=["GET"]),
        Route(f"{v}/mentions/{{mention_id:int}}", endpoint(mention), methods=["GET"]),
        Route(f"{v}/mentions/{{mention_id:int}}/star", endpoint(star), methods=["POST", "DELETE"]),
        Route(f"{v}/mentions/{{mention_id:int}}/irrelevant", endpoint(irrelevant), methods=["POST", "DELETE"]),
        Route(f"{v}/mentions/{{mention_id:int}}/exclusion", endpoint(exclusion), methods=["GET"]),
        Route(f"{v}/acts", endpoint(acts), methods=["GET"]),
        Route(f"{v}/acts/{{act_id:int}}/undo", endpoint(undo), methods=["POST"]),
        Route(f"{v}/watches", endpoint(watches), methods=["GET"]),
        Route(f"{v}/watches", endpoint(watch_create, 201), methods=["POST"]),
        Route(f"{v}/watches/{{name:str}}", endpoint(watch), methods=["GET", "PATCH", "DELETE"]),
        Route(f"{v}/watches/{{name:str}}/exclusion", endpoint(apply_exclusion), methods=["POST"]),
        Route(f"{v}/watches/{{name:str}}/mutes", endpoint(mute), methods=["POST"]),
        Route(f"{v}/preview", endpoint(preview), methods=["GET"]),
        Route(f"{v}/sources", endpoint(sources), methods=["GET"]),
        Route(f"{v}/sources", endpoint(source_create, 201), methods=["POST"]),
        Route(f"{v}/sources/{{source_id:int}}", endpoint(source), methods=["DELETE"]),
        Route(f"{v}/sources/{{source_id:int}}/enable", endpoint(source_enable), methods=["POST"]),
        Route(f"{v}/recipients", endpoint(recipients), methods=["GET"]),
        Route(f"{v}/recipients", endpoint(recipient_create, 201), methods=["POST"]),
        Route(f"{v}/recipients/{{recipient_id:int}}", endpoint(recipient), methods=["PATCH", "DELETE"]),
        Route(f"{v}/trends", endpoint(trends), methods=["GET"]),
        Route(f"{v}/groups", endpoint(groups), methods=["GET"]),
        Route(f"{v}/groups", endpoint(group_create, 201), methods=["POST"]),
        Route(f"{v}/groups/{{name:str}}", endpoint(group), methods=["GET", "PATCH", "DELETE"]),
        Route(f"{v}/groups/{{name:str}}/share", endpoint(group_share), methods=["GET"]),
    ]
