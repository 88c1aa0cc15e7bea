"""Managing pages: watches (with the live preview), sources (health in words, re-enable, add, search feeds,
discovery), recipients, and the one-click unsubscribe page of the e-mails."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from erepwatch.errors import ErepwatchError, InvalidInputError, QuerySyntaxError
from erepwatch.schedule import is_broken
from erepwatch.service import recipients as rsvc
from erepwatch.service import sources as ssvc
from erepwatch.service import watches as wsvc
from erepwatch.service.unsubscribe import unsubscribe, unsubscribe_address
from erepwatch.settings import parse_duration
from erepwatch.web.base import config, csrf_ok, flash, redirect, render, translator


async def _form(request: Request) -> dict[str, Any]:
    async with request.form() as form:  # closes whatever files a client sent to a form that takes none
        if not csrf_ok(request, form.get("csrf")):
            raise HTTPException(403, translator(request)("forbidden"))
        out: dict[str, Any] = {k: str(v) for k, v in form.items()}
        for key in set(form.keys()):
            values = form.getlist(key)
            if len(values) > 1 or key in ("watches", "providers", "brand", "competitor"):
                out[key] = [str(v) for v in values]
    return out


# --- watches ----------------------------------------------------------------------------------------------


def watches_page(request: Request) -> Response:
    with config(request).read() as session:
        rows = [wsvc.watch_as_dict(w) for w in wsvc.list_watches(session)]
    return render(request, "watches.html", rows=rows)


def _watch_values(form: dict[str, Any]) -> dict[str, Any]:
    tags = [line for line in str(form.get("tags", "")).splitlines() if line.strip()]
    return {
        "name": str(form.get("name", "")).strip(),
        "query": str(form.get("query", "")),
        "languages": wsvc.parse_languages(str(form.get("lang", ""))),
        "regions": wsvc.parse_regions(str(form.get("region", ""))),
        "fuzzy": form.get("fuzzy") in ("1", "on", "true"),
        "tags": wsvc.parse_tag_specs(tags),
    }


def watch_form(request: Request) -> Response:
    name = request.path_params.get("name")
    values: dict[str, Any] = {"name": "", "query": "", "lang": "fr", "region": "", "fuzzy": False, "tags": ""}
    if name is not None:
        with config(request).read() as session:
            watch = wsvc.watch_as_dict(wsvc.get_watch(session, name))
        values = {
            "name": watch["name"], "query": watch["query"], "lang": ",".join(watch["lang"]),
            "region": ",".join(watch["region"]), "fuzzy": watch["fuzzy"],
            "tags": "\n".join(f"{g}={','.join(ws)}" for g, ws in watch["tags"].items()),
        }  # fmt: skip
    return render(request, "watch_form.html", values=values, original=name, error=None, column=None)


async def watch_save(request: Request) -> Response:
    form = await _form(request)
    original = request.path_params.get("name")
    cfg = config(request)
    t = translator(request)

    def run() -> Response:
        try:
            values = _watch_values(form)
            with cfg.write() as session:
                if original is None:
                    watch = wsvc.add_watch(session, wsvc.WatchInput(**values), now=cfg.clock(),
                                           default_region=cfg.settings.watch_default_region)  # fmt: skip
                else:
                    watch = wsvc.edit_watch(session, original, now=cfg.clock(), **values)
                watch_id = watch.id
        except QuerySyntaxError as exc:
            return _form_again(request, form, original, t("query_error", column=exc.column, problem=exc.problem),
                               exc.column)  # fmt: skip
        except ErepwatchError as exc:
            return _form_again(request, form, original, str(exc), None)
        if original is None:
            # A new watch is matched at once against the items already stored, as `watch add` does.
            from erepwatch.service import first_results

            found = first_results.match_stored(cfg.sessions, cfg.settings, [watch_id])
            flash(request, t("watch_added", n=found))
        else:
            flash(request, t("saved"))
        return redirect("/watches")

    return await run_in_threadpool(run)


def _form_again(
    request: Request, form: dict[str, Any], original: str | None, error: str, column: int | None
) -> Response:
    values = {k: form.get(k, "") for k in ("name", "query", "lang", "region", "tags")}
    values["fuzzy"] = form.get("fuzzy") in ("1", "on", "true")
    return render(request, "watch_form.html", 400, values=values, original=original, error=error, column=column)


async def watch_delete(request: Request) -> Response:
    await _form(request)
    name = request.path_params["name"]
    with config(request).write() as session:
        wsvc.remove_watch(session, name)
    flash(request, translator(request)("deleted"))
    return redirect("/watches")


# --- sources ----------------------------------------------------------------------------------------------


def _health(t: Any, source: Any, now: Any) -> tuple[str, str]:
    """(state, sentence) of a source, in words."""
    if not source.enabled:
        return "off", t("health_disabled")
    if source.consecutive_failures:
        key = "health_broken" if is_broken(source.consecutive_failures) else "health_failing"
        return ("broken" if key == "health_broken" else "failing"), t(
            key, n=source.consecutive_failures, why=t.error(source.last_error_kind)
        )
    if source.last_success_at is None:
        return "new", t("health_never")
    return "ok", t("health_ok", when=t.when(source.last_success_at, now))


def sources_page(request: Request, discovered: list[Any] | None = None, discover_url: str = "") -> Response:
    from erepwatch.catalog import PROVIDERS

    t = translator(request)
    cfg = config(request)
    now = cfg.clock()
    with cfg.read() as session:
        rows = []
        for source, items in ssvc.list_sources(session):
            state, words = _health(t, source, now)
            rows.append({"s": source, "items": items, "state": state, "health": words,
                         "watch": source.watch.name if source.watch_id and source.watch else None})  # fmt: skip
        watches = [w.name for w in wsvc.list_watches(session)]
    providers = [(p.name, p.title, p.default) for p in PROVIDERS.values()]
    return render(request, "sources.html", rows=rows, watches=watches, providers=providers, discovered=discovered,
                  discover_url=discover_url)  # fmt: skip


async def source_add(request: Request) -> Response:
    form = await _form(request)
    cfg = config(request)

    def run() -> Response:
        interval = None
        if form.get("interval"):
            try:
                interval = parse_duration(str(form["interval"]))
            except ValueError as exc:
                raise InvalidInputError(f"interval: {exc}") from exc
        url = ssvc.check_feed_url(str(form.get("url", "")))
        if form.get("no_check") not in ("1", "on", "true"):
            # One fetch first, as `source add` does: a page that is not a feed is refused with the reason.
            import asyncio

            asyncio.run(ssvc.check_feed(url, cfg.settings))
        with cfg.write() as session:
            ssvc.add_source(session, ssvc.SourceInput(url=url, name=form.get("name") or None, interval=interval),
                            default_interval=cfg.settings.poll_interval, now=cfg.clock())  # fmt: skip
        flash(request, translator(request)("saved"))
        return redirect("/sources")

    return await _or_flash(request, run, "/sources")


async def _or_flash(request: Request, run: Any, back: str) -> Response:
    """Run a form's action; a user's mistake comes back as one line at the top of the page."""
    try:
        return await run_in_threadpool(run)
    except ErepwatchError as exc:
        flash(request, f"{translator(request)('error')} : {exc}")
        return redirect(back)


async def source_enable(request: Request) -> Response:
    await _form(request)
    source_id = request.path_params["source_id"]

    def run() -> Response:
        with config(request).write() as session:
            ssvc.enable_source(session, source_id, now=config(request).clock())
        return redirect("/sources")

    return await _or_flash(request, run, "/sources")


async def source_delete(request: Request) -> Response:
    await _form(request)
    source_id = request.path_params["source_id"]

    def run() -> Response:
        with config(request).write() as session:
            ssvc.remove_source(session, source_id)
        flash(request, translator(request)("deleted"))
        return redirect("/sources")

    return await _or_flash(request, run, "/sources")


async def source_search(request: Request) -> Response:
    form = await _form(request)
    cfg = config(request)

    def run() -> Response:
        from erepwatch.service.search_feeds import add_search_feeds

        with cfg.write() as session:
            watch = wsvc.get_watch(session, str(form.get("watch", "")))
            options = {key: tuple(wsvc.parse_list(str(form.get(key, "")))) for key in ("subreddit", "mastodon")}
            report = add_search_feeds(session, watch, list(form.get("providers") or []), options=options,
                                      interval=cfg.settings.poll_search_interval,
                                      base_url=cfg.settings.catalog_base_url or None).as_dict()  # fmt: skip
        added = len(report["added"]) + len(report["updated"])  # type: ignore[arg-type]
        flash(request, f"{translator(request)('saved')} (+{added})")
        return redirect("/sources")

    return await _or_flash(request, run, "/sources")


async def source_discover(request: Request) -> Response:
    form = await _form(request)
    cfg = config(request)
    url = str(form.get("url", "")).strip()

    def run() -> Response:
        from erepwatch.errors import FetchError
        from erepwatch.pipeline import fetch_policy

        try:
            found = ssvc.discover_site(url, policy=fetch_policy(cfg.settings))
        except FetchError as exc:
            raise InvalidInputError(f"{url}: {exc}") from exc
        return sources_page(request, discovered=found, discover_url=url)

    return await _or_flash(request, run, "/sources")


# --- recipients -------------------------------------------------------------------------------------------


def recipients_page(request: Request) -> Response:
    with config(request).read() as session:
        rows = [rsvc.recipient_as_dict(session, r) for r in rsvc.list_recipients(session)]
        watches = [w.name for w in wsvc.list_watches(session)]
    from erepwatch.notify.digest import WEEKDAYS

    return render(request, "recipients.html", rows=rows, watches=watches, weekdays=WEEKDAYS)


def _recipient_values(form: dict[str, Any]) -> dict[str, Any]:
    urls = [u.strip() for u in str(form.get("notify_urls", "")).splitlines() if u.strip()]
    return {
        "frequency": form.get("frequency") or None, "at_time": form.get("at") or None,
        "timezone": form.get("tz") or None, "weekday": form.get("weekday") or None,
        "locale": form.get("locale") or None, "min_sentiment": form.get("min_sentiment", ""),
        "send_empty": form.get("send_empty") in ("1", "on", "true"), "notify_urls": urls,
    }  # fmt: skip


async def recipient_add(request: Request) -> Response:
    form = await _form(request)

    def run() -> Response:
        values = _recipient_values(form)
        if not values["min_sentiment"]:
            values["min_sentiment"] = None
        with config(request).write() as session:
            rsvc.add_recipient(session, str(form.get("email", "")), watches=list(form.get("watches") or []),
                               now=config(request).clock(), **values)  # fmt: skip
        flash(request, translator(request)("saved"))
        return redirect("/recipients")

    return await _or_flash(request, run, "/recipients")


async def recipient_edit(request: Request) -> Response:
    form = await _form(request)
    ref = str(request.path_params["recipient_id"])

    def run() -> Response:
        values = _recipient_values(form)
        if not values["notify_urls"] and form.get("keep_urls"):
            values.pop("notify_urls")
        with config(request).write() as session:
            rsvc.edit_recipient(session, ref, watches=list(form.get("watches") or []), **values)
        flash(request, translator(request)("saved"))
        return redirect("/recipients")

    return await _or_flash(request, run, "/recipients")


async def recipient_delete(request: Request) -> Response:
    await _form(request)
    ref = str(request.path_params["recipient_id"])

    def run() -> Response:
        with config(request).write() as session:
            rsvc.remove_recipient(session, ref)
        flash(request, translator(request)("deleted"))
        return redirect("/recipients")

    return await _or_flash(request, run, "/recipients")


# --- unsubscribe (no login: the signed token is the credential) -----------------------------------------


async def unsubscribe_page(request: Request) -> Response:
    cfg = config(request)
    token = request.path_params["token"]
    if request.method == "GET":
        # A GET never unsubscribes: mail scanners open links; the button (or the RFC 8058 POST) does.
        email = unsubscribe_address(cfg.secret_key, token)
        return render(request, "unsubscribe.html", email=email, done=None)

    def run() -> tuple[str, bool]:
        with cfg.write() as session:
            return unsubscribe(session, cfg.secret_key, token)

    email, was = await run_in_threadpool(run)
    return render(request, "unsubscribe.html", email=email, done=was)


def routes() -> list[BaseRoute]:
    return [
        Route("/watches", watches_page, methods=["GET"]),
        Route("/watches", watch_save, methods=["POST"]),
        Route("/watches/new", watch_form, methods=["GET"]),
        Route("/watches/{name:str}/edit", watch_form, methods=["GET"]),
        Route("/watches/{name:str}/edit", watch_save, methods=["POST"]),
        Route("/watches/{name:str}/delete", watch_delete, methods=["POST"]),
        Route("/sources", sources_page, methods=["GET"]),
        Route("/sources", source_add, methods=["POST"]),
        Route("/sources/search", source_search, methods=["POST"]),
        Route("/sources/discover", source_discover, methods=["POST"]),
        Route("/sources/{source_id:int}/enable", source_enable, methods=["POST"]),
        Route("/sources/{source_id:int}/delete", source_delete, methods=["POST"]),
        Route("/recipients", recipients_page, methods=["GET"]),
        Route("/recipients", recipient_add, methods=["POST"]),
        Route("/recipients/{recipient_id:int}", recipient_edit, methods=["POST"]),
        Route("/recipients/{recipient_id:int}/delete", recipient_delete, methods=["POST"]),
        Route("/unsubscribe/{token:str}", unsubscribe_page, methods=["GET", "POST"]),
    ]
