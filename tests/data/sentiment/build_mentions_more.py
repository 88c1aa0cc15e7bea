"""List the candidate mention windows labelled in mentions_more.tsv (see README.md in this folder).

    .venv/bin/python tests/data/sentiment/build_mentions_more.py > candidates.jsonl

Session 6: more crisis candidates, with the watched names read off the *text* as well as the title, so that a window
often names one entity while a crisis word names another (the attribution the crisis tag must get right). Reads
../shared/corpus/feeds with erepwatch's own parser and keeps the French and English items whose title or first 3,000
characters hold a crisis term of the word list or a broader word of trouble (:data:`TROUBLE`: strike, killed,
lawsuit, fine, protest…, words the list leaves out, so that recall is measured beyond the list), and that do not
tell the story of a ``test`` window of mentions.tsv. Names: the runs of capitalised words of the title and of the
text's sentences holding such a word (the ``build_mentions_extra.py`` rules), at most :data:`PER_ITEM` an item;
(item, name) pairs already labelled in another mentions file are left out. Prints one JSON object per candidate, by
SHA-1 of the window, with its split: stories (items whose titles share half their words) of an item that another
mentions file already holds are ``tune``; the other stories go to ``tune`` when the SHA-1 of the story's first entry
key (feed + entry, in corpus order) is even, else ``test`` — one story stays on one side. "Story" is the cross-
validation's rule (half the words of the shorter title shared), also for the stories of mentions.tsv's ``test``
windows, left out altogether. The labels were written by hand (the rule in README.md), before any method's output on
these windows was looked at."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

from build_mentions_extra import NAME, STOP
from corpus_items import corpus_items, words_of

from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher
from erepwatch.analyze.tags import load_tagger
from erepwatch.analyze.window import mention_window
from erepwatch.errors import ErepwatchError

HERE = Path(__file__).resolve().parent
FILES = ("mentions.tsv", "mentions_tune.tsv", "mentions_train.tsv", "mentions_extra.tsv")
#: Words of trouble beyond the crisis list (English and French stems), to find candidates the list would miss.
TROUBLE = re.compile(
    r"\b(strik|grève|grevist|killed|kill|dies|died|death|deaths|dead|mort|meurt|tué|accident|crash|lawsuit|sued|sues|"
    r"plainte|boycott|scandal|fraud|hack|breach|fuite|panne|outage|recall|rappel|layoff|licenci|banned|fined|amende|"
    r"condamn|arrest|interpell|protest|manifest|backlash|polémique|controvers|investigat|enquête|probe|charged|accus|"
    r"allegation|leak|cyberatta|explosion|incendie|collapse|faillite|bankrupt|shutdown|fermeture|closure|blackout|"
    r"vulnerab|faille|victim|bless|injur|abus|harcèle|harass|racis|sexis|démission|resign|fired|viré|limog)\w*",
    re.IGNORECASE,
)
#: Names kept per item (the title's first, then the text's).
PER_ITEM = 4
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*")


def same_story(a: set[str], b: set[str]) -> bool:
    """Whether two titles (their words) tell one story, as the crisis classifier's cross-validation folds group
    them (``train_sentiment_head.story_folds``): half the words of the shorter one shared. Episodes of one podcast
    ("Giant Bombcast 572: …") count as one story too."""
    return bool(a and b and len(a & b) >= 0.5 * min(len(a), len(b)))


def runs(text: str, context: str) -> list[str]:
    """Capitalised runs of ``text`` naming something (a sentence's first word only when ``context`` also writes it
    capitalised after something else than a sentence end)."""
    names: list[str] = []
    for m in NAME.finditer(text):
        ws = [w for w in m.group(0).split() if w not in STOP]
        if not ws:
            continue
        name = " ".join(ws[:3])
        first = m.start() == 0 or text[max(0, m.start() - 2) : m.start()].strip() in (".", "!", "?", "…", "")
        if first and not re.search(r"(?<![.!?]\s)(?<!^)\b" + re.escape(ws[0]) + r"\b", context):
            continue
        if len(name) >= 3 and name.lower() not in (n.lower() for n in names):
            names.append(name)
    return names


def main() -> None:
    labelled = [line.split("\t") for name in FILES for line in (HERE / name).read_text(encoding="utf-8").splitlines()]
    used = {(r[6], r[7]) for r in labelled}
    pairs = {(r[6], r[7], r[3]) for r in labelled}
    test_titles = [words_of(r[2].split(" … ")[0]) for r in labelled if r[0] == "test"]
    tagger = load_tagger()
    # Stories: (title words, side) of the items seen so far, the labelled ones first (all tune but mentions.tsv's test
    # side, whose stories are left out altogether).
    stories = [(words_of(r[2].split(" … ")[0]), "tune") for r in labelled if r[0] == "tune"]
    out: list[dict[str, str]] = []
    for feed, entry, lang, it in corpus_items():
        title_words = words_of(it.title)
        if any(same_story(title_words, t) for t in test_titles):
            continue
        head = it.text[:3000]
        listed = "crisis" in tagger.explain(it.title, lang) or "crisis" in tagger.explain(head, lang)
        if not listed and not TROUBLE.search(it.title) and not TROUBLE.search(head):
            continue
        side = "tune" if (feed, entry) in used else ""
        for words, s in stories:
            if same_story(title_words, words):
                side = side or s
                if s == "tune":
                    side = "tune"
        if not side:
            side = "tune" if int(hashlib.sha1((feed + entry).encode()).hexdigest(), 16) % 2 == 0 else "test"
        stories.append((title_words, side))
        names = runs(it.title, head)
        for sentence in _SENTENCE.findall(head):
            if TROUBLE.search(sentence) or "crisis" in tagger.explain(sentence, lang):
                names += [n for n in runs(sentence.strip(), head) if n.lower() not in (x.lower() for x in names)]
        item = MatchItem(it.title, it.text, None, lang)
        kept = 0
        for name in names:
            if kept == PER_ITEM:
                break
            query = f'"{name.lower()}"' if " " in name else name.lower()
            if (feed, entry, query) in pairs:
                continue
            try:
                matches = compile_matcher([WatchSpec(1, query, query)]).match(item)
            except ErepwatchError:
                continue
            if not matches:
                continue
            window = mention_window(item.title, item.text, matches[0].spans)
            term = window.text[window.focus[0][0] : window.focus[0][1]] if window.focus else name
            kept += 1
            out.append(
                {
                    "split": side,
                    "text": window.text,
                    "watch": query,
                    "term": term,
                    "lang": lang,
                    "feed": feed,
                    "entry": entry,
                }
            )
    out.sort(key=lambda r: hashlib.sha1(r["text"].encode()).hexdigest())
    print(f"{len(out)} candidates", file=sys.stderr)
    for row in out:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
