"""Semantic story folding measured on labelled real headline pairs (issue 16 point 2).

The pairs are those of ``tests/data/dedup`` and of ``tests/data/stories`` (``xlang_pairs.tsv``, ``cosine_pairs.tsv``),
real pairs only (see tests/data/stories/README.md for why and for the labelling rule): ``duplicate`` and
``same_story`` are one story, ``distinct`` two. Pairs taken from the feed corpus
carry the start of each entry's lead (``tests/data/stories/leads.tsv``); the others have headlines only. The
decision measured is the one the pipeline makes: the lexical rule (headline, and lead when there is one), or else
:func:`~erepwatch.analyze.stories.semantic_score` on the headlines' and the (headline + lead) embeddings' cosines,
with no guard splitting. Split tune / held-out by ``crc32(title_a + TAB + title_b) % 2`` (0 = tune); the cuts and
guards were chosen on tune only.

The pair test leaves out what the stage adds: a story's other members. The cluster-level test runs the stage's own
decisions (:func:`~erepwatch.analyze.stories.assign_lexical`, then
:func:`~erepwatch.analyze.stories.assign_semantic` over the founders) on every labelled headline at once — one watch
per source, with the 499 rows of the UCI News Aggregator file as the stream its English pairs come from (and the
2,800 rows after them as the stream of the fresh English set, ``uci_fresh_pairs.tsv``, its own watch) — and
scores the same labelled pairs by whether they end in one story: what the user sees, transitivity included.
"""

from __future__ import annotations

import csv
import hashlib
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from erepwatch.analyze.dedup import ClusterCandidate, ClusterIndex, prepare, prepared_near_duplicate
from erepwatch.analyze.stories import (
    JoinReason,
    StoryProbe,
    assign_lexical,
    assign_semantic,
    lead_key,
    lead_text,
    semantic_score,
    semantic_split,
    story_text,
    title_cosine,
    topic_rest,
)

# Embeds ~4,600 texts (~1,700 before the fresh UCI set of session 11): 83 s on the shared 2-core machine, 256 s when
# other jobs held both cores (session 11); over 300 s (the default timeout) on a busier one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

DATA = Path(__file__).resolve().parents[1] / "data"

# Floors on the held-out half: the figures measured when the cuts were chosen, minus one pair's worth (see
# tests/data/stories/README.md for the figures and for what stays below the targets): each floor lets one
# more false merge and one fewer fold through than the counts measured, and no more. The engine's floats differ from
# one CPU to another by enough to move a pair across the cut: session 14's machine, on the same code and packages,
# gave the fresh set's pairs 5 false merges of 58 where session 11's gave 4 (0.928 against 0.941, above a floor then
# at 0.935), every other count the same. Measured (session 8,
# read once after the choice on tune) with e5's query side, cuts 0.92 / 0.92 / lead 0.92 with the headlines at 0.88
# at least, what follows a shared topic label compared too, the place-label guard, names spelt two ways or given in
# full read as one, and the half-of-the-members veto, on the pairs of tests/data/dedup and
# tests/data/stories/cosine_pairs.tsv: pairs en 0.974 / 0.758, fr 0.944 / 0.800 (tune: en 0.991 / 0.779, fr 0.985 /
# 0.800).
FLOORS = {
    # lang: (min precision, min recall) on held-out
    "en": (0.965, 0.75),  # 113 of 149, 3 false merges: one more 113 / 117, one fold fewer 112 / 149
    "fr": (0.93, 0.785),  # 68 of 85, 4 false merges: 68 / 73, 67 / 85
}
# The same pairs decided by the stories the stage makes (the cluster-level test), held-out half, with the shipped
# default (no merge of two existing stories: analysis.merge_stories off): measured (session 9, second read, after the
# merge rule was frozen) en 0.975 / 0.792, fr 0.931 / 0.788, as session 8 (tune: en 1.000 / 0.757, fr 0.984 / 0.762).
CLUSTER_FLOORS = {
    "en": (0.965, 0.785),  # 118 of 149, 3 false merges: 118 / 122, 117 / 149
    "fr": (0.915, 0.775),  # 67 of 85, 5 false merges: 67 / 73, 66 / 85
}
# With merges on (the setting; two stories merged when a new report joins both and they are close in time,
# MERGE_GAP): measured (session 9, second read) en 0.954 / 0.839, fr 0.932 / 0.812 (tune: en 1.000 / 0.814, fr 0.985
# / 0.800). English precision is below the default's by more than the decision rule allowed (0.02), so merges are off
# by default: see tests/data/stories/README.md, "Honest status".
MERGED_FLOORS = {
    "en": (0.945, 0.83),  # 125 of 149, 6 false merges: 125 / 132, 124 / 149
    "fr": (0.915, 0.795),  # 69 of 85, 5 false merges: 69 / 75 = 0.92, 68 / 85 = 0.80 (a hair under, for rounding)
}
# The fresh English set (tests/data/stories/uci_fresh_pairs.tsv, session 11: 357 pairs drawn around the cut from the
# 2,800 UCI rows after uci_stream.tsv, in its own watch), reported apart from the older English pairs. Its held-out
# half was read once (session 11, shipped default, merges off): pairs 0.941 / 0.547, stories 0.948 / 0.624 (tune:
# 0.972 / 0.580, 0.963 / 0.664). Drawn mostly at cosines 0.86-0.97, so its recall is that of the hard zone, not of a
# whole stream. The setting's merges were not read on it (the variant read then was not kept: see the README).
FRESH_FLOORS = {
    "pairs": (0.925, 0.535),  # 64 of 117, 4 false merges: 64 / 69, 63 / 117
    "stories": (0.935, 0.615),  # 73 of 117, 4 false merges: 73 / 78, 72 / 117
}
# French / English reports (tests/data/stories/xlang_pairs.tsv: 3 of one story, 17 of two; nothing was tuned on
# them): measured 1 of 3 folded at both levels, no false merge. Kept at what was measured, not one pair under: with
# 3 pairs of one story, one pair is a third of the recall.
CROSS_LANGUAGE_FLOORS = {"pairs": (1.0, 0.33), "stories": (1.0, 0.33)}

Vectors = dict[str, Any]  # text -> its unit embedding
Decided = tuple[str, str, bool, bool, bool]  # lang, split, one story (label), lexical rule, pipeline's decision


def _pairs() -> list[dict[str, str]]:
    rows = []
    for path in (
        DATA / "dedup" / "pairs.tsv",
        DATA / "dedup" / "xpub_pairs.tsv",
        DATA / "stories" / "xlang_pairs.tsv",
        DATA / "stories" / "cosine_pairs.tsv",
        DATA / "stories" / "uci_fresh_pairs.tsv",
    ):
        with path.open(newline="", encoding="utf-8") as fh:
            rows.extend(r for r in csv.DictReader(fh, delimiter="\t") if r["kind"] == "real")
    with (DATA / "stories" / "leads.tsv").open(newline="", encoding="utf-8") as fh:
        leads = {(r["feed"], r["title"]): (r["lead"], r["published"]) for r in csv.DictReader(fh, delimiter="\t")}
    for r in rows:
        feeds = r["source"].split(":", 1)[1].split("|") if r["source"].startswith("corpus:") else ["", ""]
        for side, feed in zip("ab", feeds, strict=True):
            r[f"lead_{side}"], r[f"published_{side}"] = leads.get((feed, r[f"title_{side}"]), ("", ""))
    return rows


Node = tuple[str, str, str]  # the watch it is in (language and source), the feed it came from, its headline
T0 = datetime(2026, 1, 1, tzinfo=UTC)


FRESH = "uci-news-aggregator-fresh"  # the source of tests/data/stories/uci_fresh_pairs.tsv


def group(r: dict[str, str]) -> str:
    """What a pair's figures are reported under: its language (pairs, and French / English "fr-en"), or "en-fresh"
    for the English pairs of the fresh UCI set (session 11), kept apart so the older English figures and floors
    keep meaning what they meant."""
    return "en-fresh" if r["source"].startswith(f"{FRESH}:") else r["lang"]


def _nodes(r: dict[str, str]) -> tuple[Node, Node]:
    watch = f"{r['lang']}:{r['source'].split(':', 1)[0]}"
    feeds = r["source"].split(":", 1)[1].split("|") if r["source"].startswith("corpus:") else ["", ""]
    return (watch, feeds[0], r["title_a"]), (watch, feeds[1], r["title_b"])


def _stream() -> dict[Node, tuple[str, str, datetime | None]]:
    """Every headline a watch sees: lead, language and time (None: unknown) of each labelled headline (corpus
    entries have their feed's date), and the whole UCI stream its English pairs were taken from, with the
    aggregator's times."""
    nodes: dict[Node, tuple[str, str, datetime | None]] = {}
    for name, source in (("uci_stream.tsv", "uci-news-aggregator"), ("uci_fresh_stream.tsv", FRESH)):
        with (DATA / "stories" / name).open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                at = datetime.fromtimestamp(int(row["timestamp_ms"]) / 1000, UTC)
                nodes[(f"en:{source}", "", row["title"])] = ("", "en", at)
    for r in _pairs():
        languages = r["lang"].split("-") if "-" in r["lang"] else [r["lang"]] * 2
        for node, side, language in zip(_nodes(r), "ab", languages, strict=True):
            at = datetime.fromisoformat(r[f"published_{side}"]) if r[f"published_{side}"] else None
            nodes.setdefault(node, (r[f"lead_{side}"], language, at))
    return nodes


def stage_texts(title: str, lead: str) -> set[str]:
    """What the stage embeds for one headline: its story text, its headline + lead text and, for a "Topic: rest"
    headline, the rest."""
    texts = {story_text(title), lead_text(title, lead)}
    if (topic := topic_rest(title)) is not None:
        texts.add(topic[1])
    return texts


def texts_to_embed() -> list[str]:
    return sorted(set().union(*(stage_texts(n[2], lead) for n, (lead, _, _) in _stream().items())) - {""})


def cached_vectors(texts: list[str], cache: Path) -> Vectors:
    """The stage's query-side vectors of ``texts``, kept in ``cache`` (an ``.npz``) for the tuning scripts
    (`benchmarks/tune_stories.py`, `scripts/finetune_stories.py`); made again when the model's version changed or a
    text is new."""
    import numpy as np

    from erepwatch.analyze.embedding import QUERY_VERSION, embed

    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        if str(data["version"]) == QUERY_VERSION:
            known = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
            if all(t in known for t in texts):
                return {t: known[t] for t in texts}
    vectors = embed(texts, query=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, texts=np.array(texts), vectors=np.asarray(vectors), version=np.array(QUERY_VERSION))
    return dict(zip(texts, vectors, strict=True))


@pytest.fixture(scope="module")
def vectors() -> Vectors:
    from erepwatch.analyze.embedding import embed

    texts = texts_to_embed()
    return dict(zip(texts, embed(texts, query=True), strict=True))  # as the stage embeds (story_stage.VERSION)


@pytest.fixture(scope="module")
def decided(vectors: Vectors) -> list[Decided]:
    return decide_pairs(vectors)


@pytest.fixture(scope="module")
def clustered(vectors: Vectors) -> list[Decided]:
    return decide_stories(vectors)


@pytest.fixture(scope="module")
def merged(vectors: Vectors) -> list[Decided]:
    return decide_stories(vectors, merge=True)


def decide_pairs(vectors: Vectors) -> list[Decided]:
    """Each labelled pair decided on its own, as the pipeline decides two founders."""
    rows = _pairs()
    out = []
    for r in rows:
        a, b = r["title_a"], r["title_b"]
        lexical = prepared_near_duplicate(prepare(a, r["lead_a"]), prepare(b, r["lead_b"]))
        cosine = title_cosine(
            a, b, float(vectors[story_text(a)] @ vectors[story_text(b)]), _rest(vectors, a), _rest(vectors, b)
        )
        lead_a, lead_b = lead_text(a, r["lead_a"]), lead_text(b, r["lead_b"])
        # As assign_semantic: a lead both share word for word is boilerplate, not evidence (lead_key).
        shared = lead_key(r["lead_a"]) is not None and lead_key(r["lead_a"]) == lead_key(r["lead_b"])
        lead_cosine = float(vectors[lead_a] @ vectors[lead_b]) if lead_a and lead_b and not shared else None
        languages = r["lang"].split("-") if "-" in r["lang"] else [r["lang"]] * 2
        score = semantic_score(a, b, cosine, lead_cosine, *languages)
        semantic = score is not None and not semantic_split(a, b)
        split = "tune" if zlib.crc32(f"{a}\t{b}".encode()) % 2 == 0 else "held-out"
        out.append((group(r), split, r["label"] in ("duplicate", "same_story"), lexical, lexical or semantic))
    return out


def _rest(vectors: Vectors, title: str) -> Any:
    """The embedding of what follows a headline's long topic label, as the stage makes it (None without one)."""
    topic = topic_rest(title)
    return vectors[topic[1]] if topic is not None else None


def lexical_stories(
    nodes: dict[Node, tuple[str, str, datetime | None]],
) -> tuple[list[Node], dict[Node, int], dict[str, int], dict[int, int]]:
    """(arrival order, each headline's mention id, each watch's id, each mention id's lexical story) — what the
    stage's lexical rule makes of the stream before the semantic stage reads its founders (the mentions that are
    their own lexical story). Arrival order: the feed's or aggregator's time where known (French-News-Clustering
    pairs carry none: one day, in the order of a fixed hash)."""
    order = sorted(nodes, key=lambda n: (nodes[n][2] or T0, hashlib.sha256("\t".join(n).encode()).hexdigest()))
    ids = {n: i for i, n in enumerate(order, 1)}
    watches = {w: i for i, w in enumerate(sorted({n[0] for n in order}), 1)}
    candidates = [ClusterCandidate(ids[n], watches[n[0]], n[2], nodes[n][0], nodes[n][2] or T0) for n in order]
    lexical = {a.mention_id: a.cluster_id for a in assign_lexical(candidates, ClusterIndex()).assignments}
    return order, ids, watches, lexical


def decide_stories(vectors: Vectors, *, merge: bool | None = None) -> list[Decided]:
    """The labelled pairs decided by the stories the stage makes of every headline (see the module docstring);
    ``merge``: merge two stories a founder joins both of (None: the shipped default, analysis.merge_stories)."""
    nodes = _stream()
    order, ids, watches, lexical = lexical_stories(nodes)
    probes = []
    for n in order:
        if lexical[ids[n]] != ids[n]:
            continue  # a lexical member: the stage embeds founders only
        lead, language, at = nodes[n]
        with_lead = lead_text(n[2], lead)
        probes.append(
            StoryProbe(
                ids[n],
                watches[n[0]],
                at or T0,
                n[2],
                vectors[story_text(n[2])],
                language,
                vectors[with_lead] if with_lead else None,
                lead_key=lead_key(lead),
                rest_vector=_rest(vectors, n[2]),
            )
        )
    moved = {
        a.mention_id: a.cluster_id
        for a in (assign_semantic(probes, probes) if merge is None else assign_semantic(probes, probes, merge=merge))
        if a.reason in (JoinReason.SEMANTIC, JoinReason.MERGED)
    }

    def story(node: Node) -> int:
        cluster = lexical[ids[node]]
        while cluster in moved:
            cluster = moved[cluster]
        return cluster

    out = []
    for r in _pairs():
        a, b = _nodes(r)
        split = "tune" if zlib.crc32(f"{r['title_a']}\t{r['title_b']}".encode()) % 2 == 0 else "held-out"
        one = r["label"] in ("duplicate", "same_story")
        out.append((group(r), split, one, lexical[ids[a]] == lexical[ids[b]], story(a) == story(b)))
    return out


def _pr(rows: list[Decided], which: int) -> tuple[float, float]:
    tp = sum(1 for r in rows if r[2] and r[which])
    fp = sum(1 for r in rows if not r[2] and r[which])
    positives = sum(1 for r in rows if r[2])
    return (tp / (tp + fp) if tp + fp else 1.0), tp / positives


def _counts(rows: list[Decided]) -> str:
    precision, recall = _pr(rows, 4)
    tp = sum(1 for r in rows if r[2] and r[4])
    fp = sum(1 for r in rows if not r[2] and r[4])
    one = sum(1 for r in rows if r[2])
    return f"{precision:.3f} / {recall:.3f} ({tp} of {one}, {fp} false merges of {len(rows) - one})"


@pytest.mark.parametrize("level", ["pairs", "stories", "stories merged"])
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_held_out_precision_and_recall(
    decided: list[Decided], clustered: list[Decided], merged: list[Decided], lang: str, level: str
) -> None:
    """Each labelled pair decided alone (``pairs``), and by the stories the stage makes of every headline
    (``stories``: what the user sees; ``stories merged``: with the setting analysis.merge_stories on)."""
    rows = {"pairs": decided, "stories": clustered, "stories merged": merged}[level]
    held = [r for r in rows if r[0] == lang and r[1] == "held-out"]
    precision, recall = _pr(held, 4)
    _, lexical_recall = _pr(held, 3)
    print(f"{lang} {level} held-out: {_counts(held)}")
    min_p, min_r = {"pairs": FLOORS, "stories": CLUSTER_FLOORS, "stories merged": MERGED_FLOORS}[level][lang]
    assert precision >= min_p, f"{lang} held-out precision {precision:.3f}"
    assert recall >= min_r, f"{lang} held-out recall {recall:.3f}"
    assert recall > lexical_recall + 0.15, "the semantic stage must fold what the lexical rule cannot"


@pytest.mark.parametrize("level", ["pairs", "stories"])
def test_fresh_english_set_held_out(decided: list[Decided], clustered: list[Decided], level: str) -> None:
    """The fresh English set (its own watch of the UCI stream), held-out half, apart from the older English pairs."""
    rows = {"pairs": decided, "stories": clustered}[level]
    held = [r for r in rows if r[0] == "en-fresh" and r[1] == "held-out"]
    assert len(held) > 150
    precision, recall = _pr(held, 4)
    _, lexical_recall = _pr(held, 3)
    print(f"en-fresh {level} held-out: {_counts(held)}")
    min_p, min_r = FRESH_FLOORS[level]
    assert precision >= min_p, f"fresh English held-out precision {precision:.3f}"
    assert recall >= min_r, f"fresh English held-out recall {recall:.3f}"
    assert recall > lexical_recall + 0.15, "the semantic stage must fold what the lexical rule cannot"


@pytest.mark.parametrize("level", ["pairs", "stories"])
def test_cross_language_pairs(decided: list[Decided], clustered: list[Decided], level: str) -> None:
    pairs = [r for r in (decided if level == "pairs" else clustered) if r[0] == "fr-en"]
    precision, recall = _pr(pairs, 4)
    min_p, min_r = CROSS_LANGUAGE_FLOORS[level]
    assert precision >= min_p, f"French/English precision {precision:.3f}"
    assert recall >= min_r, f"French/English recall {recall:.3f}"
