"""Mastodon hashtag RSS on an instance the user names: ``https://INSTANCE/tags/TAG.rss``.

Mastodon has no public full-text search feed: hashtags are what an instance will syndicate. Each alternative
of the query gives one tag, from its first word or phrase squashed to letters and digits (``"Acme Corp"`` →
``#AcmeCorp``; Mastodon compares tags case-insensitively). A post that names the brand without the hashtag is
not seen, and an instance only knows the posts that reached it: name a large or local one
(``--mastodon mastodon.social``). Exclusions, ``site:`` and other terms are left to the matcher.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from erepwatch.catalog.base import Provider, SearchFeed, SearchTarget
from erepwatch.catalog.translate import hashtags
from erepwatch.errors import InvalidInputError

_HOST = re.compile(r"^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}|\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$")
NOTE = "hashtag feed: only posts tagged with it, only those the instance knows"


def check_instance(value: str) -> str:
    host = value.strip().lower()
    host = re.sub(r"^https?://", "", host).strip("/")
    if not _HOST.match(host):
        raise InvalidInputError(f"{value!r} is not a Mastodon instance host such as mastodon.social")
    return host


def build(target: SearchTarget) -> list[SearchFeed]:
    instances = [check_instance(i) for i in target.options.get("mastodon", ())]
    tags = hashtags(target.query)
    return [
        SearchFeed("mastodon", f"{instance} #{tag}", f"https://{instance}/tags/{quote(tag)}.rss", (NOTE,))
        for instance in instances
        for tag in tags
    ]


def options_from_url(url: str) -> Mapping[str, tuple[str, ...]]:
    parts = urlsplit(url)
    return {"mastodon": (parts.netloc,)} if parts.path.startswith("/tags/") else {}


PROVIDER = Provider(
    name="mastodon",
    title="Mastodon",
    hosts=(),
    build=build,
    default=False,
    options_from_url=options_from_url,
    about="hashtag RSS on the instances named with --mastodon",
)
