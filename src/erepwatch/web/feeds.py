"""Atom feeds: ``/feeds/all.atom`` and ``/feeds/WATCH.atom`` (the newest stories, as on the page).

Entry ids are ``urn:uuid:`` names derived from the watch's name and the item's canonical key, not from database
ids, so a reader sees the same entries after a backup and restore (the history is rebuilt by polling, with new
ids). Every string is escaped and scrubbed of the characters XML forbids.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from erepwatch.service import browse
from erepwatch.web.base import config, env, safe_href

FEED_SIZE = 100
_NAMESPACE = uuid.UUID("3f0b8a52-6c1e-4b43-9a55-0f1f6f0e2a77")


def entry_id(watch: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, watch + chr(10) + key)}"


def _base(request: Request) -> str:
    return config(request).settings.web_base_url or str(request.base_url).rstrip("/")


def atom(request: Request) -> Response:
    name = request.path_params["name"]
    watch = None if name == "all" else name
    with config(request).read() as session:
        page = browse.find_mentions(session, browse.ListFilter(watch=watch), limit=FEED_SIZE)
    base = _base(request)
    updated = max((r.published for r in page.rows), default=datetime(2000, 1, 1).astimezone())
    body = env().get_template("feed.atom").render(
        rows=page.rows, updated=updated, base=base, watch=watch, self_url=f"{base}{request.url.path}",
        feed_id=entry_id(watch or "*", "feed"), entry_id=entry_id, safe_href=safe_href,
    )  # fmt: skip
    return Response(body, media_type="application/atom+xml; charset=utf-8", headers={"Cache-Control": "no-cache"})


def old_feed(request: Request) -> Response:
    return RedirectResponse("/feeds/all.atom", status_code=301)


def routes() -> list[BaseRoute]:
    return [
        Route("/feeds/{name:str}.atom", atom, methods=["GET", "HEAD"]),
        Route("/feed.atom", old_feed, methods=["GET", "HEAD"]),
    ]
