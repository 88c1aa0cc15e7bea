"""`mentions` lists one line per story, shown by its earliest-published member (ties: the lowest id) —
computed with a NOT EXISTS that walks the newest-first index, checked here against the plain definition."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from erepwatch.db.models import Item, Mention, Watch
from erepwatch.service.mentions import list_mentions

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_one_line_per_story_is_its_earliest_member(sessions):
    rng = random.Random(7)
    with sessions() as session, session.begin():
        watch = Watch(name="w", query="acme", languages=[], regions=[], tags={}, created_at=NOW, updated_at=NOW)
        session.add(watch)
        session.flush()
        mentions = []
        for n in range(300):
            published = NOW - timedelta(hours=rng.randrange(0, 200))  # many ties on purpose
            item = Item(key=f"k{n}", title=f"t{n}", text="x", published_at=published, fetched_at=NOW)
            session.add(item)
            session.flush()
            mention = Mention(watch_id=watch.id, item_id=item.id, created_at=NOW, published_at=published)
            session.add(mention)
            session.flush()
            mentions.append(mention)
        for mention in mentions:
            roll = rng.random()
            if roll < 0.5 or mention is mentions[0]:
                mention.cluster_id = mention.id  # a story of its own (or a founder)
            elif roll < 0.9:
                mention.cluster_id = rng.choice(mentions[: mentions.index(mention)]).cluster_id or mention.id
            # else: not assigned yet (NULL), alone
        session.flush()
        rows = [(m.id, m.cluster_id, m.published_at) for m in mentions]
    stories: dict[int, tuple[datetime, int]] = {}
    for mention_id, cluster_id, published in rows:
        story = cluster_id or mention_id
        stories[story] = min(stories.get(story, (published, mention_id)), (published, mention_id))
    expected = [mid for published, mid in sorted(stories.values(), reverse=True)]
    with sessions() as session:
        assert [v.id for v in list_mentions(session, limit=None, now=NOW)] == expected
        assert [v.id for v in list_mentions(session, limit=50, now=NOW)] == expected[:50]
        since = [v.id for v in list_mentions(session, since=timedelta(hours=100), limit=None, now=NOW)]
    recent = {mid for mid, _cluster, published in rows if published >= NOW - timedelta(hours=100)}
    assert since == [m for m in expected if m in recent]
