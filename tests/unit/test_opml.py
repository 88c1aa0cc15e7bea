"""OPML: reading readers' exports, writing ours, round-trip, and refusing hostile documents."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.catalog.opml import OpmlFeed, read_opml, write_opml
from erepwatch.errors import InvalidInputError

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News" title="News">
      <outline type="rss" text="Le Monde" title="Le Monde" xmlUrl="https://www.lemonde.fr/rss/une.xml"
               htmlUrl="https://www.lemonde.fr/"/>
      <outline text="Deeper">
        <outline type="rss" text="BBC" xmlurl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
      </outline>
    </outline>
    <outline type="atom" text="A blog" url="https://blog.example/atom.xml"/>
    <outline type="rss" text="Duplicate" xmlUrl="https://www.lemonde.fr/rss/une.xml"/>
    <outline text="A folder without feeds"/>
  </body>
</opml>"""


def test_reader_export_is_flattened_with_categories():
    feeds = read_opml(READER_EXPORT)
    assert [(f.url, f.title, f.category) for f in feeds] == [
        ("https://www.lemonde.fr/rss/une.xml", "Le Monde", "News"),
        ("https://feeds.bbci.co.uk/news/world/rss.xml", "BBC", "Deeper"),
        ("https://blog.example/atom.xml", "A blog", None),
    ]
    assert feeds[0].html_url == "https://www.lemonde.fr/"
    assert all(f.kind == "feed" and f.watch is None for f in feeds)


def test_round_trip_keeps_search_feed_attributes():
    feeds = [
        OpmlFeed("https://a.example/feed.xml", "A & B <news>", "https://a.example/"),
        OpmlFeed("https://news.google.com/rss/search?q=acme&hl=fr&gl=FR&ceid=FR:fr", "ACME · Google News fr-FR",
                 category="watch: ACME", kind="search", watch="ACME", provider="google-news", interval=900),
    ]  # fmt: skip
    assert read_opml(write_opml(feeds)) == feeds


urls = st.builds(
    "https://{}.example/{}".format,
    st.text("abcdefghij", min_size=1, max_size=8),
    st.text("abcXYZ019_/?=&.-", max_size=20),
)
titles = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(str.strip)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(urls, titles, st.sampled_from([None, "News", "Tech"])), max_size=8, unique_by=lambda t: t[0]))
def test_round_trip_property(rows):
    feeds = [OpmlFeed(url, title.strip(), category=cat) for url, title, cat in rows]
    # Feeds are grouped by folder on the way out, so only the order may change.
    assert sorted(read_opml(write_opml(feeds)), key=repr) == sorted(feeds, key=repr)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<opml version="2.0"><body><outline type="rss" text="&lol9;" xmlUrl="https://x.example/"/></body></opml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline type="rss" text="&secret;" xmlUrl="https://x.example/"/></body></opml>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/evil.dtd">
<opml version="2.0"><body><outline type="rss" text="x" xmlUrl="https://x.example/"/></body></opml>"""


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (BILLION_LAUGHS, "entities"),
        (EXTERNAL_ENTITY, "entities"),
        (b"<opml><body><outline", "not well-formed"),
        (b"<rss version='2.0'/>", "not OPML"),
    ],
    ids=["billion-laughs", "external-entity", "truncated", "not-opml"],
)
def test_hostile_or_broken_documents_are_refused(doc, message):
    with pytest.raises(InvalidInputError, match=message):
        read_opml(doc)


def test_external_dtd_is_never_fetched():
    # expat does not load external DTDs; the document is read without them.
    assert [f.url for f in read_opml(EXTERNAL_DTD)] == ["https://x.example/"]
