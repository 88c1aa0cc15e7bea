"""The catalog of key-free search feeds: which feeds to poll for a watch, per provider.

Each provider is a small module (its URL template, query translation, politeness and parsing quirks in its
docstring) exposing a :class:`~erepwatch.catalog.base.Provider`. :func:`feeds_for_watch` asks the chosen
providers for the watch's feeds; :mod:`erepwatch.service.search_feeds` stores them as search sources and keeps them in
step with the watch's query, languages and regions.

Not search providers, but part of the catalog: YouTube channel feeds (:mod:`.youtube`), Google Alerts'
delivery feeds and export (:mod:`.google_alerts`), feed discovery in a web page (:mod:`.discover`) and OPML
(:mod:`.opml`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from erepwatch.analyze.query import parse_query
from erepwatch.catalog import bing_news, google_news, hackernews, mastodon, reddit
from erepwatch.catalog.base import Provider, SearchFeed, SearchTarget, rebase_url
from erepwatch.errors import InvalidInputError

__all__ = ["DEFAULT_PROVIDERS", "PROVIDERS", "Provider", "SearchFeed", "feeds_for_watch", "get_provider"]

PROVIDERS: Mapping[str, Provider] = MappingProxyType(
    {p.name: p for p in (google_news.PROVIDER, bing_news.PROVIDER, reddit.PROVIDER, hackernews.PROVIDER,
                         mastodon.PROVIDER)}
)  # fmt: skip
DEFAULT_PROVIDERS: tuple[str, ...] = tuple(name for name, p in PROVIDERS.items() if p.default)


def get_provider(name: str) -> Provider:
    key = name.strip().lower().replace("_", "-")
    aliases = {"google": "google-news", "bing": "bing-news", "hn": "hackernews", "hnrss": "hackernews"}
    provider = PROVIDERS.get(aliases.get(key, key))
    if provider is None:
        raise InvalidInputError(f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}")
    return provider


def feeds_for_watch(
    watch: Any,
    providers: Sequence[str] | None = None,
    *,
    options: Mapping[str, Iterable[str]] | None = None,
    base_url: str | None = None,
) -> list[SearchFeed]:
    """The search feeds of ``watch`` (anything with ``query``, ``languages``, ``regions``) for ``providers``.

    ``providers`` defaults to :data:`DEFAULT_PROVIDERS`, plus Mastodon when ``options`` names an instance.
    ``base_url`` serves every feed from another origin (a caching proxy; the tests' local server).
    """
    opts = {k: tuple(v) for k, v in (options or {}).items()}
    if providers is None:
        providers = [*DEFAULT_PROVIDERS, *(["mastodon"] if opts.get("mastodon") else [])]
    target = SearchTarget(
        query=parse_query(watch.query),
        languages=tuple(watch.languages or ()),
        regions=tuple(watch.regions or ()),
        options=opts,
    )
    feeds: list[SearchFeed] = []
    for name in dict.fromkeys(get_provider(p).name for p in providers):
        for feed in PROVIDERS[name].build(target):
            feeds.append(SearchFeed(feed.provider, feed.slot, rebase_url(feed.url, base_url), feed.approximations,
                                    feed.language, feed.region))  # fmt: skip
    return feeds
