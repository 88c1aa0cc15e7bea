"""Keeps the measured quality from sliding back (figures from benchmarks/eval_sentiment.py, test split)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data" / "sentiment"))
from corpus_items import shares_a_story, words_of
from eval_sentiment import DATA, evaluate, load

# Measured when these floors were set (test split): en accuracy 0.772, macro-F1 0.837 (bag of words
# 0.820, VADER 0.732), 346 lines; fr accuracy 0.760, macro-F1 0.810 (bag of words 0.782), 408 lines.
# Floors sit about 0.02 below, room for word-list edits but not for a real regression.
F1_FLOORS = {"en": 0.82, "fr": 0.79}
ACCURACY_FLOORS = {"en": 0.75, "fr": 0.74}
#: The issue asks for at least 500 real labelled lines per language.
MIN_LINES = 500


@pytest.fixture(scope="module")
def results():
    return evaluate("test")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_macro_f1_floor_and_ahead_of_baselines(results, lang: str) -> None:
    systems = results[lang]
    accuracy, ours = systems["erepwatch"]
    assert ours >= F1_FLOORS[lang]
    assert accuracy >= ACCURACY_FLOORS[lang]
    assert ours > systems["bag of words"][1]
    if "VADER" in systems:
        assert ours > systems["VADER"][1]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_evaluation_set_size_and_split(lang: str) -> None:
    lines = (DATA / f"{lang}.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= MIN_LINES
    tune, test = load(lang, "tune"), load(lang, "test")
    assert len(tune) + len(test) == len(lines)
    # Every third line is tuned on; the rest is only ever reported.
    assert [line.split("\t", 1)[0] for line in lines[:6]] == ["tune", "test", "test"] * 2
    assert {label for label, _ in tune + test} <= {"positive", "negative", "neutral"}
    assert not {text for _, text in tune} & {text for _, text in test}


def test_french_leads_stay_apart_from_held_out_headlines() -> None:
    """fr_news_leads.tsv (lead sentences labelled for training trials) is tune only and takes nothing from an item
    whose headline is held out in fr_news.tsv, so training on it could never teach a held-out answer."""
    leads = [line.split("\t") for line in (DATA / "fr_news_leads.tsv").read_text(encoding="utf-8").splitlines()]
    headlines = [line.split("\t") for line in (DATA / "fr_news.tsv").read_text(encoding="utf-8").splitlines()]
    held_out = {(r[3], r[4]) for r in headlines if r[0] == "test"}
    assert len(leads) >= 500
    assert {r[0] for r in leads} == {"tune"}
    assert {r[1] for r in leads} == {"negative", "neutral", "positive"}
    assert not {(r[3], r[4]) for r in leads} & held_out
    assert not {r[2] for r in leads} & {r[2] for r in headlines}


def test_wikinews_headlines_share_no_story_with_the_corpus_headlines() -> None:
    """fr_news_wikinews.tsv (French Wikinews headlines, CC BY 2.5, labelled for training) is tune only and holds no
    headline sharing 30 % of its words with a fr_news.tsv line (the rule build_fr_wikinews.py selects by), so training
    on it could never teach a held-out headline's story."""
    rows = [line.split("\t") for line in (DATA / "fr_news_wikinews.tsv").read_text(encoding="utf-8").splitlines()]
    news = [words_of(line.split("\t")[2]) for line in (DATA / "fr_news.tsv").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 853
    assert {r[0] for r in rows} == {"tune"}
    assert {r[1] for r in rows} == {"negative", "neutral", "positive"}
    assert len({r[2] for r in rows}) == len(rows)
    for r in rows:
        mine = words_of(r[2])
        assert not any(shares_a_story(mine, other) for other in news), r[2]
