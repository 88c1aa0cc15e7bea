"""A poll detects the language of the items some watch could match, not of every item (issue 17: ~70 % of a first
poll's items are matched by no watch, and their language was detected for nothing). A watch added later, and the
query preview, detect the language of the stored items they could match: a watch restricted to a language finds
exactly what it would have found had every language been detected at ingest. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.backfill import match_stored_items
from erepwatch.db.models import Item, Mention
from erepwatch.pipeline import Analysis, run_poll, text_language
from erepwatch.service.preview import preview_query
from erepwatch.service.sources import SourceInput, add_source
from erepwatch.service.watches import WatchInput, add_watch
from erepwatch.settings import load_settings

# French and English news: "trump" in both languages, "macron" in a few French items.
FEEDS = ["fr-news-lefigaro-economie-01.xml", "en-news-npr-world-01.xml", "en-news-nyt-world-01.xml"]


def _poll_with(sessions, db_url: str, server, tmp_path: Path, query: str):
    settings = load_settings(
        environ={"EREPWATCH_DATA_DIR": str(tmp_path), "EREPWATCH_DATABASE_URL": db_url, "EREPWATCH_ALLOW_PRIVATE": "1"}
    )
    with sessions() as session, session.begin():
        add_watch(session, WatchInput(name="first", query=query))
        for n, name in enumerate(FEEDS):
            add_source(
                session, SourceInput(url=server.feed_url(name), name=f"s{n}"), default_interval=settings.poll_interval
            )
    stats = asyncio.run(run_poll(sessions, settings, all_sources=True, analysis=Analysis.from_settings(settings)))
    assert stats.failed == 0 and stats.new_items > 50
    return settings


def _items(sessions) -> list[Item]:
    with sessions() as session:
        items = list(session.scalars(select(Item).order_by(Item.id)))
        session.expunge_all()
    return items


def test_a_poll_detects_the_language_of_the_items_a_watch_could_match(sessions, db_url, server, tmp_path):
    _poll_with(sessions, db_url, server, tmp_path, "macron")
    could = compile_matcher([WatchSpec(id=1, name="first", query="macron")])
    items = _items(sessions)
    candidates = [i for i in items if could.could_match(i.title, i.text, i.url)]
    others = [i for i in items if i not in candidates]
    assert candidates and len(others) > 50
    # each candidate's language is the one detected from its title and text; the others' was never detected
    assert [i.language for i in candidates] == [text_language(i.title, i.text) for i in candidates]
    assert any(i.language == "fr" for i in candidates)
    assert {i.language for i in others} == {None}


def test_a_watch_added_later_finds_its_language_in_items_not_detected_at_ingest(sessions, db_url, server, tmp_path):
    settings = _poll_with(sessions, db_url, server, tmp_path, "macron")
    before = {i.id: i.language for i in _items(sessions)}
    # What a watch restricted to English must find: every item matching "trump" whose language (detected now, as
    # the poll would have) is English.
    spec = WatchSpec(id=1, name="trump", query="trump", languages=frozenset({"en"}))
    matcher = compile_matcher([spec])
    detected = {i.id: text_language(i.title, i.text) for i in _items(sessions)}
    expected = {
        i.id for i in _items(sessions) if matcher.match(MatchItem(i.title, i.text, i.url, detected[i.id] or None))
    }
    unrestricted = compile_matcher([WatchSpec(id=1, name="t", query="trump")])
    trump = {i.id for i in _items(sessions) if unrestricted.match(MatchItem(i.title, i.text, i.url))}
    assert expected and trump - expected, "the feeds name Trump in English and in other languages"
    assert all(before[i] is None for i in expected), "not detected at ingest: no watch of the poll could match them"

    with sessions() as session:
        assert {h.item_id for h in preview_query(session, "trump", languages=["en"], limit=1000).hits} == expected
    with sessions() as session, session.begin():
        watch = add_watch(session, WatchInput(name="trump", query="trump", languages=["en"]))
        watch_id = watch.id
    assert match_stored_items(sessions, settings, [watch_id]) == len(expected)
    with sessions() as session:
        mentioned = set(session.scalars(select(Mention.item_id).where(Mention.watch_id == watch_id)))
        stored = dict(session.execute(select(Item.id, Item.language).where(Item.id.in_(mentioned))).all())
    assert mentioned == expected
    # the mentioned items' language is stored now (the web's language filter and facets read it)
    assert stored == {i: "en" for i in expected}


def test_a_later_watch_without_languages_stores_the_language_of_what_it_mentions(sessions, db_url, server, tmp_path):
    settings = _poll_with(sessions, db_url, server, tmp_path, "macron")
    with sessions() as session, session.begin():
        watch_id = add_watch(session, WatchInput(name="trump", query="trump")).id
    assert match_stored_items(sessions, settings, [watch_id]) > 0
    items = {i.id: i for i in _items(sessions)}
    with sessions() as session:
        mentioned = set(session.scalars(select(Mention.item_id).where(Mention.watch_id == watch_id)))
    languages = {items[i].language for i in mentioned}
    assert {"en", "fr"} <= languages
    assert all(items[i].language == text_language(items[i].title, items[i].text) for i in mentioned)
