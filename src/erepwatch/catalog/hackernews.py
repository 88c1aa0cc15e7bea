"""Hacker News through hnrss.org: ``https://hnrss.org/newest?q=…`` (stories) and ``/newcomments?q=…``.

- Query: hnrss passes ``q`` to Algolia's HN search, which ANDs words and knows neither ``OR``, ``-``,
  ``site:`` nor ``intitle:``. So each alternative of the query gets its own feed (``a OR b`` → two feeds),
  exclusions and ``site:`` are left to the matcher, and ``intitle:`` searches anywhere. Quoted phrases are
  kept: Algolia either honours them or ANDs their words, both of which bring every item the phrase would.
- Feeds: stories (``newest``) and comments (``newcomments``), where most brand mentions on HN are.
- Items: stories link to the article, comments to news.ycombinator.com/item?id=…; 20 items per feed.
- Politeness: one request at a time, 5 s apart (hnrss.org is one volunteer-run server).
"""

from __future__ import annotations

from erepwatch.catalog.base import Provider, SearchFeed, SearchTarget, query_string
from erepwatch.catalog.translate import Dialect, translate

ORIGIN = "https://hnrss.org"
DIALECT = Dialect(or_op=None, not_prefix=None, site=None, intitle=None)
KINDS = ("newest", "newcomments")


def build(target: SearchTarget) -> list[SearchFeed]:
    translation = translate(target.query, DIALECT)
    many = len(translation.queries) > 1
    feeds = []
    for i, query in enumerate(translation.queries, 1):
        part = f" {i}/{len(translation.queries)}" if many else ""
        for kind in KINDS:
            url = f"{ORIGIN}/{kind}?{query_string({'q': query})}"
            feeds.append(SearchFeed("hackernews", f"{kind}{part}", url, translation.approximations))
    return feeds


PROVIDER = Provider(
    name="hackernews",
    title="Hacker News",
    hosts=("hnrss.org",),
    build=build,
    about="new stories and comments via hnrss.org; one feed per OR alternative",
)
