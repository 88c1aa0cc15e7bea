"""YouTube channel and playlist feeds: ``https://www.youtube.com/feeds/videos.xml?channel_id=UC…``.

YouTube has no key-free search feed, so YouTube is not a search provider: a user follows the channels that
talk about them (their own, reviewers', competitors'). Channel pages under ``/@handle`` carry the channel id
only in their HTML: :mod:`erepwatch.catalog.discover` finds it in the page's ``<link rel="alternate">``.

Items are Atom entries with ``yt:videoId`` and a ``media:group`` whose ``media:description`` is the video's
description, which feedparser exposes as the summary (see the corpus' youtube-channel-atom-*.xml).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

FEED = "https://www.youtube.com/feeds/videos.xml"
HOSTS = ("www.youtube.com",)
_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_PLAYLIST_ID = re.compile(r"^(PL|UU|LL|FL|OL)[A-Za-z0-9_-]{10,}$")


def channel_feed_url(channel_id: str) -> str:
    return f"{FEED}?channel_id={channel_id}"


def playlist_feed_url(playlist_id: str) -> str:
    return f"{FEED}?playlist_id={playlist_id}"


def feed_url_for(url: str) -> str | None:
    """The feed of a YouTube channel or playlist page URL, when the URL itself names it; else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host not in {"youtube.com", "www.youtube.com", "m.youtube.com"}:
        return None
    query = parse_qs(parts.query)
    if parts.path == "/feeds/videos.xml":
        return url.strip()
    m = re.match(r"^/channel/([^/]+)", parts.path)
    if m and _CHANNEL_ID.match(m.group(1)):
        return channel_feed_url(m.group(1))
    playlist = (query.get("list") or [""])[0]
    if parts.path in {"/playlist", "/watch"} and _PLAYLIST_ID.match(playlist):
        return playlist_feed_url(playlist)
    return None
