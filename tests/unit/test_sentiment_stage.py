"""The sentiment stage: pending mentions scored by the embedding model once, within a budget, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from erepwatch.analyze import embedding
from erepwatch.analyze.sentiment import LexiconScorer, load_scorer
from erepwatch.analyze.sentiment_models import ModelScorer
from erepwatch.db.models import Item, Mention, MentionEmbedding, Watch
from erepwatch.sentiment_stage import KIND, refine_sentiment

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _scorer() -> ModelScorer:
    lexicon = load_scorer()
    assert isinstance(lexicon, LexiconScorer)
    return ModelScorer("e5", lexicon)


def _seed(session, n: int) -> list[int]:
    watch = Watch(name="acme", query="acme", created_at=NOW, updated_at=NOW)
    session.add(watch)
    session.flush()
    ids = []
    for i in range(n):
        title = f"Acme profits slump and the group announces layoffs {i}"
        item = Item(
            key=f"https://ex.org/{i}",
            url=f"https://ex.org/{i}",
            title=title,
            text="Acme is in trouble.",
            published_at=NOW,
            fetched_at=NOW,
            language="en",
        )
        session.add(item)
        session.flush()
        mention = Mention(
            watch_id=watch.id,
            item_id=item.id,
            created_at=NOW,
            published_at=NOW,
            sentiment="positive",
            spans=[{"field": "title", "start": 0, "end": 4, "term": "acme", "fuzzy": False}],
            why={"sentiment": [], "tags": {"crisis": ["layoffs"]}},
        )
        session.add(mention)
        session.flush()
        ids.append(mention.id)
    return ids


def test_pending_mentions_scored_once_and_vectors_stored(sessions) -> None:
    with sessions() as session, session.begin():
        ids = _seed(session, 3)
    calls: list[int] = []

    def fake_embed(texts):
        calls.append(len(texts))
        assert all(t.startswith("Acme profits slump") for t in texts), "the window, title first"
        return embedding.embed(texts)

    stats = refine_sentiment(
        sessions, scorer=_scorer(), since=NOW - timedelta(days=1), budget=timedelta(minutes=5), embed=fake_embed
    )
    assert (stats.pending, stats.scored, stats.backlog) == (3, 3, 0) and calls == [3]
    assert stats.changed == 3, "each seeded 'positive', read negative by the model"
    with sessions() as session:
        mentions = session.scalars(select(Mention).where(Mention.id.in_(ids))).all()
        assert {m.sentiment for m in mentions} == {"negative"}
        assert all(m.score < 0 for m in mentions)
        assert all("layoffs" in m.why["sentiment"] and m.why["tags"] == {"crisis": ["layoffs"]} for m in mentions)
        stored = session.scalars(select(MentionEmbedding).where(MentionEmbedding.kind == KIND)).all()
        assert sorted(e.mention_id for e in stored) == sorted(ids)
        assert all(e.model_version == embedding.MODEL_VERSION for e in stored)
    again = refine_sentiment(sessions, scorer=_scorer(), since=NOW - timedelta(days=1), budget=timedelta(minutes=5))
    assert again.pending == 0, "a mention is embedded once"


def test_budget_leaves_a_backlog(sessions, monkeypatch) -> None:
    import erepwatch.sentiment_stage as stage

    monkeypatch.setattr(stage, "BATCH", 1)
    with sessions() as session, session.begin():
        _seed(session, 3)
    ticks = iter([0.0, 0.0, 100.0, 100.0])
    stats = refine_sentiment(
        sessions,
        scorer=_scorer(),
        since=NOW - timedelta(days=1),
        budget=timedelta(seconds=1),
        embed=lambda texts: np.zeros((len(texts), embedding.DIM), dtype=np.float32) + 0.05,
        clock=lambda: next(ticks),
    )
    assert (stats.pending, stats.scored, stats.backlog) == (3, 1, 2)


def test_crisis_tag_is_the_classifiers_once_embedded(sessions) -> None:
    """With a crisis judge, the stage replaces the word list's crisis tag with the classifier's decision (issue #15
    point 5): a recall named with the brand is a crisis; an outage in a podcast's chapter list is not Acme's."""
    from erepwatch.analyze.crisis import CrisisJudge, load_crisis
    from erepwatch.analyze.tags import load_tagger

    titles = {
        "Acme recalls 12,000 scooters after battery fires": ([], {}),
        "Why the Acme podcast matters: chapter 3, the AWS outage": (
            ["crisis", "alerte"],
            {"crisis": ["outage"], "alerte": ["outage"]},
        ),
    }
    with sessions() as session, session.begin():
        watch = Watch(name="acme", query="acme", created_at=NOW, updated_at=NOW)
        session.add(watch)
        session.flush()
        for i, (title, (tags, tag_words)) in enumerate(titles.items()):
            item = Item(key=f"k{i}", url=f"https://ex.org/c{i}", title=title, text="", published_at=NOW,
                        fetched_at=NOW, language="en")  # fmt: skip
            session.add(item)
            session.flush()
            start = title.index("Acme")
            span = {"field": "title", "start": start, "end": start + 4, "term": "acme", "fuzzy": False}
            why = {"sentiment": [], "tags": tag_words}
            session.add(Mention(watch_id=watch.id, item_id=item.id, created_at=NOW, published_at=NOW,
                                sentiment="neutral", spans=[span], tags=tags, why=why))  # fmt: skip
    scorer = _scorer()
    assert scorer.head is not None
    judge = CrisisJudge(load_crisis(), load_tagger(), scorer.lexicon, scorer.head)
    refine_sentiment(sessions, scorer=scorer, since=NOW - timedelta(days=1), budget=timedelta(minutes=5), crisis=judge)
    with sessions() as session:
        got = {
            title: (list(tags), why["tags"])
            for title, tags, why in session.execute(
                select(Item.title, Mention.tags, Mention.why).join(Item, Item.id == Mention.item_id)
            )
        }
    recall, podcast = titles
    assert got[recall] == (["crisis"], {"crisis": ["recalls"]})
    assert got[podcast] == (["alerte"], {"alerte": ["outage"]}), "the watch's own group stays as the poll set it"


def test_a_watchs_own_crisis_group_keeps_its_tag(sessions) -> None:
    from erepwatch.analyze.crisis import CrisisJudge, load_crisis
    from erepwatch.analyze.tags import load_tagger

    title = "Why the Acme podcast matters: chapter 3, the AWS outage"
    with sessions() as session, session.begin():
        watch = Watch(name="acme", query="acme", tags={"crisis": ["outage"]}, created_at=NOW, updated_at=NOW)
        session.add(watch)
        session.flush()
        item = Item(key="k", url="https://ex.org/k", title=title, text="", published_at=NOW, fetched_at=NOW,
                    language="en")  # fmt: skip
        session.add(item)
        session.flush()
        span = {"field": "title", "start": 8, "end": 12, "term": "acme", "fuzzy": False}
        why = {"sentiment": [], "tags": {"crisis": ["outage"]}}
        session.add(Mention(watch_id=watch.id, item_id=item.id, created_at=NOW, published_at=NOW, sentiment="neutral",
                            spans=[span], tags=["crisis"], why=why))  # fmt: skip
    scorer = _scorer()
    assert scorer.head is not None
    judge = CrisisJudge(load_crisis(), load_tagger(), scorer.lexicon, scorer.head)
    refine_sentiment(sessions, scorer=scorer, since=NOW - timedelta(days=1), budget=timedelta(minutes=5), crisis=judge)
    with sessions() as session:
        tags, why = session.execute(select(Mention.tags, Mention.why)).one()
    assert list(tags) == ["crisis"] and why["tags"] == {"crisis": ["outage"]}, "the user's own words decide"
