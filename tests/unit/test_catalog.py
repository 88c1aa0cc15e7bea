"""The search-feed catalog: query translation per provider, editions, URLs, discovery, providers' parsing quirks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from erepwatch.analyze.query import parse_query
from erepwatch.catalog import (
    DEFAULT_PROVIDERS,
    PROVIDERS,
    bing_news,
    feeds_for_watch,
    get_provider,
    google_news,
    hackernews,
    reddit,
    youtube,
)
from erepwatch.catalog.base import feed_name, rebase_url, slot_of
from erepwatch.catalog.discover import discover_feeds
from erepwatch.catalog.google_alerts import is_alerts_feed
from erepwatch.catalog.locales import editions
from erepwatch.catalog.translate import hashtags, translate
from erepwatch.errors import InvalidInputError
from erepwatch.ingest.items import items_from_feed
from erepwatch.ingest.parse import parse_feed
from erepwatch.ingest.politeness import HOST_RULES
from tests.conftest import FEEDS

DATA = Path(__file__).resolve().parents[1] / "data" / "providers"

# query → (Google News / Bing, Reddit, Hacker News queries)
TRANSLATIONS = [
    ("acme", "acme", "acme", ["acme"]),
    ('"acme corp"', '"acme corp"', '"acme corp"', ['"acme corp"']),
    ("acme -scam", "acme -scam", "acme NOT scam", ["acme"]),
    ('acme -"fake news"', 'acme -"fake news"', 'acme NOT "fake news"', ["acme"]),
    ("acme OR globex", "acme OR globex", "acme OR globex", ["acme", "globex"]),
    ("acme (recall OR scam)", "acme (recall OR scam)", "acme (recall OR scam)", ["acme recall", "acme scam"]),
    ("acme site:lemonde.fr", "acme site:lemonde.fr", "acme site:lemonde.fr", ["acme"]),
    ("acme -site:acme.com", "acme -site:acme.com", "acme NOT site:acme.com", ["acme"]),
    ("intitle:acme recall", "intitle:acme recall", "title:acme recall", ["acme recall"]),
    ("acme -(spam OR scam)", "acme -spam -scam", "acme NOT spam NOT scam", ["acme"]),
    ("acme -(cheap shoes)", "acme", "acme", ["acme"]),
    ("site:acme.com", "site:acme.com", "site:acme.com", []),
    ("coca-cola l'oréal", "coca-cola l'oréal", "coca-cola l'oréal", ["coca-cola l'oréal"]),
    ("(a b) OR c", "(a b) OR c", "(a b) OR c", ["a b", "c"]),
]
IDS = [
    "word", "phrase", "exclusion", "excluded-phrase", "or", "and-of-or", "site", "minus-site", "intitle",
    "de-morgan", "excluded-group", "site-only", "hyphen-elision", "or-of-and",
]  # fmt: skip


@pytest.mark.parametrize(("query", "news", "reddit_q", "hn"), TRANSLATIONS, ids=IDS)
def test_translation_table(query, news, reddit_q, hn):
    node = parse_query(query)
    assert translate(node, google_news.DIALECT).queries == (news,)
    assert translate(node, bing_news.DIALECT).queries == (news,)
    assert translate(node, reddit.DIALECT).queries == (reddit_q,)
    assert list(translate(node, hackernews.DIALECT).queries) == hn


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("acme -scam", "exclusions are not supported"),
        ("acme site:x.com", "site: is not supported"),
        ("intitle:acme", "intitle: is not supported"),
        ("a OR b", "2 alternatives"),
        ("site:acme.com", "nothing left to search for"),
    ],
    ids=["exclusion", "site", "intitle", "or-split", "nothing-left"],
)
def test_hackernews_says_what_it_widened(query, note):
    notes = translate(parse_query(query), hackernews.DIALECT).approximations
    assert any(note in n for n in notes), notes


def test_exact_translations_report_nothing():
    assert translate(parse_query('"acme corp" OR acme -scam site:x.fr'), google_news.DIALECT).approximations == ()


def test_too_many_alternatives_are_capped_and_said():
    node = parse_query("(a OR b OR c) (d OR e OR f)")
    translation = translate(node, hackernews.DIALECT)
    assert len(translation.queries) == hackernews.DIALECT.max_queries
    assert any("first 6 of 9" in n for n in translation.approximations)


@pytest.mark.parametrize(
    ("langs", "regions", "expected"),
    [
        ([], [], [("en", "US")]),
        (["fr"], [], [("fr", "FR")]),
        (["en"], [], [("en", "US")]),
        ([], ["CA"], [("en", "CA"), ("fr", "CA")]),
        ([], ["US"], [("en", "US")]),
        (["fr", "en"], ["FR", "CA"], [("fr", "FR"), ("fr", "CA"), ("en", "CA")]),
        (["en"], ["FR"], [("en", "US")]),
        (["fr", "en"], ["GB"], [("en", "GB"), ("fr", "FR")]),
        (["sw"], ["TZ"], [("sw", "TZ")]),
    ],
    ids=["none", "fr", "en", "ca-only", "us-only", "fr-en-fr-ca", "en-not-spoken-in-fr", "fr-home", "unknown-region"],
)
def test_editions(langs, regions, expected):
    assert editions(langs, regions) == expected


@pytest.mark.parametrize(
    ("lang", "region", "hl", "ceid"),
    [
        ("fr", "FR", "fr", "FR:fr"),
        ("fr", "CA", "fr-CA", "CA:fr"),
        ("fr", "BE", "fr", "BE:fr"),
        ("en", "US", "en-US", "US:en"),
        ("en", "GB", "en-GB", "GB:en"),
        ("en", "CA", "en-CA", "CA:en"),
        ("pt", "BR", "pt-BR", "BR:pt-419"),
        ("es", "MX", "es-419", "MX:es-419"),
        ("es", "ES", "es", "ES:es"),
        ("de", "DE", "de", "DE:de"),
    ],
    ids=["fr-FR", "fr-CA", "fr-BE", "en-US", "en-GB", "en-CA", "pt-BR", "es-MX", "es-ES", "de-DE"],
)
def test_google_news_editions_are_consistent(lang, region, hl, ceid):
    assert google_news.edition_params(lang, region) == {"hl": hl, "gl": region, "ceid": ceid}


def _watch(query: str, languages=(), regions=()) -> SimpleNamespace:
    return SimpleNamespace(query=query, languages=list(languages), regions=list(regions))


def test_feeds_for_watch_builds_each_providers_urls():
    feeds = feeds_for_watch(_watch('"acme corp" -scam', ["fr"], ["FR", "CA"]), options={"subreddit": ["france"]})
    by = {(f.provider, f.slot): f.url for f in feeds}
    assert set(by) == {
        ("google-news", "fr-FR"), ("google-news", "fr-CA"), ("bing-news", "fr-FR"), ("bing-news", "fr-CA"),
        ("reddit", "all"), ("reddit", "r/france"), ("hackernews", "newest"), ("hackernews", "newcomments"),
    }  # fmt: skip
    google = urlsplit(by[("google-news", "fr-CA")])
    assert (google.scheme, google.netloc, google.path) == ("https", "news.google.com", "/rss/search")
    assert parse_qs(google.query) == {"q": ['"acme corp" -scam'], "hl": ["fr-CA"], "gl": ["CA"], "ceid": ["CA:fr"]}
    bing = urlsplit(by[("bing-news", "fr-FR")])
    assert bing.netloc + bing.path == "www.bing.com/news/search"
    assert parse_qs(bing.query) == {"q": ['"acme corp" -scam'], "format": ["rss"], "setlang": ["fr"], "cc": ["FR"]}
    sub = urlsplit(by[("reddit", "r/france")])
    assert sub.path == "/r/france/search.rss"
    assert parse_qs(sub.query) == {"q": ['"acme corp" NOT scam'], "restrict_sr": ["on"], "sort": ["new"]}
    assert by[("hackernews", "newcomments")] == "https://hnrss.org/newcomments?q=%22acme%20corp%22"


def test_default_providers_and_mastodon_on_demand():
    assert set(DEFAULT_PROVIDERS) == {"google-news", "bing-news", "reddit", "hackernews"}
    plain = {f.provider for f in feeds_for_watch(_watch("acme"))}
    assert plain == set(DEFAULT_PROVIDERS)
    feeds = feeds_for_watch(_watch('"Acme Corp" OR acme'), options={"mastodon": ["https://Mastodon.Social/"]})
    assert [f.url for f in feeds if f.provider == "mastodon"] == [
        "https://mastodon.social/tags/AcmeCorp.rss",
        "https://mastodon.social/tags/acme.rss",
    ]


@pytest.mark.parametrize(
    ("query", "tags"),
    [("acme", ["acme"]), ('"Acme Corp" -scam', ["AcmeCorp"]), ("acme OR ACME OR coca-cola", ["acme", "cocacola"]),
     ("site:acme.com", [])],
    ids=["word", "phrase", "dedup-and-hyphen", "nothing"],
)  # fmt: skip
def test_hashtags(query, tags):
    assert hashtags(parse_query(query)) == tags


@pytest.mark.parametrize("bad", ["not a host", "http://", "-bad-.com"], ids=["spaces", "empty", "hyphens"])
def test_mastodon_instance_is_checked(bad):
    with pytest.raises(InvalidInputError):
        feeds_for_watch(_watch("acme"), ["mastodon"], options={"mastodon": [bad]})


def test_subreddit_is_checked():
    with pytest.raises(InvalidInputError):
        feeds_for_watch(_watch("acme"), ["reddit"], options={"subreddit": ["no/slash"]})


def test_unknown_provider_and_aliases():
    assert get_provider("HN").name == "hackernews"
    assert get_provider("google").name == "google-news"
    with pytest.raises(InvalidInputError, match="unknown provider"):
        get_provider("altavista")


def test_rebase_keeps_path_and_query():
    url = "https://news.google.com/rss/search?q=acme&hl=fr"
    assert rebase_url(url, "http://127.0.0.1:8000") == "http://127.0.0.1:8000/rss/search?q=acme&hl=fr"
    assert rebase_url(url, None) == url


def test_names_carry_the_slot_back():
    provider = PROVIDERS["hackernews"]
    name = feed_name("ACME · Paris", provider, "newest 1/2")
    assert name == "ACME · Paris · Hacker News newest 1/2"
    assert slot_of(name, provider) == "newest 1/2"
    assert slot_of("some feed", provider) is None
    assert len(feed_name("x" * 300, provider, "newest")) == 200


def test_every_provider_host_has_a_politeness_rule():
    hosts = {h for p in PROVIDERS.values() for h in p.hosts} | set(youtube.HOSTS)
    assert hosts <= set(HOST_RULES)


# --- discovery, YouTube, Google Alerts URLs -----------------------------------------------------------------

PAGE = b"""<!doctype html><html><head><base href="https://blog.example/sub/">
<link rel="alternate" type="application/rss+xml" title="Posts" href="feed.xml">
<link rel="alternate" type="application/atom+xml" href="https://blog.example/atom.xml">
<link rel="Alternate" type="application/feed+json; charset=utf-8" href="/feed.json">
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
<link rel="alternate stylesheet" type="application/rss+xml" href="/odd.xml">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="application/rss+xml" href="feed.xml">
</head><body><p>hello</body></html>"""


def test_discover_reads_alternate_links():
    found = discover_feeds(PAGE, "https://blog.example/sub/page.html")
    assert [(f.url, f.format, f.title) for f in found] == [
        ("https://blog.example/sub/feed.xml", "rss", "Posts"),
        ("https://blog.example/atom.xml", "atom", None),
        ("https://blog.example/feed.json", "json", None),
    ]


def test_discover_on_a_youtube_channel_page():
    page = (
        b'<html><head><link rel="alternate" type="application/rss+xml" title="RSS" '
        b'href="https://www.youtube.com/feeds/videos.xml?channel_id=UCxxxxxxxxxxxxxxxxxxxxxx"></head></html>'
    )
    found = discover_feeds(page, "https://www.youtube.com/@acme")
    assert [f.url for f in found] == ["https://www.youtube.com/feeds/videos.xml?channel_id=UCxxxxxxxxxxxxxxxxxxxxxx"]


@pytest.mark.parametrize(
    ("url", "feed"),
    [
        ("https://www.youtube.com/channel/UC7_gcs09iThXybpVgjHZ_7g",
         youtube.channel_feed_url("UC7_gcs09iThXybpVgjHZ_7g")),
        ("https://youtube.com/playlist?list=PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf",
         youtube.playlist_feed_url("PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf")),
        ("https://www.youtube.com/@acme", None),
        ("https://vimeo.com/channel/UC7_gcs09iThXybpVgjHZ_7g", None),
    ],
    ids=["channel", "playlist", "handle-needs-discovery", "other-site"],
)  # fmt: skip
def test_youtube_feed_url_for(url, feed):
    assert youtube.feed_url_for(url) == feed


def test_is_alerts_feed():
    assert is_alerts_feed("https://www.google.com/alerts/feeds/04175468913983673025/4428013283581841004")
    assert not is_alerts_feed("https://www.google.com/search?q=acme")


# --- the providers' parsing quirks, through the real parse and normalize stages ---------------------------

NOW = datetime(2025, 11, 10, 12, 0, tzinfo=UTC)


def _items(path: Path):
    feed = parse_feed(path.read_bytes(), {"content-type": "application/rss+xml"}, url="https://example/")
    return items_from_feed(feed, fetched_at=NOW)


def test_google_news_publisher_and_article_ids():
    items = _items(DATA / "google-news-search-fr.xml")
    first, second, opaque = items
    assert first.title == "Acme rappelle ses croissants après une intoxication"
    assert first.publisher == "Le Parisien"
    assert first.url == "https://www.leparisien.fr/economie/acme-rappelle-ses-croissants-10-11-2025.php"
    assert second.title == "Paris - Marseille : Acme ouvre une boulangerie"  # only the publisher suffix goes
    assert second.publisher == "Le Monde.fr" and second.publisher_domain == "lemonde.fr"
    assert opaque.url is not None and opaque.url.startswith("https://news.google.com/rss/articles/AU_yqL")


def test_bing_news_links_are_unwrapped():
    items = _items(DATA / "bing-news-search-en.xml")
    assert [i.url for i in items] == [
        "https://www.example-times.com/business/acme-recall",
        "https://daily.example.org/2025/11/acme-buzz",
    ]
    assert items[0].publisher_domain == "example-times.com"


def test_google_alerts_feed_links_unwrapped_and_bold_removed():
    items = _items(FEEDS / "google-alerts-atom-en-01.xml")
    assert items and all(i.url and "google.com" not in i.url for i in items)
    assert items[1].url == "https://investorplace.com/2019/07/slack-stock-truly-compelling/"
    assert all("<b>" not in i.title for i in items)
    assert items[1].title == "Slack Stock Has a Compelling Story and the Numbers to Back It Up"


def test_reddit_search_atom_and_hn_feeds_parse():
    reddit_items = _items(FEEDS / "reddit-search-atom-01.atom")
    assert [i.url for i in reddit_items] == ["https://www.reddit.com/r/kevincox/comments/qksbf1/announcing_feedmail/"]
    story, comment = _items(DATA / "hnrss-newest.xml")[0], _items(DATA / "hnrss-newcomments.xml")[0]
    assert story.url == "https://github.com/acme-bakery/inventory" and story.author == "breadhacker"
    assert "Acme" in comment.text and comment.url == "https://news.ycombinator.com/item?id=45800123"


def test_mastodon_items_have_no_title_but_text():
    (post,) = _items(DATA / "mastodon-tag-acme.rss")
    assert post.title == ""
    assert "#acme sont délicieux" in post.text.replace("# acme", "#acme")
