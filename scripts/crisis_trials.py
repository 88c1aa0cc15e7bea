"""Session 11's crisis trials (issue #15 point 5), tune only: where the shipped classifier's tune misses stand, and
two kinds of new inputs, scored by the cross-validation of ``train_sentiment_head`` (folds by story, a fold's terms
left out of its training rows) with the threshold chosen *nested* (for each scored fold, the F0.5-best threshold on
the other folds' out-of-fold probabilities). Never reads a ``test`` line. Figures and outcome: the "Session 11" part
of tests/data/sentiment/README.md.

    .venv/bin/python scripts/crisis_trials.py [--window] [--categories] [--expressions]

``--window``: whether a larger window (more sentences, longer reach) would bring a crisis word into a tune window
that has none said of the term (the full items are read again from ../shared/corpus); ``--categories``: the window's
e5 closeness to one query per crisis kind (constants, or with the term) as more inputs; ``--expressions``: French
and English expressions that say a crisis *of the term* right around it ("l'affaire X", "X mis en examen",
"investigation into X", "X faces…"), applied by the item's language, as two more inputs; also read on the tune-side
check sets (``mentions_fresh.tsv``, ``mentions_extra.tsv``: never trained on, and not read when the expressions were
written).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "data" / "sentiment"))

import train_sentiment_head as T  # noqa: E402
from eval_sentiment import DATA, EXTRA, FRESH, MENTION_FILES, EmbeddingCache, labelled_mentions, load_tagger  # noqa: E402

import erepwatch.analyze.window as W  # noqa: E402
from erepwatch.analyze.crisis import CRISIS, load_trouble, term_of  # noqa: E402
from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher  # noqa: E402
from erepwatch.analyze.sentiment_models import load_head  # noqa: E402
from erepwatch.analyze.window import Window  # noqa: E402

Rows = list[tuple[frozenset[str], Window, str, dict[str, str]]]
L2 = (3e-2, 1e-1, 3e-1)


def features(files: tuple[str, ...] | None = None) -> tuple[Rows, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rows, raw shipped features, gate, window vectors, gold) of the tune windows of ``files`` (default: the ones
    trained on)."""
    rows = labelled_mentions("tune", files)
    raw, gate, vectors = T.crisis_features(rows, EmbeddingCache(), load_head())
    y = np.array([CRISIS in gold for gold, _, _, _ in rows], dtype=np.float64)
    return rows, raw, gate, vectors, y


def nested(p: np.ndarray, y: np.ndarray, fold: np.ndarray) -> tuple[float, float, int, int]:
    """(precision, recall, found, tagged) with each fold's threshold the F0.5-best on the other folds."""
    tagged = np.zeros(len(y), dtype=bool)
    for k in range(T.FOLDS):
        other = fold != k
        threshold = T.best_threshold(p[other], y[other])[0]
        tagged[fold == k] = p[fold == k] >= threshold
    found, n = int((tagged & (y > 0)).sum()), int(tagged.sum())
    return found / max(n, 1), found / float(y.sum()), found, n


def report(name: str, raw: np.ndarray, gate: np.ndarray, y: np.ndarray, rows: Rows) -> None:
    """The shipped layout's F0.5 (and its P, R), its nested P and R, and the nested P and R averaged over the
    three layouts of :data:`train_sentiment_head.CRISIS_SALTS`, for each penalty of :data:`L2`."""
    x, _, _ = T.standardised(raw, gate)
    terms = [term_of(w) for _, w, _, _ in rows]
    for l2 in L2:
        layouts = []
        for salt in T.CRISIS_SALTS:
            fold = T.story_folds(rows, salt)
            p = T.crisis_oof(x, y, gate, fold, terms, l2)
            layouts.append((T.best_threshold(p, y), nested(p, y, fold), T.recall_at(p, y, 0.8)))
        (t, f, pr, rc), (npr, nrc, found, n), r80 = layouts[0]
        mp, mr = np.mean([r[1][0] for r in layouts]), np.mean([r[1][1] for r in layouts])
        print(
            f"{name} l2={l2:g}: F0.5 {f:.3f} (t {t:.2f} P {pr:.2f} R {rc:.2f}); nested P {npr:.2f} ({found}/{n}) "
            f"R {nrc:.2f}; R@P0.8 {r80:.2f} | 3 layouts, nested: P {mp:.2f} R {mr:.2f}",
            flush=True,
        )


def window_trial(rows: Rows, y: np.ndarray) -> None:
    """Tune windows rebuilt from their corpus items with a larger window: which gain a crisis term or word of
    trouble in a sentence naming the term that the stored window does not hold."""
    from corpus_items import corpus_items

    wanted = {(m["feed"], m["entry"]) for *_, m in rows}
    items = {(feed, entry): item for feed, entry, _, item in corpus_items() if (feed, entry) in wanted}
    tagger, trouble = load_tagger(), load_trouble()

    def named(window: Window) -> bool:
        hits = tagger.hits(window.text, window.segments, window.focus, window.scan)
        bad = trouble.hits(window.text, window.segments, window.focus, window.scan)
        return any(s >= 0 and CRISIS in h.groups for s, h in hits) or any(s >= 0 for s, _ in bad)

    shipped = (W.MAX_SENTENCES, W.MAX_CHARS, W.SENTENCE_REACH)
    gained = {True: 0, False: 0}
    try:
        W.MAX_SENTENCES, W.MAX_CHARS, W.SENTENCE_REACH = 12, 2400, 400
        for (_, window, lang, m), crisis in zip(rows, y > 0, strict=True):
            item = items.get((m["feed"], m["entry"]))
            if item is None or named(window):
                continue
            matched = MatchItem(item.title, item.text, None, lang)
            found = compile_matcher([WatchSpec(1, m["watch"], m["watch"])]).match(matched)
            if found and named(W.mention_window(matched.title, matched.text, found[0].spans)):
                gained[bool(crisis)] += 1
    finally:
        W.MAX_SENTENCES, W.MAX_CHARS, W.SENTENCE_REACH = shipped
    with_word = sum(1 for (_, w, _, _), c in zip(rows, y > 0, strict=True) if c and named(w))
    print(f"crises with a word of the lists in a sentence naming the term: {with_word}/{int(y.sum())}")
    print(
        "windows gaining one with 12 sentences / 2,400 chars / reach 400: "
        f"crises {gained[True]}, others {gained[False]}"
    )


#: One query per crisis kind (English, French), with the watched term or without it (a constant).
KINDS = {
    "recall": (
        "{t} product recall: recalled, defective, withdrawn from sale",
        "rappel de produits {t} : rappel conso, défectueux, retiré de la vente",
    ),
    "strike": (
        "strike and layoffs at {t}: workers walk out, job cuts",
        "grève et licenciements chez {t} : plan social, suppressions de postes",
    ),
    "breach": (
        "{t} data breach: hacked, leaked data, cyberattack",
        "fuite de données chez {t} : piratage, cyberattaque",
    ),
    "accident": (
        "{t} accident: crash, explosion, killed, injured",
        "accident de {t} : collision, explosion, morts, blessés",
    ),
    "fraud": (
        "{t} accused of fraud: scandal, corruption, investigation, charged",
        "{t} accusé de fraude : scandale, corruption, enquête, mis en examen",
    ),
    "outage": ("{t} outage: service down, users cannot connect", "panne chez {t} : service indisponible, panne géante"),
    "backlash": (
        "{t} backlash: outrage, criticism, boycott, controversy",
        "polémique autour de {t} : bad buzz, indignation, boycott",
    ),
    "crime": ("{t} victim of a crime: murdered, assaulted, kidnapped", "meurtre de {t} : agressé, tué, enlevé"),
}


def kind_query(kind: str, term: str, lang: str) -> str:
    en, fr = KINDS[kind]
    text = fr if lang == "fr" else en
    return text.format(t=term) if term else text.replace("{t} ", "").replace(" {t}", "")


def category_trial(rows: Rows, raw: np.ndarray, gate: np.ndarray, vectors: np.ndarray, y: np.ndarray) -> None:
    terms = [term_of(w) for _, w, _, _ in rows]
    langs = [lang for _, _, lang, _ in rows]
    texts = sorted(
        {kind_query(k, "", lang) for lang in ("en", "fr") for k in KINDS}
        | {kind_query(k, t, lang) for t, lang in zip(terms, langs, strict=True) for k in KINDS if t}
    )
    queries = dict(zip(texts, EmbeddingCache(query=True).embed(texts), strict=True))

    def cosines(with_term: bool) -> np.ndarray:
        out = np.zeros((len(rows), len(KINDS)))
        for i, (t, lang) in enumerate(zip(terms, langs, strict=True)):
            if gate[i] and (t or not with_term):
                out[i] = [float(vectors[i] @ queries[kind_query(k, t if with_term else "", lang)]) for k in KINDS]
        return out

    constant, per_term = cosines(False), cosines(True)
    near_term = raw[:, -3][:, None]  # "window · term"
    report("shipped", raw, gate, y, rows)
    report("+8 constant kind cosines", np.c_[raw, constant], gate, y, rows)
    report("+their max", np.c_[raw, constant.max(1)], gate, y, rows)
    report("+8 per-term kind cosines", np.c_[raw, per_term], gate, y, rows)
    report("+8 per-term kind cosines minus window.term", np.c_[raw, per_term - near_term], gate, y, rows)
    best = per_term.max(1)
    report("+per-term max, and minus window.term", np.c_[raw, best, best - near_term[:, 0]], gate, y, rows)


#: Expressions right before / right after the watched term that say a crisis of it, by language.
BEFORE = {
    "fr": r"(?:l['’]|)affaire|scandale|(?:plainte|enquête|enquete|poursuites|procès|proces|accusations?|soupçons) "
    r"(?:contre|visant|sur|de|du|d['’])|(?:meurtre|mort|assassinat|agression|enlèvement|viol) (?:de|d['’]|du)|"
    r"(?:panne|grève|greve|fuite de données|piratage|cyberattaque|bug|licenciements?|rappel) "
    r"(?:chez|de|du|d['’]|géante chez)|(?:polémique|tollé|bad buzz|boycott) (?:autour de|contre|de|du|d['’]|visant)",
    "en": r"(?:investigation|probe|inquiry|lawsuit|charges|allegations|complaints?|backlash|outrage|accusations?|raid|"
    r"crackdown) (?:into|against|over|on|of|at)|(?:murder|killing|death|assault|kidnapping|shooting) of|"
    r"(?:accuse[sd]?|sued|sues|suing|charged|fined|fines|investigat(?:e|es|ing)|probe[sd]?|bans?|raids?)",
}
AFTER = {
    "fr": r"(?:,? ?(?:est|a été|ont été|sont|serait|aurait été) )?(?:accusée?s? d|soupçonnée?s? d|mise? en examen|"
    r"condamnée?s?|visée?s? par|inculpée?s?|poursuivie?s?|jugée?s?|interpellée?s?|arrêtée?s?|licencie|supprime|"
    r"rappelle|piratée?|en panne|épinglée?|sanctionnée?|dans la tourmente|au cœur d|éclaboussée?|mise? en cause|"
    r"tuée?|poignardée?|agressée?|retrouvée? morte?)",
    "en": r"(?:(?:'s|’s))? ?(?:(?:is|was|were|has been|have been|is being|are) )?(?:accused|charged|sued|fined|"
    r"indicted|convicted|investigated|hacked|probed|under (?:\w+ )?investigation|faces?|facing|apologi[sz]e[sd]?|"
    r"recall(?:s|ed)?|lays? off|laid off|cuts? jobs|outage|scandal|breach|strike|controversy|backlash|killed|"
    r"murdered|stabbed|shot|down|under fire|embroiled|admits?|pleads? guilty|pleaded guilty|found guilty)",
}
PATTERNS = {
    lang: (re.compile(r"(?:" + BEFORE[lang] + r")\s*$", re.I), re.compile(r"^\s*(?:" + AFTER[lang] + r")\b", re.I))
    for lang in ("fr", "en")
}


def expressions(window: Window, lang: str) -> list[float]:
    """[an expression says a crisis of the term, one does so in the title], by the item's language."""
    before, after = PATTERNS["fr" if lang == "fr" else "en"]
    said = in_title = 0.0
    for a, b in window.focus:
        if before.search(window.text[max(0, a - 40) : a]) or after.search(window.text[b : b + 60]):
            said = 1.0
            in_title = max(in_title, float(a < window.title_end))
    return [said, in_title]


def expression_trial(rows: Rows, raw: np.ndarray, gate: np.ndarray, y: np.ndarray) -> None:
    e = np.array([expressions(w, lang) if gate[i] else [0.0, 0.0] for i, (_, w, lang, _) in enumerate(rows)])
    crises, others = int(e[y > 0, 0].sum()), int(e[y == 0, 0].sum())
    print(f"an expression said of the term: crises {crises}/{int(y.sum())}, others {others}")
    report("shipped", raw, gate, y, rows)
    report("+expressions", np.c_[raw, e], gate, y, rows)
    terms = [term_of(w) for _, w, _, _ in rows]
    for files in ((FRESH,), (EXTRA,)):
        crows, craw, cgate, _, cy = features(files)
        ce = np.array([expressions(w, lang) if cgate[i] else [0.0, 0.0] for i, (_, w, lang, _) in enumerate(crows)])
        said = ce[:, 0] > 0
        right = int((said & (cy > 0)).sum())
        n = int(said.sum())
        print(f"{files[0]} ({int(cy.sum())} crises): expression alone P {right / max(n, 1):.2f} ({right}/{n})")
        for name, train, scored, l2 in (
            ("shipped", raw, craw, 0.1),
            ("+expressions", np.c_[raw, e], np.c_[craw, ce], 0.1),
            ("+expressions", np.c_[raw, e], np.c_[craw, ce], 0.3),
        ):
            x, mean, std = T.standardised(train, gate)
            threshold = T.best_threshold(T.crisis_oof(x, y, gate, T.story_folds(rows), terms, l2), y)[0]
            w, b = T.fit_binary(x[gate], y[gate], l2)
            p = cgate / (1 + np.exp(-(((scored - mean) / std) @ w + b)))
            tagged = p >= threshold
            found = int((tagged & (cy > 0)).sum())
            print(
                f"  {name} l2={l2:g} t {threshold:.2f}: P {found / max(int(tagged.sum()), 1):.2f} "
                f"({found}/{int(tagged.sum())}) R {found / cy.sum():.2f}"
            )


def cascade_trial(rows: Rows, raw: np.ndarray, gate: np.ndarray, y: np.ndarray) -> None:
    """Precision first: tag when an expression says a crisis of the term and p >= t1, or when p >= t2 (the
    classifier with the expressions as inputs, l2 0.1), (t1, t2) the F0.5-best on the other folds; and the nested
    figures of the shipped classifier on the curated watch lists' windows against the names read off the text
    (``mentions_more.tsv``)."""
    e = np.array([expressions(w, lang) if gate[i] else [0.0, 0.0] for i, (_, w, lang, _) in enumerate(rows)])
    said = e[:, 0] > 0
    terms = [term_of(w) for _, w, _, _ in rows]
    grid = np.arange(0.3, 0.99, 0.02)
    x, _, _ = T.standardised(np.c_[raw, e], gate)
    for salt in T.CRISIS_SALTS:
        fold = T.story_folds(rows, salt)
        p = T.crisis_oof(x, y, gate, fold, terms, 0.1)
        tagged = np.zeros(len(y), dtype=bool)
        for k in range(T.FOLDS):
            other, best = fold != k, (-1.0, 1.0, 1.0)
            for t1 in grid:
                for t2 in grid[grid >= t1]:
                    q = (((p >= t1) & said) | (p >= t2)) & other
                    found = float((q & (y > 0)).sum())
                    if found:
                        pr, rc = found / q.sum(), found / y[other].sum()
                        best = max(best, (1.25 * pr * rc / (0.25 * pr + rc), t1, t2))
            tagged[fold == k] = (((p >= best[1]) & said) | (p >= best[2]))[fold == k]
        found, n = int((tagged & (y > 0)).sum()), int(tagged.sum())
        print(f"cascade, layout {salt!r}: nested P {found / max(n, 1):.2f} ({found}/{n}) R {found / y.sum():.2f}")
    sources = [
        name
        for name in MENTION_FILES
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
        if line.split("\t")[0] == "tune"
    ]
    curated = np.array([name != "mentions_more.tsv" for name in sources])
    x, _, _ = T.standardised(raw, gate)
    for salt in T.CRISIS_SALTS:
        fold = T.story_folds(rows, salt)
        p = T.crisis_oof(x, y, gate, fold, terms, 0.1)
        tagged = np.zeros(len(y), dtype=bool)
        for k in range(T.FOLDS):
            threshold = T.best_threshold(p[fold != k], y[fold != k])[0]
            tagged[fold == k] = p[fold == k] >= threshold
        parts = []
        for mask, name in ((curated, "curated watches"), (~curated, "names read off the text")):
            found, n = int((tagged & mask & (y > 0)).sum()), int((tagged & mask).sum())
            parts.append(f"{name} P {found / max(n, 1):.2f} ({found}/{n}) R {found / y[mask].sum():.2f}")
        print(f"shipped, layout {salt!r}, nested: " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--window", action="store_true")
    parser.add_argument("--categories", action="store_true")
    parser.add_argument("--expressions", action="store_true")
    parser.add_argument("--cascade", action="store_true")
    args = parser.parse_args()
    rows, raw, gate, vectors, y = features()
    print(f"{len(rows)} tune windows, {int(y.sum())} crises, {int(gate.sum())} holding a word of the lists")
    if args.window:
        window_trial(rows, y)
    if args.categories:
        category_trial(rows, raw, gate, vectors, y)
    if args.expressions:
        expression_trial(rows, raw, gate, y)
    if args.cascade:
        cascade_trial(rows, raw, gate, y)


if __name__ == "__main__":
    main()
