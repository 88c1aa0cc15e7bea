"""List the French Wikinews headlines labelled in fr_news_wikinews.tsv (see README.md in this folder).

    git -C WiNER-fr archive 0fe35f0d687f27f230b550a09fed1d641a4b1601 | tar -x -C winer
    .venv/bin/python tests/data/sentiment/build_fr_wikinews.py winer > candidates.tsv

The headlines are the titles of the French Wikinews articles (2016-2018) that the WiNER-fr corpus lists in its
``YEAR/YEAR-MONTH-urls.txt`` files (public repository ``YoannDupont/WiNER-fr`` at the commit above; the 36 files,
read in path order, are checked against :data:`DIGEST`, so a different copy is refused). A title is the URL's page
name with ``_`` read as a space (the files hold the names unescaped). Kept: distinct titles of at least
:data:`MIN_CHARS` characters, detected as French, that are no headline already labelled in this folder and share
less than 30 % of their words (3+ letters) with every line of fr_news.tsv (the same story told elsewhere: the rule
of fr_news_train.tsv). Prints them all (853) by SHA-1 of the title as ``tune<TAB>?<TAB>title<TAB>file
<TAB>key`` lines; the ``?`` was replaced by hand with the label (the fr_news.tsv rule, headline only).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from corpus_items import shares_a_story, words_of

from erepwatch.analyze.language import detect_language

HERE = Path(__file__).resolve().parent
#: SHA-256 of the 36 ``*-urls.txt`` files of WiNER-fr at commit 0fe35f0d, concatenated in path order.
DIGEST = "bc4548fc71a4762d959d889f276ad98577f34bbd6e152800b9d91d9b3ea452f2"
MIN_CHARS = 25
LABELLED = ("fr_news.tsv", "fr_news_train.tsv", "fr_news_leads.tsv")


def url_files(root: Path) -> list[Path]:
    files = sorted(root.glob("20[0-9][0-9]/20[0-9][0-9]-[0-9][0-9]-urls.txt"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
    if digest != DIGEST:
        raise SystemExit(f"the urls files of {root} differ from WiNER-fr at 0fe35f0d (SHA-256 {digest})")
    return files


def titles(root: Path) -> dict[str, tuple[str, str]]:
    """Title → (urls file, document key), first occurrence kept."""
    out: dict[str, tuple[str, str]] = {}
    for path in url_files(root):
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, url = line.partition("\t")
            title = " ".join(url.rsplit("/wiki/", 1)[-1].replace("_", " ").split())
            out.setdefault(title, (path.name, key.strip()))
    return out


def main(argv: list[str]) -> None:
    rows = [
        line.split("\t")
        for name in LABELLED
        for line in (HERE / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    labelled = {r[2] for r in rows}
    news = (HERE / "fr_news.tsv").read_text(encoding="utf-8").splitlines()
    news_bags = [words_of(line.split("\t")[2]) for line in news if line.strip()]
    kept = {}
    for title, where in titles(Path(argv[0])).items():
        if len(title) < MIN_CHARS or title in labelled or detect_language(title) != "fr":
            continue
        bag = words_of(title)
        if any(shares_a_story(bag, other) for other in news_bags):
            print(f"near-duplicate of a fr_news.tsv line: {title}", file=sys.stderr)
            continue
        kept[title] = where
    chosen = sorted(kept, key=lambda t: hashlib.sha1(t.encode()).hexdigest())
    print(f"{len(chosen)} headlines listed", file=sys.stderr)
    for title in chosen:
        print("\t".join(("tune", "?", title, *kept[title])))


if __name__ == "__main__":
    main(sys.argv[1:])
