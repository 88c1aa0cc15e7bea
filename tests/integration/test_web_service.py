"""Use cases of the web app on both databases: trends per local day across a change of summer time, full-text
search that folds accents, saved share-of-voice groups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from erepwatch.db.models import Item, Mention
from erepwatch.service import browse
from erepwatch.service.trends import offset_periods, trends
from erepwatch.service.watches import WatchInput, add_watch

_ids = count(1)


def _mention(
    session, watch_id: int, published: datetime, *, title: str = "Acme", text: str = "", site: str = "example.org"
) -> Mention:
    n = next(_ids)
    item = Item(
        key=f"https://{site}/{n}", url=f"https://{site}/{n}", title=title, text=text,
        publisher_domain=site, language="fr", published_at=published, fetched_at=published,
    )  # fmt: skip
    session.add(item)
    session.flush()
    mention = Mention(watch_id=watch_id, item_id=item.id, created_at=published, published_at=published)
    session.add(mention)
    session.flush()
    return mention


def _days(report) -> dict[date, int]:
    return {d.day: d.total for d in report.watches[0].days if d.total}


# Each instant is next to a local midnight on the other side of a change of summer time from ``now``: read with
# today's offset, it would fall on the neighbouring day.
def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


DST_CASES = [
    # Paris, spring forward on 2026-03-29: 22:30 UTC on the 27th is 23:30 CET (UTC+1), not 00:30.
    ("Europe/Paris", _utc(2026, 4, 5, 12), _utc(2026, 3, 27, 22, 30), date(2026, 3, 27)),
    # Paris, fall back on 2026-10-25: 22:30 UTC on the 24th is 00:30 CEST (UTC+2) on the 25th.
    ("Europe/Paris", _utc(2026, 11, 1, 12), _utc(2026, 10, 24, 22, 30), date(2026, 10, 25)),
    # Montréal, spring forward on 2026-03-08: 04:30 UTC on the 6th is 23:30 EST (UTC−5) on the 5th.
    ("America/Montreal", _utc(2026, 3, 15, 12), _utc(2026, 3, 6, 4, 30), date(2026, 3, 5)),
    # Montréal, fall back on 2026-11-01: 03:30 UTC on the 31st is 23:30 EDT (UTC−4) on the 30th.
    ("America/Montreal", _utc(2026, 11, 8, 12), _utc(2026, 10, 31, 3, 30), date(2026, 10, 30)),
]  # fmt: skip


@pytest.mark.parametrize(("tz", "now", "published", "day"), DST_CASES)
def test_trends_count_each_mention_on_its_local_day_across_summer_time(sessions, tz, now, published, day):
    with sessions.begin() as session:
        watch = add_watch(session, WatchInput("acme", "acme"), now=now)
        _mention(session, watch.id, published)
        # A mention at local noon of the same day, on the same side of the change as ``now``, and one today.
        _mention(session, watch.id, now - timedelta(hours=1))
    with sessions() as session:
        report = trends(session, ["acme"], days=30, now=now, tz=tz)
    local_now = now.astimezone(ZoneInfo(tz)).date()
    assert _days(report) == {day: 1, local_now: 1}


def test_offset_periods_find_each_change_to_the_second():
    zone = ZoneInfo("Europe/Paris")
    periods = offset_periods(zone, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    assert periods == [
        (datetime(2026, 3, 29, 1, tzinfo=UTC), timedelta(hours=1)),
        (datetime(2026, 10, 25, 1, tzinfo=UTC), timedelta(hours=2)),
        (None, timedelta(hours=1)),
    ]
    kolkata = offset_periods(ZoneInfo("Asia/Kolkata"), _utc(2026, 1, 1), _utc(2026, 4, 1))
    assert kolkata == [(None, timedelta(hours=5, minutes=30))]


@pytest.mark.parametrize(
    ("query", "found"),
    [("greve", {"grève"}), ("GRÈVE", {"grève"}), ("cafe", {"café"}), ("café", {"café"}), ("noel", {"noël"}),
     ("Québec", {"quebec"}), ("creme brulee", {"crème"}), ("gre*", {"grève"})],
)  # fmt: skip
def test_search_folds_accents_like_french_readers_type(sessions, query, found):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    titles = {
        "grève": "Grève chez Acme",
        "café": "Le café Acme ferme",
        "noël": "Acme prépare Noël",
        "quebec": "Acme arrive a Quebec",
        "crème": "La crème brûlée d'Acme",
    }
    with sessions.begin() as session:
        watch = add_watch(session, WatchInput("acme", "acme"), now=now)
        for i, title in enumerate(titles.values()):
            _mention(session, watch.id, now - timedelta(hours=i + 1), title=title)
    with sessions() as session:
        rows = browse.find_mentions(session, browse.ListFilter(q=query)).rows
    assert {key for key, title in titles.items() if title in {r.title for r in rows}} == found


def test_the_fold_table_is_the_one_the_migration_stored():
    from erepwatch.db.search import FOLD_FROM, FOLD_TO
    from tests.conftest import load_migration

    module = load_migration("0010_watch_groups")
    assert (module.FOLD_FROM, module.FOLD_TO) == (FOLD_FROM, FOLD_TO)
    assert "é".translate(str.maketrans(FOLD_FROM, FOLD_TO)) == "e"


# --- saved groups: my brand vs competitors ---------------------------------------------------------------


@pytest.fixture
def three_watches(sessions):
    """acme (brand) with 3 stories in the last week, globex 1 (+ one member of its story), initech 0."""
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with sessions.begin() as session:
        acme, globex, _ = (add_watch(session, WatchInput(n, n), now=now) for n in ("acme", "globex", "initech"))
        for hours in (2, 30, 50):
            _mention(session, acme.id, now - timedelta(hours=hours))
        head = _mention(session, globex.id, now - timedelta(hours=5))
        member = _mention(session, globex.id, now - timedelta(hours=4))
        head.cluster_id = member.cluster_id = head.id
        # Older than the week: outside a 7-day share.
        _mention(session, globex.id, now - timedelta(days=20))
    return now


def test_a_saved_group_gives_the_share_of_voice_of_brand_vs_competitors(sessions, three_watches):
    from erepwatch.enums import GroupRole
    from erepwatch.service import groups

    now = three_watches
    with sessions.begin() as session:
        groups.add_group(session, groups.GroupInput("Marché", ["acme"], ["globex", "initech"]), now=now)
    with sessions() as session:
        week = groups.share_of_voice(session, "Marché", days=7, now=now, tz="Europe/Paris")
        month = groups.share_of_voice(session, "Marché", days=30, now=now, tz="Europe/Paris")
        assert groups.group_as_dict(session, groups.get_group(session, "Marché")) == {
            "id": 1, "name": "Marché", "brands": ["acme"], "competitors": ["globex", "initech"]
        }  # fmt: skip
    assert [(s.watch, s.role, s.stories, s.percent) for s in week.lines] == [
        ("acme", GroupRole.BRAND, 3, 75.0), ("globex", GroupRole.COMPETITOR, 1, 25.0),
        ("initech", GroupRole.COMPETITOR, 0, 0.0),
    ]  # fmt: skip
    assert week.brand_percent == 75.0 and week.total == 4
    assert [(s.watch, s.stories) for s in month.lines][:2] == [("acme", 3), ("globex", 2)]

    with sessions.begin() as session:
        groups.edit_group(session, "Marché", name="Boulangeries", brands=["globex"], competitors=["acme"], now=now)
    with sessions() as session:
        swapped = groups.share_of_voice(session, "Boulangeries", days=7, now=now)
    assert [(s.watch, s.role) for s in swapped.lines] == [("globex", GroupRole.BRAND), ("acme", GroupRole.COMPETITOR)]


@pytest.mark.parametrize(
    ("brands", "competitors", "message"),
    [([], ["globex"], "brand"), (["acme"], [], "competitors"), (["acme"], ["acme"], "both"),
     (["acme"], ["nope"], "nope")],
)  # fmt: skip
def test_a_group_is_refused_in_one_line_naming_what_to_change(sessions, three_watches, brands, competitors, message):
    from erepwatch.errors import ErepwatchError
    from erepwatch.service import groups

    with sessions.begin() as session, pytest.raises(ErepwatchError, match=message):
        groups.add_group(session, groups.GroupInput("g", brands, competitors))


def test_deleting_a_watch_leaves_its_groups(sessions, three_watches):
    from erepwatch.service import groups
    from erepwatch.service.watches import remove_watch

    with sessions.begin() as session:
        groups.add_group(session, groups.GroupInput("g", ["acme"], ["globex", "initech"]))
    with sessions.begin() as session:
        remove_watch(session, "initech")
    with sessions() as session:
        assert groups.group_as_dict(session, groups.get_group(session, "g"))["competitors"] == ["globex"]


def _csrf(client, path: str) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def test_groups_are_managed_from_the_web_with_csrf_and_shown_on_the_trends(sessions, three_watches, db_url, tmp_path):
    from starlette.testclient import TestClient

    from erepwatch.settings import load_settings
    from erepwatch.web.app import create_app
    from erepwatch.web.server import make_config

    now = three_watches
    settings = load_settings(environ={"EREPWATCH_DATABASE_URL": db_url, "EREPWATCH_DATA_DIR": str(tmp_path)})
    app = create_app(make_config(sessions, settings, clock=lambda: now))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        form = {"name": "Marché", "brand": "acme", "competitor": ["globex", "initech"]}
        assert client.post("/groups", data=form, follow_redirects=False).status_code == 403
        token = _csrf(client, "/groups")
        assert client.post("/groups", data={**form, "csrf": token}, follow_redirects=False).status_code == 303
        page = client.get("/trends", params={"days": "7"}).text
        assert "Marché" in page and "75.0 %" in page and "Votre part : 75.0 %" in page
        # A mistake comes back as one line on the page, nothing saved.
        bad = client.post("/groups", data={"csrf": token, "name": "x", "brand": "acme", "competitor": "acme"})
        assert "cannot be both" in bad.text
        assert [g["name"] for g in client.get("/api/v1/groups").json()] == ["Marché"]
        group_id = client.get("/api/v1/groups/Marché").json()["id"]
        edited = {"csrf": token, "name": "Marché", "brand": "globex", "competitor": "acme"}
        assert client.post(f"/groups/{group_id}", data=edited, follow_redirects=False).status_code == 303
        share = client.get("/api/v1/groups/Marché/share", params={"days": "7"}).json()
        assert share["brand_percent"] == 25.0 and [s["watch"] for s in share["share"]] == ["globex", "acme"]
        assert client.post(f"/groups/{group_id}/delete", data={"csrf": token}).status_code == 200
        assert client.get("/api/v1/groups").json() == []
        assert "/groups" in client.get("/trends").text


def test_groups_from_the_cli_through_the_same_service(cli, env):
    cli("watch", "add", "acme", "--query", "acme")
    cli("watch", "add", "globex", "--query", "globex")
    cli("watch", "add", "initech", "--query", "initech")
    added = cli("group", "add", "Marché", "--brand", "acme", "--competitor", "globex", "--json").json()
    assert added["brands"] == ["acme"] and added["competitors"] == ["globex"]
    both = cli("group", "edit", "Marché", "--competitor", "globex,acme", "--brand", "initech", "--json").json()
    assert both["brands"] == ["initech"] and both["competitors"] == ["acme", "globex"]
    assert cli("group", "share", "Marché", "--days", "7", "--json").json()["total"] == 0
    refused = cli("group", "add", "Autre", "--brand", "acme", ok=False)
    assert refused.code == 1 and "competitors" in refused.err and "Traceback" not in refused.err
    assert "removed group" in cli("group", "remove", "Marché").out


# --- files in and out of the management pages, as the CLI takes and gives them ----------------------------


@pytest.fixture
def web(sessions, db_url, tmp_path):
    from starlette.testclient import TestClient

    from erepwatch.settings import load_settings
    from erepwatch.web.app import create_app
    from erepwatch.web.server import make_config

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    settings = load_settings(environ={"EREPWATCH_DATABASE_URL": db_url, "EREPWATCH_DATA_DIR": str(tmp_path)})
    with TestClient(create_app(make_config(sessions, settings, clock=lambda: now)), base_url="http://127.0.0.1") as c:
        yield c


def _flashes(page: str) -> str:
    import html

    return html.unescape(page)


def test_watches_come_in_from_json_lines_with_the_stored_items_matched(web, sessions):
    with sessions.begin() as session:
        # Stored an hour ago (by the real clock, which the matching of stored items reads).
        _mention(session, add_watch(session, WatchInput("other", "other")).id,
                 datetime.now(UTC) - timedelta(hours=1), title="Acme rappelle ses yaourts")  # fmt: skip
    lines = '{"name": "acme", "query": "acme", "lang": "fr"}\n{"name": "globex", "query": "globex OR initech"}\n'
    files = {"file": ("watches.jsonl", lines.encode(), "application/jsonl")}
    assert web.post("/watches/import", files=files, follow_redirects=False).status_code == 403
    token = _csrf(web, "/watches")
    page = _flashes(web.post("/watches/import", data={"csrf": token}, files=files).text)
    assert "2 ajoutées, 0 modifiées, 0 inchangées ; 1 mentions" in page
    assert [w["name"] for w in web.get("/api/v1/watches").json()] == ["acme", "globex", "other"]
    # A bad line: one line naming the file and the line, nothing of the file applied.
    content = b'{"name": "initech", "query": "initech"}\n{"name": "x", "query": "("}\n'
    bad = {"file": ("bad.jsonl", content, "text/plain")}
    page = _flashes(web.post("/watches/import", data={"csrf": token}, files=bad).text)
    assert "bad.jsonl: line 2" in page and "Traceback" not in page
    assert "initech" not in [w["name"] for w in web.get("/api/v1/watches").json()]
    assert "choisissez un fichier" in _flashes(web.post("/watches/import", data={"csrf": token}).text)


def test_a_body_over_the_limit_is_refused_with_413_and_leaves_nothing_behind(web):
    """The web app runs in the daemon's process: a body over MAX_BODY is refused before it is read whole (told
    by its length) or at the chunk that crosses the limit (sent chunked); the page says it in the reader's
    language, the API in JSON; nothing is applied, the files the form parser had spooled are closed, and the app
    answers the next request as before."""
    import gc
    import warnings

    from erepwatch.web.security import MAX_BODY

    token = _csrf(web, "/watches")
    big = b'{"name": "huge", "query": "' + b"x" * MAX_BODY + b'"}'
    told = web.post("/api/v1/watches", content=big, headers={"Content-Type": "application/json"})
    assert told.status_code == 413 and told.json() == {"error": "request body larger than 6 MB"}

    boundary = "erepwatch-limit"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="w.jsonl"\r\n'
            "Content-Type: application/jsonl\r\n\r\n").encode()  # fmt: skip
    line = b'{"name": "huge", "query": "huge"}\n' * 1000

    def chunked():  # no Content-Length: the limit is found while reading
        yield head
        for _ in range(MAX_BODY // len(line) + 2):
            yield line

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        page = web.post("/watches/import", content=chunked(),
                        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})  # fmt: skip
        gc.collect()
    assert page.status_code == 413 and "Envoi trop gros (6 Mo au plus)" in _flashes(page.text)
    assert "Traceback" not in page.text
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert "huge" not in [w["name"] for w in web.get("/api/v1/watches").json()]

    # Under the limit, the same form still works.
    small = {"file": ("w.jsonl", b'{"name": "small", "query": "small"}\n', "application/jsonl")}
    assert "1 ajoutées" in _flashes(web.post("/watches/import", data={"csrf": token}, files=small).text)


def test_sources_go_out_and_come_back_as_opml_and_a_backup_restores(web):
    token = _csrf(web, "/sources")
    created = web.post("/api/v1/sources", json={"url": "https://example.org/feed.xml", "name": "Exemple"}).json()
    web.post("/api/v1/watches", json={"name": "acme", "query": "acme"})
    opml = web.get("/sources/export.opml")
    assert opml.status_code == 200 and "attachment" in opml.headers["content-disposition"]
    assert b"https://example.org/feed.xml" in opml.content
    backup = web.get("/backup", params={"format": "toml"})
    assert backup.headers["content-disposition"].endswith('.toml"') and "acme" in backup.text
    web.delete(f"/api/v1/sources/{created['id']}")
    assert web.get("/api/v1/sources").json() == []
    files = {"file": ("sources.opml", opml.content, "text/x-opml")}
    page = _flashes(web.post("/sources/import", data={"csrf": token}, files=files).text)
    assert "1 flux ajoutés, 0 déjà présents, 0 refusés" in page
    assert [s["url"] for s in web.get("/api/v1/sources").json()] == ["https://example.org/feed.xml"]
    restore = {"file": ("erepwatch-backup.toml", backup.content, "application/toml")}
    page = _flashes(web.post("/backup", data={"csrf": token}, files=restore).text)
    assert "Sauvegarde restaurée : 0 créés" in page
    not_opml = {"file": ("x.opml", b"<html>no</html>", "text/html")}
    assert "x.opml" in _flashes(web.post("/sources/import", data={"csrf": token}, files=not_opml).text)


def test_google_alerts_come_in_from_the_watches_page(web):
    from pathlib import Path

    export = Path(__file__).resolve().parents[1] / "data" / "providers" / "google-alerts-export.json"
    token = _csrf(web, "/watches")
    files = {"file": ("alerts.json", export.read_bytes(), "application/json")}
    page = _flashes(web.post("/watches/import-alerts", data={"csrf": token}, files=files).text)
    assert "Google Alertes importées" in page
    assert web.get("/api/v1/watches").json()


def test_a_feed_added_from_the_page_is_fetched_first_unless_asked_not_to(web):
    token = _csrf(web, "/sources")
    # Nothing listens on port 9 of loopback (and loopback is refused without EREPWATCH_ALLOW_PRIVATE).
    page = _flashes(web.post("/sources", data={"csrf": token, "url": "http://127.0.0.1:9/feed"}).text)
    assert "Erreur" in page and web.get("/api/v1/sources").json() == []
    web.post("/sources", data={"csrf": token, "url": "http://127.0.0.1:9/feed", "no_check": "1"})
    assert [s["url"] for s in web.get("/api/v1/sources").json()] == ["http://127.0.0.1:9/feed"]


# --- one story, one entry: the web page, the Atom feed, `mentions` and the digest agree -------------------


def test_one_entry_per_story_everywhere_with_the_same_other_sources(web, sessions):
    import re

    import feedparser

    from erepwatch.db.mention_views import MentionFilter, select_views
    from erepwatch.notify.digest import build_digest
    from erepwatch.service.mentions import count_mentions, list_mentions

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with sessions.begin() as session:
        watch = add_watch(session, WatchInput("acme", "acme"), now=now)
        # A story told by lemonde.fr first, then by lefigaro.fr and again by lemonde.fr: one entry, +1 source.
        told = [_mention(session, watch.id, now - timedelta(hours=h), title=f"Acme rappelle ses yaourts {h}", site=s)
                for h, s in ((9, "lemonde.fr"), (8, "lefigaro.fr"), (7, "lemonde.fr"))]  # fmt: skip
        for m in told:
            m.cluster_id = told[1].id  # the founder need not be the earliest published (a semantic fold)
        _mention(session, watch.id, now - timedelta(hours=5), title="Acme ouvre une usine", site="ouest-france.fr")
        # A story whose earliest member someone marked irrelevant: the next member stands for it.
        hidden, kept = (_mention(session, watch.id, now - timedelta(hours=h), title=f"Acme grève {h}", site=s)
                        for h, s in ((4, "bfmtv.com"), (3, "liberation.fr")))  # fmt: skip
        hidden.cluster_id = kept.cluster_id = hidden.id
        hidden.irrelevant = True
    page = web.get("/").text
    assert len(re.findall(r'<li class="story ', page)) == 3
    assert page.count("+1 source") == 1 and "lefigaro.fr" in page
    feed = feedparser.parse(web.get("/feeds/all.atom").content)
    assert not feed.bozo and len(feed.entries) == 3
    story = next(e for e in feed.entries if "yaourts" in e.title)
    assert "yaourts 9" in story.title and "+1 source : lefigaro.fr" in story.summary
    assert [link.href.split("/")[2] for link in story.links if link.rel == "related"] == ["lefigaro.fr"]
    with sessions() as session:
        listed = list_mentions(session, watch="acme")
        assert count_mentions(session, watch="acme") == 3
        visible = select_views(session, MentionFilter(watch_ids=[watch.id]), with_duplicates=True)
    api = web.get("/api/v1/mentions").json()["items"]
    assert [r.id for r in listed] == [r["id"] for r in api]
    assert {r.title for r in listed} == {"Acme rappelle ses yaourts 9", "Acme ouvre une usine", "Acme grève 3"}
    (section,) = build_digest(visible, start=now - timedelta(days=1), end=now).sections
    assert len(section.entries) == 3
    assert {e.mention.title: e.others for e in section.entries}["Acme rappelle ses yaourts 9"] == ("lefigaro.fr",)
    assert {r.title: [d.source for d in r.other_sources] for r in listed}["Acme rappelle ses yaourts 9"] == [
        "lefigaro.fr"
    ]
    # The entry's id is the story's first article's (canonical URL), not a database id: it survives a restore.
    again = feedparser.parse(web.get("/feeds/acme.atom").content)
    assert {e.id for e in again.entries} == {e.id for e in feed.entries}


def test_a_backup_carries_the_groups_and_restores_them_once(sessions, three_watches):
    from erepwatch.service import backup, groups

    with sessions.begin() as session:
        groups.add_group(session, groups.GroupInput("Marché", ["acme"], ["globex", "initech"]))
    with sessions() as session:
        data = backup.load_backup(backup.dump_backup(backup.export_backup(session), "toml"), "toml")
    assert data["groups"] == [{"name": "Marché", "brands": ["acme"], "competitors": ["globex", "initech"]}]
    with sessions.begin() as session:
        groups.remove_group(session, "Marché")
        first = backup.import_backup(session, data, default_interval=timedelta(hours=1))
    with sessions.begin() as session:
        again = backup.import_backup(session, data, default_interval=timedelta(hours=1))
        groups.edit_group(session, "Marché", competitors=["globex"])
    with sessions.begin() as session:
        restored = backup.import_backup(session, data, default_interval=timedelta(hours=1))
        back = groups.group_as_dict(session, groups.get_group(session, "Marché"))
    assert back["competitors"] == ["globex", "initech"]
    assert (first.created["groups"], again.unchanged["groups"], restored.updated["groups"]) == (1, 1, 1)
    assert first.problems == again.problems == []


@pytest.mark.parametrize("tag", ["crise", "crise_alimentaire", "éco", "100%", 'dit "non"'])
def test_the_tag_filter_finds_exactly_its_tag_whatever_its_characters(sessions, tag):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    tags = ["crise", "crise_alimentaire", "crisexalimentaire", "éco", "eco", "100%", "1000", 'dit "non"', "Crise"]
    with sessions.begin() as session:
        watch = add_watch(session, WatchInput("acme", "acme"), now=now)
        for i, one in enumerate(tags):
            _mention(session, watch.id, now - timedelta(hours=i + 1), title=f"Acme {i}").tags = [one, "autre"]
    with sessions() as session:
        rows = browse.find_mentions(session, browse.ListFilter(tag=tag)).rows
    assert [r.tags for r in rows] == [(tag, "autre")]


def test_a_common_word_is_checked_row_by_row_with_the_same_result(sessions, monkeypatch):
    from erepwatch.db import search

    now = datetime(2026, 6, 1, tzinfo=UTC)
    with sessions.begin() as session:
        watch = add_watch(session, WatchInput("acme", "acme"), now=now)
        for i, title in enumerate(["Grève chez Acme", "Acme : la grève continue", "Acme recrute", "Fin de grève"]):
            _mention(session, watch.id, now - timedelta(hours=i + 1), title=title)
    with sessions() as session:
        by_set = [r.title for r in browse.find_mentions(session, browse.ListFilter(q="greve")).rows]
        monkeypatch.setattr(search, "SET_LIMIT", 1)  # "greve" is now a common word: no set, a check per row
        by_row = [r.title for r in browse.find_mentions(session, browse.ListFilter(q="greve")).rows]
    assert by_set == by_row == ["Grève chez Acme", "Acme : la grève continue", "Fin de grève"]


def test_a_watch_whose_name_holds_a_comma_joins_a_group_by_its_name(sessions, three_watches):
    from erepwatch.service import groups

    with sessions.begin() as session:
        add_watch(session, WatchInput("Initech, Inc", "initech"))
        created = groups.add_group(session, groups.GroupInput("g", ["acme"], ["Initech, Inc"]))
        assert groups.group_as_dict(session, created)["competitors"] == ["Initech, Inc"]


def test_a_story_first_told_by_a_muted_publisher_is_shown_by_its_next_member(web, sessions):
    """Muting the publisher that broke a story hides that publisher's line, not the story: the next member
    stands for it on the page, in the API and in `mentions`, as when the first member is marked irrelevant."""
    from erepwatch.service.acts import mute_publisher
    from erepwatch.service.mentions import count_mentions, list_mentions

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with sessions.begin() as session:
        watch = add_watch(session, WatchInput("acme", "acme"), now=now)
        first, second = (_mention(session, watch.id, now - timedelta(hours=h), title=f"Acme grève {h}", site=s)
                         for h, s in ((4, "tabloid.example"), (3, "liberation.fr")))  # fmt: skip
        first.cluster_id = second.cluster_id = first.id
        mute_publisher(session, watch.id, "tabloid.example", actor="test", now=now)
    with sessions() as session:
        assert [m.title for m in list_mentions(session, watch="acme")] == ["Acme grève 3"]
        assert count_mentions(session, watch="acme") == 1
    assert [m["title"] for m in web.get("/api/v1/mentions").json()["items"]] == ["Acme grève 3"]
    page = web.get("/").text
    assert "Acme grève 3" in page, page[page.find("<main") :][:3000]
    assert "Acme grève 4" not in page
