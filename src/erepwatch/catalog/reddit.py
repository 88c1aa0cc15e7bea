"""Reddit search RSS: ``https://www.reddit.com/search.rss?q=…&sort=new``, and within chosen subreddits.

- Query: Reddit's search takes quotes, ``OR``, ``NOT`` (not ``-``), ``site:`` (the domain a post links to) and
  ``title:``. Its ``site:`` is about the linked page while our matcher looks at the item's own URL (the
  reddit.com permalink), so a ``site:`` watch finds Reddit posts only through the matcher's other terms.
- Feeds: all of Reddit, and one per subreddit named with ``--subreddit`` (``/r/NAME/search.rss?…&restrict_sr=on``).
  Reddit's ".rss" URLs answer Atom (see the corpus' reddit-search-atom-01.atom).
- Politeness: Reddit allows about ten unauthenticated requests a minute and asks for a descriptive
  User-Agent naming the application and a contact, which the fetcher sends (erepwatch/VERSION (+URL)).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from erepwatch.catalog.base import Provider, SearchFeed, SearchTarget, query_string
from erepwatch.catalog.translate import Dialect, translate
from erepwatch.errors import InvalidInputError

ORIGIN = "https://www.reddit.com"
DIALECT = Dialect(not_prefix="NOT ", intitle="title:")
_SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")


def check_subreddit(name: str) -> str:
    name = name.strip().removeprefix("/").removeprefix("r/")
    if not _SUBREDDIT.match(name):
        raise InvalidInputError(f"{name!r} is not a subreddit name (letters, digits, underscores)")
    return name


def build(target: SearchTarget) -> list[SearchFeed]:
    translation = translate(target.query, DIALECT)
    subreddits = [check_subreddit(s) for s in target.options.get("subreddit", ())]
    many = len(translation.queries) > 1
    feeds = []
    for i, query in enumerate(translation.queries, 1):
        part = f" {i}/{len(translation.queries)}" if many else ""
        url = f"{ORIGIN}/search.rss?{query_string({'q': query, 'sort': 'new'})}"
        feeds.append(SearchFeed("reddit", f"all{part}", url, translation.approximations))
        for sub in subreddits:
            url = f"{ORIGIN}/r/{sub}/search.rss?{query_string({'q': query, 'restrict_sr': 'on', 'sort': 'new'})}"
            feeds.append(SearchFeed("reddit", f"r/{sub}{part}", url, translation.approximations))
    return feeds


def options_from_url(url: str) -> Mapping[str, tuple[str, ...]]:
    m = re.match(r"^/r/([^/]+)/search\.rss$", urlsplit(url).path)
    return {"subreddit": (m.group(1),)} if m else {}


PROVIDER = Provider(
    name="reddit",
    title="Reddit",
    hosts=("www.reddit.com",),
    build=build,
    options_from_url=options_from_url,
    about="newest posts matching the query, site-wide and in the subreddits named with --subreddit",
)
