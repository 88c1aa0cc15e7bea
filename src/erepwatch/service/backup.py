"""Backup: watches, sources, recipients and watch groups as one JSON or TOML document, and back; importing twice
changes nothing.

Rows are keyed by what a user sees, never by database ids: a watch by its name, a source by its URL, a
recipient by its address, a group by its name; references (a search feed's watch, a recipient's watches, a
group's brand and competitors) are written as watch names. Import updates what exists and adds what does not; it
never deletes (a backup restores, it does not prune). Items, mentions and deliveries are not part of it: they are
the history, rebuilt by polling.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import tomli_w
from sqlalchemy import select
from sqlalchemy.orm import Session

from erepwatch import safejson
from erepwatch.analyze.query import canonical_query
from erepwatch.clock import utcnow
from erepwatch.db.models import Recipient, Source, Watch, WatchGroup
from erepwatch.enums import Frequency
from erepwatch.errors import ConflictError, InvalidInputError, NotFoundError, QuerySyntaxError
from erepwatch.service.groups import GroupInput, add_group, edit_group, group_as_dict
from erepwatch.service.recipients import check_recipient_values
from erepwatch.service.sources import SourceInput, add_source, check_feed_url
from erepwatch.service.watches import WatchInput, add_watch, parse_languages, parse_regions

__all__ = ["FORMAT_VERSION", "ImportReport", "dump_backup", "export_backup", "import_backup", "load_backup"]

FORMAT_VERSION = 1
#: What a backup holds, in the order it is restored (a group names watches, so it comes after them).
TABLES = ("watches", "sources", "recipients", "groups")
_FREQUENCIES = set(Frequency)


def export_backup(session: Session) -> dict[str, Any]:
    """The configuration as plain data (no None values, so it also fits TOML)."""
    watches = list(session.scalars(select(Watch).order_by(Watch.name)))
    names = {w.id: w.name for w in watches}
    sources = list(session.scalars(select(Source).order_by(Source.id)))
    recipients = list(session.scalars(select(Recipient).order_by(Recipient.email)))
    groups = [group_as_dict(session, g) for g in session.scalars(select(WatchGroup).order_by(WatchGroup.name))]
    return {
        "erepwatch_backup": FORMAT_VERSION,
        "watches": [
            _clean({"name": w.name, "query": w.query, "lang": list(w.languages or []), "region": list(w.regions or []),
                    "fuzzy": bool(w.fuzzy), "tags": dict(w.tags or {})})
            for w in watches
        ],
        "sources": [
            _clean({"url": s.url, "name": s.name, "kind": s.kind, "provider": s.provider,
                    "watch": names.get(s.watch_id) if s.watch_id else None, "interval": s.interval_seconds,
                    "enabled": bool(s.enabled)})
            for s in sources
        ],
        "recipients": [
            _clean({"email": r.email, "frequency": r.frequency, "at": r.at_time, "timezone": r.timezone,
                    "weekday": r.weekday, "locale": r.locale, "min_sentiment": r.min_sentiment,
                    "send_empty": bool(r.send_empty), "notify_urls": list(r.notify_urls or []),
                    "watches": [names[i] for i in (r.watch_ids or []) if i in names]})
            for r in recipients
        ],
        "groups": [{"name": g["name"], "brands": g["brands"], "competitors": g["competitors"]} for g in groups],
    }  # fmt: skip


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def dump_backup(data: Mapping[str, Any], fmt: str) -> str:
    if fmt == "toml":
        return tomli_w.dumps(dict(data))
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    raise InvalidInputError(f"backup format {fmt!r}: use json or toml")


def load_backup(text: str, fmt: str | None = None) -> dict[str, Any]:
    """Parse a backup in JSON or TOML (``fmt`` None: guessed from the first character)."""
    fmt = fmt or ("json" if text.lstrip()[:1] in "{[" else "toml")
    try:
        data = safejson.loads(text) if fmt == "json" else tomllib.loads(text)
    except RecursionError as exc:
        raise InvalidInputError(f"not a valid {fmt.upper()} backup: nested too deeply") from exc
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"not a valid {fmt.upper()} backup: {exc}") from exc
    if not isinstance(data, dict) or "erepwatch_backup" not in data:
        raise InvalidInputError("not an erepwatch backup (no erepwatch_backup key); see `erepwatch export`")
    if data["erepwatch_backup"] != FORMAT_VERSION:
        raise InvalidInputError(f"backup format version {data['erepwatch_backup']!r} is not supported")
    return data


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "problems": self.problems}  # fmt: skip


def _count(report: ImportReport, table: str, changed: bool | None) -> None:
    bucket = report.created if changed is None else report.updated if changed else report.unchanged
    bucket[table] += 1


def _set(row: Any, values: Mapping[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def import_backup(
    session: Session, data: Mapping[str, Any], *, default_interval: timedelta, now: datetime | None = None
) -> ImportReport:
    """Create or update every row of the backup; a row that cannot be read is reported and skipped."""
    now = now or utcnow()
    report = ImportReport()
    for i, row in enumerate(data.get("watches") or [], 1):
        try:
            _import_watch(session, row, report, now)
        except (InvalidInputError, QuerySyntaxError, KeyError, TypeError, ValueError, AttributeError) as exc:
            report.problems.append(f"watch {i} ({row.get('name') if isinstance(row, dict) else row!r}): {exc}")
    watches = {w.name: w for w in session.scalars(select(Watch))}
    for i, row in enumerate(data.get("sources") or [], 1):
        try:
            _import_source(session, row, watches, report, default_interval, now)
        except (InvalidInputError, KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
            report.problems.append(f"source {i} ({row.get('url') if isinstance(row, dict) else row!r}): {exc}")
    for i, row in enumerate(data.get("recipients") or [], 1):
        try:
            _import_recipient(session, row, watches, report, now)
        except (InvalidInputError, KeyError, TypeError, ValueError, AttributeError) as exc:
            report.problems.append(f"recipient {i} ({row.get('email') if isinstance(row, dict) else row!r}): {exc}")
    for i, row in enumerate(data.get("groups") or [], 1):
        try:
            _import_group(session, row, report, now)
        except (InvalidInputError, NotFoundError, ConflictError, KeyError, TypeError, AttributeError) as exc:
            report.problems.append(f"group {i} ({row.get('name') if isinstance(row, dict) else row!r}): {exc}")
    session.flush()
    return report


def _import_group(session: Session, row: Mapping[str, Any], report: ImportReport, now: datetime) -> None:
    data = GroupInput(str(row["name"]), [str(w) for w in row.get("brands") or []],
                      [str(w) for w in row.get("competitors") or []])  # fmt: skip
    existing = session.scalar(select(WatchGroup).where(WatchGroup.name == data.name.strip()))
    if existing is None:
        add_group(session, data, now=now)
        _count(report, "groups", None)
        return
    before = group_as_dict(session, existing)
    if (sorted(before["brands"]), sorted(before["competitors"])) == (sorted(data.brands), sorted(data.competitors)):
        _count(report, "groups", False)
        return
    edit_group(session, existing.id, brands=data.brands, competitors=data.competitors, now=now)
    _count(report, "groups", True)


def _import_watch(session: Session, row: Mapping[str, Any], report: ImportReport, now: datetime) -> None:
    name, query = str(row["name"]).strip(), str(row["query"])
    canonical_query(query)
    languages = parse_languages(row.get("lang") or [])
    regions = parse_regions(row.get("region") or [])
    fuzzy = bool(row.get("fuzzy", False))
    tags = {str(k): [str(x) for x in v] for k, v in (row.get("tags") or {}).items()}
    values = {"query": query.strip(), "languages": languages, "regions": regions, "fuzzy": fuzzy, "tags": tags}
    watch = session.scalar(select(Watch).where(Watch.name == name))
    if watch is None:
        add_watch(session, WatchInput(name=name, query=query, languages=languages, regions=regions, fuzzy=fuzzy,
                                      tags=tags), now=now)  # fmt: skip
        _count(report, "watches", None)
        return
    changed = _set(watch, values)
    if changed:
        watch.updated_at = now
    _count(report, "watches", changed)


def _import_source(
    session: Session, row: Mapping[str, Any], watches: Mapping[str, Watch], report: ImportReport,
    default_interval: timedelta, now: datetime,
) -> None:  # fmt: skip
    url = check_feed_url(str(row["url"]))
    watch_name = row.get("watch")
    watch = watches.get(watch_name) if watch_name else None
    if watch_name and watch is None:
        raise InvalidInputError(f"its watch {watch_name!r} is neither in the backup nor in the database")
    kind = str(row.get("kind") or "feed")
    if kind not in {"feed", "search"}:
        raise InvalidInputError(f"unknown kind {kind!r}")
    interval = int(row.get("interval") or default_interval.total_seconds())
    if interval <= 0:
        raise InvalidInputError("interval must be positive")
    provider = str(row["provider"]) if row.get("provider") else None
    watch_id = watch.id if watch else None
    enabled = bool(row.get("enabled", True))
    values = {
        "kind": kind,
        "provider": provider,
        "watch_id": watch_id,
        "interval_seconds": interval,
        "enabled": enabled,
    }
    source = session.scalar(select(Source).where(Source.url == url))
    if source is None:
        name = str(row.get("name") or "").strip() or None
        if name and session.scalar(select(Source.id).where(Source.name == name)) is not None:
            name = f"{name[:190]} ({url[-6:]})"
        source = add_source(
            session, SourceInput(url=url, name=name, interval=timedelta(seconds=interval), kind=kind,
                                 watch_id=watch_id, provider=provider),
            default_interval=default_interval, now=now,
        )  # fmt: skip
        source.enabled = enabled
        _count(report, "sources", None)
        return
    _count(report, "sources", _set(source, values))


def _import_recipient(
    session: Session, row: Mapping[str, Any], watches: Mapping[str, Watch], report: ImportReport, now: datetime
) -> None:
    email = str(row["email"]).strip()
    if "@" not in email:
        raise InvalidInputError(f"{email!r} is not an e-mail address")
    frequency = str(row.get("frequency") or "daily")
    if frequency not in _FREQUENCIES:
        raise InvalidInputError(f"frequency {frequency!r}: use instant, daily or weekly")
    missing = [n for n in row.get("watches") or [] if n not in watches]
    if missing:
        report.problems.append(f"recipient {email}: unknown watches {', '.join(missing)} left out")
    values: dict[str, Any] = {
        "frequency": frequency,
        "at_time": str(row.get("at") or "08:00"),
        "timezone": str(row.get("timezone") or "Europe/Paris"),
        "weekday": row.get("weekday"),
        "locale": str(row.get("locale") or "fr"),
        "min_sentiment": row.get("min_sentiment"),
        "send_empty": bool(row.get("send_empty", False)),
        "notify_urls": [str(u) for u in row.get("notify_urls") or []],
        "watch_ids": sorted(watches[n].id for n in row.get("watches") or [] if n in watches),
    }
    # The same checks as `recipient add`: a backup edited by hand must not bring a time zone planning cannot use.
    check_recipient_values(values)
    recipient = session.scalar(select(Recipient).where(Recipient.email == email))
    if recipient is None:
        session.add(Recipient(email=email, created_at=now, **values))
        session.flush()
        _count(report, "recipients", None)
        return
    _count(report, "recipients", _set(recipient, values))
