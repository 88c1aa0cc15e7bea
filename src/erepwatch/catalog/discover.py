"""Feed auto-discovery: the feeds a web page announces with ``<link rel="alternate" type="…">``.

The convention (RSS Autodiscovery, https://www.rssboard.org/rss-autodiscovery, and the HTML standard's
``rel=alternate``) is a ``<link>`` in the page's head with a feed MIME type and an ``href`` relative to the
page (or to its ``<base href>``). YouTube channel pages announce their channel feed this way, which is how a
``/@handle`` URL finds its ``channel_id``. Parsing is selectolax (Lexbor), which tolerates any HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from erepwatch.catalog import youtube

__all__ = ["FEED_TYPES", "DiscoveredFeed", "discover_feeds"]

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",
    "application/rdf+xml": "rdf",
    "text/xml": "rss",
    "application/xml": "rss",
}


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    url: str
    title: str | None
    format: str  # rss | atom | json | rdf


def discover_feeds(html: bytes | str, page_url: str) -> list[DiscoveredFeed]:
    """The feeds announced by the page, in page order, each URL once; a YouTube page URL gives its feed first."""
    found: dict[str, DiscoveredFeed] = {}
    direct = youtube.feed_url_for(page_url)
    if direct:
        found[direct] = DiscoveredFeed(direct, None, "atom")
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    tree = LexborHTMLParser(text)
    base = page_url
    base_node = tree.css_first("base[href]")
    if base_node is not None and base_node.attributes.get("href"):
        base = urljoin(page_url, base_node.attributes["href"] or "")
    for node in tree.css("link[href]"):
        attrs = node.attributes
        rels = {r.lower() for r in (attrs.get("rel") or "").split()}
        kind = FEED_TYPES.get((attrs.get("type") or "").split(";")[0].strip().lower())
        if "alternate" not in rels or kind is None or "stylesheet" in rels:
            continue
        url = urljoin(base, (attrs.get("href") or "").strip())
        if urlsplit(url).scheme not in {"http", "https"} or url in found:
            continue
        title = (attrs.get("title") or "").strip() or None
        found[url] = DiscoveredFeed(url, title, kind)
    return list(found.values())
