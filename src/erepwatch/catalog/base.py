"""What every provider module declares, and the search feed it produces for a watch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from erepwatch.analyze.query import Node

__all__ = ["Provider", "SearchFeed", "SearchTarget", "feed_name", "query_string", "rebase_url", "slot_of"]

#: Between a watch's name and the feed's slot in a search source's name: "ACME · Google News fr-FR".
NAME_SEPARATOR = " · "


@dataclass(frozen=True, slots=True)
class SearchTarget:
    """What a provider needs to build a watch's feeds."""

    query: Node
    languages: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    #: provider-specific choices: {"mastodon": ("mastodon.social",), "subreddit": ("france",)}
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchFeed:
    provider: str
    #: stable within the watch and provider whatever the query ("fr-FR", "newcomments", "r/france 2/3"):
    #: how ``refresh`` finds the feed to update when the query changes.
    slot: str
    url: str
    approximations: tuple[str, ...] = ()
    language: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    title: str
    hosts: tuple[str, ...]
    build: Callable[[SearchTarget], list[SearchFeed]]
    #: part of ``source add-search``'s default set (Mastodon needs an instance named, so it is not).
    default: bool = True
    #: read the options back from a feed URL, so a query edit keeps the subreddit or instance chosen.
    options_from_url: Callable[[str], Mapping[str, tuple[str, ...]]] | None = None
    about: str = ""


def query_string(params: Mapping[str, str]) -> str:
    # %20 for spaces and ':' kept readable: both are what the providers' own search pages produce.
    return urlencode(params, quote_via=quote, safe=":")


def rebase_url(url: str, base: str | None) -> str:
    """``url`` served from ``base`` (scheme and host; a caching proxy or a test server), path and query kept."""
    if not base:
        return url
    b = urlsplit(base)
    u = urlsplit(url)
    return urlunsplit((b.scheme, b.netloc, b.path.rstrip("/") + u.path, u.query, ""))


def feed_name(watch_name: str, provider: Provider, slot: str) -> str:
    suffix = f"{NAME_SEPARATOR}{provider.title} {slot}".rstrip()
    return watch_name[: 200 - len(suffix)] + suffix


def slot_of(source_name: str, provider: Provider) -> str | None:
    """The slot written in a search source's name by :func:`feed_name`, whatever the watch is called now."""
    _, sep, tail = source_name.rpartition(NAME_SEPARATOR)
    prefix = provider.title + " "
    if not sep or not (tail + " ").startswith(prefix):
        return None
    return tail[len(prefix) :].strip()
