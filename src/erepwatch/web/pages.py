"""The read-only page of recent mentions per watch, and the same as an Atom feed (Jinja2, autoescaped)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from erepwatch.schedule import is_broken
from erepwatch.scrub import finalize
from erepwatch.service.mentions import MentionView, list_mentions
from erepwatch.service.sources import list_sources

PAGE_LIMIT = 200

_env = Environment(
    loader=PackageLoader("erepwatch.web", "templates"),
    # Feed-derived text is hostile until escaped: autoescape both HTML and the Atom XML.
    autoescape=select_autoescape(["html", "atom", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
    # C0 controls from feeds would make the Atom feed ill-formed XML: scrubbed from every printed value.
    finalize=finalize,
)


def _by_watch(mentions: list[MentionView]) -> dict[str, list[MentionView]]:
    groups: dict[str, list[MentionView]] = defaultdict(list)
    for mention in mentions:
        groups[mention.watch].append(mention)
    return dict(sorted(groups.items()))


def _sources(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "name": source.name,
            "url": source.url,
            "items": items,
            "failures": source.consecutive_failures,
            "broken": is_broken(source.consecutive_failures),
            "error": source.last_error_message if source.consecutive_failures else None,
            "next_check": source.next_check_at,
        }
        for source, items in list_sources(session)
    ]


def render_index(session: Session, now: datetime) -> str:
    mentions = list_mentions(session, limit=PAGE_LIMIT, now=now)
    return _env.get_template("index.html").render(watches=_by_watch(mentions), sources=_sources(session), now=now)


def render_atom(session: Session, now: datetime, base_url: str) -> str:
    mentions = list_mentions(session, limit=PAGE_LIMIT, now=now)
    updated = max((m.published for m in mentions), default=now)
    return _env.get_template("mentions.atom").render(mentions=mentions, updated=updated, base_url=base_url)
