"""Control characters in feed titles and summaries never reach an output: the Atom feed stays well-formed XML,
the page and the digest carry none of them (issue 18 point 9)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from lxml import etree

CONTROLS = "\x00\x01\x07\x08\x1b"


def _feed() -> bytes:
    items = [
        {
            "id": f"c{n}",
            "url": f"https://news.example.com/c{n}",
            "title": f"Acme{CONTROLS} story {n}",
            "content_text": f"Acme did{CONTROLS} something {n}.",
            "date_published": datetime.now(UTC).isoformat(),
        }
        for n in range(3)
    ]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": f"t{CONTROLS}", "items": items}).encode()


def test_atom_page_and_digest_carry_no_control_character(cli, server, env, tmp_path):
    from erepwatch.db.engine import make_engine, session_factory

    server.routes["/controls.json"] = (200, {"Content-Type": "application/feed+json"}, _feed())
    cli("watch", "add", "acme", "--query", "acme")
    cli("recipient", "add", "a@example.com", "--watch", "acme")
    cli("source", "add", server.url("/controls.json"), "--name", "controls", "--no-check")
    cli("poll")
    stored = cli("mentions", "--json").json()
    assert any("\x1b" in m["title"] for m in stored), "the controls are stored as the feed said; outputs drop them"
    from starlette.testclient import TestClient

    from erepwatch.settings import load_settings
    from erepwatch.web.app import create_app
    from erepwatch.web.server import make_config

    engine = make_engine(env)
    try:
        settings = load_settings(environ={"EREPWATCH_DATABASE_URL": env, "EREPWATCH_DATA_DIR": str(tmp_path)})
        app = create_app(make_config(session_factory(engine), settings, clock=lambda: datetime.now(UTC)))
        with TestClient(app, base_url="http://127.0.0.1") as client:
            atom = client.get("/feeds/all.atom").text
            page = client.get("/").text
            api = client.get("/api/v1/mentions").text
    finally:
        engine.dispose()
    root = etree.fromstring(atom.encode())  # strict: one control character would raise here
    titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
    assert any(t and "Acme story" in t for t in titles), titles
    assert "Acme story" in page
    assert not any(c in atom or c in page for c in CONTROLS)
    assert "\\u001b" in api or "Acme story" in api  # JSON escapes what it carries: well-formed either way

    out = tmp_path / "digest.html"
    cli("digest", "preview", "--out", str(out))
    html = out.read_text()
    assert "Acme story" in html, [line for line in html.splitlines() if "cme" in line][:20]
    assert not any(c in html for c in CONTROLS)
