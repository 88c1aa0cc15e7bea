"""A story (cluster of mentions) explained: each member, how it joined, with what score, matching whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from erepwatch.db.mention_views import MentionFilter, select_views
from erepwatch.db.models import Mention, Watch
from erepwatch.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class StoryMember:
    """A member of a story as the explanation shows it (read through :mod:`erepwatch.db.mention_views`)."""

    id: int
    title: str
    source: str | None
    url: str | None
    published: datetime
    #: founder | lexical | semantic | follow_up | merged (None for mentions stored before reasons were recorded)
    how: str | None
    #: 0-100 title similarity (lexical) or cosine (semantic, follow_up)
    score: float | None
    matched: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published.isoformat(),
            "how": self.how,
            "score": self.score,
            "matched": self.matched,
        }


@dataclass(frozen=True, slots=True)
class StoryExplanation:
    id: int
    watch: str
    members: list[StoryMember]

    @property
    def publishers(self) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.members:
            if m.source:
                seen.setdefault(m.source, None)
        return list(seen)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "watch": self.watch,
            "sources": len(self.publishers),
            "publishers": self.publishers,
            "members": [m.as_dict() for m in self.members],
        }


def explain_story(session: Session, ref: int) -> StoryExplanation:
    """The story of mention ``ref`` (a story id is its founder's mention id, so either works)."""
    mention = session.get(Mention, ref)
    if mention is None:
        raise InvalidInputError(f"no mention or story with id {ref} (see `erepwatch mentions --json`)")
    story = mention.cluster_id or mention.id
    watch = session.get(Watch, mention.watch_id)
    # Through the one read model: the same source names and filtered links as every other face.
    views = select_views(session, MentionFilter(story_id=story, hidden=None), newest=False)
    members = [
        StoryMember(
            id=v.id,
            title=v.title,
            source=v.source,
            url=v.url,
            published=v.published,
            how=v.joined.get("how"),
            score=v.joined.get("score"),
            matched=v.joined.get("matched"),
        )
        for v in sorted(views, key=lambda v: (v.published, v.id))
    ]
    return StoryExplanation(id=story, watch=watch.name if watch else "?", members=members)
