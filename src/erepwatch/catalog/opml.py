"""OPML 2.0 import and export of sources (http://opml.org/spec2.opml), so readers' subscriptions come and go.

Import reads every ``<outline>`` with an ``xmlUrl`` (also ``xmlurl``/``url``, which some readers write), at any
depth: folders are flattened, their names kept as the feed's category. Parsing is defusedxml's: a DTD with
entities (billion laughs) or an external entity is refused, never expanded or fetched.

Export writes every source; search feeds carry ``erepwatch:watch``, ``erepwatch:provider`` and
``erepwatch:kind`` attributes in our namespace (OPML 2.0 allows namespaced attributes), so re-importing into
erepwatch restores them while other readers see plain feeds. Reading and writing are pure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from erepwatch.errors import InvalidInputError

__all__ = ["NS", "OpmlFeed", "read_opml", "write_opml"]

NS = "https://github.com/erepwatch/erepwatch/ns/opml"
_EXT = ("watch", "provider", "kind", "interval")
#: A generous cap: big exports hold a few thousand feeds, not millions.
MAX_BYTES = 20 * 2**20
#: Feeds read from one file: a reader's export has hundreds, rarely a few thousand; more is refused whole, in one
#: line, rather than half-imported over minutes.
MAX_FEEDS = 10_000
#: Folders inside folders: readers nest two or three levels; thousands is a hostile file.
MAX_DEPTH = 50


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None = None
    html_url: str | None = None
    category: str | None = None
    kind: str = "feed"
    watch: str | None = None
    provider: str | None = None
    interval: int | None = None


def read_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds of an OPML document, in document order, each URL once."""
    if len(data) > MAX_BYTES:
        raise InvalidInputError(f"OPML file larger than {MAX_BYTES // 2**20} MiB")
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InvalidInputError(f"OPML refused: it declares entities or external references ({exc})") from exc
    except ET.ParseError as exc:
        raise InvalidInputError(f"not well-formed OPML: {exc}") from exc
    if root.tag != "opml":
        raise InvalidInputError(f"not OPML: the root element is <{root.tag}>")
    body = root.find("body")
    feeds: dict[str, OpmlFeed] = {}
    if body is not None:
        _walk(body, None, feeds)
    return list(feeds.values())


def _walk(body: ET.Element, category: str | None, feeds: dict[str, OpmlFeed]) -> None:
    # Depth first in document order, with an explicit stack: a 5,000-deep file costs no recursion.
    stack: list[tuple[Iterator[ET.Element], str | None]] = [(iter(body.findall("outline")), category)]
    while stack:
        nodes, category = stack[-1]
        node = next(nodes, None)
        if node is None:
            stack.pop()
            continue
        attrs = node.attrib
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        if not url and (attrs.get("type") or "").lower() in {"rss", "atom"}:
            url = (attrs.get("url") or "").strip()
        label = (attrs.get("title") or attrs.get("text") or "").strip() or None
        if not url:
            if len(stack) >= MAX_DEPTH:
                raise InvalidInputError(f"OPML outlines nested more than {MAX_DEPTH} levels deep")
            stack.append((iter(node.findall("outline")), label or category))
            continue
        if url in feeds:
            continue
        if len(feeds) >= MAX_FEEDS:
            raise InvalidInputError(f"OPML file with more than {MAX_FEEDS:,} feeds; split it into smaller files")
        ext = {k: attrs.get(f"{{{NS}}}{k}") for k in _EXT}
        interval = ext["interval"]
        feeds[url] = OpmlFeed(
            url=url,
            title=label,
            html_url=(attrs.get("htmlUrl") or "").strip() or None,
            category=category,
            kind=ext["kind"] or "feed",
            watch=ext["watch"],
            provider=ext["provider"],
            interval=int(interval) if interval and interval.isdigit() and len(interval) < 10 else None,
        )


def write_opml(feeds: Iterable[OpmlFeed], *, title: str = "erepwatch sources", now: datetime | None = None) -> bytes:
    """An OPML 2.0 document listing ``feeds``, grouped by category (search feeds under their watch)."""
    ET.register_namespace("erepwatch", NS)
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    if now is not None:
        ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            if feed.category not in folders:
                folders[feed.category] = ET.SubElement(body, "outline", {"text": feed.category})
            parent = folders[feed.category]
        attrs = {"type": "rss", "text": feed.title or feed.url, "title": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.html_url:
            attrs["htmlUrl"] = feed.html_url
        for key in _EXT:
            value = getattr(feed, key)
            if value is not None and not (key == "kind" and value == "feed"):
                attrs[f"{{{NS}}}{key}"] = str(value)
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
