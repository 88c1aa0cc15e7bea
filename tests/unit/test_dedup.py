"""Near-duplicate clustering (issue #4): pairwise decision, labelled quality, incremental index."""

from __future__ import annotations

import csv
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erepwatch.analyze.dedup import (
    ClusterCandidate,
    ClusterIndex,
    is_near_duplicate,
    prepare,
    prepared_near_duplicate,
    series_label,
)

T0 = datetime(2025, 2, 10, 8, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[1] / "data" / "dedup"
# pairs.tsv: pairs from the feed corpus (real and derived); xpub_pairs.tsv: real cross-publisher pairs from
# public news-cluster data (UCI News Aggregator, a French one-day news stream). See DATA / "README.md".
PAIR_FILES = ("pairs.tsv", "xpub_pairs.tsv")

# Floors: the figures measured when dedup.py was last tuned, minus a small margin, so a change that loosens or
# tightens the decision shows up here. Thresholds were chosen on the "tune" half (precision >= 0.97 first,
# then the best recall); the "held-out" half was never looked at while tuning. Measured (real pairs only):
# tune P 1.000 R 0.879, held-out P 1.000 R 0.909, all real P 1.000 R 0.893; every pair P 1.000 R 0.928 (the dated
# series and opposite-word guards removed the two false merges of the tune half).
FLOORS = {
    # (pairs, split): (min precision, min recall)
    ("real", "held-out"): (0.98, 0.88),
    ("real", "all"): (0.985, 0.87),
    ("cross-publisher", "all"): (0.98, 0.84),
    ("all", "all"): (0.99, 0.91),
}


def cand(mention_id: int, title: str, *, hours: float = 0, watch: int = 1, lead: str = "") -> ClusterCandidate:
    return ClusterCandidate(mention_id, watch, title, lead, T0 + timedelta(hours=hours))


DECISIONS = [
    ("identical", "Acme rappelle 10 000 produits", "Acme rappelle 10 000 produits", True),
    ("number-format", "Acme recalls 10,000 units", "ACME recalls 10 000 units", True),
    ("number-differs", "Acme recalls 10,000 units", "Acme recalls 2 units", False),
    ("year-differs", "Budget 2025 : Acme supprime 300 postes", "Budget 2026 : Acme supprime 300 postes", False),
    (
        "decimal-comma",
        "Acme : le chiffre d'affaires recule de 3,5 %",
        "Acme: le chiffre d’affaires recule de 3.5%",
        True,
    ),
    ("same-brand-other-story", "Acme launches a new phone in Europe", "Acme sued over its old phone in Europe", False),
    (
        "kicker",
        "REPORTAGE. « C'est une loterie ! » : au cœur du click day en Italie",
        '"C\'est une loterie !" : au cœur du click day en Italie',
        True,
    ),
    (
        "location-prefix",
        "Le suspect de l'attaque devant la préfecture de police de Paris a été mis en examen",
        "Paris : le suspect de l’attaque devant la préfecture de police mis en examen",
        True,
    ),
    (
        "truncated",
        "Législatives en Allemagne : Olaf Scholz à l'offensive lors d'un premier débat télévisé…",
        "Législatives en Allemagne : Olaf Scholz à l'offensive lors d'un premier débat télévisé face à Merz",
        True,
    ),
    (
        "truncated-keeps-numbers",
        "Acme : 1 200 emplois supprimés en France d'ici…",
        "Acme : 1 500 emplois supprimés en France d'ici 2026",
        False,
    ),
    ("short-one-word-apart", "Acme rachète Globex", "Acme rachète Initech", False),
    ("short-identical-after-case", "ACME RACHÈTE GLOBEX", "Acme rachète Globex", True),
    (
        "rewrite-is-not-near-duplicate",
        "Civil rights leader Jesse Jackson dies, aged 84",
        "Tributes pour in after US civil rights icon Jesse Jackson dies at 84",
        False,
    ),
    (
        "before-and-after",
        "U.S. and Iran to hold a second round of nuclear talks in Geneva",
        "U.S. and Iran wrap up second round of nuclear talks",
        False,
    ),
    (
        "wire-slug",
        "UPDATE 1-EBay rejects Icahn board nominees, asks investors to do same",
        "EBay rejects Icahn board nominees, asks investors to do same",
        True,
    ),
    (
        "bloomberg-rewrite-counter",
        "Noyer Says Strong Euro Creates Unwarranted Economic Pressure (1)",
        "Noyer Says Strong Euro Creates Unwarranted Economic Pressure",
        True,
    ),
    (
        "capitals-label",
        "MARKET ANALYSIS: Global Growth Worries May Pressure Stocks",
        "Global Growth Worries May Pressure Stocks",
        True,
    ),
    (
        "capitals-label-dash",
        "LES ÉCLAIREURS - Sommet de l'IA : 109 milliards d'euros vont être investis en France",
        "Sommet de l'IA : 109 milliards d'euros vont être investis en France",
        True,
    ),
    (
        "thousands-as-k",
        "MtGox faced 150k DDoS attacks per second says report",
        "MtGox faced 150000 attacks per second, says report",
        True,
    ),
    (
        "one-verb-updated",
        "Stocks open lower on discouraging news from Asia",
        "Stocks move lower on discouraging news from Asia",
        True,
    ),
    (
        "template-other-place",
        "Météo Angers: Prévisions du vendredi 10 janvier 2020",
        "Météo Nancy: Prévisions du vendredi 10 janvier 2020",
        False,
    ),
    ("template-other-person", "Thomas Geidel nous a quittés", "William Ribault nous a quittés", False),
    (
        "dated-series-other-column",
        "Horoscope du samedi 14 mars 2026",
        "Horoscope chinois du samedi 14 mars 2026",
        False,
    ),
    ("dated-series-same-column", "Horoscope du samedi 14 mars 2026", "HOROSCOPE du samedi 14 mars 2026", True),
    ("opposite-word", "The 10 Best Phones of the Year", "The 10 Worst Phones of the Year", False),
    ("name-spelt-two-ways", "Mt Gox faced 150000 attacks per second", "MtGox faced 150‚000 attacks a second", True),
    (
        "all-capitals-is-no-label",
        "LÉGISLATIVES AU KOSOVO : NOUVEAU SUCCÈS POUR ALBIN KURTI",
        "Législatives au Kosovo : nouveau succès pour Albin Kurti",
        True,
    ),
    ("empty", "", "", False),
    ("punctuation-only", "!!!", "???", False),
]


@pytest.mark.parametrize(("a", "b", "expected"), [d[1:] for d in DECISIONS], ids=[d[0] for d in DECISIONS])
def test_pairwise_decision(a: str, b: str, expected: bool) -> None:
    assert is_near_duplicate(cand(1, a), cand(2, b)) is expected
    assert is_near_duplicate(cand(2, b), cand(1, a)) is expected


def test_lead_confirms_a_title_just_under_the_bar() -> None:
    lead = (
        "Le groupe Acme a annoncé lundi le rappel de 10 000 cafetières vendues en France depuis mars, "
        "après plusieurs signalements de surchauffe."
    )
    a = cand(1, "Acme rappelle 10 000 cafetières pour risque de surchauffe", lead=lead)
    b = cand(2, "Surchauffe : Acme rappelle 10 000 cafetières", lead=lead + " Les clients seront remboursés.")
    assert not is_near_duplicate(cand(1, a.title), cand(2, b.title))
    assert is_near_duplicate(a, b)


@pytest.mark.parametrize(
    ("other", "expected"),
    [(dict(watch=2), False), (dict(hours=73), False), (dict(hours=71), True)],
    ids=["other-watch", "outside-window", "inside-window"],
)
def test_watch_and_window(other: dict, expected: bool) -> None:
    title = "Acme rappelle 10 000 cafetières pour risque de surchauffe"
    assert is_near_duplicate(cand(1, title), cand(2, title, **other)) is expected


def test_series_label_is_the_headline_without_its_date() -> None:
    assert (
        series_label(prepare("Météo Nancy : Prévisions du vendredi 10 janvier 2020").title) == "meteo nancy previsions"
    )
    assert series_label(prepare("Weather for Friday, January 10").title) == "weather"
    # A headline that tells something about a date is no series item.
    assert series_label(prepare("Retraites : deux projets de loi en Conseil des ministres le 24 janvier").title) is None
    assert series_label(prepare("Acme recalls kettles").title) is None


def test_numbers_are_parsed_as_written() -> None:
    assert prepare("Acme: 10,000 units, 10 000 units, 10.000 units").numbers == {"10000"}
    assert prepare("Acme : hausse de 3,5 % en 2025").numbers == {"3.5", "2025"}
    assert prepare("Acme: 150k users, 150‚000 users").numbers == {"150000"}
    assert prepare("Acme: 1.5k users").numbers == {"1500"}


def split_of(title_a: str, title_b: str) -> str:
    """Fixed, content-based half of a pair: "tune" pairs may steer thresholds, "held-out" pairs only report."""
    return "tune" if zlib.crc32(f"{title_a}\t{title_b}".encode()) % 2 == 0 else "held-out"


def _load_pairs() -> list[dict[str, str]]:
    rows = []
    for name in PAIR_FILES:
        with (DATA / name).open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                row["file"] = name
                row["split"] = split_of(row["title_a"], row["title_b"])
                rows.append(row)
    return rows


SELECTIONS = {
    "real": lambda r: r["kind"] == "real",
    "cross-publisher": lambda r: r["file"] == "xpub_pairs.tsv",
    "all": lambda r: True,
}


def _quality(rows: list[dict[str, str]]) -> tuple[float, float, list[tuple[str, str, str]]]:
    tp = fp = fn = 0
    wrong = []
    for row in rows:
        if row["label"] not in ("duplicate", "distinct"):
            continue
        predicted = prepared_near_duplicate(prepare(row["title_a"]), prepare(row["title_b"]))
        tp += predicted and row["label"] == "duplicate"
        fp += predicted and row["label"] == "distinct"
        fn += not predicted and row["label"] == "duplicate"
        if predicted != (row["label"] == "duplicate"):
            wrong.append((row["label"], row["title_a"], row["title_b"]))
    return tp / (tp + fp), tp / (tp + fn), wrong


def test_labelled_set_is_large_bilingual_and_mostly_real() -> None:
    rows = [r for r in _load_pairs() if r["label"] in ("duplicate", "distinct")]
    real = [r for r in rows if r["kind"] == "real"]
    assert len(real) >= 400
    assert sum(r["file"] == "xpub_pairs.tsv" for r in real) >= 200
    for lang in ("fr", "en"):
        assert {r["label"] for r in real if r["lang"] == lang} == {"duplicate", "distinct"}
    assert {r["kind"] for r in rows} == {"real", "derived"}


def test_split_halves_are_balanced() -> None:
    rows = [r for r in _load_pairs() if r["kind"] == "real" and r["label"] in ("duplicate", "distinct")]
    held_out = sum(r["split"] == "held-out" for r in rows)
    assert 0.4 < held_out / len(rows) < 0.6


@pytest.mark.parametrize(("pairs", "split"), list(FLOORS), ids=[f"{p}-{s}" for p, s in FLOORS])
def test_quality_on_labelled_pairs(pairs: str, split: str) -> None:
    rows = [r for r in _load_pairs() if SELECTIONS[pairs](r) and split in ("all", r["split"])]
    precision, recall, wrong = _quality(rows)
    min_precision, min_recall = FLOORS[(pairs, split)]
    assert precision >= min_precision, f"precision {precision:.3f}: {[w for w in wrong if w[0] == 'distinct']}"
    assert recall >= min_recall, f"recall {recall:.3f}: {[w for w in wrong if w[0] == 'duplicate']}"


# --- the incremental index ---------------------------------------------------------------------------------

STORY = "Acme rappelle 10 000 cafetières vendues en France pour risque de surchauffe"


def test_index_assigns_clusters_incrementally() -> None:
    index = ClusterIndex()
    assert index.add(cand(10, STORY)) == 10
    assert index.add(cand(11, "VIDÉO. " + STORY, hours=2)) == 10
    assert index.add(cand(12, "Acme rappelle 2 cafetières vendues en France pour risque de surchauffe", hours=3)) == 12
    assert index.add(cand(13, STORY.upper(), hours=4)) == 10
    assert index.add(cand(14, STORY, hours=5, watch=2)) == 14
    assert len(index) == 5


def test_add_is_idempotent_per_mention() -> None:
    index = ClusterIndex()
    assert index.add(cand(1, STORY)) == 1
    assert index.add(cand(1, "something else entirely, never seen")) == 1
    assert len(index) == 1


def test_window_and_eviction() -> None:
    index = ClusterIndex(window=timedelta(hours=72))
    index.add(cand(1, STORY))
    assert index.add(cand(2, STORY, hours=80)) == 2, "too far from mention 1 to join it"
    assert index.evict(T0 + timedelta(hours=80)) == 1
    assert 1 not in index and 2 in index
    assert index.add(cand(3, STORY, hours=90)) == 2


def test_preload_then_join_existing_cluster() -> None:
    index = ClusterIndex()
    index.preload([(cand(5, STORY, hours=-10), 4), (cand(4, STORY, hours=-12), 4)])
    assert index.add(cand(6, "INFO FRANCEINFO. " + STORY)) == 4
    assert index.representative(4) == 4


def test_representative_is_earliest_published_member() -> None:
    index = ClusterIndex()
    index.add(cand(20, STORY, hours=5))
    index.add(cand(21, STORY, hours=1))  # a late feed brings an earlier copy
    assert index.representative(20) == 21


def test_blocking_compares_only_plausible_candidates() -> None:
    index = ClusterIndex()
    # 300 different Acme stories: the brand name in every title must not make every pair a candidate.
    for i in range(300):
        index.add(cand(i, f"Acme annonce le projet numéro {i} à {i * 7} clients de la région {i % 13}"))
    before = index.comparisons
    index.add(cand(1000, "Acme rachète la société Globex pour un montant de 12 millions"))
    assert index.comparisons - before < 30
    assert index.add(cand(1001, "VIDÉO. Acme rachète la société Globex pour un montant de 12 millions")) == 1000


def test_compacted_index_decides_as_the_uncompacted_one() -> None:
    """The arrays a cache is compacted into (after each committed source) change memory, not decisions: the titles
    of the labelled pairs, added in one order over three watches, get the same clusters whether the index is
    compacted after every 7 mentions (with evictions) or never, and the same representatives."""
    titles = [t for row in _load_pairs() for t in (row["title_a"], row["title_b"])][:1200]
    compacted, plain = ClusterIndex(window=timedelta(hours=72)), ClusterIndex(window=timedelta(hours=72))
    got, expected = [], []
    for i, title in enumerate(titles):
        c = cand(i + 1, title, hours=i / 10, watch=(i // 2) % 3)  # a pair in one watch
        got.append(compacted.add(c))
        expected.append(plain.add(c))
        if i % 7 == 6:
            compacted.compact()
    assert got == expected
    assert len(set(got)) < 0.8 * len(got)  # many pairs are duplicates: joins were decided
    for cluster_id in set(expected):
        assert compacted.representative(cluster_id) == plain.representative(cluster_id)
    assert compacted.evict(T0 + timedelta(hours=100)) == plain.evict(T0 + timedelta(hours=100)) > 0
    assert len(compacted) == len(plain) > 0
    for i in range(len(titles)):
        assert compacted.cluster_of(i + 1) == plain.cluster_of(i + 1)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.integers(1, 4),  # the step from the last mention id (some come back below it: preloaded ones)
                st.booleans(),  # step back instead
                st.integers(0, 2),  # the watch
                st.lists(
                    st.sampled_from(["acme", "globex", "rachat", "12", "usine", "l'", "x"]), min_size=1, max_size=4
                ),
            ),
            max_size=12,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_compaction_that_only_appends_gives_the_arrays_of_the_general_one(batches) -> None:
    # After each committed source the new mentions are appended to the arrays and their keys merged in: the same
    # arrays, to the dtype, as gathering and sorting every row again (the way that also drops dead rows).
    from erepwatch.analyze.dedup import _Cold

    index = ClusterIndex(window=timedelta(hours=72))
    mention_id = 10
    for batch in batches:
        for step, back, watch, words in batch:
            mention_id = max(1, mention_id - step) if back else mention_id + step
            if mention_id not in index:
                index.insert(cand(mention_id, " ".join(words), watch=watch), mention_id)
        cold, hot = index._cold, list(index._entries.values())
        appended = _Cold._appended(cold, hot)
        cold.n_alive -= 1  # seen as holding a dead row: the general way, which keeps every alive one here
        try:
            general = _Cold.build(cold, hot)
        finally:
            cold.n_alive += 1
        for name in ("mention", "watch", "published", "cluster", "alive", "keys", "key_rows", "ids", "rows_by_id"):
            a, b = getattr(appended, name), getattr(general, name)
            assert a.dtype == b.dtype and a.tolist() == b.tolist(), name
        assert appended.prepared == general.prepared
        assert (appended.min_id, appended.max_id) == (general.min_id, general.max_id)
        index.compact()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Macron", "annonce", "réforme", "Sénat", "2027", "a", "Zoé", "x", "l’Oréal"]), max_size=9
    ),
    st.sampled_from([0, 1, 3, 2**31, 2**62, 2**63 + 5, 2**64 - 1, 10**20]),
)
def test_band_keys_are_the_written_mix_of_the_bands_minima(title_words: list[str], watch_id: int) -> None:
    # Each band's key: its three minima, its number and the watch, each times its odd multiplier, XORed, wrapping at
    # 64 bits; the first key is the exact title's. Computed here with Python's integers, one word hash at a time.
    from erepwatch.analyze.dedup import _BANDS, _MIX, _ROWS, _word_hashes, band_keys, prepare

    mask = 2**64 - 1
    prepared = prepare(" ".join(title_words), "")
    words = set(prepared.title.split())
    expected = [hash((watch_id, -1, prepared.title)) & mask]
    if words:
        hashes = [
            [int.from_bytes(_word_hashes(w)[4 * j : 4 * j + 4], "little") for w in words] for j in range(_BANDS * _ROWS)
        ]
        mins = [min(column) for column in hashes]
        assert len(mins) == _BANDS * _ROWS
        for band in range(_BANDS):
            m0, m1, m2 = mins[3 * band : 3 * band + 3]
            mixed = (m0 * _MIX[0]) ^ (m1 * _MIX[1]) ^ (m2 * _MIX[2]) ^ (band * _MIX[3]) ^ ((watch_id & mask) * _MIX[4])
            expected.append(mixed & mask)
    assert band_keys(watch_id, prepared) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=2, max_size=5))
def test_band_keys_of_one_title_in_several_watches_are_each_watchs_own(watch_ids: list[int]) -> None:
    # The bands' part is cached per title (an item several watches match): each watch's keys are still the ones a
    # title never seen before gets in that watch.
    from erepwatch.analyze.dedup import _title_bands, band_keys, prepare

    prepared = prepare("Macron annonce une réforme au Sénat", "")
    in_a_row = [band_keys(w, prepared) for w in watch_ids]
    fresh = []
    for w in watch_ids:
        _title_bands.cache_clear()
        fresh.append(band_keys(w, prepared))
    assert in_a_row == fresh
    assert len({tuple(keys[1:]) for keys in fresh}) == len(set(watch_ids))
