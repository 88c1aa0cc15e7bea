"""List the candidate mention windows labelled in mentions_train.tsv (see README.md in this folder).

    .venv/bin/python tests/data/sentiment/build_mentions_train.py > candidates.jsonl

Reads ../shared/corpus/feeds with erepwatch's own parser, matches WATCHES, builds each mention's window, and leaves
out every item with a window in the ``test`` split of mentions.tsv, every window already labelled and every item
whose title shares half its words or more with a test window's title. Prints one JSON object per candidate, in the
labelling order: windows a crisis or legal term names, then those the lexicon reads as negative, then the others,
each group by SHA-1 of the window. The labels themselves were written by hand (the rule in README.md).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from corpus_items import corpus_items, words_of

from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.sentiment import load_scorer
from erepwatch.analyze.tags import load_tagger
from erepwatch.analyze.window import mention_window

HERE = Path(__file__).resolve().parent
# fmt: off
WATCHES = [
    "macron", '"banque de france"', "apple OR iphone", "google -alerts", "trump", "renault", "airbus", "tesla",
    '"air france"', "amazon", "microsoft", "orange -fruit", "carrefour", "bitcoin", "sncf", "netflix", "youtube",
    "l'oréal", "total OR totalenergies", "free -gratuit", "meta", "openai", "samsung",
    "sfr", "bouygues", "numericable", "lidl", "auchan", "leclerc", "intermarché", "decathlon", "la poste", "edf",
    "engie",
    "stellantis", "peugeot", "citroën", "porsche", "volkswagen", "nissan", "honda", "toyota", "boeing", "easyjet",
    "ryanair", "lvmh", "dior", "danone", "nestlé", "lactalis", "bfm", "cnews", "tf1", "france télévisions", "canal+",
    "deezer", "spotify", "ubisoft", "nintendo", "sony", "xbox", "huawei", "xiaomi", "nokia", "intel", "nvidia", "amd",
    "dell", "facebook", "instagram", "tiktok", "twitter", "linkedin", "wikipedia", "mistral", "deepseek", "chatgpt",
    "anthropic", "uber", "airbnb", "shein", "temu", "coinbase", "binance", "ledger", "fortuneo", "bnp",
    "société générale", "crédit agricole", "axa", "ratp", "france travail", "medef", "cgt", "cfdt", "le pen",
    "bardella", "bayrou", "barnier", "attal", "darmanin", "retailleau", "mélenchon", "hollande", "sarkozy", "musk",
    "zuckerberg", "bezos", "cahuzac", "hidalgo", "lfi", "stéphane plaza", "cnil", "arcep", "hadopi", "dailymotion",
    "capcom", "blackberry", "htc", "gopro", "dyson", "harvard", "fbi", "cia", "pentagon", "nasa", "usaid", "starbucks",
    "mcdonald's", "coca-cola", "pfizer", "bayer", "disney", "fox news", "cnn", "bbc", 'nyt OR "new york times"',
    "washington post", "reddit", "github", "mozilla", "firefox", "ubuntu", "linux", "python", "wordpress", "substack",
    "waymo", "byd", "rivian", "ford", "gm", "walmart", "target", "eramet", "orangina", "acadomia", "jacquemus",
    "sanofi", "thales", "dassault", "safran", "bpifrance",
]
# fmt: on


def main() -> None:
    labelled = [
        line.split("\t")
        for name in ("mentions.tsv", "mentions_tune.tsv")
        for line in (HERE / name).read_text(encoding="utf-8").splitlines()
    ]
    test_items = {(r[6], r[7]) for r in labelled if r[0] == "test"}
    test_titles = [words_of(r[2].split(" … ")[0]) for r in labelled if r[0] == "test"]
    done = {(r[6], r[7], r[3]) for r in labelled} | {(r[2],) for r in labelled}
    watches = list(dict.fromkeys(WATCHES))
    matcher = compile_matcher([WatchSpec(i, q, q) for i, q in enumerate(watches)])
    tagger, lexicon = load_tagger(), load_scorer()
    groups: list[list[tuple[str, dict[str, str]]]] = [[], [], []]
    seen: set[str] = set()
    for feed, entry, lang, it in corpus_items():
        title_words = words_of(it.title)
        if (feed, entry) in test_items:
            continue
        if any(len(title_words & t) / max(1, len(title_words | t)) >= 0.5 for t in test_titles):
            continue
        item = MatchItem(it.title, it.text, None, lang)
        for match in matcher.match(item):
            query = watches[match.watch_id]
            window = mention_window(item.title, item.text, match.spans)
            if (feed, entry, query) in done or (window.text,) in done or window.text in seen:
                continue
            seen.add(window.text)
            tags = tagger.explain(window.text, lang, segments=window.segments, focus=window.focus)
            broad = tagger.explain(window.text, lang)
            negative = lexicon.score(window.text, lang, window.focus).label == "negative"
            term = " ".join(window.text[a:b] for a, b in window.focus[:1])
            row = {"text": window.text, "watch": query, "term": term, "lang": lang, "feed": feed}
            row["entry"] = entry
            groups[0 if tags or broad else 1 if negative else 2].append((window.text, row))
    for group in groups:
        for _, row in sorted(group, key=lambda g: hashlib.sha1(g[0].encode()).hexdigest()):
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
