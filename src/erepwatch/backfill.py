"""A new or edited watch is matched against the items already stored, so its mentions exist from minute one.

The same stages as a poll's (matcher, mention drafts, story assignment), run over stored items instead of a
fetched feed: within retention, in batches, each batch in its own transaction. A mention already stored is
kept as it was (one per watch and item). Items published long before the watch existed become mentions that
are not notified (:func:`erepwatch.analyze.mention_drafts.is_news`): the past is there to read, not to alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.mention_drafts import MentionDraft, build_mentions
from erepwatch.clock import utcnow
from erepwatch.db.models import Item, Mention, Watch
from erepwatch.db.store import insert_mentions, set_stories
from erepwatch.pipeline import Analysis, matchable_language, story_rows
from erepwatch.settings import Settings

#: Stored items read per transaction.
BATCH = 500


def match_stored_items(
    factory: sessionmaker[Session],
    settings: Settings,
    watch_ids: Iterable[int],
    *,
    now: datetime | None = None,
    analysis: Analysis | None = None,
) -> int:
    """Match the given watches against every item fetched within retention; return the new mentions' count."""
    now = now or utcnow()
    ids = sorted(set(watch_ids))
    if not ids:
        return 0
    with factory() as session:
        watches = {w.id: w for w in session.scalars(select(Watch).where(Watch.id.in_(ids)))}
        session.expunge_all()
    matcher = compile_matcher(WatchSpec.of(w) for w in watches.values())
    analysis = analysis or Analysis.from_settings(settings)
    since = now - timedelta(days=settings.retention_days)
    created, last_id = 0, 0
    while True:
        with factory() as session, session.begin():
            items = list(
                session.scalars(
                    select(Item).where(Item.id > last_id, Item.fetched_at >= since).order_by(Item.id).limit(BATCH)
                )
            )
            if not items:
                break
            last_id = items[-1].id
            drafts: list[MentionDraft] = []
            matched: dict[int, MatchItem] = {}
            for item in items:
                language = item.language
                if language is None:
                    # The poll detects only the language of items some watch of its day could match: this
                    # watch's candidates get theirs now (the matcher's language filter, sentiment and tags read it).
                    could, language = matchable_language(matcher, item.title, item.text, item.url, item.id)
                    if not could:
                        continue
                seen = MatchItem.scanned(item.title, item.text, item.url, language)
                matches = matcher.match(seen)
                if not matches:
                    continue
                if language is not None and item.language is None:
                    item.language = language  # stored with the mention: the web's language filter reads it
                drafts += build_mentions(
                    item.id, seen, matches, published=item.published_at, watches=watches, source_created_at=None,
                    scorer=analysis.scorer, tagger=analysis.tagger, backfill_grace=analysis.backfill_grace,
                )  # fmt: skip
                matched[item.id] = seen
            pairs = select(Mention.watch_id, Mention.item_id).where(
                Mention.watch_id.in_(ids), Mention.item_id.in_(list(matched))
            )
            stored = {(watch_id, item_id) for watch_id, item_id in session.execute(pairs)}
            rows = [d.as_row(now) for d in drafts if (d.watch_id, d.item_id) not in stored]
            analysis.load_watches(session, {r["watch_id"] for r in rows}, now)
            mentions = insert_mentions(session, rows, items=matched)
            plan = analysis.assign(mentions, matched)
            set_stories(session, story_rows(plan))
            created += len(mentions)
        analysis.committed(plan)
    return created
