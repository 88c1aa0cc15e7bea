"""Rendering: feed text escaped and capped, no script or remote resource, marks, fr/en, text and HTML agree."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from erepwatch.db.mention_views import MentionView
from erepwatch.links import safe_url
from erepwatch.notify.alert_rules import detect_spike
from erepwatch.notify.digest import DayVolume, Trouble, build_digest
from erepwatch.notify.render import chat_lines, clean, render_alert, render_digest

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script><img src="https://evil.example/p.png"> Acme "rappel"'


def mention(
    id_=1,
    *,
    title="Acme rappelle ses crêpes",
    url="https://news.example/a?x=1&y=2",
    sentiment="negative",
    snippet="… la société Acme rappelle …",
    marks=((13, 17),),
    tags=("crisis",),
    publisher="Le Monde",
):
    return MentionView(
        id_, 1, "Acme", id_, title, url, publisher, NOW - timedelta(hours=3), NOW, sentiment, tags, snippet, marks
    )


def digest(*rows):
    chart = [DayVolume(NOW.date() - timedelta(days=13 - i), i % 3, 1, 0) for i in range(14)]
    troubles = [Trouble("<b>bad feed</b>", "https://x", "failing", "http_5xx", None)]
    return build_digest(list(rows), start=NOW - timedelta(days=1), end=NOW, chart=chart, troubles=troubles)


def test_hostile_title_is_escaped_and_no_remote_resource():
    out = render_digest(
        digest(mention(title=HOSTILE, publisher="<i>pub</i>")), locale="fr", tz="Europe/Paris", email="a@example.com"
    )
    assert "<script" not in out.html.lower() and "<img" not in out.html.lower()
    assert "&lt;script&gt;" in out.html and "&lt;b&gt;bad feed&lt;/b&gt;" in out.html
    assert not re.search(r"""(src|background)\s*=\s*["']?https?:""", out.html, re.I)
    assert "@import" not in out.html and "url(" not in out.html
    assert HOSTILE.split(">")[0] in out.text  # plain text keeps the title as it is


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://ok.example/x", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("http://ok.example/a b", False),
        (None, False),
    ],
    ids=["https", "javascript", "data", "space", "none"],
)
def test_only_http_links(url, linked):
    out = render_digest(digest(mention(url=url)), locale="en", tz="UTC", email="a@example.com")
    hrefs = re.findall(r'href="([^"]+)"', out.html)
    assert any(h.startswith("https://ok.example") for h in hrefs) is linked
    assert not any(h.lower().startswith(("javascript", "data")) for h in hrefs)
    assert (safe_url(url) is not None) is linked


def test_matched_term_marked_in_both_parts():
    out = render_digest(digest(mention()), locale="fr", tz="Europe/Paris", email="a@example.com")
    assert re.search(r"<mark[^>]*>Acme</mark>", out.html)
    assert "*Acme*" in out.text


def test_entities_in_urls_and_dates_in_recipient_zone():
    out = render_digest(digest(mention()), locale="fr", tz="America/Montreal", email="a@example.com")
    assert 'href="https://news.example/a?x=1&amp;y=2"' in out.html
    local = (NOW - timedelta(hours=3)).astimezone(__import__("zoneinfo").ZoneInfo("America/Montreal"))
    assert local.strftime("%d/%m/%Y %H:%M") in out.html and local.strftime("%d/%m/%Y %H:%M") in out.text


@pytest.mark.parametrize(
    ("locale", "subject", "word"),
    [
        ("fr", "[erepwatch] Acme : 2 nouvelles mentions, dont 1 négative", "négatif"),
        ("en", "[erepwatch] Acme: 2 new mentions, 1 negative", "negative"),
    ],
    ids=["fr", "en"],
)
def test_locale_strings_and_subject(locale, subject, word):
    out = render_digest(
        digest(mention(1), mention(2, sentiment="positive", tags=())), locale=locale, tz="UTC", email="a@example.com"
    )
    assert out.subject == subject
    assert word in out.html and word in out.text


def test_chart_has_fourteen_days_of_css_bars_and_no_script():
    out = render_digest(digest(mention()), locale="fr", tz="UTC", email="a@example.com")
    assert len(re.findall(r'<td valign="bottom"', out.html)) == 14
    assert "height:" in out.html and "<svg" not in out.html and "<canvas" not in out.html


def test_empty_digest_says_nothing_new():
    out = render_digest(
        build_digest([], start=NOW - timedelta(days=1), end=NOW), locale="fr", tz="UTC", email="a@example.com"
    )
    assert out.subject == "[erepwatch] Rien de nouveau" and "Rien de nouveau" in out.text


def test_caps_and_control_characters():
    assert len(clean("x" * 10_000, 300)) == 300
    assert clean("a\u202eb\x00c\n d", 50) == "abc d"
    out = render_digest(
        digest(mention(title="T" * 5000, snippet="S" * 5000, marks=())), locale="en", tz="UTC", email="a@example.com"
    )
    assert "T" * 301 not in out.html and "S" * 401 not in out.html


def test_spike_alert_states_the_numbers():
    check = detect_spike(40, [5, 6, 4, 5, 7, 5, 3], k=3, min_count=5)
    out = render_alert([mention()], locale="en", tz="UTC", email="a@example.com", spike=check, spike_watch="Acme")
    assert "40 mentions" in out.text and f"{check.mean:.1f}" in out.text and f"{check.threshold:.1f}" in out.text
    assert out.subject.startswith("[erepwatch] Spike for Acme: 40 mentions")


def test_chat_line_defuses_markup():
    title, body = chat_lines("subject", [mention(title="<!channel> [click](https://evil) @everyone")])
    assert "<!channel>" not in body and "[click]" not in body and "@everyone" not in body
    assert len(body.splitlines()) == 1 and title == "subject"


def test_alert_shows_one_entry_per_story_with_its_sources_and_counts_stories():
    rows = [
        mention(1, title="Grève chez Lidl : les magasins fermés", publisher="BFM"),
        mention(2, title="Grève chez Lidl : les magasins fermés", publisher="Le Figaro"),
        mention(3, title="Lidl : la grève s'étend", publisher="Libération"),
        mention(4, title="Autre sujet Acme", publisher="Le Monde"),
    ]
    rows = [replace(r, cluster_id=1 if r.id < 4 else 4) for r in rows]
    out = render_alert(rows, locale="fr", tz="Europe/Paris", email="a@example.com", changes={4: "negative"})
    assert "2 mentions" in out.subject, "the subject counts stories, not the 4 mentions"
    assert out.text.count("Grève chez Lidl") == 1 and "+2 sources (Le Figaro, Libération)" in out.text
    assert "(devenu négatif)" in out.text and "devenu négatif" in out.html
    _, body = chat_lines(out.subject, rows)
    assert body.count("Grève chez Lidl") == 1 and "(+2)" in body


def test_digest_says_why_in_text_and_html_escaped():
    why = {"sentiment": ["rappelle 12", "<b>décevant</b>"], "tags": {"crisis": ["rappelle 12"], "legal": ["x"]}}
    row = replace(mention(snippet="", marks=()), why=why)
    out = render_digest(digest(row), locale="fr", tz="UTC", email="a@example.com")
    line = "Pourquoi : rappelle 12, <b>décevant</b> · #crisis: rappelle 12"
    assert line in out.text
    assert "<b>décevant" not in out.html and "&lt;b&gt;décevant&lt;/b&gt;" in out.html
    assert 'title="rappelle 12, &lt;b&gt;décevant&lt;/b&gt; · #crisis: rappelle 12"' in out.html
    # A tag the mention does not carry is not explained.
    assert "#legal" not in out.text
