"""One story told by several outlets in other words (and another language) is one line, and says why
(issue 16 points 1, 4 for `mentions`, 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.integration.test_pipeline_analysis import _rss

# Real headlines of one story (see tests/data/dedup/xpub_pairs.tsv) and a French report of it.
REPORTS = [
    ("aljazeera", "US and Iran reach ‘guiding principles’ in Geneva nuclear talks", 5),
    ("dw", "Iran says 'guiding principles' agreed with US at nuclear talks", 4),
    ("lefigaro", "Nucléaire : l'Iran et les États-Unis s'accordent sur des « principes directeurs » à Genève", 3),
]
OTHER = ("bbc", "Iran's football team qualifies for the World Cup after beating Uzbekistan", 2)


def _publish(server, name: str, title: str, hours: int, now: datetime) -> None:
    """``name``'s feed at /name.xml: one report with this headline, published ``hours`` before ``now``."""
    item = {
        "title": title,
        "link": f"https://{name}.example/{hours}",
        "text": "",
        "date": format_datetime(now - timedelta(hours=hours)),
        "source": name.capitalize(),
        "source_url": f"https://{name}.example",
    }
    server.routes[f"/{name}.xml"] = (200, {"Content-Type": "application/rss+xml"}, _rss([item]))


def test_reworded_reports_are_one_story_with_sources_and_explained(cli, server):
    now = datetime.now(UTC)
    for name, title, hours in [*REPORTS, OTHER]:
        _publish(server, name, title, hours, now)
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


@pytest.mark.parametrize("merging", [True, False])
def test_two_stories_a_later_report_links_become_one_line_and_the_younger_id_explains_it(
    cli, server, monkeypatch, merging
):
    """Real headlines of one accident (UCI News Aggregator stream): two wordings too far apart to fold are two lines
    after the first poll; a report close to both, in the next poll, merges them (with analysis.merge_stories on; off
    by default, they stay two lines). One line with +2 sources; the younger story's id still explains the story, and
    says it was merged and through which report."""
    if merging:
        monkeypatch.setenv("EREPWATCH_ANALYSIS_MERGE_STORIES", "true")
    now = datetime.now(UTC)
    reports = [
        ("patch", "MTA Worker Killed by Hudson Line Train", 6),
        ("pix11", "Death of Metro-North worker on tracks renews safety concerns", 5),
        ("nbc", "Metro-North worker killed by train", 4),
    ]
    for name, title, hours in reports:
        _publish(server, name, title, hours, now)
    cli("watch", "add", "worker", "--query", "worker")
    for name, *_ in reports[:2]:
        cli("source", "add", server.url(f"/{name}.xml"), "--name", name, "--no-check")
    first = cli("poll", "--json").json()
    assert first["stories"]["folded"] == first["stories"]["merged"] == 0
    before = cli("mentions", "--json").json()
    assert len(before) == 2, "two wordings, two stories"
    older, younger = sorted(line["story"]["id"] for line in before)

    cli("source", "add", server.url("/nbc.xml"), "--name", "nbc", "--no-check")
    second = cli("poll", "--json").json()
    if not merging:
        assert second["stories"]["folded"] == 1 and second["stories"]["merged"] == 0
        assert len(cli("mentions", "--json").json()) == 2, "off by default: the report joins one, two lines still"
        return
    assert second["stories"]["folded"] == 1 and second["stories"]["merged"] == 1
    [line] = cli("mentions", "--json").json()
    assert line["story"]["id"] == older and line["story"]["sources"] == 3
    assert "(+2 sources)" in cli("mentions").out
    explained = cli("stories", "explain", str(younger), "--json").json()
    assert explained["id"] == older
    merged = next(m for m in explained["members"] if m["id"] == younger)
    linking = next(m for m in explained["members"] if m["how"] == "semantic")
    assert merged["how"] == "merged" and merged["matched"] == linking["id"]
    text = cli("stories", "explain", str(younger)).out
    assert f"story {older} [worker]: 3 mentions from 3 sources" in text
    assert f"merged into this one when #{linking['id']} reported both" in text
