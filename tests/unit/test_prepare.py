"""What the caller of the parser does to the bytes first (ingest/prepare.py, ingest/limit.py)."""

from __future__ import annotations

from erepwatch.ingest.limit import count_entry_tags, trim_document
from erepwatch.ingest.parse import parse_feed
from erepwatch.ingest.prepare import MAX_RUN, cap_text_runs, prepare_document, strip_entity_declarations
from tests.hostile import BILLION_LAUGHS, item, rss


def test_surrogate_and_nul_references_become_replacement_characters():
    doc = rss(item(1, title="a&#xD800;b&#55296;c&#0;d&#x41;"))
    (entry,) = parse_feed(prepare_document(doc, None)).entries
    assert entry.title == "a\ufffdb\ufffdc\ufffddA"


def test_entity_declarations_are_removed_and_their_references_left_as_text():
    out = strip_entity_declarations(BILLION_LAUGHS)
    assert b"<!ENTITY" not in out and out.startswith(b'<?xml version="1.0"?><rss')
    public = b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "http://x/rss.dtd"><rss version="0.91"/>'
    assert strip_entity_declarations(public) == public


def test_long_text_runs_are_cut_on_a_character_boundary():
    doc = rss(item(1, title="Acme " + "é" * MAX_RUN))
    out = cap_text_runs(doc)
    assert len(out) < len(doc) and out.decode("utf-8")  # still valid UTF-8
    (entry,) = parse_feed(out).entries
    assert entry.title.startswith("Acme éé")
    # The run starts after "<title" ("title>" is 6 bytes): the cut would fall 2 bytes into the first "&amp;".
    entity = rss(item(1, title="x" * (MAX_RUN - 8) + "&amp;" * (MAX_RUN // 4)))
    assert parse_feed(cap_text_runs(entity)).entries[0].title.endswith("x")
    small = rss(item(1))
    assert cap_text_runs(small) is small


def test_trimming_keeps_the_newest_entries_wherever_they_are():
    doc = rss("".join(item(n) for n in range(50)))
    assert count_entry_tags(doc) == 50
    trimmed = trim_document(doc, 5)
    titles = [e.title for e in parse_feed(trimmed).entries]
    assert titles == [f"Acme story {n}" for n in range(45, 50)]
    assert trim_document(doc, 50) is doc
    broken = doc[: len(doc) // 2]
    assert trim_document(broken, 5) is broken  # unreadable for the streaming pass: the parser decides


def test_a_document_is_told_to_hold_few_entries_only_when_it_does():
    # The bytes' counts bound the entry tags from above: when they say "not more than n", the pattern agrees, on
    # every document of the corpus and a cap of any size.
    from erepwatch.ingest.limit import _fewer_tags_than
    from tests.conftest import corpus_feeds

    told = 0
    for path in corpus_feeds():
        doc = path.read_bytes()
        for cap in (1, 10, 50, 200, 1000):
            if _fewer_tags_than(doc, cap):
                told += 1
                assert count_entry_tags(doc) <= cap, (path.name, cap)
    assert told > 100
    doc = rss("".join(item(n) for n in range(50)))
    assert not _fewer_tags_than(doc, 49) and _fewer_tags_than(rss(item(1) + item(2)), 49)
