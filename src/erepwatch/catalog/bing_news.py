"""Bing News search RSS: ``https://www.bing.com/news/search?q=…&format=rss&setlang=…&cc=…``.

- Query: Bing understands quotes, ``OR``, ``-``, ``site:`` and ``intitle:``; an excluded group is left to the
  matcher, as on Google.
- Editions: ``setlang`` (language) and ``cc`` (country), one feed per edition of the watch (see locales.py).
- Items: links are ``bing.com/news/apiclick.aspx?…&url=<target>`` redirects, unwrapped by canonical_url. The
  publisher is in a ``<News:Source>`` element our parser does not read; the item's domain stands for it.
- Politeness: one request at a time, 10 s apart; Bing answers bursts with 429.
"""

from __future__ import annotations

from erepwatch.catalog.base import Provider, SearchFeed, SearchTarget, query_string
from erepwatch.catalog.locales import editions
from erepwatch.catalog.translate import Dialect, translate

BASE = "https://www.bing.com/news/search"
DIALECT = Dialect()


def build(target: SearchTarget) -> list[SearchFeed]:
    translation = translate(target.query, DIALECT)
    feeds = []
    for query in translation.queries:
        for lang, region in editions(target.languages, target.regions):
            params = {"q": query, "format": "rss", "setlang": lang, "cc": region}
            url = f"{BASE}?{query_string(params)}"
            feeds.append(SearchFeed("bing-news", f"{lang}-{region}", url, translation.approximations, lang, region))
    return feeds


PROVIDER = Provider(
    name="bing-news",
    title="Bing News",
    hosts=("www.bing.com",),
    build=build,
    about="news search RSS per language and country; apiclick.aspx links unwrapped",
)
