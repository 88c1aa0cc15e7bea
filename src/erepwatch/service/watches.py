"""Watches: named queries with languages, regions and keyword tag groups."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erepwatch.analyze.query import canonical_query
from erepwatch.clock import utcnow
from erepwatch.codes import check_language, check_region
from erepwatch.db.models import Watch
from erepwatch.errors import ConflictError, InvalidInputError, QuerySyntaxError
from erepwatch.service.common import find_one


def parse_list(values: Iterable[str] | str | None) -> list[str]:
    """``["fr,en", "de"]`` or ``"fr, en"`` → ``["fr", "en", "de"]``."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def parse_languages(values: Iterable[str] | str | None) -> list[str]:
    """ISO 639-1 codes, each once, or a refusal naming the one that is not."""
    try:
        return list(dict.fromkeys(check_language(v) for v in parse_list(values)))
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc


def parse_regions(values: Iterable[str] | str | None) -> list[str]:
    """ISO 3166-1 alpha-2 codes, each once, or a refusal naming the one that is not."""
    try:
        return list(dict.fromkeys(check_region(v) for v in parse_list(values)))
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc


def parse_tag_specs(specs: Iterable[str]) -> dict[str, list[str]]:
    """``["crise=rappel,intoxication"]`` → ``{"crise": ["rappel", "intoxication"]}``."""
    groups: dict[str, list[str]] = {}
    for spec in specs:
        group, sep, words = spec.partition("=")
        group = group.strip()
        terms = parse_list(words)
        if not sep or not group or not terms:
            raise InvalidInputError(f"tag {spec!r} must look like GROUP=word,word")
        groups.setdefault(group, [])
        groups[group].extend(t for t in terms if t not in groups[group])
    return groups


@dataclass(frozen=True, slots=True)
class WatchInput:
    name: str
    query: str
    languages: Sequence[str] = ()
    regions: Sequence[str] = ()
    fuzzy: bool = False
    tags: Mapping[str, Sequence[str]] | None = None


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInputError("a watch needs a non-empty name")
    if len(name) > 200:
        raise InvalidInputError("a watch name is at most 200 characters")
    if any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in name):
        # A line break in a name breaks every e-mail subject and header that names the watch.
        raise InvalidInputError("a watch name cannot contain line breaks or control characters")
    return name


def add_watch(
    session: Session, data: WatchInput, *, now: datetime | None = None, default_region: str | None = None
) -> Watch:
    """Store a new watch. Without languages or regions it takes ``default_region``: the market whose search-feed
    editions it uses (its mentions are still matched in every language)."""
    now = now or utcnow()
    name = _check_name(data.name)
    canonical_query(data.query)  # refuses a malformed query before anything is stored
    if session.scalar(select(Watch.id).where(Watch.name == name)) is not None:
        raise ConflictError(f"a watch named {name!r} already exists")
    watch = Watch(
        name=name,
        query=data.query.strip(),
        languages=list(data.languages),
        regions=list(data.regions) or ([default_region] if default_region and not data.languages else []),
        fuzzy=data.fuzzy,
        tags={k: list(v) for k, v in (data.tags or {}).items()},
        created_at=now,
        updated_at=now,
    )
    session.add(watch)
    session.flush()
    return watch


def get_watch(session: Session, ref: str | int) -> Watch:
    return find_one(session, Watch, ref, what="watch")


def ids_of(session: Session, names: Sequence[str]) -> list[int]:
    """The ids of the watches with these names (those that exist)."""
    return list(session.scalars(select(Watch.id).where(Watch.name.in_(list(names))))) if names else []


def list_watches(session: Session) -> list[Watch]:
    return list(session.scalars(select(Watch).order_by(Watch.name)))


def edit_watch(session: Session, ref: str | int, *, now: datetime | None = None, **changes: Any) -> Watch:
    watch = get_watch(session, ref)
    if changes.get("name") is not None:
        name = _check_name(changes["name"])
        clash = session.scalar(select(Watch.id).where(Watch.name == name, Watch.id != watch.id))
        if clash is not None:
            raise ConflictError(f"a watch named {name!r} already exists")
        watch.name = name
    if changes.get("query") is not None:
        canonical_query(changes["query"])
        watch.query = changes["query"].strip()
    for key in ("languages", "regions", "fuzzy"):
        if changes.get(key) is not None:
            setattr(watch, key, changes[key])
    if changes.get("tags") is not None:
        watch.tags = {k: list(v) for k, v in changes["tags"].items()}
    watch.updated_at = now or utcnow()
    session.flush()
    if any(changes.get(k) is not None for k in ("name", "query", "languages", "regions")):
        from erepwatch.service.search_feeds import refresh_search_feeds  # late: the catalog is for edits only

        refresh_search_feeds(session, watch, now=watch.updated_at)
    return watch


def remove_watch(session: Session, ref: str | int) -> Watch:
    watch = get_watch(session, ref)
    session.delete(watch)
    session.flush()
    return watch


def query_error(watch: Watch) -> str | None:
    """Why the stored query does not compile (a grammar made stricter since it was saved), else None.

    Such a watch never matches: the matcher skips it, so this is what ``watch list``/``show`` report.
    """
    try:
        canonical_query(watch.query)
    except QuerySyntaxError as exc:
        return str(exc)
    return None


def watch_as_dict(watch: Watch) -> dict[str, Any]:
    error = query_error(watch)
    return {
        "id": watch.id,
        "name": watch.name,
        "query": watch.query,
        "canonical_query": None if error else canonical_query(watch.query),
        "query_error": error,
        "lang": list(watch.languages or []),
        "region": list(watch.regions or []),
        "fuzzy": bool(watch.fuzzy),
        "tags": dict(watch.tags or {}),
        "created_at": watch.created_at.isoformat(),
        "updated_at": watch.updated_at.isoformat(),
    }
