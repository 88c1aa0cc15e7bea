"""`erepwatch watch import FILE`: add or update many watches from JSON Lines, all or nothing.

One object per line: ``{"name": "Acme", "query": "acme -jobs", "lang": ["fr"], "fuzzy": true,
"tags": {"crise": ["rappel"]}}`` (``lang``/``region`` also as ``"fr,en"``; ``tags`` also as
``["crise=rappel,intoxication"]``). Every line is checked before anything is written, so a bad line
(reported with its number) leaves the database as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erepwatch import safejson
from erepwatch.analyze.matcher import canonical_query
from erepwatch.clock import utcnow
from erepwatch.db.models import Watch
from erepwatch.errors import ErepwatchError, InvalidInputError, QuerySyntaxError
from erepwatch.service.watches import WatchInput, add_watch, parse_languages, parse_regions, parse_tag_specs

_KEYS = {"name", "query", "lang", "region", "fuzzy", "tags"}


@dataclass(frozen=True, slots=True)
class ImportLine:
    line: int
    watch: WatchInput


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged}


def _tags(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        out: dict[str, list[str]] = {}
        for group, terms in value.items():
            if isinstance(terms, str):
                terms = [t for t in terms.split(",")]
            if not isinstance(group, str) or not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
                raise InvalidInputError('"tags" must map a group name to a list of words')
            words = [t.strip() for t in terms if t.strip()]
            if not group.strip() or not words:
                raise InvalidInputError(f"tag group {group!r} needs a name and at least one word")
            out[group.strip()] = list(dict.fromkeys(words))
        return out
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return parse_tag_specs(value)
    raise InvalidInputError('"tags" must be an object {"group": ["word", …]} or a list of "GROUP=word,word"')


def _str_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise InvalidInputError(f'"{key}" must be a string such as "fr,en" or a list of strings')


def _parse_line(raw: str) -> WatchInput:
    try:
        obj = safejson.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(obj, dict):
        raise InvalidInputError("each line must be a JSON object")
    unknown = sorted(set(obj) - _KEYS)
    if unknown:
        raise InvalidInputError(f"unknown key {unknown[0]!r} (expected {', '.join(sorted(_KEYS))})")
    name, query = obj.get("name"), obj.get("query")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError('"name" must be a non-empty string')
    if not isinstance(query, str):
        raise InvalidInputError('"query" must be a string')
    try:
        canonical_query(query)
    except QuerySyntaxError as exc:
        raise InvalidInputError(f"query {query!r}: {exc}") from exc
    fuzzy = obj.get("fuzzy", False)
    if not isinstance(fuzzy, bool):
        raise InvalidInputError('"fuzzy" must be true or false')
    return WatchInput(
        name=name.strip(),
        query=query.strip(),
        languages=parse_languages(_str_list(obj.get("lang"), "lang")),
        regions=parse_regions(_str_list(obj.get("region"), "region")),
        fuzzy=fuzzy,
        tags=_tags(obj.get("tags")),
    )


def parse_jsonl(lines: Iterable[str], *, source: str = "input") -> list[ImportLine]:
    """Check every line; the first bad one raises InvalidInputError naming ``source`` and its line number."""
    out: list[ImportLine] = []
    seen: dict[str, int] = {}
    numbered = enumerate(lines, start=1)
    while True:
        try:
            number, raw = next(numbered)
        except StopIteration:
            break
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{source} is not UTF-8 text (save it as UTF-8)") from exc
        if not raw.strip():
            continue
        try:
            data = _parse_line(raw)
        except ErepwatchError as exc:
            raise InvalidInputError(f"{source}: line {number}: {exc}") from exc
        if data.name in seen:
            raise InvalidInputError(
                f"{source}: line {number}: watch {data.name!r} already given on line {seen[data.name]}"
            )
        seen[data.name] = number
        out.append(ImportLine(number, data))
    if not out:
        raise InvalidInputError(f"{source}: no watch in it")
    return out


def import_watches(session: Session, lines: list[ImportLine], *, now: datetime | None = None) -> ImportResult:
    """Add the new watches and update the existing ones (by name) inside the caller's transaction."""
    now = now or utcnow()
    result = ImportResult()
    names = [entry.watch.name for entry in lines]
    existing = {w.name: w for w in session.scalars(select(Watch).where(Watch.name.in_(names)))}
    for entry in lines:
        data = entry.watch
        watch = existing.get(data.name)
        if watch is None:
            add_watch(session, data, now=now)
            result.added.append(data.name)
            continue
        wanted = {
            "query": data.query,
            "languages": list(data.languages),
            "regions": list(data.regions),
            "fuzzy": data.fuzzy,
            "tags": {k: list(v) for k, v in (data.tags or {}).items()},
        }
        if all(getattr(watch, key) == value for key, value in wanted.items()):
            result.unchanged.append(data.name)
            continue
        for key, value in wanted.items():
            setattr(watch, key, value)
        watch.updated_at = now
        result.updated.append(data.name)
    session.flush()
    return result
