"""One story told by several outlets in other words (and another language) is one line, and says why
(issue 16 points 1, 4 for `mentions`, 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from tests.integration.test_pipeline_analysis import _rss

# Real headlines of one story (see tests/data/dedup/xpub_pairs.tsv) and a French report of it.
REPORTS = [
    ("aljazeera", "US and Iran reach ‘guiding principles’ in Geneva nuclear talks", 5),
    ("dw", "Iran says 'guiding principles' agreed with US at nuclear talks", 4),
    ("lefigaro", "Nucléaire : l'Iran et les États-Unis s'accordent sur des « principes directeurs » à Genève", 3),
]
OTHER = ("bbc", "Iran's football team qualifies for the World Cup after beating Uzbekistan", 2)


def test_reworded_reports_are_one_story_with_sources_and_explained(cli, server):
    now = datetime.now(UTC)
    for name, title, hours in [*REPORTS, OTHER]:
        item = {
            "title": title,
            "link": f"https://{name}.example/{hours}",
            "text": "",
            "date": format_datetime(now - timedelta(hours=hours)),
            "source": name.capitalize(),
            "source_url": f"https://{name}.example",
        }
        server.routes[f"/{name}.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss([item]))
    cli("watch", "add", "iran", "--query", "iran")
    for name, *_ in [*REPORTS, OTHER]:
        cli("source", "add", server.url(f"/{name}.xml"), "--name", name, "--no-check")
    stats = cli("poll", "--json").json()
    assert stats["new_mentions"] == 4
    assert stats["stories"]["embedded"] == 4 and stats["stories"]["folded"] == 2

    lines = cli("mentions", "--json").json()
    assert len(lines) == 2, "three reports of one story are one line; the other story stays apart"
    story = next(s for s in lines if s["duplicates"])
    assert story["title"] == REPORTS[0][1], "the earliest report represents the story"
    assert story["story"]["sources"] == 3
    assert story["story"]["publishers"] == ["Aljazeera", "Dw", "Lefigaro"]
    # The story's id is its first *stored* mention (the founder); the line shows the earliest *published* one.
    members = [story["story"], *(d["joined"] for d in story["duplicates"])]
    assert sorted(m["how"] for m in members) == ["founder", "semantic", "semantic"]
    ids = {story["id"], *(d["id"] for d in story["duplicates"])}
    assert all(m["matched"] in ids and 0.9 < m["score"] <= 1 for m in members if m["how"] == "semantic")
    assert "(+2 sources)" in cli("mentions").out

    explained = cli("stories", "explain", str(story["id"]), "--json").json()
    assert sorted(m["how"] for m in explained["members"]) == ["founder", "semantic", "semantic"]
    assert explained["sources"] == 3
    text = cli("stories", "explain", str(explained["members"][2]["id"])).out
    assert f"story {story['story']['id']} [iran]: 3 mentions from 3 sources" in text
    assert "same event in other words as #" in text

    missing = cli("stories", "explain", "999999", ok=False)
    assert "no mention or story with id 999999" in missing.err and "Traceback" not in missing.err
