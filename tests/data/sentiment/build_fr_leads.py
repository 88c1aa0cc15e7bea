"""List the lead sentences labelled in fr_news_leads.tsv (see README.md in this folder).

    .venv/bin/python tests/data/sentiment/build_fr_leads.py > candidates.tsv

Reads ../shared/corpus/feeds with erepwatch's own parser and keeps the French items whose headline is not a ``test``
line of fr_news.tsv (by feed and entry, or by text) and shares less than 30 % of its words with every ``test``
headline (the same story from another outlet). Of each, the lead's first sentence (up to 240 characters; cut at the
last word when no sentence ends there), kept when it has 30 characters or more, is French, is not a headline already
labelled, and holds no code or link. Prints ``tune<TAB>?<TAB>lead<TAB>feed<TAB>entry`` lines by SHA-1 of the lead,
one per distinct lead; the ``?`` was replaced by hand with the label (the fr_news.tsv rule, lead only).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from corpus_items import corpus_items, shares_a_story, words_of

from erepwatch.analyze.language import detect_language

HERE = Path(__file__).resolve().parent
#: The lead's opening: its first sentence within this many characters.
MAX_CHARS = 240
MIN_CHARS = 30
_SENTENCE = re.compile(rf"(.{{{MIN_CHARS},{MAX_CHARS}}}?[.!?…»])(\s|$)")
_CODE = re.compile(r"[{};<>=]|https?://|\bfunction\b")


def lead_of(text: str) -> str:
    text = " ".join(text.split())
    found = _SENTENCE.match(text)
    return (found.group(1) if found else text[:MAX_CHARS].rsplit(" ", 1)[0]).strip()


def main() -> None:
    rows = [
        line.split("\t")
        for name in ("fr_news.tsv", "fr_news_train.tsv")
        for line in (HERE / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    test = [r for r in rows if r[0] == "test"]
    test_titles = {r[2] for r in test}
    test_keys = {(r[3], r[4]) for r in test}
    test_bags = [words_of(r[2]) for r in test]
    headlines = {r[2] for r in rows}
    out: dict[str, tuple[str, str]] = {}
    for feed, entry, lang, item in corpus_items():
        if lang != "fr" or not item.text:
            continue
        title = " ".join((item.title or "").split())
        if (feed, entry) in test_keys or title in test_titles:
            continue
        bag = words_of(title)
        if any(shares_a_story(bag, other) for other in test_bags):
            continue
        lead = lead_of(item.text)
        if len(lead) < MIN_CHARS or lead in out or lead in headlines or lead == title:
            continue
        if detect_language(lead) != "fr" or _CODE.search(lead):
            continue
        out[lead] = (feed, entry)
    for lead in sorted(out, key=lambda t: hashlib.sha1(t.encode()).hexdigest()):
        print("\t".join(("tune", "?", lead, *out[lead])))


if __name__ == "__main__":
    main()
