"""What a person does to the results: mark irrelevant, star, mute a publisher for a watch, apply a suggested
exclusion. Each act is journaled (who, when, what it changed) and can be undone.

An irrelevant mention leaves lists, digests, alerts, counts and trends (see :func:`erepwatch.db.search.visible`);
a muted publisher's mentions of that watch leave them too, including those found later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from erepwatch.analyze.exclusion import Doc, Suggestion, suggest_exclusion
from erepwatch.analyze.matcher import canonical_query
from erepwatch.clock import utcnow
from erepwatch.db.models import Act, Item, Mention, Watch, WatchMute
from erepwatch.db.search import visible
from erepwatch.errors import ConflictError, InvalidInputError, NotFoundError
from erepwatch.service.preview import preview_query
from erepwatch.service.watches import edit_watch, get_watch

ACT_KINDS = ("irrelevant", "star", "mute", "exclude")
#: relevant mentions compared with the irrelevant one to find a separating word
RELEVANT_SAMPLE = 500
#: how far back a proposal's preview counts matches (the preview reads every stored item of the period)
PREVIEW_WINDOW = timedelta(days=30)


def _mention(session: Session, mention_id: int) -> Mention:
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise NotFoundError(f"no mention numbered {mention_id}")
    return mention


def _record(session: Session, kind: str, actor: str, now: datetime, **values: Any) -> Act:
    act = Act(kind=kind, actor=actor[:200] or "?", created_at=now, **values)
    session.add(act)
    session.flush()
    return act


def _story_ids(session: Session, mention: Mention) -> list[int]:
    """The mention and, when it stands for a story, every member of that story (they share its fate)."""
    if mention.cluster_id is None:
        return [mention.id]
    return list(session.scalars(select(Mention.id).where(Mention.cluster_id == mention.cluster_id)))


def mark_irrelevant(session: Session, mention_id: int, *, actor: str, now: datetime | None = None) -> Act:
    mention = _mention(session, mention_id)
    if mention.irrelevant:
        raise ConflictError(f"mention {mention_id} is already marked irrelevant")
    ids = _story_ids(session, mention)
    session.execute(update(Mention).where(Mention.id.in_(ids)).values(irrelevant=True))
    return _record(session, "irrelevant", actor, now or utcnow(), watch_id=mention.watch_id, mention_id=mention.id,
                   details={"mentions": ids})  # fmt: skip


def set_star(session: Session, mention_id: int, starred: bool, *, actor: str, now: datetime | None = None) -> Act:
    mention = _mention(session, mention_id)
    if bool(mention.starred) == starred:
        raise ConflictError(f"mention {mention_id} is already {'starred' if starred else 'not starred'}")
    mention.starred = starred
    return _record(session, "star", actor, now or utcnow(), watch_id=mention.watch_id, mention_id=mention.id,
                   details={"starred": starred})  # fmt: skip


def mute_publisher(
    session: Session, watch_ref: str | int, domain: str, *, actor: str, now: datetime | None = None
) -> Act:
    watch = get_watch(session, watch_ref)
    domain = domain.strip().lower().removeprefix("www.")
    if not domain or "/" in domain or " " in domain:
        raise InvalidInputError(f"{domain!r} is not a publisher's domain such as example.com")
    if session.scalar(select(WatchMute.id).where(WatchMute.watch_id == watch.id, WatchMute.domain == domain)):
        raise ConflictError(f"{domain} is already muted for {watch.name}")
    now = now or utcnow()
    session.add(WatchMute(watch_id=watch.id, domain=domain, created_at=now))
    return _record(session, "mute", actor, now, watch_id=watch.id, domain=domain)


def list_mutes(session: Session, watch_ref: str | int | None = None) -> list[tuple[str, str]]:
    query = select(Watch.name, WatchMute.domain).join(Watch, Watch.id == WatchMute.watch_id)
    if watch_ref is not None:
        query = query.where(WatchMute.watch_id == get_watch(session, watch_ref).id)
    return [(w, d) for w, d in session.execute(query.order_by(Watch.name, WatchMute.domain))]


@dataclass(frozen=True, slots=True)
class ExclusionProposal:
    """A suggested exclusion with the preview of the query it makes (shown before anyone applies it)."""

    mention_id: int
    watch: str
    suggestion: Suggestion | None
    query: str
    new_query: str | None
    matched_before: int
    matched_after: int | None
    still_matches_it: bool | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "mention_id": self.mention_id, "watch": self.watch,
            "term": self.suggestion.term if self.suggestion else None,
            "kind": self.suggestion.kind if self.suggestion else None, "query": self.query,
            "new_query": self.new_query, "matched_before": self.matched_before, "matched_after": self.matched_after,
            "still_matches_it": self.still_matches_it,
        }  # fmt: skip


def propose_exclusion(session: Session, mention_id: int, *, now: datetime | None = None) -> ExclusionProposal:
    """The word (or ``-site:``) that separates this mention from the watch's relevant ones, and its preview."""
    mention = _mention(session, mention_id)
    watch = session.get(Watch, mention.watch_id)
    assert watch is not None
    item = session.get(Item, mention.item_id)
    assert item is not None
    relevant = session.execute(
        select(Item.title, Item.text, Item.publisher_domain)
        .join(Mention, Mention.item_id == Item.id)
        .where(Mention.watch_id == watch.id, Mention.id != mention.id, visible())
        .order_by(Mention.published_at.desc())
        .limit(RELEVANT_SAMPLE)
    )
    suggestion = suggest_exclusion(
        watch.query,
        Doc(item.title or "", (item.text or "")[:20000], item.publisher_domain),
        (Doc(t or "", (x or "")[:5000], d) for t, x, d in relevant),
    )
    before = preview_query(session, watch.query, languages=watch.languages or (), fuzzy=bool(watch.fuzzy),
                           limit=0, since=PREVIEW_WINDOW, now=now)  # fmt: skip
    if suggestion is None:
        return ExclusionProposal(mention.id, watch.name, None, watch.query, None, before.matched, None, None)
    new_query = suggestion.apply_to(watch.query)
    canonical_query(new_query)
    after = preview_query(session, new_query, languages=watch.languages or (), fuzzy=bool(watch.fuzzy), limit=0,
                          since=PREVIEW_WINDOW, now=now)  # fmt: skip
    still = preview_query(session, new_query, languages=watch.languages or (), fuzzy=bool(watch.fuzzy),
                          limit=1, item_ids=[item.id], now=now).matched > 0  # fmt: skip
    return ExclusionProposal(mention.id, watch.name, suggestion, watch.query, new_query, before.matched,
                             after.matched, still)  # fmt: skip


def apply_exclusion(
    session: Session, watch_ref: str | int, new_query: str, *, actor: str, expected_query: str | None = None,
    now: datetime | None = None,
) -> Act:  # fmt: skip
    """Replace the watch's query by ``new_query`` (the proposal's); refused if someone changed it meanwhile."""
    watch = get_watch(session, watch_ref)
    before = watch.query
    if expected_query is not None and expected_query.strip() != before.strip():
        raise ConflictError(f"the query of {watch.name} changed since the preview; look at the new preview")
    now = now or utcnow()
    edit_watch(session, watch.id, query=new_query, now=now)
    return _record(session, "exclude", actor, now, watch_id=watch.id, details={"before": before, "after": new_query})


def undo(session: Session, act_id: int, *, actor: str, now: datetime | None = None) -> Act:
    act = session.get(Act, act_id)
    if act is None:
        raise NotFoundError(f"no act numbered {act_id}")
    if act.undone_at is not None:
        raise ConflictError(f"act {act_id} was already undone")
    details = act.details or {}
    if act.kind == "irrelevant":
        ids = [int(i) for i in details.get("mentions") or [act.mention_id] if i is not None]
        session.execute(update(Mention).where(Mention.id.in_(ids)).values(irrelevant=False))
    elif act.kind == "star":
        mention = session.get(Mention, act.mention_id) if act.mention_id else None
        if mention is not None:
            mention.starred = not bool(details.get("starred"))
    elif act.kind == "mute":
        mute = session.scalar(select(WatchMute).where(WatchMute.watch_id == act.watch_id,
                                                      WatchMute.domain == act.domain))  # fmt: skip
        if mute is not None:
            session.delete(mute)
    elif act.kind == "exclude":
        watch = session.get(Watch, act.watch_id) if act.watch_id else None
        if watch is None:
            raise NotFoundError("the watch of this exclusion no longer exists")
        if watch.query.strip() != str(details.get("after", "")).strip():
            raise ConflictError(f"the query of {watch.name} changed after this exclusion; edit it by hand")
        edit_watch(session, watch.id, query=str(details["before"]), now=now or utcnow())
    act.undone_at = now or utcnow()
    act.undone_by = actor[:200] or "?"
    session.flush()
    return act


def undo_latest(session: Session, mention_id: int, kind: str, *, actor: str, now: datetime | None = None) -> Act:
    """Undo the latest standing act of ``kind`` on a mention (the list's "undo" buttons)."""
    act = session.scalar(
        select(Act)
        .where(Act.mention_id == mention_id, Act.kind == kind, Act.undone_at.is_(None))
        .order_by(Act.id.desc())
        .limit(1)
    )
    if act is None:
        raise NotFoundError(f"nothing to undo of kind {kind} on mention {mention_id}")
    return undo(session, act.id, actor=actor, now=now)


def list_acts(session: Session, *, limit: int = 100) -> list[tuple[Act, str | None]]:
    rows = session.execute(
        select(Act, Watch.name).outerjoin(Watch, Watch.id == Act.watch_id).order_by(Act.id.desc()).limit(limit)
    )
    return [(act, name) for act, name in rows]


def act_as_dict(act: Act, watch: str | None) -> dict[str, Any]:
    return {
        "id": act.id, "kind": act.kind, "watch": watch, "mention_id": act.mention_id, "domain": act.domain,
        "details": act.details, "actor": act.actor, "at": act.created_at.isoformat(),
        "undone_at": act.undone_at.isoformat() if act.undone_at else None, "undone_by": act.undone_by,
    }  # fmt: skip
