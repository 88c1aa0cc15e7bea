"""Canonical links and publisher suffixes (issue #4, part 1)."""

from __future__ import annotations

import base64
import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.ingest.canonical import canonical_url, clean_url, item_urls, publisher_domain, split_publisher
from tests.conftest import parsed_corpus


def _b64(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


# An old-style Google News article id: protobuf bytes around the target URL, base64url-encoded.
_GN_PROTO = "\x08\x13\x22\x2bhttps://www.lemonde.fr/article/123.html\xd2\x01\x00"

CANONICAL_CASES = [
    ("case-port-fragment", "HTTP://WWW.Example.COM:80/a/b?z=1&a=2#frag", "http://example.com/a/b?a=2&z=1"),
    ("https-default-port", "https://news.example.org:443/x", "https://news.example.org/x"),
    ("other-port-kept", "http://example.com:8080/p", "http://example.com:8080/p"),
    ("empty-path", "https://example.com", "https://example.com/"),
    ("utm-removed", "https://ex.com/a?utm_source=rss&utm_medium=feed&id=42", "https://ex.com/a?id=42"),
    (
        "click-ids-removed",
        "https://ex.com/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&igshid=5&ref_src=6&msclkid=7",
        "https://ex.com/a",
    ),
    ("matomo-hubspot-removed", "https://ex.com/a?pk_campaign=x&mtm_source=y&_hsenc=z&xtor=RSS-1", "https://ex.com/a"),
    ("content-params-kept", "https://ex.com/article.php?page=2&id=7", "https://ex.com/article.php?id=7&page=2"),
    ("share-kept-off-google", "https://ex.com/a?share=1", "https://ex.com/a?share=1"),
    ("idna-and-utf8-path", "https://exämple.com/é", "https://xn--exmple-cua.com/%C3%A9"),
    (
        "google-url-q",
        "https://www.google.com/url?q=https://www.lemonde.fr/a.html%3Futm_source%3Dx&sa=D",
        "https://lemonde.fr/a.html",
    ),
    (
        "google-alerts-url",
        "https://www.google.com/url?rct=j&sa=t&url=https://investorplace.com/2019/07/slack/&ct=ga&usg=AFQ",
        "https://investorplace.com/2019/07/slack/",
    ),
    ("google-fr-tld", "https://www.google.fr/url?url=https%3A%2F%2Fex.com%2Fa", "https://ex.com/a"),
    (
        "bing-apiclick",
        "https://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&url=https%3a%2f%2fex.com%2fa%3futm_source%3dbing&c=1",
        "https://ex.com/a",
    ),
    (
        "bing-ck",
        f"https://www.bing.com/ck/a?!&&p=abc&u=a1{_b64('https://ex.org/x?id=1')}&ntb=1",
        "https://ex.org/x?id=1",
    ),
    (
        "facebook-l-php",
        "https://l.facebook.com/l.php?u=https%3A%2F%2Fex.com%2Fn%3Ffbclid%3Dabc&h=AT0",
        "https://ex.com/n",
    ),
    ("youtube-redirect", "https://www.youtube.com/redirect?q=https%3A%2F%2Fex.com%2Fv&event=x", "https://ex.com/v"),
    ("duckduckgo", "https://duckduckgo.com/l/?uddg=https%3A%2F%2Fex.com%2Fd&rut=1", "https://ex.com/d"),
    (
        "google-news-old-id",
        "https://news.google.com/rss/articles/" + _b64(_GN_PROTO) + "?oc=5",
        "https://lemonde.fr/article/123.html",
    ),
    (
        "google-news-opaque-id-kept",
        "https://news.google.com/rss/articles/AU_yqLxyz?oc=5",
        "https://news.google.com/rss/articles/AU_yqLxyz",
    ),
    (
        "wrapper-without-target-kept",
        "https://www.google.com/url?q=javascript:alert(1)",
        "https://google.com/url?q=javascript:alert(1)",
    ),
    ("amp-segment", "https://www.bbc.co.uk/news/amp/world-123", "https://bbc.co.uk/news/world-123"),
    ("amp-trailing", "https://ex.com/2024/01/story/amp/", "https://ex.com/2024/01/story/"),
    ("amp-host", "https://amp.theguardian.com/world/story", "https://theguardian.com/world/story"),
    ("amp-query-flag", "https://ex.com/story?amp", "https://ex.com/story"),
    ("amp-query-outputtype", "https://ex.com/story?outputType=amp&id=3", "https://ex.com/story?id=3"),
    ("amp-suffix", "https://ex.com/2024/story.amp.html", "https://ex.com/2024/story.html"),
    ("amp-cache", "https://www-ex-com.cdn.ampproject.org/c/s/www.ex.com/story/amp/", "https://ex.com/story/"),
    ("google-amp-viewer", "https://www.google.com/amp/s/www.ex.com/story.amp", "https://ex.com/story"),
    ("amp-word-in-slug-kept", "https://ex.com/amplifier-review", "https://ex.com/amplifier-review"),
    ("ipv6", "https://[::1]:443/x", "https://[::1]/x"),
]

UNUSABLE = [
    ("ftp", "ftp://example.com/file"),
    ("mailto", "mailto:a@example.com"),
    ("no-scheme", "example.com/a"),
    ("no-host", "http:///path"),
    ("text", "not a url at all"),
    ("empty", ""),
    ("bad-port", "http://example.com:99999999/"),
    ("javascript", "javascript:alert(1)"),
]


@pytest.mark.parametrize(("url", "expected"), [c[1:] for c in CANONICAL_CASES], ids=[c[0] for c in CANONICAL_CASES])
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url", [c[1] for c in UNUSABLE], ids=[c[0] for c in UNUSABLE])
def test_unusable_urls_give_none(url: str) -> None:
    assert canonical_url(url) is None


def test_variants_of_one_story_share_a_key() -> None:
    variants = [
        "https://www.lemonde.fr/economie/article/2025/03/01/acme.html",
        "https://lemonde.fr/economie/article/2025/03/01/acme.html?utm_source=twitter&utm_medium=social",
        "https://www.lemonde.fr/economie/article/2025/03/01/acme.html#xtor=RSS-3208",
        "https://www.google.com/url?q=https://www.lemonde.fr/economie/article/2025/03/01/acme.html&sa=U",
        "https://www.lemonde.fr/economie/amp/article/2025/03/01/acme.html",
        "HTTPS://WWW.LEMONDE.FR:443/economie/article/2025/03/01/acme.html?fbclid=IwAR0",
    ]
    assert len({canonical_url(v) for v in variants}) == 1


URL_PARTS = st.sampled_from(["http", "https", "HTTP", "ftp", ""])
URLISH = st.builds(
    lambda scheme, host, path, query, frag: f"{scheme}://{host}/{path}?{query}#{frag}",
    URL_PARTS,
    st.sampled_from(["www.ex.com", "EX.com:80", "amp.ex.org", "google.com", "l.facebook.com", "", "[::1]", "é.fr"]),
    st.text(max_size=20),
    st.lists(
        st.tuples(st.sampled_from(["utm_source", "q", "url", "u", "amp", "id", "a", ""]), st.text(max_size=15)),
        max_size=4,
    ).map(lambda kv: "&".join(f"{k}={v}" for k, v in kv)),
    st.text(max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), URLISH))
def test_never_raises_and_is_idempotent(text: str) -> None:
    once = canonical_url(text)
    if once is not None:
        assert canonical_url(once) == once
        assert once.startswith(("http://", "https://"))
        assert "#" not in once


PUBLISHER_CASES = [
    (
        "google-news-suffix",
        ("Acme rappelle 10 000 produits - Le Monde", "Le Monde", "https://www.lemonde.fr"),
        ("Acme rappelle 10 000 produits", "Le Monde", "lemonde.fr"),
    ),
    (
        "suffix-spelled-as-domain",
        ("Acme recalls units - lemonde.fr", None, "https://www.lemonde.fr"),
        ("Acme recalls units", "lemonde.fr", "lemonde.fr"),
    ),
    (
        "suffix-name-with-tld",
        ("Acme recalls units - Le Figaro.fr", None, "https://www.lefigaro.fr/"),
        ("Acme recalls units", "Le Figaro.fr", "lefigaro.fr"),
    ),
    (
        "en-dash-and-case",
        ("Acme beats forecasts – bbc news", "BBC News", "https://www.bbc.co.uk"),
        ("Acme beats forecasts", "BBC News", "bbc.co.uk"),
    ),
    (
        "headline-with-dash-kept",
        ("Paris - Marseille : le match reporté", "Le Figaro", "https://www.lefigaro.fr"),
        ("Paris - Marseille : le match reporté", "Le Figaro", "lefigaro.fr"),
    ),
    (
        "headline-with-dash-and-suffix",
        ("PSG - OM : le match reporté - Le Figaro", "Le Figaro", "https://www.lefigaro.fr"),
        ("PSG - OM : le match reporté", "Le Figaro", "lefigaro.fr"),
    ),
    ("no-source-never-cut", ("Acme - Reuters", None, None), ("Acme - Reuters", None, None)),
    (
        "other-publisher-not-cut",
        ("Acme wins award - Reuters", "Le Monde", "https://lemonde.fr"),
        ("Acme wins award - Reuters", "Le Monde", "lemonde.fr"),
    ),
    ("title-is-only-publisher", ("Le Monde", "Le Monde", None), ("Le Monde", "Le Monde", None)),
    (
        "co-uk-core-label",
        ("Story - The Guardian", None, "https://www.theguardian.co.uk"),
        ("Story", "The Guardian", "theguardian.co.uk"),
    ),
]


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in PUBLISHER_CASES], ids=[c[0] for c in PUBLISHER_CASES])
def test_split_publisher(args: tuple, expected: tuple) -> None:
    assert split_publisher(*args) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.lemonde.fr/x", "lemonde.fr"),
        ("http://Blog.Example.COM.", "blog.example.com"),
        (None, None),
        ("nope", None),
    ],
    ids=["www", "subdomain-case-dot", "none", "not-url"],
)
def test_publisher_domain(url: str | None, expected: str | None) -> None:
    assert publisher_domain(url) == expected


@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=20)), st.one_of(st.none(), st.text(max_size=30)))
def test_split_publisher_never_raises_and_only_shortens(title: str, name: str | None, url: str | None) -> None:
    head, _, _ = split_publisher(title, name, url)
    assert head == title.strip() or (head.strip() != "" and title.strip().startswith(head))


URLISH_WWW = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}/{path}?{query}",
    st.sampled_from(["http", "https"]),
    st.sampled_from(["www.ex.com", "WWW.Ex.com:443", "www.amp.ex.org", "amp.www.ex.org", "www.google.com", "www.com",
                     "u@www.ex.com", "www.youtube.com", "www.é.fr", "ex.com"]),
    st.text(max_size=20),
    st.lists(st.tuples(st.sampled_from(["utm_source", "q", "url", "amp", "id", "hl"]), st.text(max_size=15)),
             max_size=3).map(lambda kv: "&".join(f"{k}={v}" for k, v in kv)),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), URLISH, URLISH_WWW))
def test_item_urls_are_the_key_and_the_clean_link(text: str) -> None:
    # The key is derived from the clean link (normalisation's hot path); it must be what canonical_url gives.
    assert item_urls(text) == (canonical_url(text), clean_url(text))


@functools.cache
def corpus_links() -> tuple[str, ...]:
    """Every link, GUID and source link of the corpus's entries, as the parser gives them (read once)."""
    links = []
    for feed in parsed_corpus():
        links += [link for e in feed.entries for link in (e.orig_link, e.link, e.guid, e.source_url) if link]
    assert len(links) > 5000
    return tuple(links)


def test_item_urls_agree_on_every_corpus_link() -> None:
    for link in corpus_links():
        assert item_urls(link) == (canonical_url(link), clean_url(link)), link


_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
PLAINISH = st.builds(
    lambda scheme, labels, path, query, fragment: f"{scheme}://{'.'.join(labels)}{path}{query}{fragment}",
    st.sampled_from(["http", "https"]),
    st.lists(
        st.one_of(_LABEL, st.sampled_from(["www", "amp", "google", "com", "cdn", "ampproject", "org"])),
        min_size=1,
        max_size=4,
    ),
    st.one_of(
        st.just(""),
        st.from_regex(r"/[A-Za-z0-9._~/-]{0,25}", fullmatch=True),
        st.sampled_from(["/amp", "/x.amp.html", "/amp/s/a.b/c", "/a/./b", "/a/../b", "/url"]),
    ),
    st.one_of(
        st.just(""),
        st.from_regex(r"\?[A-Za-z0-9._~=&-]{0,20}", fullmatch=True),
        st.sampled_from(
            [
                "?",
                "?utm_source=rss&b=2&a=1",
                "?wt_mc=rss.ho.beitrag.rdf",
                "?q=https",
                "?url=http&q=x",
                "?amp=1&outputType=amp",
                "?a&a=&b==c&&",
                "?gclid=1&fbclid=2&ref=x",
                "?si=1&feature=share",
            ]
        ),
    ),
    st.one_of(st.just(""), st.from_regex(r"#[!-~]{0,6}", fullmatch=True)),
)


def _plain_path_agrees(link: str) -> None:
    from erepwatch.ingest.canonical import _canonicalise_once, _canonicalise_slow

    for bare_host in (True, False):
        assert _canonicalise_once(link, bare_host=bare_host) == _canonicalise_slow(link, bare_host=bare_host), link


@settings(max_examples=500, deadline=None)
@given(st.one_of(PLAINISH, URLISH, URLISH_WWW))
def test_plain_links_skip_w3lib_with_the_same_result(link: str) -> None:
    _plain_path_agrees(link)


def test_plain_links_skip_w3lib_with_the_same_result_on_every_corpus_link() -> None:
    for link in corpus_links():
        _plain_path_agrees(link.strip())


@settings(max_examples=300, deadline=None)
@given(st.one_of(PLAINISH, URLISH, URLISH_WWW, st.text(max_size=40)))
def test_publisher_domain_is_the_hostname_rule_whatever_the_shortcut(link: str) -> None:
    # A plain link's host is read off the pattern: it must be urlsplit's hostname, lower-case, without "www.".
    from urllib.parse import urlsplit

    try:
        host = urlsplit(link.strip()).hostname
    except ValueError:
        host = None
    if host:
        host = host.lower().rstrip(".")
        host = host[4:] if host.startswith("www.") and host.count(".") >= 2 else host
    assert publisher_domain(link) == (host or None)
