"""Feed-derived text is hostile: the sanitisation tests of feedparser's corpus and hand-made feeds (script in a
title, ``javascript:`` and ``data:`` links, event handlers, markup in the snippet) go through a real poll into the
pages and the Atom feeds; nothing may come out as markup, script or a dangerous URL."""

from __future__ import annotations

from email.utils import format_datetime

import feedparser
import lxml.html
import pytest
from starlette.testclient import TestClient

from tests.conftest import CORPUS
from tests.integration.webapp import NOW, make_app, open_corpus

SANITIZE = CORPUS / "feedparser-tests" / "wellformed" / "sanitize"
PREFIXES = ("entry_title_", "entry_summary_", "entry_content_", "item_description_", "item_fullitem_", "item_body_")

HOSTILE = [
    ('Acme <script>alert("title")</script><img src=x onerror=alert(1)>', "javascript:alert(document.cookie)"),
    ("Acme \"><svg/onload=alert(2)> l'épreuve", " JaVaScRiPt:alert(1)"),
    ("Acme <a href='javascript:alert(3)'>clic</a>", "data:text/html,<script>alert(4)</script>"),
    ("Acme </title><style>body{display:none}</style>", "https://ok.example/acme?a=1&b=<x>"),
]


def _hostile_feed() -> bytes:
    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    description = esc("Acme <iframe src=javascript:alert(5)></iframe> <b onclick=alert(6)>gras</b> " * 2)
    publisher = esc('<i>Évil</i> "Press"')
    items = "".join(
        f"<item><title>{esc(title)}</title><link>{esc(link)}</link><guid isPermaLink='false'>hostile-{i}</guid>"
        f"<pubDate>{format_datetime(NOW)}</pubDate>"
        f"<description>{description}</description><source url='javascript:alert(7)'>{publisher}</source></item>"
        for i, (title, link) in enumerate(HOSTILE)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title><link>https://h.example/'
        f"</link><description>x</description>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def client(cli, server, env, tmp_path):
    files = sorted(p for p in SANITIZE.iterdir() if p.name.startswith(PREFIXES))
    assert len(files) > 100
    cli("watch", "add", "hostile", "--query", "safe OR acme OR crazy OR description OR gras")
    server.routes["/hostile.xml"] = (200, {"Content-Type": "application/rss+xml"}, _hostile_feed())
    cli("source", "add", server.url("/hostile.xml"), "--no-check")
    for path in files:
        rel = path.relative_to(CORPUS).as_posix()
        cli("source", "add", server.url(rel), "--name", path.stem, "--no-check")
    cli("poll", "--all")
    for corpus in open_corpus(env, tmp_path / "data"):
        with TestClient(make_app(corpus), base_url="http://127.0.0.1") as c:
            yield c


def _dangerous(html: str) -> list[str]:
    found = []
    doc = lxml.html.document_fromstring(html)
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in ("iframe", "object", "embed", "img", "style", "base", "meta") and el.tag != "meta":
            found.append(f"<{el.tag}>")
        if el.tag == "script" and el.get("src") != "/static/app.js":
            found.append("<script>")
        if el.tag == "svg" and "chart" not in (el.get("class") or ""):
            found.append("<svg>")
        for name, value in el.attrib.items():
            if name.lower().startswith("on") or name.lower() == "style":
                found.append(f"{el.tag}[{name}]")
            if name in ("href", "src", "action", "formaction") and "".join(value.split()).lower().startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                found.append(f"{el.tag}[{name}={value}]")
    return found


def test_hostile_documents_never_become_markup(client):
    rows = client.get("/api/v1/mentions", params={"limit": 200}).json()["items"]
    titles = " ".join(r["title"] for r in rows)
    assert "alert(" in titles or "<script" in titles or "onerror" in titles  # the hostile text is stored as text
    assert len(rows) >= 5
    for path in ("/", "/?q=acme", "/?watch=hostile", "/trends", "/sources", "/?hidden=1", "/groups", "/watches"):
        page = client.get(path)
        assert page.status_code == 200
        assert _dangerous(page.text) == [], path
    hostile = client.get("/", params={"q": "acme"}).text
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in hostile or "&lt;script&gt;" in hostile
    # A javascript: or data: link is shown as plain text, never as a link.
    doc = lxml.html.document_fromstring(hostile)
    links = [a.get("href") for a in doc.iter("a")]
    assert all(not h.lower().lstrip().startswith(("javascript", "data")) for h in links)
    assert any(h.startswith("https://ok.example/acme") for h in links)

    for path in ("/feeds/all.atom", "/feeds/hostile.atom"):
        feed = feedparser.parse(client.get(path).content, sanitize_html=False)
        assert not feed.bozo, feed.get("bozo_exception")
        for entry in feed.entries:
            for link in entry.get("links", []):
                assert link["href"].startswith(("http://", "https://")), link
        titles = [e.title for e in feed.entries]
        assert any("<script>" in t for t in titles)  # still text: Atom's type="text" keeps it inert
