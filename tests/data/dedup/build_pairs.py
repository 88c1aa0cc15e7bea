"""Rebuild pairs.tsv from the real feeds in ../shared/corpus/feeds (see README.md for sources and labels).

Run from the repository root: .venv/bin/python tests/data/dedup/build_pairs.py
Labels of real pairs are hand labels kept in pairs.tsv (a rebuild keeps them); the script only gathers,
orders and writes. Derived pairs apply one documented transformation to a real headline.
xpub_pairs.tsv (real cross-publisher pairs from cited public datasets) is edited by hand, not written here.
"""

from __future__ import annotations

import csv
import itertools
import random
import re
import sys
from pathlib import Path

import feedparser
from rapidfuzz import fuzz

from erepwatch.analyze.textnorm import fold_words

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "feeds"
OUT = Path(__file__).with_name("pairs.tsv")
GROUPS = {
    "fr": ("fr-news-bfmtv", "fr-news-franceinfo", "fr-news-lefigaro", "fr-news-liberation"),
    "en": ("en-news",),
}
# Labels of real pairs are hand labels kept in pairs.tsv itself: a rebuild keeps them (matched by the two
# titles) and marks new candidates "unlabelled" for a person to decide. duplicate = same story, same
# headline up to syndication changes; same_story = same story, headline rewritten by another desk
# (reported apart: title clustering is not meant to catch those); distinct = two stories.
LIMIT = {"fr": 150, "en": 120}


def titles(prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for path in sorted(CORPUS.iterdir()):
        if path.name.startswith(prefixes):
            for entry in feedparser.parse(path.read_bytes()).entries:
                title = " ".join(entry.get("title", "").split())
                if title:
                    out.append((path.name, title))
    return out


def candidates(rows: list[tuple[str, str]]) -> list[tuple[float, str, str, str, str]]:
    seen, out = set(), []
    for (fa, a), (fb, b) in itertools.combinations(rows, 2):
        na, nb = fold_words(a), fold_words(b)
        if fa == fb or (na, nb) in seen or (nb, na) in seen:
            continue
        score = fuzz.token_set_ratio(na, nb)
        if score >= 55:
            seen.add((na, nb))
            out.append((score, fa, fb, a, b))
    out.sort(key=lambda r: (-r[0], r[3], r[4]))
    return out


def existing_labels() -> dict[tuple[str, str], str]:
    if not OUT.exists():
        return {}
    with OUT.open(encoding="utf-8") as fh:
        return {(r["title_a"], r["title_b"]): r["label"] for r in csv.DictReader(fh, delimiter="\t")}


def real_pairs(lang: str, labels: dict[tuple[str, str], str]) -> list[list[str]]:
    rows = []
    for _, fa, fb, a, b in candidates(titles(GROUPS[lang]))[: LIMIT[lang]]:
        label = labels.get((a, b), "unlabelled")
        rows.append([label, lang, "real", a, b, f"corpus:{fa}|{fb}"])
    return rows


KICKERS = {"fr": ["VIDÉO. ", "DIRECT. ", "INFO FRANCEINFO. ", "REPORTAGE. "], "en": ["WATCH: ", "Breaking: ", "LIVE: "]}


def syndicate(title: str, lang: str, rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["kicker", "quotes", "truncate", "case", "tag"])
    if kind == "kicker":
        return rng.choice(KICKERS[lang]) + title, "derived:kicker"
    if kind == "quotes":
        swapped = re.sub(r"«\s*|\s*»", '"', title) if "«" in title else title.replace('"', "«", 1).replace('"', "»", 1)
        return swapped.replace("’", "'") if swapped != title else title.replace("'", "’"), "derived:quotes"
    if kind == "truncate":
        words = title.split()
        keep = max(5, int(len(words) * 0.75))
        return (" ".join(words[:keep]) + "…" if keep < len(words) else title.upper()), "derived:truncate"
    if kind == "case":
        return title.upper(), "derived:case"
    return title + (" (vidéo)" if lang == "fr" else " (video)"), "derived:tag"


def renumber(title: str, rng: random.Random) -> str | None:
    numbers = list(re.finditer(r"\d+", title))
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = int(m.group(0))
    new = value + rng.choice([1, 2, 3, 5, 10]) if value < 1900 or value > 2100 else value + 1
    return title[: m.start()] + str(new) + title[m.end() :]


def derived_pairs(lang: str, rng: random.Random) -> list[list[str]]:
    pool = sorted({t for _, t in titles(GROUPS[lang]) if len(t.split()) >= 6})
    rng.shuffle(pool)
    rows = []
    for title in pool[:45]:
        variant, how = syndicate(title, lang, rng)
        rows.append(["duplicate", lang, "derived", title, variant, how])
    with_numbers = [t for t in pool[45:] if re.search(r"\d", t)]
    for title in with_numbers[:30]:
        other = renumber(title, rng)
        if other and other != title:
            rows.append(["distinct", lang, "derived", title, other, "derived:number-changed"])
    return rows


def main() -> int:
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    rng = random.Random(4)
    labels = existing_labels()
    rows = []
    for lang in GROUPS:
        rows += real_pairs(lang, labels)
        rows += derived_pairs(lang, rng)
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["label", "lang", "kind", "title_a", "title_b", "source"])
        writer.writerows(rows)
    print(f"{len(rows)} pairs written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
