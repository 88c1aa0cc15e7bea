"""Feed auto-discovery: the feeds a web page announces with ``<link rel="alternate" type="…">``, then the
feeds it links to with a plain ``<a href>`` (a site's RSS index page, such as ``/rss/``, lists its feeds so).

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

__all__ = ["FEED_TYPES", "DiscoveredFeed", "discover_feeds", "linked_feed_format"]

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",
    "application/rdf+xml": "rdf",
    "text/xml": "rss",
    "application/xml": "rss",
}


#: The last path segment of a link to a feed: by extension, or the names blog engines give (WordPress /feed/).
_FEED_EXTENSIONS = {".rss": "rss", ".xml": "rss", ".atom": "atom", ".rdf": "rdf"}
_FEED_NAMES = {"feed": "rss", "rss2": "rss", "atom": "atom", "rss.xml": "rss", "feed.xml": "rss", "atom.xml": "atom"}
#: XML files that are never feeds.
_NOT_FEEDS = ("sitemap", "opensearch", "manifest", "browserconfig", "oembed")


def linked_feed_format(url: str) -> str | None:
    """The format of the feed a plain link seems to point to, None when it does not look like one."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    name = path.rsplit("/", 1)[-1].lower()
    if any(word in name for word in _NOT_FEEDS):
        return None
    if name in _FEED_NAMES:
        return _FEED_NAMES[name]
    dot = name.rfind(".")
    if dot > 0 and name[dot:] in _FEED_EXTENSIONS:
        return _FEED_EXTENSIONS[name[dot:]]
    query = parts.query.lower()
    if "format=rss" in query or "feed=rss" in query or "format=atom" in query:
        return "atom" if "atom" in query else "rss"
    return None


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
    page = page_url.split("#")[0]
    for node in tree.css("a[href]"):
        url = urljoin(base, (node.attributes.get("href") or "").strip()).split("#")[0]
        if urlsplit(url).scheme not in {"http", "https"} or url in found or url == page:
            continue
        kind = FEED_TYPES.get((node.attributes.get("type") or "").split(";")[0].strip().lower())
        kind = kind or linked_feed_format(url)
        if kind is None:
            continue
        title = " ".join((node.text(deep=True) or "").split()) or (node.attributes.get("title") or "").strip() or None
        found[url] = DiscoveredFeed(url, title, kind)
    return list(found.values())
