"""Keeps the measured quality from sliding back (figures from benchmarks/eval_sentiment.py, test split)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from eval_sentiment import evaluate

# Measured when this test was written: en macro-F1 0.837 (bag of words 0.820, VADER 0.732);
# fr 0.810 (bag of words 0.794). Floors leave a little room for word-list edits.
FLOORS = {"en": 0.80, "fr": 0.75}


@pytest.fixture(scope="module")
def results():
    return evaluate("test")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_macro_f1_floor_and_ahead_of_baselines(results, lang: str) -> None:
    systems = results[lang]
    ours = systems["erepwatch"][1]
    assert ours >= FLOORS[lang]
    assert ours >= systems["bag of words"][1]
    if "VADER" in systems:
        assert ours > systems["VADER"][1]
