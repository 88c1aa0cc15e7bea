"""The fast path of :func:`erepwatch.ingest.parse.parse_feed`: RSS 0.9x/1.0/2.0 (RDF) and Atom 0.3/1.0 read
with lxml, about thirty times cheaper than feedparser on real feeds.

It reads only what it can read with certainty and says so by returning ``None`` otherwise; the caller then
hands the same bytes to feedparser, which stays the reader of everything uncertain:

* the document is not well-formed XML (no recovery here: a recovered tree may silently lose text);
* it has a DOCTYPE (entities declared there, or HTML entities RSS 0.91 relies on);
* its encoding is not known for sure: a BOM other than UTF-8's, a declaration Python does not know, or an
  HTTP charset that contradicts the document's own declaration (bytes taken as UTF-8 that are not are read as
  windows-1252, feedparser's own next guess, with its warning, when that guess is certain to be feedparser's);
* its root is not a feed format listed above, or an entry uses a construct feedparser interprets in ways
  not reproduced here (Atom 0.3 base64 content, non-text content types).

What it returns equals feedparser's reading after normalisation — same entries, titles, links resolved
against ``xml:base`` and the document URL, GUIDs, dates and text — for every file of the corpus; the test
``tests/unit/test_fastparse.py`` holds it to that. Where it deliberately differs the rule is written there
too (see :data:`RULES`).

The element semantics follow feedparser's, because that is what users of the project have been getting:
elements of the RSS and Atom namespaces are read alike whatever the format (an ``atom:link`` in an RSS item
is a link), the first title wins over ``media:title``, a second description becomes content, a permalink
GUID (or an Atom id) is the link when no link element gives one.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import escape
from html.entities import entitydefs
from html.entities import html5 as html5_entities
from typing import Any
from urllib.parse import urljoin

from feedparser.datetimes import _parse_date as feedparser_date
from feedparser.datetimes.rfc822 import timezone_names as feedparser_zones
from feedparser.encodings import lazy_chardet_encoding
from feedparser.sanitizer import _HTMLSanitizer
from lxml import etree

from erepwatch.records import ParsedEntry, ParsedFeed

__all__ = ["RULES", "read_xml_feed"]

#: Where the fast path is more right than feedparser, on purpose (each one tested).
RULES = {
    "rfc7303-charset": "text/xml without a charset follows the document's own declaration (RFC 7303), "
    "not US-ASCII (RFC 3023, obsolete): feedparser refuses such a windows-1252 feed",
    "html5-entities": "HTML5 named entities (&colon;) are decoded; feedparser knows HTML 4's only and leaves "
    "the others as text",
    "control-characters": "control characters, raw or as references, are dropped (XML forbids them); "
    "feedparser keeps them, and whitespace folding then splits the word they sat in",
    "own-elements": "only an entry's own elements (and its media:group's) give its id, title and link; "
    "feedparser also takes them from an <image> inside a <category> or a nested <id>, and gives the entry's "
    "feedburner:origLink to a stray empty <item/> nested before it",
    "typed-copy": "Atom content of type text stays text; feedparser copies it to the summary without its "
    "type, where it is read as HTML and loses words in brackets",
}

_ATOM10 = "http://www.w3.org/2005/Atom"
_ATOM03 = "http://purl.org/atom/ns#"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RSS10 = "http://purl.org/rss/1.0/"
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
_USERLAND = "backend.userland.com/rss"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Namespaces whose elements feedparser reads as if they had none (its "" prefix).
_PLAIN_NAMESPACES = {
    "",
    "http://backend.userland.com/rss",
    "http://blogs.law.harvard.edu/tech/rss",
    _RSS10,
    _RSS090,
    "http://purl.org/atom/ns#",
    _ATOM10,
    "http://purl.org/rss/1.0/modules/rss091#",
}
_PREFIXES = {
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://search.yahoo.com/mrss": "media",
    "http://search.yahoo.com/mrss/": "media",
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes",
    "http://www.itunes.com/DTDs/PodCast-1.0.dtd": "itunes",
    "http://example.com/DTDs/PodCast-1.0.dtd": "itunes",
    "http://rssnamespace.org/feedburner/ext/1.0": "feedburner",
    "http://www.w3.org/1999/xhtml": "xhtml",
}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_HTML_ELEMENTS = frozenset(_HTMLSanitizer.acceptable_elements)

_DECLARED = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_BOMS = (codecs.BOM_UTF32_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE)

# feedparser's own guess for RSS text fields declared (or assumed) plain: markup or an entity makes it HTML.
_CLOSE_TAG = re.compile(r"</(\w+)>")
_ENTITY = re.compile(r"&#?\w+;")
_TAG_NAME = re.compile(r"</?(\w+)")
_NAMED_ENTITY = re.compile(r"&(\w+);")
#: The C1 controls (U+0080-U+009F) as Latin-1 bytes.
_C1_BYTES = bytes(range(0x80, 0xA0))
_LINK_AMP = re.compile("&([A-Za-z0-9_]+);")
_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")

# XML serialisation closes empty elements as <x/>; an HTML reader takes <iframe/> as an opening tag.
_SELF_CLOSED = re.compile(r"<([A-Za-z][\w.:-]*)(\s[^<>]*?)?/>")
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]
)

_local = threading.local()


def _open_close(m: re.Match[str]) -> str:
    name = m.group(1)
    if name.rpartition(":")[2].lower() in _VOID:
        return m.group(0)
    return f"<{name}{m.group(2) or ''}></{name}>"


class _Uncertain(Exception):
    """Raised inside the reader when feedparser must decide."""


def read_xml_feed(content: bytes, headers: Mapping[str, str], url: str | None) -> ParsedFeed | None:
    """The feed in ``content``, or None when only feedparser can read it with certainty.

    ``headers`` are lower-cased response headers (``content-type`` may carry a charset).
    """
    try:
        return _read(content, headers, url)
    except (_Uncertain, etree.LxmlError, ValueError, LookupError, UnicodeError):
        return None


def _read(content: bytes, headers: Mapping[str, str], url: str | None) -> ParsedFeed:
    if content[:4] in _BOMS or content[:2] in _BOMS:
        raise _Uncertain("UTF-16/32")
    content = content.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")
    head = content[:1024]
    if _DOCTYPE.search(head) or (b"<!" in head and _DOCTYPE.search(content[:8192])):
        raise _Uncertain("DOCTYPE")
    declared = _DECLARED.match(head)
    declared_codec = codecs.lookup(declared.group(1).decode("ascii")).name if declared else None
    charset = _CHARSET.search(headers.get("content-type", ""))
    http_codec = codecs.lookup(charset.group(1)).name if charset else None
    if http_codec and declared_codec and http_codec != declared_codec:
        raise _Uncertain("HTTP charset contradicts the XML declaration")
    override = http_codec if http_codec and not declared_codec and http_codec != "utf-8" else None
    encoding_warning = None
    if declared_codec and declared_codec.startswith(("utf-16", "utf-32")):
        # Without a BOM, a declaration read in one-byte characters cannot be true: UTF-16 or 32 would have
        # written "<?xml" with zero bytes. feedparser then reads the bytes as UTF-8 when they are that; so does
        # this path (anything else stays feedparser's).
        if http_codec or not content.startswith(b"<?xml"):
            raise _Uncertain("UTF-16/32")
        content.decode("utf-8")  # UnicodeDecodeError: feedparser's
        encoding_warning = f"CharacterEncodingOverride: document declared as {declared_codec}, but parsed as utf-8"
        override, declared_codec = "utf-8", None
    encoding = declared_codec or http_codec or "utf-8"
    warning: str | None = encoding_warning
    recoded = None
    try:
        root = etree.fromstring(content, _parser(override))
    except etree.XMLSyntaxError as exc:
        recoded = _as_windows_1252(content, str(exc), headers) if encoding == "utf-8" and not warning else None
        if recoded is not None:
            # UTF-8 now, and read by feedparser's parser as UTF-8 (it fixes UTF-8 read as Latin-1 in its texts)
            content, warning = recoded
            root = etree.fromstring(content, _parser("utf-8"))
        else:
            repair = _repair(content, str(exc))
            if repair is None:
                raise
            content = repair[0]
            root = etree.fromstring(content, _parser(override))
            warning = f"{type(exc).__name__}: {repair[1]}"
    feed = _Reader(encoding, url).feed(root)
    if recoded is not None and not feed.entries:
        raise _Uncertain("a guessed encoding and no entry")  # feedparser calls that a failure: its call
    return replace(feed, warning=warning) if warning else feed


# --- bytes that are not the UTF-8 they are taken for ---------------------------------------------------------
_NOT_UTF8 = ("invalid bytes in character encoding", "input is not proper utf-8")


def _as_windows_1252(content: bytes, error: str, headers: Mapping[str, str]) -> tuple[bytes, str] | None:
    """The document as feedparser reads bytes declared (or taken) as UTF-8 that are not: decoded as windows-1252,
    its next guess (Latin-1 blogs, a CMS's stray bytes), then re-encoded to UTF-8 for the parser, with feedparser's
    warning. None when feedparser would try something else first: a chardet it would ask, or no content type at
    all (it then reads ISO-8859-1), or when the bytes are UTF-8 after all or not windows-1252 either."""
    ctype = headers.get("content-type")
    if ctype is None or lazy_chardet_encoding is not None or not any(m in error.lower() for m in _NOT_UTF8):
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return None  # UTF-8 after all: the error is another one
    try:
        text = content.decode("windows-1252")
    except UnicodeDecodeError:
        return None
    charset = _CHARSET.search(ctype)
    if charset:
        declared_as = charset.group(1)
    elif ctype.split(";")[0].strip().lower().startswith("text/"):
        declared_as = "us-ascii"  # RFC 3023's default for text/*, feedparser's first guess
    else:
        declared = _DECLARED.match(content)
        declared_as = declared.group(1).decode("ascii").lower() if declared else "utf-8"
    return text.encode(
        "utf-8"
    ), f"CharacterEncodingOverride: document declared as {declared_as}, but parsed as windows-1252"


# --- lexical repairs --------------------------------------------------------------------------------------
# Four mistakes real feeds make whose meaning is not in doubt, repaired in the bytes before a second strict
# parse (never lxml's "recover" mode, which guesses at structure and may drop text silently). Anything else
# that is not well-formed goes to feedparser.
#: The control bytes XML forbids (deleted by ``bytes.translate``, in C, where a pattern would test every byte).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_CONTROL_REF = re.compile(rb"&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));")
_CDATA = re.compile(rb"(<!\[CDATA\[.*?\]\]>)", re.DOTALL)
_AMP = re.compile(rb"&(?!#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_NAMED = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset([b"amp", b"lt", b"gt", b"quot", b"apos"])
_REPAIRABLE = (
    "invalid char value",
    "char value",
    "entity",
    "entityref",
    "extra content at the end",
)


def _named(m: re.Match[bytes], changed: list[bytes]) -> bytes:
    name = m.group(1)
    if name in _XML_ENTITIES:
        return m.group(0)
    changed.append(name)
    codepoints = html5_entities.get(name.decode("ascii") + ";")
    if codepoints is None:
        return b"&amp;" + name + b";"  # not an entity at all: the text says "&name;"
    return "".join(f"&#{ord(c)};" for c in codepoints).encode("ascii")


def _repair(content: bytes, error: str) -> tuple[bytes, str] | None:
    """The document with control characters dropped, HTML entities made numeric, stray ``&`` escaped and
    anything after the root element cut, and what was done; None when the error is not one of those."""
    if not any(marker in error.lower() for marker in _REPAIRABLE):
        return None
    done = []
    repaired = content.translate(None, _CONTROL_BYTES)
    if b"&#" in repaired:
        repaired = _CONTROL_REF.sub(b"", repaired)
    if len(repaired) != len(content):
        done.append("control characters dropped")
    parts = _split_cdata(repaired)
    amps = 0
    changed: list[bytes] = []
    for i in range(0, len(parts), 2):  # outside CDATA sections only: inside them "&" is literal
        parts[i], n = _AMP.subn(b"&amp;", parts[i])
        amps += n
        parts[i] = _NAMED.sub(lambda m: _named(m, changed), parts[i])
    if amps:
        done.append("unescaped '&' escaped")
    if changed:
        done.append("HTML entities decoded")
    repaired = b"".join(parts)
    cut = _cut_after_root(repaired)
    if cut != repaired.rstrip():
        done.append("content after the root element ignored")
    return cut, f"{error.split(',')[0]} (repaired: {', '.join(done) or 'nothing'})"


def _split_cdata(content: bytes) -> list[bytes]:
    """``_CDATA.split(content)``: the text outside CDATA sections at even indices, the sections at odd ones. Cut
    with ``find``: the pattern's lazy ``.*?`` tests every byte of a section (5 ms in one feed's inline HTML)."""
    parts: list[bytes] = []
    pos = 0
    while (start := content.find(b"<![CDATA[", pos)) >= 0 and (end := content.find(b"]]>", start + 9)) >= 0:
        parts += (content[pos:start], content[start : end + 3])
        pos = end + 3
    parts.append(content[pos:])
    return parts


_ROOT_END = re.compile(rb"</(rss|feed|(?:[A-Za-z_][\w.-]*:)?RDF)\s*>")


def _cut_after_root(content: bytes) -> bytes:
    last = None
    for last in _ROOT_END.finditer(content):  # noqa: B007 - the last one is wanted
        pass
    return content[: last.end()] if last is not None else content.rstrip()


def _parser(encoding: str | None) -> etree.XMLParser:
    # One parser per thread and encoding: lxml parsers are not shared between threads.
    parsers: dict[str | None, etree.XMLParser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(encoding)
    if parser is None:
        parser = parsers[encoding] = etree.XMLParser(
            encoding=encoding,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            recover=False,
            remove_comments=True,
            remove_pis=True,
            huge_tree=False,
        )
    return parser


_KEYS: dict[str, str] = {}


def _key(tag: Any) -> str:
    """feedparser's name for an element: its local name for the core namespaces, else ``prefix_local``."""
    if not isinstance(tag, str):
        return ""
    key = _KEYS.get(tag)
    if key is None:
        if tag[0] == "{":
            ns, _, local = tag[1:].partition("}")
        else:
            ns, local = "", tag
        local = local.lower()
        if ns in _PLAIN_NAMESPACES or _USERLAND in ns.lower():
            key = local
        else:
            prefix = _PREFIXES.get(ns) or _PREFIXES.get(ns.lower())
            key = f"{prefix}_{local}" if prefix else f"?{ns}_{local}"
        _KEYS[tag] = key
    return key


def _looks_like_html(text: str) -> bool:
    """feedparser's guess, to the letter: a closing tag or an entity, and only known HTML tags and entities."""
    if "<" not in text and "&" not in text:
        return False  # neither pattern can be found: most titles, told in C
    if not (_CLOSE_TAG.search(text) or _ENTITY.search(text)):
        return False
    if any(t.lower() not in _HTML_ELEMENTS for t in _TAG_NAME.findall(text)):
        return False
    return all(e in entitydefs for e in _NAMED_ENTITY.findall(text))


_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}


def _map_type(value: str) -> str:
    value = value.lower()
    return _TYPES.get(value, value)


def _join(base: str, uri: str) -> str:
    """feedparser's join (a scheme's extra slashes dropped, then RFC 3986); an already absolute plain http(s)
    URL comes back unchanged from it, so it skips the work."""
    if _ABSOLUTE.match(uri):
        return uri
    uri = _URI_FIXER.sub(r"\1\3", uri)
    try:
        return urljoin(base, uri)
    except ValueError:
        return ""


def _date(value: str | None) -> datetime | None:
    """feedparser's reading of a date; the two forms nearly every feed uses are read directly."""
    if not value:
        return None
    if _ISO_DATE.match(value):
        parsed_iso = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return parsed_iso.astimezone(UTC).replace(microsecond=0)
    m = _RFC822_DATE.match(value)
    if m:
        day, month, year, hh, mm, ss, zone = m.groups()
        offset = _ZONES.get(zone)
        if offset is None:
            sign = 1 if zone[0] == "+" else -1
            offset = sign * (int(zone[1:3]) * 60 + int(zone[3:5]))
        try:
            local = datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss or 0), tzinfo=UTC)
            return local - timedelta(minutes=offset)
        except (ValueError, OverflowError):
            pass  # feedparser's handlers have their own ideas about impossible dates
    parsed = feedparser_date(value)
    if not parsed:
        return None
    year, month_, day_, hour, minute, second = parsed[:6]
    try:
        return datetime(year, month_, day_, hour, minute, second, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


_ABSOLUTE = re.compile(r"https?://[^/?#;\s\\\[\]@]+(?:/[^?#;\s\\]*)?(?:\?[^#;\s\\]+)?(?:#[^;\s\\]+)?\Z")
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:[Zz]|[+-]\d\d:\d\d)\Z")
_MONTHS = {
    m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}
# Minutes east of UTC; the North American zones (a sixth of the corpus' dates) with feedparser's own offsets.
_ZONES = {"GMT": 0, "UT": 0, "UTC": 0, "Z": 0} | {
    zone.upper(): feedparser_zones[zone] * 60 for zone in ("est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt")
}
_RFC822_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d?) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"(\d\d):(\d\d)(?::(\d\d))? ([+-]\d{4}|GMT|UTC?|Z|[ECMP][SD]T)\Z"
)


_CP1252: dict[int, str] = {c: bytes([c]).decode("cp1252", errors="ignore") or chr(c) for c in range(0x80, 0xA0)}


def _has_c1(latin1: bytes) -> bool:
    """Whether a text holds a C1 control, told in C from its Latin-1 characters (``latin1``: the text encoded to
    ISO-8859-1, the others ignored) by deleting the C1 bytes, at a third of a pattern's search."""
    return len(latin1.translate(None, _C1_BYTES)) != len(latin1)


class _Reader:
    def __init__(self, encoding: str, url: str | None) -> None:
        self.encoding = encoding
        self.url = url or ""
        self.atom = False
        self.has_content = False

    # --- text of an element, as feedparser gives it ------------------------------------------------------

    def _fix(self, text: str) -> str:
        # feedparser repairs UTF-8 read as Latin-1, and maps C1 controls to their windows-1252 characters.
        if text.isascii():
            return text
        # The text's Latin-1 characters, encoded once in C: all of them (the same length) is a text that can be UTF-8
        # read as Latin-1, where a search for a character beyond Latin-1 would read all of a French text; and the
        # same bytes tell whether a C1 control is there, unless the text was repaired (it was encoded twice).
        latin1 = text.encode("iso-8859-1", "ignore")
        if self.encoding == "utf-8" and len(latin1) == len(text):
            try:
                text = latin1.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                latin1 = text.encode("iso-8859-1", "ignore")
        if _has_c1(latin1):
            text = text.translate(_CP1252)
        return text

    def _raw(self, el: Any, xhtml: bool = False) -> str:
        """The element's text, or its inner markup when it holds elements (inline XHTML)."""
        if len(el) == 0 and not xhtml:
            return el.text or ""
        if xhtml:
            children = [c for c in el if isinstance(c.tag, str)]
            if len(children) == 1 and _key(children[0].tag) in {"div", "xhtml_div"} and not (el.text or "").strip():
                el = children[0]
        # Text is escaped again: inside markup, "&lt;b&gt;" is the text "<b>", never a tag.
        parts = [escape(el.text or "", quote=False)]
        for child in el:
            parts.append(etree.tostring(child, encoding=str, with_tail=True))
        return _SELF_CLOSED.sub(_open_close, "".join(parts))

    def _content(self, el: Any, default_type: str) -> tuple[str, str]:
        """(value, type) of a text construct."""
        ctype = _map_type(el.get("type") or default_type)
        mode = el.get("mode")
        if mode == "base64" or not (ctype.startswith("text/") or ctype.endswith("+xml") or ctype.endswith("/xml")):
            raise _Uncertain("base64 content")
        if len(el) and not ctype.endswith("xml"):
            # Elements inside content declared text or HTML: a lone <div> is dropped and its text is the
            # escaped HTML (TypePad does this); any other markup makes the content XHTML. As feedparser does.
            div = el[0]
            if len(el) == 1 and _key(div.tag) in {"div", "xhtml_div"} and len(div) == 0:
                value = self._fix(f"{el.text or ''}{div.text or ''}{div.tail or ''}".strip())
                return value, ctype
            ctype = "application/xhtml+xml"
        value = self._fix(self._raw(el, xhtml=ctype == "application/xhtml+xml" or mode == "xml").strip())
        if not self.atom and ctype == "text/plain" and _looks_like_html(value):
            ctype = "text/html"
        return value, ctype

    def _text(self, el: Any) -> str:
        return self._fix(self._raw(el).strip())

    @staticmethod
    def _base(el: Any, base: str) -> str:
        own = el.get(_XML_BASE) or el.get("base")
        if not own:
            return base
        if not base:
            return _join(base, own)
        joined = _join(base, own)
        return joined if joined.strip().split(":", 1)[0] in _SAFE_SCHEMES else base

    # --- feed -------------------------------------------------------------------------------------------

    def feed(self, root: Any) -> ParsedFeed:
        tag = root.tag
        base = self._base(root, self.url)
        if tag == "rss" or (tag.endswith("}rss") and _USERLAND in tag):
            channel = root.find("channel")
            ns = tag[: tag.index("}") + 1] if tag[0] == "{" else ""
            channel = channel if channel is not None else root.find(f"{ns}channel")
            if channel is None:
                raise _Uncertain("rss without channel")
            items = list(root.iter(f"{ns}item"))
            head = channel
        elif tag == f"{{{_RDF}}}RDF":
            ns = _RSS10 if root.find(f"{{{_RSS10}}}channel") is not None else _RSS090
            head = root.find(f"{{{ns}}}channel")
            if head is None:
                raise _Uncertain("RDF without channel")
            items = list(root.iter(f"{{{ns}}}item"))
        elif tag in (f"{{{_ATOM10}}}feed", f"{{{_ATOM03}}}feed"):
            self.atom = True
            head = root
            items = list(root.iter(f"{{{tag[1:].partition('}')[0]}}}entry"))
        else:
            raise _Uncertain(f"unknown root {tag!r}")
        head_base = self._base(head, base) if head is not root else base
        title = link = language = ttl = None
        for child in head:
            key = _key(child.tag)
            if key == "title" and title is None:
                title = self._content(child, "text/plain")[0]
            elif key == "link" and link is None:
                href = child.get("href")
                rel = child.get("rel", "alternate")
                if href is not None:
                    if rel == "alternate" and _map_type(child.get("type", "text/html")) in _HTML_TYPES:
                        link = _join(self._base(child, head_base), href)
                else:
                    link = _join(self._base(child, head_base), self._text(child)) or None
            elif key == "language" and language is None:
                language = self._text(child)
            elif key == "ttl":
                ttl = self._text(child)
        language = language or root.get(_XML_LANG) or head.get(_XML_LANG)
        # feedparser's "has content" flag is not reset between the channel and the first entry: a channel
        # with two descriptions (itunes:summary + description) makes the first entry's description its summary.
        self.has_content = _channel_has_content(head)
        entries = tuple(
            self.entry(item, self._base(item.getparent(), head_base) if item.getparent() is not head else head_base)
            for item in items
        )
        return ParsedFeed(
            title=title.strip() if title else None,
            link=link or None,
            language=language.strip().lower().replace("_", "-") if language and language.strip() else None,
            entries=entries,
            ttl_minutes=_positive(ttl),
        )

    # --- entry ------------------------------------------------------------------------------------------

    def entry(self, item: Any, base: str) -> ParsedEntry:
        base = self._base(item, base)
        title: tuple[str, str] | None = None
        media_title: tuple[str, str] | None = None
        summary: tuple[str, str] | None = None
        contents: list[tuple[str, str]] = []
        has_content, self.has_content = self.has_content, False
        link: str | None = None
        guid: str | None = item.get(f"{{{_RDF}}}about")
        guid_is_link = False
        guid_link: str | None = None
        published: datetime | None = None
        updated: datetime | None = None
        author: str | None = None
        source_title = source_url = None
        orig_link: str | None = None

        def description(el: Any, default: str) -> None:
            nonlocal summary, has_content
            if summary is not None and not has_content:
                contents.append(self._content(el, "text/plain"))
            else:
                summary = self._content(el, default)

        for key, child in _children(item):
            if key not in _ENTRY_FIELDS and not key.endswith("_source"):
                continue  # category, enclosure, comments…: most of an entry's elements, read by nobody
            if key in ("title", "dc_title"):
                if title is None:
                    title = self._content(child, "text/plain")
            elif key == "media_title":
                media_title = self._content(child, "text/plain")
            elif key == "link":
                href = child.get("href")
                if href is not None:
                    rel = child.get("rel", "alternate")
                    if rel == "alternate" and _map_type(child.get("type", "text/html")) in _HTML_TYPES:
                        link = _join(self._base(child, base), href)
                else:
                    value = self._text(child)
                    value = _join(self._base(child, base), value) if value else value
                    link = value.replace("&amp;", "&")
                    if "&" in link and ";" in link:  # what the pattern needs: most links are spared its call
                        link = _LINK_AMP.sub(r"&\1", link)
            elif key in ("guid", "id"):
                guid_is_link = _attr(child, "ispermalink", "true") == "true"
                value = self._text(child)
                if guid_is_link and value:
                    value = _join(self._base(child, base), value)
                guid = value
                if guid_is_link and guid_link is None:
                    guid_link = value
            elif key in ("description", "dc_description", "media_description"):
                description(child, "text/html")
            elif key in ("summary", "itunes_summary"):
                if summary is not None and not has_content:
                    contents.append(self._content(child, "text/plain"))
                else:
                    summary = self._content(child, "text/plain")
            elif key in ("abstract",):
                summary = self._content(child, "text/plain")
            elif key in ("content_encoded", "fullitem"):
                has_content = True
                contents.append(self._content(child, "text/html"))
                if summary is None:
                    summary = contents[-1]
            elif key == "content":
                has_content = True
                block = self._content(child, "text/plain")
                contents.append(block)
                if summary is None and (block[1] == "text/plain" or block[1] in _HTML_TYPES):
                    summary = block
            elif key in ("body", "xhtml_body"):
                has_content = True
                contents.append(self._content(child, "application/xhtml+xml"))
                if summary is None:
                    summary = contents[-1]
            elif key in ("pubdate", "published", "issued", "dcterms_issued"):
                published = _date(self._text(child))
            elif key in ("updated", "modified", "dc_date", "dcterms_modified", "lastbuilddate"):
                updated = _date(self._text(child))
            elif key in ("author", "dc_creator", "dc_author", "itunes_author", "managingeditor"):
                if author is None:
                    name = child.find(f"{{{child.tag[1:].partition('}')[0]}}}name") if self.atom else None
                    author = self._text(name if name is not None else child) or None
            elif key == "feedburner_origlink":
                orig_link = self._text(child) or None
            elif key == "source":
                source_url = child.get("url")
                source_title = self._text(child) if len(child) == 0 else None
            elif key == "?http://www.bing.com/news/search_source" or child.tag.endswith("}Source"):
                source_title = source_title or self._text(child)
        if link is None and guid_link is not None:
            link = guid_link
        if title is None:
            title = media_title
        title_value, title_type = title or ("", "text/html")
        summary_value, summary_type = summary or ("", "text/html")
        content_value, content_type = "", "text/html"
        for value, ctype in contents:
            if len(value) > len(content_value):
                content_value, content_type = value, ctype
        return ParsedEntry(
            guid=guid.strip() if guid and guid.strip() else None,
            link=link.strip() if link and link.strip() else None,
            title=title_value,
            title_type=title_type,
            summary=summary_value,
            summary_type=summary_type,
            content=content_value,
            content_type=content_type,
            published=published or updated,
            author=author,
            source_title=source_title.strip() if source_title and source_title.strip() else None,
            source_url=source_url.strip() if source_url and source_url.strip() else None,
            orig_link=orig_link.strip() if orig_link and orig_link.strip() else None,
        )


#: Every element name the entry loop below reads (anything else is skipped at once).
_ENTRY_FIELDS = frozenset(
    ["title", "dc_title", "media_title", "link", "guid", "id", "description", "dc_description",
     "media_description", "summary", "itunes_summary", "abstract", "content_encoded", "fullitem", "content",
     "body", "xhtml_body", "pubdate", "published", "issued", "dcterms_issued", "updated", "modified", "dc_date",
     "dcterms_modified", "lastbuilddate", "author", "dc_creator", "dc_author", "itunes_author", "managingeditor",
     "source", "?http://www.bing.com/news/search_source", "feedburner_origlink"]
)  # fmt: skip
_SUMMARY_KEYS = frozenset(["description", "dc_description", "media_description", "summary", "itunes_summary"])
_CONTENT_KEYS = frozenset(["content_encoded", "fullitem", "content", "body", "xhtml_body"])


def _channel_has_content(head: Any) -> bool:
    summary = has_content = False
    for child in head:
        key = _key(child.tag)
        if key in _CONTENT_KEYS:
            has_content = True
        elif key in _SUMMARY_KEYS:
            if summary and not has_content:
                has_content = True
            # A channel's description is stored as its subtitle: only a summary element counts as one.
            summary = summary or key in ("summary", "itunes_summary")
    return has_content


_MEDIA_CONTAINERS = frozenset(
    f"{{{ns}}}{local}" for ns in ("http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss")
    for local in ("group", "content")
)  # fmt: skip


def _children(item: Any) -> list[tuple[str, Any]]:
    """An entry's fields with their names (:func:`_key`): its children, and those of ``media:group`` (YouTube) in
    place. Each element's tag is read once (lxml builds a new string at every read)."""
    out: list[tuple[str, Any]] = []
    keys = _KEYS
    for child in item:
        tag = child.tag
        if tag in _MEDIA_CONTAINERS:
            for c in child:
                inner = c.tag
                if isinstance(inner, str):
                    out.append((keys.get(inner) or _key(inner), c))
        elif isinstance(tag, str):
            out.append((keys.get(tag) or _key(tag), child))
    return out


def _attr(el: Any, name: str, default: str) -> str:
    """An attribute whatever its case: feedparser lower-cases attribute names (isPermalink is common)."""
    for key, value in el.attrib.items():
        if key.lower() == name:
            return str(value)
    return default


def _positive(value: str | None) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


_SAFE_SCHEMES = frozenset(
    [
        "file",
        "ftp",
        "gopher",
        "h323",
        "hdl",
        "http",
        "https",
        "imap",
        "magnet",
        "mailto",
        "mms",
        "news",
        "nntp",
        "prospero",
        "rsync",
        "rtsp",
        "rtspu",
        "sftp",
        "shttp",
        "sip",
        "sips",
        "snews",
        "svn",
        "svn+ssh",
        "telnet",
        "wais",
        "aim",
        "callto",
        "cvs",
        "facetime",
        "feed",
        "git",
        "gtalk",
        "irc",
        "ircs",
        "irc6",
        "itms",
        "msnim",
        "skype",
        "ssh",
        "smb",
        "ymsg",
    ]
)
