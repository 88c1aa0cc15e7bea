"""List the candidate mention windows labelled in mentions_extra.tsv (see README.md in this folder).

    .venv/bin/python tests/data/sentiment/build_mentions_extra.py > candidates.jsonl

Reads ../shared/corpus/feeds with erepwatch's own parser and keeps the French and English items that no
mentions*.tsv line comes from, whose title shares less than half its words with a ``test`` window's title (and less
than 60 % with an item kept before: one story once), and where the crisis word list names something anywhere (title,
or the first 3,000 characters of the text). The watched names are not a fixed list: up to two runs of capitalised
words of each title (a title's first word only when the text also writes it capitalised), each matched as a watch and
its mention window built. Prints one JSON object per candidate, by SHA-1 of the window. The labels were written by
hand (the rule in README.md), before any method's output on these windows was looked at.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from corpus_items import corpus_items, words_of

from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.tags import load_tagger
from erepwatch.analyze.window import mention_window
from erepwatch.errors import ErepwatchError

HERE = Path(__file__).resolve().parent
#: Capitalised words that name nothing.
STOP = set(
    re.findall(
        r"\S+",
        "The A An In On At Of For To And Or But With From By As Is Are Was Were Be Its It This That These Those How "
        "Why What When Who Where Le La Les Un Une Des Du De Et Ou En Au Aux Dans Sur Pour Par Avec Sans Ce Cette Ces "
        "Il Elle Ils Elles On Nous Vous Je Qui Que Quoi Comment Pourquoi Quand Après Avant Selon Face Deux Trois New "
        "After Before Over Under Into Amid Says Say More Most One Two Three Man Woman People",
    )
)
NAME = re.compile(r"(?:[A-ZÀ-Ý][\w'’\-\.]*[\w])(?:\s+(?:[A-ZÀ-Ý][\w'’\-\.]*[\w]))*")


def names_of(title: str, text: str) -> list[str]:
    names: list[str] = []
    for m in NAME.finditer(title):
        ws = [w for w in m.group(0).split() if w not in STOP]
        if not ws:
            continue
        name = " ".join(ws[:3])
        if m.start() == 0 and not re.search(r"(?<![.!?]\s)\b" + re.escape(ws[0]) + r"\b", text[:3000]):
            continue
        if len(name) >= 3 and name not in names:
            names.append(name)
    return names[:2]


def main() -> None:
    labelled = [
        line.split("\t")
        for name in ("mentions.tsv", "mentions_tune.tsv", "mentions_train.tsv")
        for line in (HERE / name).read_text(encoding="utf-8").splitlines()
    ]
    used = {(r[6], r[7]) for r in labelled}
    test_titles = [words_of(r[2].split(" … ")[0]) for r in labelled if r[0] == "test"]
    tagger = load_tagger()
    out: list[dict[str, str]] = []
    kept_titles: list[set[str]] = []
    for feed, entry, lang, it in corpus_items():
        if (feed, entry) in used:
            continue
        title_words = words_of(it.title)
        if any(len(title_words & t) / max(1, len(title_words | t)) >= 0.5 for t in test_titles):
            continue
        if any(len(title_words & t) / max(1, len(title_words | t)) >= 0.6 for t in kept_titles):
            continue
        if "crisis" not in tagger.explain(it.title, lang) and "crisis" not in tagger.explain(it.text[:3000], lang):
            continue
        kept_titles.append(title_words)
        item = MatchItem(it.title, it.text, None, lang)
        for name in names_of(it.title, it.text):
            query = f'"{name.lower()}"' if " " in name else name.lower()
            try:
                matches = compile_matcher([WatchSpec(1, query, query)]).match(item)
            except ErepwatchError:
                continue
            if not matches:
                continue
            window = mention_window(item.title, item.text, matches[0].spans)
            term = window.text[window.focus[0][0] : window.focus[0][1]] if window.focus else name
            out.append({"text": window.text, "watch": query, "term": term, "lang": lang, "feed": feed, "entry": entry})
    for row in sorted(out, key=lambda r: hashlib.sha1(r["text"].encode()).hexdigest()):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
