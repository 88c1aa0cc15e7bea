"""Google News search RSS: ``https://news.google.com/rss/search?q=…&hl=…&gl=…&ceid=…``.

- Query: Google's own syntax, so quotes, ``OR``, ``-``, ``site:`` and ``intitle:`` pass as they are; only an
  excluded group ``-(a b)`` is left to the matcher.
- Editions: ``hl`` (interface language), ``gl`` (country) and ``ceid`` (country:language) must agree or Google
  silently serves the US edition. The rule, checked against Google News' own edition links: English editions
  use ``hl=en-XX``; French Canada ``fr-CA``; Portuguese and Latin-American Spanish use Google's script/region
  ids (``BR:pt-419``, ``PT:pt-150``, ``MX:es-419``); Chinese ``zh-Hans``/``zh-Hant``; every other edition is
  ``hl=LANG&gl=XX&ceid=XX:LANG`` (``fr`` in FR, BE, CH).
- At most 100 items per query, newest first, and only recent weeks: a watch whose name is in the news every
  hour will miss items between two polls of a long interval; poll.search_interval is 15 minutes by default.
- Items: titles end with " - Publisher" and a ``<source url="…">Publisher</source>`` names it; both are
  handled by ingest (split_publisher). Links are ``news.google.com/rss/articles/…`` redirects; ids of the
  old form (``CBMi…``) carry the target URL and are decoded by canonical_url, newer opaque ones stay as they are.
- Politeness: one request at a time and at least 60 s apart (ingest/politeness.py).
"""

from __future__ import annotations

from erepwatch.catalog.base import Provider, SearchFeed, SearchTarget, query_string
from erepwatch.catalog.locales import editions
from erepwatch.catalog.translate import Dialect, translate

BASE = "https://news.google.com/rss/search"
DIALECT = Dialect()
MAX_ITEMS = 100

_SPECIAL: dict[tuple[str, str], tuple[str, str]] = {
    ("fr", "CA"): ("fr-CA", "fr"),
    ("pt", "BR"): ("pt-BR", "pt-419"),
    ("pt", "PT"): ("pt-PT", "pt-150"),
    ("zh", "CN"): ("zh-CN", "zh-Hans"),
    ("zh", "SG"): ("zh-SG", "zh-Hans"),
    ("zh", "TW"): ("zh-TW", "zh-Hant"),
    ("zh", "HK"): ("zh-HK", "zh-Hant"),
}


def edition_params(lang: str, region: str) -> dict[str, str]:
    """``hl``, ``gl`` and ``ceid`` of the (language, region) edition."""
    if (lang, region) in _SPECIAL:
        hl, ceid_lang = _SPECIAL[(lang, region)]
    elif lang == "en":
        hl, ceid_lang = f"en-{region}", "en"
    elif lang == "es" and region != "ES":
        hl, ceid_lang = "es-419", "es-419"
    else:
        hl, ceid_lang = lang, lang
    return {"hl": hl, "gl": region, "ceid": f"{region}:{ceid_lang}"}


def build(target: SearchTarget) -> list[SearchFeed]:
    translation = translate(target.query, DIALECT)
    feeds = []
    for query in translation.queries:
        for lang, region in editions(target.languages, target.regions):
            url = f"{BASE}?{query_string({'q': query, **edition_params(lang, region)})}"
            feeds.append(SearchFeed("google-news", f"{lang}-{region}", url, translation.approximations, lang, region))
    return feeds


PROVIDER = Provider(
    name="google-news",
    title="Google News",
    hosts=("news.google.com",),
    build=build,
    about="news search RSS per language and country edition; at most 100 items per query",
)
