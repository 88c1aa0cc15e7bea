"""The trained sentiment models: what ships, and the quality floors on held-out sets (issue #15 points 3 and 4).

Figures from ``benchmarks/eval_sentiment.py`` on the ``test`` split of each set (nothing trained or tuned on it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from erepwatch.analyze import embedding
from erepwatch.analyze.crisis import FEATURES, head_digest, load_crisis
from erepwatch.analyze.sentiment import LexiconScorer, load_scorer
from erepwatch.analyze.sentiment_models import (
    ANY_LANGUAGE,
    CLASSES,
    LEXICON_FEATURES,
    ModelScorer,
    load_bow,
    load_head,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from eval_sentiment import GROUPS, evaluate_all, evaluate_tags

# (group, system) → (metric, floor); floors sit about 0.02-0.03 under what was measured when they were set
# (FLOORS_MEASURED). Issue #15 asks for en 3-class macro-F1 >= 0.75 (held), company news accuracy >= 0.75 (held:
# 433/567), fr reviews macro-F1 >= 0.85 (held, 0.857), fr news 3-class macro-F1 >= 0.70 (not yet: 0.678).
FLOORS: dict[tuple[str, str], tuple[str, float]] = {
    ("en 3-class (company news + reviews)", "e5 head"): ("macro-F1", 0.81),
    ("en company news", "e5 head"): ("accuracy", 0.74),
    ("fr reviews", "e5 head"): ("macro-F1", 0.83),
    ("fr news headlines (3-class)", "e5 head"): ("macro-F1", 0.65),
    ("en 3-class (company news + reviews)", "bow model"): ("macro-F1", 0.70),
    ("fr reviews", "bow model"): ("macro-F1", 0.78),
}
FLOORS_MEASURED = (
    "e5 head (per-language heads over the embedding and the word lists' features, news weighed up, French class "
    "offsets): en 3-class F1 0.833, company news accuracy 0.764 (433/567), fr reviews F1 0.857, fr news F1 0.678; "
    "bow model: 0.724, 0.721, 0.809, 0.384; lexicon: 0.644, 0.571, 0.799, 0.516; VADER: 0.550, 0.490"
)


def test_shipped_models_have_the_expected_shapes() -> None:
    head = load_head()
    assert ANY_LANGUAGE in head.heads
    for w, b in head.heads.values():
        assert w.shape == (embedding.DIM + LEXICON_FEATURES, len(CLASSES)) and b.shape == (len(CLASSES),)
        assert np.isfinite(w).all()
    assert head.model_version == embedding.MODEL_VERSION, "retrain the head after a model change"
    crisis = load_crisis()
    assert crisis.w.shape == (len(FEATURES),) and 0 < crisis.threshold < 1, "features only, no embedding"
    assert crisis.model_version == embedding.MODEL_VERSION, "retrain the crisis model after a model change"
    assert crisis.head == head_digest(head), "retrain the crisis model after a new sentiment head (--crisis-only)"
    bow = load_bow()
    assert bow.w.shape == (len(bow.index), len(CLASSES)) and len(bow.index) > 1000
    assert np.isfinite(bow.w).all()


def test_model_scorer_explains_with_the_lexicon() -> None:
    lexicon = load_scorer()
    assert isinstance(lexicon, LexiconScorer)
    scorer = ModelScorer("bow", lexicon)
    got = scorer.score("Acme profits slump as the group cuts its outlook and announces layoffs", "en")
    assert got.label == "negative"
    assert {"layoffs", "profits slump"} <= set(got.keywords), got.keywords
    assert scorer.score("The meeting is on Tuesday at the city hall", "en").keywords == ()


def test_load_scorer_names_the_choices() -> None:
    from erepwatch.errors import ConfigError

    with pytest.raises(ConfigError, match="'lexicon' or 'bow' or 'e5'"):
        load_scorer("nonsense")
    assert isinstance(load_scorer("bow"), ModelScorer)


@pytest.mark.slow
def test_quality_floors_on_held_out_sets() -> None:
    results = evaluate_all("test")
    assert set(results) == set(GROUPS)
    for (group, system), (metric, floor) in FLOORS.items():
        accuracy, f1 = results[group][system]
        value = accuracy if metric == "accuracy" else f1
        assert value >= floor, f"{group} / {system}: {metric} {value:.3f} < {floor} ({FLOORS_MEASURED})"
    # The shipped default beats both baselines where they run.
    en3 = results["en 3-class (company news + reviews)"]
    assert en3["e5 head"][1] > max(en3["VADER"][1], en3["bag of words"][1], en3["lexicon"][1])


def test_crisis_word_list_on_labelled_mentions() -> None:
    # The word list with its reach and attribution rules: the tag of the lexicon and bow scorers, and of a mention
    # the sentiment stage has not embedded yet.
    tp, fp, fn = evaluate_tags("test", with_embedding=False)["crisis"]
    assert tp + fn >= 20, "the held-out sample holds enough crises to measure"
    assert tp / (tp + fp) >= WORD_LIST_PRECISION_FLOOR
    assert tp / (tp + fn) >= WORD_LIST_RECALL_FLOOR


@pytest.mark.slow
def test_crisis_classifier_on_labelled_mentions() -> None:
    # The classifier the sentiment stage applies with the e5 scorer (the default).
    tp, fp, fn = evaluate_tags("test")["crisis"]
    assert tp / (tp + fp) >= CLASSIFIER_PRECISION_FLOOR
    assert tp / (tp + fn) >= CLASSIFIER_RECALL_FLOOR


def test_a_tag_under_the_precision_bar_is_not_applied_by_default() -> None:
    """Issue #15 point 5: a built-in tag whose precision on the labelled held-out mentions stays under 0.80 is not
    applied by default (``analysis.builtin_tags``). Measured (sessions 5-9, word lists unchanged since session 6):
    review 3/18, customer-service 0/4, legal 18/40, hiring 3/7: all four stay off. ``crisis`` is the exception the
    issue makes (its alerts fire on the classifier's tag): on by default, with its own floors below."""
    from erepwatch.settings import Settings

    default = set(Settings().analysis_builtin_tags)
    assert default == {"crisis"}
    for tag, (tp, fp, _) in evaluate_tags("test", with_embedding=False).items():
        if tag == "crisis":
            continue
        precision = tp / (tp + fp) if tp + fp else 0.0
        assert (tag in default) == (precision >= 0.80), f"{tag}: precision {precision:.2f} ({tp}/{tp + fp})"


# Measured when set (read once each time: the test sides of mentions.tsv and mentions_more.tsv, 50 crises in 484
# windows), far under the 0.90 / 0.80: the word list (reach 5, attribution rules) precision 8/15 = 0.53,
# recall 8/50 = 0.16 (session 6); the classifier of session 7 (where the term sits and who the words are said of, the
# window's closeness to the term and to its crisis query; no embedding as input) 11/17 = 0.65, 11/50 = 0.22
# (session 6's: 9/18 = 0.50, 9/50 = 0.18). On mentions.tsv's 22 crises alone: word list 8/14, 8/22; classifier
# 8/12 = 0.67, 8/22 = 0.36. benchmarks/eval_sentiment.py prints both. Session 8: the same classifier retrained with
# 61 more tune crises (mentions_fresh.tsv) read 18/46 = 0.39, 18/50 = 0.36 and was left out: session 7's floors.
# Session 9: a precision-first gate after it (--crisis-gates) read 4/6 = 0.67, 4/50 = 0.08 and was left out too.
WORD_LIST_PRECISION_FLOOR = 0.45
WORD_LIST_RECALL_FLOOR = 0.12
CLASSIFIER_PRECISION_FLOOR = 0.55
CLASSIFIER_RECALL_FLOOR = 0.18


def test_bow_logits_read_the_features_of_bigrams() -> None:
    # logits() makes a pair into a string only when its words can begin and end a known pair: the features found,
    # and so the logits to the last bit, are those of every word and pair (bigrams()).
    from erepwatch.analyze.sentiment_models import bigrams, load_bow
    from erepwatch.analyze.textnorm import words

    model = load_bow()
    texts = [
        "Le service client est vraiment nul, je ne recommande pas du tout",
        "Great product, the support team was very helpful and fast",
        "Apple annonce une forte hausse de ses ventes malgré la crise",
        "",
    ]
    for text in texts:
        found = words(text)
        ids = {model.index[f] for f in bigrams(found) if f in model.index}
        expected = model.b.copy()
        if ids:
            expected += model.w[list(ids)].sum(axis=0)
        assert np.array_equal(model.logits(text, found), expected)
        assert np.array_equal(model.logits(text), expected)
