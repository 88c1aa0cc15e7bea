"""The web app in a real browser (Playwright driving Debian's chromium, no download) on loopback, over corpus
data polled from the local feed server: load the list, filter to negative, search a word, mark one irrelevant and
apply the suggested exclusion, open the trends, switch language, type a query and see its live preview. Pages
are checked at 400 px (no sideways scroll) and 1280 px; screenshots are kept in ``tests/artifacts/``."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.integration.webapp import NOW, fill, open_corpus

CHROMIUM = Path(os.environ.get("EREPWATCH_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no browser at {CHROMIUM}")


@pytest.fixture
def site(cli, server, env, tmp_path, db_url):
    if "postgresql" in db_url:
        pytest.skip("the browser path is the same on both databases; the API tests cover PostgreSQL")
    from erepwatch.web.server import WebServer, make_config

    fill(cli, server)
    for corpus in open_corpus(env, tmp_path / "data"):
        web = WebServer(make_config(corpus.sessions, corpus.settings, clock=lambda: NOW), "127.0.0.1:0")
        web.start()
        try:
            yield f"http://127.0.0.1:{web.port}"
        finally:
            web.stop()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)


def no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def test_read_filter_search_act_trends_language(site, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR",
                                  timezone_id="America/Toronto")  # fmt: skip
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(site + "/")
    page.wait_for_selector("footer >> text=America/Toronto")  # the browser's zone, sent by app.js
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("li.story").count() > 10
    shot(page, "list-1280")

    # Filter to negative: the select applies itself.
    page.select_option("select[name=sentiment]", "negative")
    page.wait_for_url(re.compile(r"sentiment=negative"))
    badges = page.locator("li.story .badge").all_inner_texts()
    assert badges and set(badges) == {"négatif"}

    # Search a word.
    page.goto(site + "/")
    title = page.locator("li.story h2").first.inner_text()
    word = max(re.findall(r"\w{6,}", title), key=len)
    page.fill("input[name=q]", word)
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q="))
    assert page.locator("li.story").count() >= 1
    assert word.lower() in page.locator("li.story").first.inner_text().lower()

    # Mark one irrelevant, see the suggested exclusion and its preview, apply it in one click.
    page.goto(site + "/?watch=economie")
    first = page.locator("li.story").first
    gone = first.locator("h2").inner_text()
    first.locator("button[data-act=irrelevant]").click()
    page.wait_for_selector("#proposal")
    shot(page, "exclusion-1280")
    proposal = page.locator("#proposal ins").inner_text()
    assert proposal.startswith(("prix OR entreprise", "prix OR entreprise OR emploi")) and " -" in proposal
    page.click("#apply-exclusion")
    page.wait_for_selector(".flash")
    assert proposal in page.locator(".flash").inner_text()
    assert gone not in page.locator("ol.stories").inner_text()
    undo = page.locator(".flash button", has_text="Annuler")
    assert undo.count() == 1

    # Trends: one chart per watch, share of voice, sites.
    page.click("nav >> text=Tendances")
    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart").count() >= 3 and page.locator("svg.chart rect").count() > 5
    shot(page, "trends-1280")

    # Save a group "my brand vs competitors": the trends show its share of voice.
    page.click("text=Gérer les groupes")
    page.fill("section[aria-labelledby=newgroup] form input[name=name]", "Économie contre gouvernement")
    page.check("section[aria-labelledby=newgroup] form input[name=brand][value=economie]")
    page.check("section[aria-labelledby=newgroup] form input[name=competitor][value=gouvernement]")
    page.click("section[aria-labelledby=newgroup] form button")
    page.wait_for_selector(".flash")
    page.click("text=Économie contre gouvernement")
    page.wait_for_selector("svg.share rect")
    assert "Part de voix — Économie contre gouvernement" in page.locator("#sov").inner_text()
    assert re.search(r"Votre part : \d+(\.\d)? %", page.locator("main").inner_text())
    shot(page, "trends-group-1280")

    # Switch language.
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("nav >> text=Trends").count() == 1
    page.goto(site + "/")
    assert page.locator("html").get_attribute("lang") == "en"

    # The watch form: the live preview follows the typing; a query error is shown at its column.
    page.goto(site + "/watches/new")
    page.fill("#query", "grève OR salariés")
    page.wait_for_selector("#preview-list li")
    assert re.search(r"\d+ articles found", page.locator("#preview-count").inner_text())
    page.fill("#query", 'salariés "grève')
    page.wait_for_selector("#query-error:not([hidden])")
    assert "column 10" in page.locator("#query-error").inner_text()
    assert page.locator("#query-caret").inner_text().endswith("^")
    shot(page, "watch-form-1280")
    # The preview of a malformed query answers 400 on purpose; nothing else may fail.
    assert [e for e in errors if "400 (Bad Request)" not in e] == []
    context.close()


def test_phone_width_has_no_sideways_scroll(site, browser):
    context = browser.new_context(viewport={"width": 400, "height": 860}, locale="fr-FR", device_scale_factor=1)
    page = context.new_page()
    group = {"name": "Marché", "brands": ["economie"], "competitors": ["gouvernement"]}
    assert context.request.post(site + "/api/v1/groups", data=group).status == 201
    for path, name in [("/", "list"), ("/?sentiment=negative", "negative"), ("/trends?days=90", "trends"),
                       ("/groups", "groups"),
                       ("/watches", "watches"), ("/watches/economie/edit", "watch-edit"), ("/sources", "sources"),
                       ("/recipients", "recipients"), ("/acts", "acts")]:  # fmt: skip
        page.goto(site + path)
        page.wait_for_load_state("networkidle")
        no_sideways_scroll(page)
        shot(page, f"{name}-400")
    context.close()
