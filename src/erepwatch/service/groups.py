"""Saved groups of watches, "my brand vs competitors": what the share of voice compares.

A group names one or more watches as the brand and one or more as competitors; the trends page, the API and
``erepwatch group share`` show the share of voice of a saved group over 7, 30 or 90 days, counted like every
other trend (stories nobody hid, per the reader's day; :func:`erepwatch.service.trends.trends`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erepwatch.clock import utcnow
from erepwatch.db.models import Watch, WatchGroup, WatchGroupMember
from erepwatch.enums import GroupRole
from erepwatch.errors import ConflictError, InvalidInputError
from erepwatch.service.common import find_one
from erepwatch.service.trends import TrendsReport, trends
from erepwatch.service.watches import get_watch
from erepwatch.settings import parse_timezone

#: The periods the trends offer.
SHARE_DAYS = (7, 30, 90)

__all__ = ["GroupInput", "GroupShare", "ShareLine", "add_group", "edit_group", "get_group", "group_as_dict",
           "list_groups", "remove_group", "share_of_voice"]  # fmt: skip


@dataclass(frozen=True, slots=True)
class GroupInput:
    name: str
    #: watches by name (or id): the brand(s), then the competitors; a watch is in one of the two only
    brands: Sequence[str]
    competitors: Sequence[str]


@dataclass(frozen=True, slots=True)
class ShareLine:
    watch: str
    role: GroupRole
    stories: int
    #: of the group's stories over the period, 0–100, one decimal
    percent: float


@dataclass(frozen=True, slots=True)
class GroupShare:
    group: str
    days: int
    lines: list[ShareLine]

    @property
    def total(self) -> int:
        return sum(line.stories for line in self.lines)

    @property
    def brand_percent(self) -> float:
        """The brand's share (all its watches together)."""
        return round(sum(line.percent for line in self.lines if line.role is GroupRole.BRAND), 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group, "days": self.days, "total": self.total, "brand_percent": self.brand_percent,
            "share": [{"watch": s.watch, "role": s.role.value, "stories": s.stories, "percent": s.percent}
                      for s in self.lines],
        }  # fmt: skip


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 200 or "/" in name:
        raise InvalidInputError("group name: 1 to 200 characters, no '/'")
    return name


def _members(session: Session, data: GroupInput) -> list[WatchGroupMember]:
    # Names as given (a watch's name may hold a comma); the CLI splits its comma-separated options itself.
    brands = [b.strip() for b in data.brands if b.strip()]
    competitors = [c.strip() for c in data.competitors if c.strip()]
    if not brands:
        raise InvalidInputError("brand: name at least one watch as your brand")
    if not competitors:
        raise InvalidInputError("competitors: name at least one watch to compare with")
    members: dict[int, WatchGroupMember] = {}
    for role, refs in ((GroupRole.BRAND, brands), (GroupRole.COMPETITOR, competitors)):
        for ref in refs:
            watch = get_watch(session, ref)
            if watch.id in members and members[watch.id].role != role:
                raise InvalidInputError(f"{watch.name!r} cannot be both your brand and a competitor")
            members[watch.id] = WatchGroupMember(watch_id=watch.id, role=role.value)
    return list(members.values())


def add_group(session: Session, data: GroupInput, *, now: datetime | None = None) -> WatchGroup:
    now = now or utcnow()
    name = _name(data.name)
    if session.scalar(select(WatchGroup.id).where(WatchGroup.name == name)) is not None:
        raise ConflictError(f"a group named {name!r} already exists")
    group = WatchGroup(name=name, created_at=now, updated_at=now, members=_members(session, data))
    session.add(group)
    session.flush()
    return group


def get_group(session: Session, ref: str | int) -> WatchGroup:
    return find_one(session, WatchGroup, ref, what="group")


def list_groups(session: Session) -> list[WatchGroup]:
    return list(session.scalars(select(WatchGroup).order_by(WatchGroup.name)))


def edit_group(
    session: Session,
    ref: str | int,
    *,
    name: str | None = None,
    brands: Iterable[str] | None = None,
    competitors: Iterable[str] | None = None,
    now: datetime | None = None,
) -> WatchGroup:
    """Rename a group or replace its brand or its competitors (what is not given stays)."""
    group = get_group(session, ref)
    if name is not None:
        new = _name(name)
        clash = session.scalar(select(WatchGroup.id).where(WatchGroup.name == new, WatchGroup.id != group.id))
        if clash is not None:
            raise ConflictError(f"a group named {new!r} already exists")
        group.name = new
    if brands is not None or competitors is not None:
        current = _roles(session, group)
        data = GroupInput(
            group.name,
            list(brands) if brands is not None else current[GroupRole.BRAND],
            list(competitors) if competitors is not None else current[GroupRole.COMPETITOR],
        )
        members = _members(session, data)
        group.members.clear()
        session.flush()
        group.members.extend(members)
    group.updated_at = now or utcnow()
    session.flush()
    return group


def remove_group(session: Session, ref: str | int) -> WatchGroup:
    group = get_group(session, ref)
    session.delete(group)
    session.flush()
    return group


def _roles(session: Session, group: WatchGroup) -> dict[GroupRole, list[str]]:
    names = dict(
        session.execute(select(Watch.id, Watch.name).where(Watch.id.in_([m.watch_id for m in group.members]))).all()
    )
    out: dict[GroupRole, list[str]] = {GroupRole.BRAND: [], GroupRole.COMPETITOR: []}
    for member in sorted(group.members, key=lambda m: names.get(m.watch_id, "").casefold()):
        if member.watch_id in names:
            out[GroupRole(member.role)].append(names[member.watch_id])
    return out


def group_as_dict(session: Session, group: WatchGroup) -> dict[str, Any]:
    roles = _roles(session, group)
    return {"id": group.id, "name": group.name, "brands": roles[GroupRole.BRAND],
            "competitors": roles[GroupRole.COMPETITOR]}  # fmt: skip


def share_of_voice(
    session: Session, ref: str | int, *, days: int, now: datetime, tz: str = "UTC", report: TrendsReport | None = None
) -> GroupShare:
    """The group's stories over the last ``days`` days of the reader's zone, per watch: brands first, then the
    competitors, each side largest first. ``report``: the trends already counted for the same period and zone
    (the trends page's), used when it covers every watch of the group."""
    try:
        tz = parse_timezone(tz) or "UTC"
    except ValueError as exc:
        raise InvalidInputError(f"tz: {exc}") from exc
    if days not in SHARE_DAYS:
        raise InvalidInputError(f"days: one of {', '.join(map(str, SHARE_DAYS))}")
    group = get_group(session, ref)
    roles = _roles(session, group)
    role_of = {w: role for role, names in roles.items() for w in names}
    if report is None or not set(role_of) <= {w.watch for w in report.watches}:
        report = trends(session, list(role_of), days=days, now=now, tz=tz)
    counts = {w: n for w, n in report.share if w in role_of}
    total = sum(counts.values())
    lines = [
        ShareLine(w, role_of[w], counts.get(w, 0), round(100 * counts.get(w, 0) / total, 1) if total else 0.0)
        for w in role_of
    ]
    lines.sort(key=lambda s: (s.role is not GroupRole.BRAND, -s.stories, s.watch.casefold()))
    return GroupShare(group.name, days, lines)
