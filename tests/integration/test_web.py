"""The web app against real corpus data polled from the local feed server, on SQLite and PostgreSQL: filters,
full-text search and keyset pages; acts and their undo; the suggested exclusion; trends; Atom feeds; the
management pages; the unsubscribe link; security (CSRF, origin, host, password, login limit, headers)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import feedparser
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.integration.webapp import NOW, fill, make_app, open_corpus

BASE = "http://127.0.0.1"


@pytest.fixture
def corpus(cli, server, env, tmp_path):
    fill(cli, server)
    yield from open_corpus(env, tmp_path / "data")


@pytest.fixture
def client(corpus):
    with TestClient(make_app(corpus), base_url=BASE) as c:
        yield c


def csrf_of(client: TestClient, path: str = "/") -> str:
    page = client.get(path).text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def all_rows(client: TestClient, **params) -> list[dict]:
    rows, after = [], None
    while True:
        query = {**params, "limit": 7, **({"after": after} if after else {})}
        page = client.get("/api/v1/mentions", params=query).json()
        rows += page["items"]
        after = page["next"]
        if not after:
            return rows


def folded(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def test_list_filters_search_and_keyset_pages(client, corpus):
    everything = client.get("/api/v1/mentions", params={"limit": 200}).json()
    assert everything["next"] is None and len(everything["items"]) > 20
    # Keyset pages of 7 give the same rows in the same order, none twice.
    paged = all_rows(client)
    assert [r["id"] for r in paged] == [r["id"] for r in everything["items"]]
    published = [r["published"] for r in paged]
    assert published == sorted(published, reverse=True)

    negative = all_rows(client, sentiment="negative")
    assert negative and all(r["sentiment"] == "negative" for r in negative)
    both = all_rows(client, sentiment="negative", watch="economie")
    assert both and all(r["watch"] == "economie" and r["sentiment"] == "negative" for r in both)
    assert len(both) < len(negative)

    one = everything["items"][3]
    site = all_rows(client, source=one["domain"])
    assert one["id"] in [r["id"] for r in site] and all(r["domain"] == one["domain"] for r in site)
    assert all(r["language"] == "fr" for r in all_rows(client, lang="fr"))
    day = one["published"][:10]
    dated = all_rows(client, **{"from": day, "to": day})
    assert one["id"] in [r["id"] for r in dated]
    assert {r["published"][:10] for r in dated} <= {
        day,
        str(date.fromisoformat(day).replace(day=date.fromisoformat(day).day)),
    }

    # Full-text search with the database's own index: a word of a title finds it, accents folded on SQLite.
    word = max(re.findall(r"\w{7,}", one["title"]), key=len)
    found = all_rows(client, q=word)
    assert one["id"] in [r["id"] for r in found]
    from erepwatch.db.models import Item, Mention

    with corpus.sessions() as session:
        for row in found:
            title, text = session.execute(
                select(Item.title, Item.text).join(Mention, Mention.item_id == Item.id).where(Mention.id == row["id"])
            ).one()
            assert folded(word) in folded(title + " " + text)
    assert all_rows(client, q="zzzqqqxxw") == []

    # The page shows the same, with the filters kept in the URL and in the form.
    page = client.get("/", params={"sentiment": "negative", "watch": "economie"})
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert '<option value="negative" selected>' in page.text
    assert both[0]["title"].split()[0] in page.text
    english = client.get("/", headers={"Accept-Language": "en-CA,en;q=0.9,fr;q=0.5"})
    assert ('<html lang="en">' in english.text and "Next page" in english.text) or "Trends" in english.text

    bad = client.get("/api/v1/mentions", params={"from": "yesterday"})
    assert bad.status_code == 400 and bad.json() == {"error": "from: 'yesterday' is not a date such as 2026-03-31"}
    assert client.get("/?sentiment=awful").status_code == 400


def test_irrelevant_leaves_lists_and_counts_suggests_an_exclusion_and_undoes(client, corpus):
    from erepwatch.db.models import Watch
    from erepwatch.notify import queries

    rows = all_rows(client, watch="economie")
    target = rows[0]
    counted = client.get("/api/v1/trends", params={"watch": "economie", "days": "90"}).json()["share"][0]["mentions"]
    csrf = csrf_of(client)
    answer = client.post(
        f"/mentions/{target['id']}/irrelevant", data={"csrf": csrf, "next": "/?watch=economie"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"/mentions/{target['id']}/exclusion")
    assert target["id"] not in [r["id"] for r in all_rows(client, watch="economie")]
    assert target["id"] in [r["id"] for r in all_rows(client, hidden="1")]
    with corpus.sessions() as session:
        watch_id = session.scalar(select(Watch.id).where(Watch.name == "economie"))
        found = queries.found_between(session, [watch_id], NOW.replace(year=2000), NOW.replace(year=2030))
        assert target["id"] not in [r.id for r in found]
    trends = client.get("/api/v1/trends", params={"watch": "economie", "days": "90"}).json()
    assert trends["share"][0]["mentions"] == counted - 1

    proposal = client.get(f"/api/v1/mentions/{target['id']}/exclusion").json()
    assert proposal["term"] and proposal["new_query"].endswith(proposal["term"])
    assert proposal["still_matches_it"] is False and proposal["matched_after"] < proposal["matched_before"]
    page = client.get(answer.headers["location"])
    assert proposal["new_query"] in page.text
    apply = client.post(
        "/exclusion",
        data={
            "csrf": csrf,
            "watch": "economie",
            "query": proposal["query"],
            "new_query": proposal["new_query"],
            "next": "/",
        },
        follow_redirects=False,
    )
    assert apply.status_code == 303
    assert client.get("/api/v1/watches/economie").json()["query"] == proposal["new_query"]

    journal = client.get("/api/v1/acts").json()
    assert [a["kind"] for a in journal[:2]] == ["exclude", "irrelevant"]
    assert all(a["actor"].startswith("web ") and a["at"] for a in journal[:2])
    for act in journal[:2]:
        assert (
            client.post(
                f"/acts/{act['id']}/undo", data={"csrf": csrf, "next": "/acts"}, follow_redirects=False
            ).status_code
            == 303
        )
    assert client.get("/api/v1/watches/economie").json()["query"] == proposal["query"]
    assert target["id"] in [r["id"] for r in all_rows(client, watch="economie")]
    journal = client.get("/api/v1/acts").json()
    assert all(a["undone_at"] for a in journal[:2])
    assert "annulée" in client.get("/acts").text

    # Star through the API, filter, unstar; mute a site, then undo it.
    other = rows[1]
    star = client.post(f"/api/v1/mentions/{other['id']}/star", json={})
    assert star.status_code == 200 and star.json()["kind"] == "star"
    assert [r["id"] for r in all_rows(client, starred="1")] == [other["id"]]
    assert client.post(f"/api/v1/mentions/{other['id']}/star", json={}).status_code == 409
    assert client.delete(f"/api/v1/mentions/{other['id']}/star").status_code == 200
    assert all_rows(client, starred="1") == []
    domain = other["domain"]
    muted = client.post("/api/v1/watches/economie/mutes", json={"domain": domain})
    assert muted.status_code == 200
    assert all(r["domain"] != domain for r in all_rows(client, watch="economie"))
    client.post(f"/api/v1/acts/{muted.json()['id']}/undo", json={})
    assert any(r["domain"] == domain for r in all_rows(client, watch="economie"))


def test_trends_page_and_api(client):
    data = client.get("/api/v1/trends", params={"days": "30"}).json()
    assert {w["watch"] for w in data["watches"]} == {"economie", "gouvernement"}
    assert all(len(w["days"]) == 30 for w in data["watches"])
    assert sum(s["mentions"] for s in data["share"]) == sum(w["total"] for w in data["watches"]) > 0
    assert data["publishers"] and data["publishers"][0]["mentions"] >= data["publishers"][-1]["mentions"]
    page = client.get("/trends", params={"watch": ["economie", "gouvernement"], "days": "7"})
    assert page.status_code == 200 and page.text.count('<svg class="chart"') == 2 and "Part de voix" in page.text
    assert client.get("/api/v1/trends", params={"days": "12"}).status_code == 400


def test_atom_feeds_are_valid_and_their_ids_survive_backup_and_restore(client, cli, server, tmp_path, env):
    for path in ("/feeds/all.atom", "/feeds/economie.atom"):
        answer = client.get(path)
        assert answer.headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(answer.content)
        assert not feed.bozo, feed.get("bozo_exception")
        assert any(link["rel"] == "self" and link["href"] == BASE + path for link in feed.feed.links)
        assert feed.entries and all(e.id.startswith("urn:uuid:") for e in feed.entries)
    ids = [e.id for e in feedparser.parse(client.get("/feeds/economie.atom").content).entries]
    assert len(set(ids)) == len(ids)
    assert client.get("/feed.atom", follow_redirects=False).headers["location"] == "/feeds/all.atom"
    assert client.get("/feeds/nosuchwatch.atom").status_code == 404

    # Restore the configuration into a fresh database and poll again: new database ids, same entry ids.
    backup = tmp_path / "backup.json"
    cli("export", "--out", str(backup))
    fresh = f"sqlite:///{tmp_path / 'restored.db'}"
    cli("--database", fresh, "init")
    cli("--database", fresh, "import", str(backup))
    cli("--database", fresh, "poll", "--all")
    gen = open_corpus(fresh, tmp_path / "data")
    restored = next(gen)
    with TestClient(make_app(restored), base_url=BASE) as other:
        again = [e.id for e in feedparser.parse(other.get("/feeds/economie.atom").content).entries]
    assert again == ids


def test_manage_watches_sources_recipients_and_unsubscribe(client, corpus, server):
    csrf = csrf_of(client, "/watches/new")
    bad = client.post("/watches", data={"csrf": csrf, "name": "acme", "query": 'acme OR "brand', "lang": "fr"})
    assert bad.status_code == 400 and "colonne 9" in bad.text and 'class="caret"' in bad.text
    good = client.post(
        "/watches",
        data={"csrf": csrf, "name": "acme", "query": "acme OR grève", "lang": "fr,en", "tags": "social=grève,syndicat"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    watch = client.get("/api/v1/watches/acme").json()
    assert watch["lang"] == ["fr", "en"] and watch["tags"] == {"social": ["grève", "syndicat"]}
    preview = client.get("/api/v1/preview", params={"query": "grève", "lang": "fr"}).json()
    assert preview["matched"] >= 1 and preview["items"]
    err = client.get("/api/v1/preview", params={"query": "(grève"}).json()
    assert err["column"] == 1
    assert "acme OR grève" in client.get("/watches").text

    # Sources: health in words; a broken source comes back with one click.
    page = client.get("/sources").text
    assert "Fonctionne, dernier succès" in page and "fr-news-franceinfo-eco-01.xml" in page
    added = client.post("/api/v1/sources", json={"url": server.url("/status/500"), "name": "down"})
    assert added.status_code == 201
    from erepwatch.db.models import Source

    with corpus.sessions() as session, session.begin():
        down = session.get(Source, added.json()["id"])
        down.consecutive_failures, down.last_error_kind, down.last_error_message = 9, "http_5xx", "HTTP 500"
    assert "En panne (9 échecs de suite) : le site est en panne" in client.get("/sources").text
    client.post(f"/sources/{added.json()['id']}/enable", data={"csrf": csrf})
    assert client.get("/api/v1/sources").json()[-1]["failures"] == 0
    assert client.post("/sources", data={"csrf": csrf, "url": "ftp://x"}, follow_redirects=True).status_code == 200

    # Recipients: add, edit, then the signed one-click unsubscribe link of the e-mails.
    assert (
        client.post(
            "/recipients",
            data={
                "csrf": csrf,
                "email": "dir@exemple.fr",
                "frequency": "weekly",
                "at": "07:30",
                "tz": "America/Toronto",
                "watches": ["economie"],
                "min_sentiment": "negative",
                "locale": "fr",
            },
            follow_redirects=False,
        ).status_code
        == 303
    )
    row = client.get("/api/v1/recipients").json()[0]
    assert (row["frequency"], row["at"], row["tz"], row["watches"], row["day"]) == (
        "weekly",
        "07:30",
        "America/Toronto",
        ["economie"],
        "monday",
    )
    client.post(
        f"/recipients/{row['id']}",
        data={
            "csrf": csrf,
            "frequency": "daily",
            "at": "08:15",
            "tz": "Europe/Paris",
            "locale": "en",
            "watches": ["economie", "gouvernement"],
        },
    )
    row = client.get("/api/v1/recipients").json()[0]
    assert (row["frequency"], row["at"], row["locale"], len(row["watches"])) == ("daily", "08:15", "en", 2)

    from erepwatch.signing import secret_key, unsubscribe_url

    link = unsubscribe_url(BASE, secret_key(corpus.settings), "dir@exemple.fr")
    path = link.removeprefix(BASE)
    assert "dir@exemple.fr" in client.get(path).text and client.get("/api/v1/recipients").json()  # GET changes nothing
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "ne recevra plus" in done.text
    assert client.get("/api/v1/recipients").json() == []
    assert client.get(path[:-3] + "abc").status_code == 400


def test_security_headers_csrf_origin_host_and_json_only(client):
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", page.text) and " style=" not in page.text
    mention = client.get("/api/v1/mentions").json()["items"][0]["id"]
    # A form without the session's token, or from another site, is refused.
    assert client.post(f"/mentions/{mention}/star", data={"csrf": "forged"}).status_code == 403
    csrf = csrf_of(client)
    evil = client.post(f"/mentions/{mention}/star", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert client.post(f"/api/v1/mentions/{mention}/star", data={"a": "b"}).status_code == 415
    assert client.get("/", headers={"Host": "rebound.evil.example"}).status_code == 421
    assert client.get("/login", follow_redirects=False).status_code == 303  # no password: nothing to log into
    assert client.get("/lang/en?next=//evil.example", follow_redirects=False).headers["location"] == "/"


def test_password_login_rate_limit_bearer_api_and_bind_refusal(corpus):
    from erepwatch.errors import ConfigError
    from erepwatch.settings import Secret
    from erepwatch.web.security import check_bind

    with pytest.raises(ConfigError, match="EREPWATCH_WEB_PASSWORD"):
        check_bind("0.0.0.0:8080", None)
    assert check_bind("0.0.0.0:8080", "s3cret") == ("0.0.0.0", 8080)
    assert check_bind("[::1]:8080", None) == ("::1", 8080)

    app = make_app(corpus, web_password=Secret("correct horse"), web_addr="0.0.0.0:8080")
    with TestClient(app, base_url="http://veille.exemple.fr") as client:
        assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"
        assert client.get("/api/v1/mentions").status_code == 401
        assert client.get("/healthz").status_code == 200 and client.get("/metrics").status_code == 200
        bearer = {"Authorization": "Bearer correct horse"}
        assert client.get("/api/v1/mentions", headers=bearer).status_code == 200
        csrf = csrf_of(client, "/login")
        for _ in range(5):
            assert client.post("/login", data={"csrf": csrf, "password": "guess"}).status_code == 401
        limited = client.post("/login", data={"csrf": csrf, "password": "correct horse"})
        assert limited.status_code == 429 and "secondes" in limited.text
    with TestClient(app, base_url="http://veille.exemple.fr") as client:
        app.state.config.limiter.succeeded("testclient")
        csrf = csrf_of(client, "/login")
        ok = client.post(
            "/login",
            data={"csrf": csrf, "password": "correct horse", "name": "Léa", "next": "/trends"},
            follow_redirects=False,
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/trends"
        assert client.get("/").status_code == 200
        mention = client.get("/api/v1/mentions").json()["items"][0]["id"]
        client.post(f"/api/v1/mentions/{mention}/star", json={})
        assert client.get("/api/v1/acts").json()[0]["actor"] == "Léa (web)"


def test_serve_refuses_an_open_address_without_password(cli, monkeypatch):
    monkeypatch.setenv("EREPWATCH_WEB_ADDR", "0.0.0.0:8080")
    refused = cli("serve", ok=False)
    assert refused.code == 1 and "EREPWATCH_WEB_PASSWORD" in refused.err and len(refused.err.strip().splitlines()) == 1


def test_the_cli_acts_through_the_same_functions(cli, client):
    row = all_rows(client, watch="gouvernement")[0]
    out = cli("mention", "irrelevant", str(row["id"]), "--json").json()
    assert out["act"]["kind"] == "irrelevant" and out["act"]["actor"].startswith("cli")
    assert out["proposal"]["new_query"] and row["id"] not in [r["id"] for r in all_rows(client, watch="gouvernement")]
    journal = client.get("/api/v1/acts").json()
    assert journal[0]["id"] == out["act"]["id"]
    text = cli("acts").out
    assert "irrelevant" in text and "gouvernement" in text
    cli("acts", "undo", str(out["act"]["id"]))
    assert row["id"] in [r["id"] for r in all_rows(client, watch="gouvernement")]
    cli("mention", "star", str(row["id"]))
    assert [r["id"] for r in all_rows(client, starred="1")] == [row["id"]]
    assert "muted" in cli("mention", "mute", str(row["id"])).out
    assert cli("mention", "star", "999999", ok=False).err.startswith("erepwatch: no mention numbered 999999")


def test_sources_page_discovers_a_sites_feeds(client, server):
    page = (
        b"<!doctype html><html><head><title>Blog</title>"
        b'<link rel="alternate" type="application/rss+xml" title="Acme &lt;news&gt;" href="/feeds/acme.xml">'
        b"</head><body></body></html>"
    )
    server.routes["/site/"] = (200, {"Content-Type": "text/html; charset=utf-8"}, page)
    csrf = csrf_of(client, "/sources")
    found = client.post("/sources/discover", data={"csrf": csrf, "url": server.url("/site/")})
    assert found.status_code == 200 and server.url("/feeds/acme.xml") in found.text
    assert "Acme &lt;news&gt;" in found.text  # the page's words stay text
    missing = client.post("/sources/discover", data={"csrf": csrf, "url": server.url("/status/404")})
    assert missing.status_code == 200 and "404" in missing.text
