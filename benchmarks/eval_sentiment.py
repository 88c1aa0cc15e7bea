"""Sentiment quality per language on the test split, beside two baselines measured in the same run.

    /work/main/.venv/bin/python benchmarks/eval_sentiment.py [--split test|tune]

* erepwatch: the lexicon scorer (negation, boosters, contrast, emoji, exclamation);
* bag of words: the same word lists, summed with no negation, booster, contrast or emphasis;
* VADER (English only; vaderSentiment, with its own recommended +-0.05 neutral band).

Sets (tests/data/sentiment/README.md): en, 520 Yelp review sentences; fr, 612 Allociné TV-series
reviews. Both sources are two-class (positive/negative): a "neutral" answer counts as a miss. Macro-F1
is the mean of the per-class F1 over the classes present in the gold labels, so a set with a neutral
class is scored on three classes without any change here. Also prints the throughput of
``erepwatch analyze`` (lines/s through the real command, language detection included).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

from erepwatch.analyze.sentiment import LexiconScorer, Tuning, load_scorer
from erepwatch.analyze.textnorm import words

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "sentiment"


def load(lang: str, split: str) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / f"{lang}.tsv").read_text(encoding="utf-8").splitlines():
        part, label, text = line.split("\t", 2)
        if part == split:
            rows.append((label, text))
    return rows


def metrics(gold: list[str], pred: list[str]) -> tuple[float, float]:
    acc = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    f1s = []
    for cls in sorted(set(gold)):
        tp = sum(g == p == cls for g, p in zip(gold, pred, strict=True))
        fp = sum(p == cls != g for g, p in zip(gold, pred, strict=True))
        fn = sum(g == cls != p for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return acc, sum(f1s) / len(f1s)


def bag_of_words(scorer: LexiconScorer, lang: str):
    lex = scorer.lexicon(lang)
    band = scorer.tuning.neutral_band

    def predict(text: str) -> str:
        toks = words(text)
        total, i = 0.0, 0
        while i < len(toks):
            hit = lex.match(toks, i)
            if hit is None:
                i += 1
                continue
            entry, n = hit
            if entry.kind == "word":
                total += entry.weight
            i += n
        score = total / math.sqrt(total * total + scorer.tuning.alpha) if total else 0.0
        return "positive" if score >= band else "negative" if score <= -band else "neutral"

    return predict


def vader():
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyzer = SentimentIntensityAnalyzer()

    def predict(text: str) -> str:
        c = analyzer.polarity_scores(text)["compound"]
        return "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"

    return predict


def evaluate(split: str, tuning: Tuning | None = None) -> dict[str, dict[str, tuple[float, float]]]:
    scorer = load_scorer()
    assert isinstance(scorer, LexiconScorer)
    scorer.tuning = tuning or Tuning()
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for lang in ("en", "fr"):
        rows = load(lang, split)
        gold = [label for label, _ in rows]
        systems = {
            "erepwatch": lambda t, lang=lang: scorer.score(t, lang).label,
            "bag of words": bag_of_words(scorer, lang),
        }
        v = vader()
        if lang == "en" and v is not None:
            systems["VADER"] = v
        results[lang] = {name: metrics(gold, [f(t) for _, t in rows]) for name, f in systems.items()}
    return results


def throughput(lines: int = 5000) -> float:
    texts = [t for lang in ("en", "fr") for _, t in load(lang, "test") + load(lang, "tune")]
    payload = "\n".join((texts * (lines // len(texts) + 1))[:lines]) + "\n"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "erepwatch", "analyze", "--json"],
        input=payload,
        text=True,
        check=True,
        capture_output=True,
    )
    return lines / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="test", choices=("test", "tune"))
    args = parser.parse_args()
    for lang, systems in evaluate(args.split).items():
        rows = load(lang, args.split)
        classes = ", ".join(f"{c} {sum(g == c for g, _ in rows)}" for c in sorted({g for g, _ in rows}))
        print(f"{lang} ({len(rows)} texts, {args.split} split: {classes})")
        base = systems["bag of words"][1]
        for name, (acc, f1) in systems.items():
            print(f"  {name:14} accuracy {acc:.3f}  macro-F1 {f1:.3f}  (x{f1 / base:.2f} vs bag of words)")
    print(f"analyze throughput: {throughput():.0f} lines/s (5000 lines, process start and model load included)")


if __name__ == "__main__":
    main()
