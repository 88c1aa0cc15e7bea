"""The analysis' shortcuts change no output: over every labelled corpus mention window (tests/data/sentiment/
mentions*.tsv, 1,143 windows), the window's shared scan gives the sentiment, its "why", the tags and the crisis
evidence that reading the text again gives."""

import sys
from dataclasses import astuple
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from eval_sentiment import EXTRA, labelled_mentions

from erepwatch.analyze.sentiment import LexiconScorer, load_scorer
from erepwatch.analyze.tags import Tagger, load_tagger
from erepwatch.analyze.textnorm import scan
from erepwatch.analyze.window import Window

FILES = ("mentions.tsv", "mentions_tune.tsv", "mentions_train.tsv", EXTRA)


@pytest.fixture(scope="module")
def windows() -> list[tuple[Window, str]]:
    found = [(w, lang) for split in ("test", "tune") for _, w, lang, _ in labelled_mentions(split, FILES)]
    assert len(found) == 1143  # every line of the four files
    return found


@pytest.fixture(scope="module")
def lexicon() -> LexiconScorer:
    scorer = load_scorer()
    assert isinstance(scorer, LexiconScorer)
    return scorer


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return load_tagger()


def test_the_shared_scan_reads_as_the_text(
    windows: list[tuple[Window, str]], lexicon: LexiconScorer, tagger: Tagger
) -> None:
    differ = []
    for w, lang in windows:
        outputs = []
        # A window the matcher did not find again (a few labelled lines) is built without a scan.
        for scanned in (None, w.scan or scan(w.text)):
            outputs.append(
                (
                    astuple(lexicon.score(w.text, lang, w.focus, scanned=scanned)),
                    lexicon.read(w.text, lang, w.focus, scanned=scanned).explained(),
                    tagger.explain(w.text, lang, segments=w.segments, focus=w.focus, scanned=scanned),
                    tagger.hits(w.text, w.segments, w.focus, scanned),
                )
            )
        if outputs[0] != outputs[1]:
            differ.append(w.text)
    assert not differ, differ[:3]
