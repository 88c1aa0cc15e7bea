"""The web app's pure parts: language negotiation and the catalog, dates in the reader's zone, highlighting,
safe links, page cursors, URL filters, the login limiter, the suggested exclusion, spike days, chart geometry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from erepwatch.analyze.exclusion import Doc, suggest_exclusion
from erepwatch.errors import ConfigError, InvalidInputError
from erepwatch.service.browse import ListFilter, decode_cursor, encode_cursor
from erepwatch.service.trends import DayCount, WatchTrend, spike_days
from erepwatch.web.base import local_path, marked, safe_href
from erepwatch.web.charts import day_chart, share_bar
from erepwatch.web.i18n import STRINGS, Translator, negotiate, zone
from erepwatch.web.security import LoginLimiter, check_bind, is_loopback


def test_catalogs_have_the_same_keys_and_placeholders():
    import re

    assert STRINGS["fr"].keys() == STRINGS["en"].keys()
    for key, text in STRINGS["fr"].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", STRINGS["en"][key])), key


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "fr"),
        (None, "en-CA,en;q=0.9,fr;q=0.8", "en"),
        (None, "de-DE,de;q=0.9,en;q=0.5,fr;q=0.7", "fr"),
        (None, "fr-CA", "fr"),
        (None, "en;q=bad, fr", "fr"),
        ("en", "fr", "en"),
        ("xx", "en", "en"),
    ],
)
def test_language_from_switch_then_browser_then_french(cookie, header, expected):
    assert negotiate(cookie, header) == expected


def test_dates_in_the_readers_zone_and_language():
    moment = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert Translator("fr", "Europe/Paris").when(moment, now) == "2 mars 00:30"
    assert Translator("en", "America/Toronto").when(moment, now) == "Mar 1, 18:30"
    assert Translator("fr", "UTC").when(moment, datetime(2027, 1, 1, tzinfo=UTC)) == "1 mars 2026 23:30"
    assert zone("Not/AZone") == "Europe/Paris" and zone("Asia/Kolkata") == "Asia/Kolkata"
    assert Translator("fr", "UTC").error("http_5xx") == "le site est en panne"


def test_snippet_marks_are_highlighted_and_everything_else_escaped():
    html = marked('<b>Acme</b> & "co" acme', [[3, 7], [19, 23], [30, 40], [5, 6]])
    assert str(html) == "&lt;b&gt;<mark>Acme</mark>&lt;/b&gt; &amp; &#34;co&#34; <mark>acme</mark>"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://ex.fr/a?b=1", True),
        ("http://ex.fr", True),
        ("javascript:alert(1)", False),
        (" JaVaScRiPt:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,x", False),
        ("//evil.example/x", False),
        ("/relative", False),
        (None, False),
    ],
)
def test_only_http_links_are_links(url, kept):
    assert (safe_href(url) is not None) is kept


def test_redirects_stay_on_site():
    assert local_path("/?watch=a") == "/?watch=a"
    assert local_path("//evil.example") == "/" and local_path("https://evil.example") == "/"
    assert local_path("/\\evil.example") == "/" and local_path(None) == "/"


def test_cursor_round_trip_and_refusal():
    moment = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment, 42)) == (moment, 42)
    for bad in ("nope", encode_cursor(moment, 1)[:-3] + "$$$", "MjAyNg"):
        with pytest.raises(InvalidInputError, match="after"):
            decode_cursor(bad)


def test_filters_from_the_url_and_back():
    params = {"watch": "acme", "sentiment": "negative", "from": "2026-01-01", "to": "2026-01-31", "starred": "1",
              "q": " rappel ", "lang": "fr", "unknown": "x"}  # fmt: skip
    f = ListFilter.from_params(params, tz="Europe/Paris")
    assert (f.watch, f.sentiment, f.start, f.end, f.starred, f.q, f.language) == (
        "acme",
        "negative",
        date(2026, 1, 1),
        date(2026, 1, 31),
        True,
        "rappel",
        "fr",
    )
    assert ListFilter.from_params(f.as_params()) == f.but(tz="UTC")
    with pytest.raises(InvalidInputError, match="sentiment"):
        ListFilter.from_params({"sentiment": "angry"})
    with pytest.raises(InvalidInputError, match="to:"):
        ListFilter.from_params({"to": "31/01/2026"})


def test_login_limiter_counts_failures_per_client_in_a_window():
    limiter = LoginLimiter(attempts=3, window=60)
    for t in (0, 1, 2):
        assert limiter.retry_after("a", now=t) == 0
        limiter.failed("a", now=t)
    assert limiter.retry_after("a", now=3) == 58 and limiter.retry_after("b", now=3) == 0
    assert limiter.retry_after("a", now=61) == 0
    limiter.failed("a", now=62)
    limiter.succeeded("a")
    assert limiter.retry_after("a", now=62) == 0


def test_bind_needs_a_password_off_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    with pytest.raises(ConfigError, match="EREPWATCH_WEB_PASSWORD"):
        check_bind("192.168.1.2:8080", None)
    assert check_bind("127.0.0.2:9000", None) == ("127.0.0.2", 9000)


def test_exclusion_prefers_a_title_word_absent_from_relevant_mentions():
    relevant = [Doc("Acme lance un nouveau produit", "Le produit Acme arrive en magasin.", "a.fr"),
                Doc("Acme recrute à Lyon", "Acme ouvre un site à Lyon.", "b.fr")]  # fmt: skip
    irrelevant = Doc("Le joueur Acme marque un but au match", "Acme, attaquant, a marqué au match du stade.", "c.fr")
    found = suggest_exclusion("acme", irrelevant, relevant)
    assert found is not None and found.kind == "word" and found.value in {"joueur", "marque", "match"}
    assert found.apply_to("acme OR acmé") == f"acme OR acmé -{found.value}"
    # Nothing clean among the words: the publisher, when no relevant mention comes from it.
    same = Doc("Acme recrute", "Acme ouvre un site.", "spam.example")
    site = suggest_exclusion("acme", same, relevant)
    assert site is not None and site.term == "-site:spam.example"
    assert suggest_exclusion("acme", Doc("Acme recrute", "Acme ouvre un site.", "a.fr"), relevant) is None


def test_spikes_judged_against_the_week_before():
    counts = [2, 3, 2, 2, 3, 2, 2, 20, 3, 2]
    assert spike_days(counts) == {7}
    assert spike_days([0] * 7 + [4]) == set()  # under the minimum count
    assert spike_days([1, 1]) == set()


def test_charts_scale_and_mark_spikes():
    days = [DayCount(date(2026, 1, d), negative=d % 3, neutral=1, positive=0) for d in range(1, 11)]
    chart = day_chart(WatchTrend("acme", days, frozenset({date(2026, 1, 5)})), Translator("fr", "UTC"))
    assert chart.top == 3 and len(chart.spikes) == 1 and chart.ticks
    assert all(0 <= b.y <= chart.base and b.h >= 0 for b in chart.bars)
    slices = share_bar([("acme", 3), ("globex", 1)])
    assert [s.percent for s in slices] == [75.0, 25.0] and slices[1].x == slices[0].w
    assert share_bar([]) == []
