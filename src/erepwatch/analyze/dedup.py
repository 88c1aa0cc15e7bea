"""Near-duplicate clustering of mentions: one story, one cluster, whatever number of sources carried it.

Two parts, both pure (no I/O, no clock):

* :func:`is_near_duplicate` — the pairwise decision. Titles are normalized (case, accents, quotes; the
  "VIDÉO." / "DIRECT." kickers syndication adds are dropped), scored with rapidfuzz, and must reach a
  threshold that rises as titles get shorter: two 4-word titles that differ by one word are usually two
  stories, two 15-word titles that differ by one word are usually one. Numbers must match exactly
  ("recalls 10,000 units" and "recalls 2 units" are two stories). A close lead text can confirm a title
  that is just under the threshold.
* :class:`ClusterIndex` — incremental and blocked. A new mention is compared only with recent mentions of
  the same watch that share a MinHash band with it (locality-sensitive hashing over title words), never
  with the whole window, so a poll costs time proportional to its new mentions. Mentions older than the
  window are evicted on :meth:`ClusterIndex.evict`.

Thresholds were tuned on ``tests/data/dedup/pairs.tsv`` (labelled real headline pairs, see its README);
``tests/unit/test_dedup.py`` keeps precision and recall from sliding back.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from erepwatch.analyze.textnorm import Scan, fold_words, joined, part, words
from erepwatch.settings import DEFAULTS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DEFAULT_WINDOW",
    "ClusterCandidate",
    "ClusterIndex",
    "Match",
    "PreparedText",
    "band_keys",
    "is_near_duplicate",
    "names_differ",
    "numbers_agree",
    "opposite_words",
    "prepare",
    "prepared_near_duplicate",
    "series_differ",
    "series_label",
    "title_similarity",
]

DEFAULT_WINDOW = DEFAULTS.analysis_cluster_window


@dataclass(frozen=True, slots=True)
class ClusterCandidate:
    """What clustering needs to know about one mention; ``title`` is already without its publisher suffix."""

    mention_id: int
    watch_id: int
    title: str
    lead: str
    published: datetime


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A candidate's text, normalized once and reused for every comparison."""

    title: str
    #: Number of words of ``title``; the words themselves are split on demand (:attr:`words`), so the
    #: thousands of prepared texts a cluster index keeps hold one string each, not one per word.
    n_words: int
    numbers: frozenset[str]
    truncated: bool
    lead: str
    #: Capitalised words inside a sentence-case title (names of people and places), in order; empty for Title Case.
    names: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.title.split())


# Labels news sites put before a headline ("VIDÉO. …", "DIRECT - …", "Breaking: …"): the same story
# syndicated with and without one is still the same story.
_KICKERS = frozenset(
    {
        "direct",
        "video",
        "videos",
        "reportage",
        "info",
        "infos",
        "exclusif",
        "exclusive",
        "enquete",
        "temoignage",
        "temoignages",
        "podcast",
        "entretien",
        "interview",
        "analyse",
        "decryptage",
        "recit",
        "portrait",
        "tribune",
        "editorial",
        "chronique",
        "carte",
        "graphique",
        "photos",
        "photo",
        "document",
        "alerte",
        "urgent",
        "breaking",
        "live",
        "watch",
        "update",
        "updated",
        "analysis",
        "opinion",
        "explainer",
        "listen",
        "flash",
        "eclairage",
        "verbatim",
        "revelations",
        "factuel",
        "en direct",
        "grand format",
    }
)
_KICKER_RE = re.compile(r"^\s*[\[(]?([^\W\d_][\w ]{1,24}?)[\])]?\s*(?:[.:|]|\s[-–—])\s+", re.UNICODE)
# Wire-service slugs glued to the headline ("UPDATE 1-", "RPT-", "US STOCKS-", "ECB FOCUS-"): papers that
# reprint the story drop them (UCI News Aggregator clusters, see tests/data/dedup/README.md).
_WIRE_SLUG_RE = re.compile(
    r"^\s*(?:(?:UPDATE|WRAPUP|RPT|REFILE|CORRECTED|EXCLUSIVE|BRIEF)(?: \d+)?|[A-Z][A-Z.&']+(?: [A-Z][A-Z.&']+)+)"
    r" ?-(?=[^\d\s-])"
)
# A label of two or more all-capital words before ":" or "." ("MARKET ANALYSIS:", "INFO OUEST-FRANCE.").
_CAPS_KICKER_RE = re.compile(r"^\s*[A-ZÀ-Þ][A-ZÀ-Þ'’-]+(?: [A-ZÀ-Þ][A-ZÀ-Þ'’-]+)+\s*(?:[.:]|\s[-–—])\s+")
_TRAILING_TAG_RE = re.compile(
    r"\s*[\[(](?:vid[ée]o|photos?|live|direct|update[d]?|interactive)[\])]\s*$", re.IGNORECASE
)
# Bloomberg numbers its rewrites "… (1)", "… (2)": the same story, not a number of the headline.
_UPDATE_COUNTER_RE = re.compile(r"\s*\(\d\)\s*$")
_ELLIPSIS_RE = re.compile(r"(?:…|\.\.\.)\s*$")
# A number as written in a headline: "10,000", "10 000", "10.000", "10‚000" and "10000" are one number;
# "3,5" = "3.5"; "150k" = "150000".
_NUMBER_RE = re.compile(r"(\d+(?:[.,]\d+)?)[kK]\b|\d{1,3}(?:[ \u00a0\u202f.,\u201a]\d{3})+(?![\d])|\d+(?:[.,]\d+)?")


def _strip_kickers(title: str) -> str:
    title = _UPDATE_COUNTER_RE.sub("", _TRAILING_TAG_RE.sub("", title))
    title = _WIRE_SLUG_RE.sub("", title, count=1)
    m = _CAPS_KICKER_RE.match(title)
    rest = title[m.end() :] if m else ""
    if len(rest.split()) >= 3 and any(c.islower() for c in rest):  # not a headline written all in capitals
        title = rest
    for _ in range(2):
        m = _KICKER_RE.match(title)
        if not m or fold_words(m.group(1)) not in _KICKERS:
            break
        title = title[m.end() :]
    return title


def _numbers(text: str) -> frozenset[str]:
    found = set()
    for m in _NUMBER_RE.finditer(text):
        if m.group(1):
            found.add(format(float(m.group(1).replace(",", ".")) * 1000, "g"))
            continue
        raw = m.group(0)
        if re.fullmatch(r"\d+[.,]\d+", raw) and not re.fullmatch(r"\d{1,3}[.,]\d{3}", raw):
            found.add(raw.replace(",", "."))
        else:
            found.add(re.sub(r"\D", "", raw).lstrip("0") or "0")
    return frozenset(found)


_WORD_RE = re.compile(r"[^\W_][\w'’-]*")
_SENTENCE_START = '.:!?;«"“(—–|'


# Names recur across mentions (brands, places): normalising each once keeps prepare() cheap. Each entry is ~250
# bytes the daemon keeps between polls (at 100,000 entries, 25 MB); 8,192 made bench_stories' 100,000-mention poll
# (10,000 brands) ~40 % slower to cluster, 20,000 ~8 %.
_fold_word = lru_cache(maxsize=20_000)(fold_words)


def _names(core: str) -> tuple[str, ...]:
    """Capitalised words that do not start a sentence, when the title is written in sentence case."""
    names: list[str] = []
    inner = 0
    for m in _WORD_RE.finditer(core):
        before = core[: m.start()].rstrip()
        if not before or before[-1] in _SENTENCE_START:
            continue
        word = m.group(0)
        if len(word) >= 4:
            inner += 1
        if word[0].isupper():
            names.extend(_fold_word(word).split())
    # Title Case ("Mt. Gox Files For Bankruptcy") capitalises every word: no name can be told apart then.
    long_words = [m.group(0) for m in _WORD_RE.finditer(core) if len(m.group(0)) >= 4]
    capitalised = sum(1 for w in long_words if w[0].isupper())
    shouting = sum(1 for w in long_words if w.isupper())
    if (inner and capitalised > 1 + inner / 2) or shouting > len(long_words) / 2:
        return ()
    return tuple(names)


def names_differ(a: PreparedText, b: PreparedText) -> bool:
    """Each title names someone or somewhere the other does not: one template, two stories ("Météo Angers" /
    "Météo Nancy", "Thomas X nous a quittés" / "William Y nous a quittés")."""
    if not a.names or not b.names:
        return False
    only_a = [n for n in a.names if n not in b.names]
    only_b = [n for n in b.names if n not in a.names]
    if not only_a or not only_b or "".join(only_a) == "".join(only_b):  # "Mt Gox" and "MtGox": one name
        return False
    # "St" / "Street", "China" / "Chinese": a short form or a derived word is the same name.
    return not all(any(x.startswith(y) or y.startswith(x) for y in only_b) for x in only_a)


# A dated series headline: a short label, then the day it is for ("Horoscope du vendredi 10 janvier 2020", "Météo
# Nancy : Prévisions du vendredi 10 janvier", "Weather for Friday, January 10"). Every column of one day reads alike
# (the horoscope and a weather forecast: title similarity 75, embedding cosine 0.97); only the label tells them apart.
_MONTHS = (
    "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    "january|february|march|april|may|june|july|august|september|october|november|december"
)
_DAYS = "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_SERIES_DATE_RE = re.compile(
    rf"(?:\b(?:{_DAYS})\s+)?(?:\b(?:1er|\d{{1,2}})\s+(?:{_MONTHS})|\b(?:{_MONTHS})\s+\d{{1,2}})(?:\s+\d{{4}})?$"
)
_MONTH_ENDINGS = tuple(_MONTHS.split("|"))
_SERIES_FILLER = frozenset(
    ["du", "de", "des", "le", "la", "les", "pour", "ce", "of", "for", "the", "on", *_DAYS.split("|")]
)
#: Words a series label has at most besides the date ("Météo Aix en Provence : Prévisions du").
_SERIES_WORDS = 6


def series_label(folded_title: str) -> str | None:
    """The label of a dated series headline (its words other than the date and fillers) from a folded title
    (:attr:`PreparedText.title`), or None for a headline that tells something."""
    if not folded_title[-1:].isdigit() and not folded_title.endswith(_MONTH_ENDINGS):
        return None  # the quick answer for almost every headline: it does not end with a date
    m = _SERIES_DATE_RE.search(folded_title)
    if not m:
        return None
    words = [w for w in folded_title[: m.start()].split() if w not in _SERIES_FILLER]
    return " ".join(words) if 0 < len(words) <= _SERIES_WORDS else None


# Words whose swap turns a headline into its opposite: "The 10 Best / Worst Stocks of the Bull Market" differ by one
# word and are two stories (title similarity 95).
_OPPOSITES = {
    frozenset(pair)
    for pair in (
        ("best", "worst"), ("highest", "lowest"), ("winners", "losers"), ("gainers", "losers"),
        ("meilleurs", "pires"), ("meilleures", "pires"), ("meilleur", "pire"), ("meilleure", "pire"),
        ("gagnants", "perdants"),
    )
}  # fmt: skip
_OPPOSITE_WORDS = frozenset(word for pair in _OPPOSITES for word in pair)


def opposite_words(a: PreparedText, b: PreparedText) -> bool:
    """One title has a word where the other has its opposite ("best" / "worst")."""
    words_a = set(a.title.split())
    if _OPPOSITE_WORDS.isdisjoint(words_a):
        return False
    words_b = set(b.title.split())
    only_a, only_b = words_a - words_b, words_b - words_a
    return any(frozenset((x, y)) in _OPPOSITES for x in only_a for y in only_b)


def series_differ(a: PreparedText, b: PreparedText) -> bool:
    """Two dated series headlines with different labels: two columns of one day, two stories."""
    label_a = series_label(a.title)
    if label_a is None:
        return False
    label_b = series_label(b.title)
    return label_b is not None and label_a != label_b


def prepare(
    title: str, lead: str = "", *, title_scan: Scan | None = None, lead_scan: Scan | None = None
) -> PreparedText:
    """Normalize a title (and lead) for comparison; cheap enough to call once per mention, and made once per item
    by a poll. ``title_scan``, ``lead_scan``: ``scan(title)`` and ``scan(lead)`` when the caller has them (read off
    the item's scan), so neither is scanned again."""
    raw = (title or "").strip()
    truncated = bool(_ELLIPSIS_RE.search(raw))
    core = _strip_kickers(_ELLIPSIS_RE.sub("", raw))
    at = title.find(core) if title_scan is not None else -1
    norm = joined(part(title, title_scan, at, at + len(core)).words) if title_scan and at >= 0 else fold_words(core)
    # Only the first LEAD_COMPARED characters are ever compared.
    lead_words = lead_scan.words if lead_scan is not None and len(lead) <= _LEAD_READ else words(lead[:_LEAD_READ])
    lead_norm = joined(lead_words)[:LEAD_COMPARED] if lead else ""
    numbers = _numbers(core)
    return PreparedText(
        title=norm,
        n_words=len(norm.split()),
        numbers=numbers or _NO_NUMBERS,
        truncated=truncated,
        lead=lead_norm,
        names=_names(core),
    )


_NO_NUMBERS: frozenset[str] = frozenset()
LEAD_COMPARED = 300
#: Characters of the lead normalised: enough for LEAD_COMPARED folded ones.
_LEAD_READ = 400


def _threshold(words: int) -> float:
    """Minimum title similarity (0-100) for titles whose shorter one has ``words`` words."""
    if words <= 3:
        return 100.0
    if words <= 5:
        return 93.0
    if words <= 8:
        # 88, not 89: wire copy updated through the day swaps one verb in 6-8 words ("Stocks open lower on
        # discouraging news from Asia" / "Stocks move lower on …"); chosen on the tune half of the labelled set.
        return 88.0
    return 84.0


def title_similarity(a: PreparedText, b: PreparedText) -> float:
    """Similarity of two prepared titles, 0-100: the best of plain, word-order-free and truncation-aware scores."""
    if not a.title or not b.title:
        return 0.0
    score = max(fuzz.ratio(a.title, b.title), fuzz.token_sort_ratio(a.title, b.title))
    # A title cut with "…" is compared with the same length of the other one.
    for short, long in ((a, b), (b, a)):
        if short.truncated and len(short.title) < len(long.title):
            score = max(score, fuzz.ratio(short.title, long.title[: len(short.title)]))
    return score


def numbers_agree(a: PreparedText, b: PreparedText) -> bool:
    if a.numbers == b.numbers:
        return True
    # A truncated title may have lost the numbers of its missing end, never changed the ones it kept.
    if a.truncated and a.numbers <= b.numbers:
        return True
    return b.truncated and b.numbers <= a.numbers


def prepared_near_duplicate(a: PreparedText, b: PreparedText) -> bool:
    """The pairwise decision on prepared texts (no watch or time check)."""
    if not a.n_words or not b.n_words or not numbers_agree(a, b):
        return False
    if a.title == b.title:
        return True
    if names_differ(a, b):
        return False
    need = _threshold(min(a.n_words, b.n_words))
    score = title_similarity(a, b)
    # Titles just under the bar, rewritten by an editor, are confirmed by a near-identical lead.
    # Feeds cut summaries at different lengths, so leads are compared over their common length.
    common = min(len(a.lead), len(b.lead), LEAD_COMPARED)
    close = score >= need or (
        score >= need - 12 and common >= 60 and fuzz.ratio(a.lead[:common], b.lead[:common]) >= 90
    )
    # Checked last: they only ever split titles that are close, and most compared pairs are not.
    return close and not series_differ(a, b) and not opposite_words(a, b)


def is_near_duplicate(a: ClusterCandidate, b: ClusterCandidate, *, window: timedelta = DEFAULT_WINDOW) -> bool:
    """True when two mentions of one watch, published within ``window``, tell the same story."""
    if a.watch_id != b.watch_id or abs(a.published - b.published) > window:
        return False
    return prepared_near_duplicate(prepare(a.title, a.lead), prepare(b.title, b.lead))


# --- blocking ---------------------------------------------------------------------------------------------

# MinHash LSH over title words: BANDS bands of ROWS hashes. Two titles whose word sets have Jaccard
# similarity J share a band with probability 1 - (1 - J**ROWS)**BANDS: 0.99 at J = 0.7, 0.95 at 0.6,
# 0.80 at 0.5, 0.01 at 0.1 (identical normalized titles always meet through their exact-title key). Three rows
# per band keep buckets small even for the word every mention of a watch shares (its brand name): that word
# must be the minimum of three independent hashes in both titles at once. 12 bands, not 20: each band key costs
# ~90 bytes per cached mention; on bench_dedup's 10,000 mentions 20 bands found 26 more merges of ~5,000.
_BANDS = 12
_ROWS = 3
#: Mentions kept per bucket, the most recent: a bucket shared by thousands of look-alike titles (one watch's
#: 100,000-entry feed) would otherwise make each new mention compare with all of them — quadratic. With the cap a
#: mention is compared with at most (BANDS + 1) × BUCKET_CAP others, whatever the size of the batch.
_BUCKET_CAP = 32


# ~300 bytes a word (the word, its hashes, the cache's link), kept between polls: 50,000 words held 15 MB, most of them
# seen once (a poll of 100,000 mentions filled it). 20,000 keep the frequent words (brands, function words) for ~6 MB;
# a miss costs one SHAKE-128 call (~0.7 µs).
@lru_cache(maxsize=20_000)
def _word_hashes(word: str) -> bytes:
    # BANDS * ROWS independent 32-bit hashes of one word from a single extendable-output hash (SHAKE-128):
    # one C call per word instead of one Python multiplication per word and hash function.
    return hashlib.shake_128(word.encode()).digest(4 * _BANDS * _ROWS)


# Odd 64-bit multipliers that mix a band's minima, its number and the watch into one key (wrapping uint64).
_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5, 0xFF51AFD7ED558CCD)


def band_keys(watch_id: int, prepared: PreparedText) -> list[int]:
    """The bucket keys of a prepared title in its watch: one per band, and one for the exact title.

    Keys are plain ints below 2**64 (a hash of the watch, the band and its minima): a collision only adds a candidate,
    which the pairwise decision then rejects. The watch enters each band's key by one XOR, so the bands' part of the
    keys is the title's alone (:func:`_title_bands`): an item several watches match has it computed once.
    """
    exact = hash((watch_id, -1, prepared.title)) & _MASK
    bands = _title_bands(prepared.title)
    if not bands:
        return [exact]
    watch = (watch_id & _MASK) * _MIX[4] & _MASK
    return [exact, *map(watch.__xor__, bands)]


@lru_cache(maxsize=256)
def _title_bands(title: str) -> tuple[int, ...]:
    """Each band's key of ``title`` before the watch is mixed in: ``(m0 * k0) ^ (m1 * k1) ^ (m2 * k2) ^ (band * k3)``
    over the band's three minima, wrapping at 64 bits (empty for a title without words).

    The minima are taken with numpy: this runs for every title indexed or evicted, and a Python loop over 60 hashes
    per word cost ~100 µs a title. The cache holds the few titles just seen: the mentions of one item, which its
    watches' mentions are assigned one after the other (and a title's keys are asked again when it is evicted)."""
    import numpy as np

    words = set(title.split())
    if not words:
        return ()
    hashes = np.frombuffer(b"".join(map(_word_hashes, words)), dtype=np.uint32).reshape(len(words), _BANDS * _ROWS)
    rows, bands = _mixers()
    # The rows' products by array operations (which wrap without a warning). The mixers are made once: building
    # five numpy scalars and entering np.errstate at every call cost more than the keys themselves.
    mixed = np.minimum.reduce(hashes, axis=0).astype(np.uint64).reshape(_BANDS, _ROWS) * rows
    keys = np.bitwise_xor.reduce(mixed, axis=1)
    keys ^= bands
    return tuple(keys.tolist())


_MASK = 0xFFFFFFFFFFFFFFFF


@lru_cache(maxsize=1)
def _mixers() -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The rows' multipliers, and each band's number times its own (what :func:`band_keys` mixes in)."""
    import numpy as np

    return np.array(_MIX[:3], dtype=np.uint64), np.array([b * _MIX[3] & _MASK for b in range(_BANDS)], dtype=np.uint64)


class _Entry:
    """One mention indexed since the last compaction: what the pairwise decision needs, and its keys."""

    __slots__ = ("cluster_id", "keys", "mention_id", "prepared", "published", "watch_id")

    def __init__(
        self, mention_id: int, watch_id: int, published: int, cluster_id: int, prepared: PreparedText, keys: list[int]
    ):
        self.mention_id = mention_id
        self.watch_id = watch_id
        self.published = published
        self.cluster_id = cluster_id
        self.prepared = prepared
        self.keys = keys


@dataclass(frozen=True, slots=True)
class Match:
    """Why a mention joins a cluster: the member it matched and the title similarity (0-100)."""

    cluster_id: int
    mention_id: int
    score: float


_Bucket = _Entry | list[_Entry]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(when: datetime) -> int:
    """A date as whole microseconds since the epoch (a naive date is taken as UTC)."""
    return ((when if when.tzinfo else when.replace(tzinfo=UTC)) - _EPOCH) // _MICROSECOND


class _Cold:
    """The compacted part of a :class:`ClusterIndex`: one row per mention in parallel arrays, and its bucket keys
    as one sorted array, instead of a dozen Python objects per mention (an int per key, a dict slot per key, a
    tuple per heap entry…). Rows are in insertion order; a removed row is only marked dead until the next
    compaction."""

    __slots__ = (
        "alive",
        "cluster",
        "ids",
        "key_rows",
        "keys",
        "max_id",
        "mention",
        "min_id",
        "n_alive",
        "prepared",
        "published",
        "rows_by_id",
        "watch",
    )

    def __init__(self) -> None:
        import numpy as np

        self.mention = np.zeros(0, dtype=np.int64)
        self.watch = np.zeros(0, dtype=np.int64)
        self.published = np.zeros(0, dtype=np.int64)
        self.cluster = np.zeros(0, dtype=np.int64)
        self.alive = np.zeros(0, dtype=bool)
        self.prepared: list[PreparedText] = []
        #: bucket keys sorted, then by row (insertion order) within a key; ``key_rows`` the row of each
        self.keys = np.zeros(0, dtype=np.uint64)
        self.key_rows = np.zeros(0, dtype=np.int32)
        #: mention ids sorted, and their rows
        self.ids = np.zeros(0, dtype=np.int64)
        self.rows_by_id = np.zeros(0, dtype=np.int32)
        self.n_alive = 0
        self.min_id = self.max_id = 0

    def row_of(self, mention_id: int) -> int | None:
        # A new mention's id is above every compacted one: answered without numpy.
        if not self.n_alive or not self.min_id <= mention_id <= self.max_id:
            return None
        i = int(self.ids.searchsorted(mention_id))
        if i < len(self.ids) and self.ids[i] == mention_id:
            row = int(self.rows_by_id[i])
            if self.alive[row]:
                return row
        return None

    def candidates(self, watch_id: int, keys: list[int]) -> list[tuple[int, int, int, PreparedText]]:
        """(mention id, published µs, cluster id, prepared text) of the rows of the watch under these keys, the most
        recent :data:`_BUCKET_CAP` of each bucket. Vectorised: one call per array, not one per key. Every row is
        alive here (a removal is always followed by a compaction)."""
        import numpy as np

        if not self.n_alive:
            return []
        sorted_keys = self.keys
        wanted = np.array(keys, dtype=np.uint64)
        starts = sorted_keys.searchsorted(wanted)
        # Most keys of a new mention find no bucket: only the hits are read further.
        hit = sorted_keys[np.minimum(starts, len(sorted_keys) - 1)] == wanted
        if not hit.any():
            return []
        stops = sorted_keys.searchsorted(wanted[hit], side="right").tolist()
        found: set[int] = set()
        for start, stop in zip(starts[hit].tolist(), stops, strict=True):
            found.update(self.key_rows[max(start, stop - _BUCKET_CAP) : stop].tolist())
        rows = np.fromiter(found, dtype=np.int64, count=len(found))
        rows = rows[self.watch[rows] == watch_id]
        if not len(rows):
            return []
        return list(
            zip(
                self.mention[rows].tolist(),
                self.published[rows].tolist(),
                self.cluster[rows].tolist(),
                [self.prepared[r] for r in rows.tolist()],
                strict=True,
            )
        )

    def kill(self, mask: npt.NDArray[np.bool_]) -> int:
        """Mark the rows of ``mask`` that are alive dead; returns how many."""
        dead = mask & self.alive
        count = int(dead.sum())
        if count:
            self.alive &= ~dead
            self.n_alive -= count
        return count

    @classmethod
    def build(cls, old: _Cold, hot: Iterable[_Entry]) -> _Cold:
        """The alive rows of ``old`` followed by ``hot`` (in their order), compacted."""
        import numpy as np

        hot = list(hot)
        if old.n_alive == len(old.alive):
            return cls._appended(old, hot)
        new = cls()
        keep = np.flatnonzero(old.alive)
        remap = np.full(len(old.alive), -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        new.mention = np.concatenate([old.mention[keep], np.array([e.mention_id for e in hot], dtype=np.int64)])
        new.watch = np.concatenate([old.watch[keep], np.array([e.watch_id for e in hot], dtype=np.int64)])
        new.published = np.concatenate([old.published[keep], np.array([e.published for e in hot], dtype=np.int64)])
        new.cluster = np.concatenate([old.cluster[keep], np.array([e.cluster_id for e in hot], dtype=np.int64)])
        new.prepared = [old.prepared[i] for i in keep.tolist()] + [e.prepared for e in hot]
        n = len(new.mention)
        new.alive = np.ones(n, dtype=bool)
        new.n_alive = n
        old_rows = remap[old.key_rows]
        kept_keys = old_rows >= 0
        hot_keys = np.array([k for e in hot for k in e.keys], dtype=np.uint64)
        hot_rows = np.repeat(
            np.arange(len(keep), n, dtype=np.int64), np.array([len(e.keys) for e in hot], dtype=np.int64)
        )
        # The kept keys are sorted already (rows keep their order); the new ones are sorted apart, and a stable sort
        # of the two runs (timsort: a linear merge) keeps every bucket's rows in insertion order.
        by_key = np.lexsort((hot_rows, hot_keys))
        keys = np.concatenate([old.keys[kept_keys], hot_keys[by_key]])
        rows = np.concatenate([old_rows[kept_keys], hot_rows[by_key]])
        order = np.argsort(keys, kind="stable")
        new.keys = keys[order]
        new.key_rows = rows[order].astype(np.int32)
        new._index_ids()
        return new

    @classmethod
    def _appended(cls, old: _Cold, hot: list[_Entry]) -> _Cold:
        """:meth:`build` when every row of ``old`` is alive (a poll's compaction after each source): the arrays are
        ``old``'s with ``hot`` appended, the new keys merged into the sorted ones (each after the keys equal to it,
        as a stable sort of the two runs leaves them), and the ids appended when they come after ``old``'s in order,
        as a poll's new mentions do. The same arrays as the general way, without gathering and sorting every row
        again (~25 numpy calls on all the keys per committed source)."""
        import numpy as np

        new = cls()
        base = len(old.alive)
        hot_ids = np.array([e.mention_id for e in hot], dtype=np.int64)
        new.mention = np.concatenate([old.mention, hot_ids])
        new.watch = np.concatenate([old.watch, np.array([e.watch_id for e in hot], dtype=np.int64)])
        new.published = np.concatenate([old.published, np.array([e.published for e in hot], dtype=np.int64)])
        new.cluster = np.concatenate([old.cluster, np.array([e.cluster_id for e in hot], dtype=np.int64)])
        new.prepared = old.prepared + [e.prepared for e in hot]
        n = len(new.mention)
        new.alive = np.ones(n, dtype=bool)
        new.n_alive = n
        hot_keys = np.array([k for e in hot for k in e.keys], dtype=np.uint64)
        hot_rows = np.repeat(np.arange(base, n, dtype=np.int32), np.array([len(e.keys) for e in hot], dtype=np.int64))
        by_key = np.lexsort((hot_rows, hot_keys))
        hot_keys, hot_rows = hot_keys[by_key], hot_rows[by_key]
        at = old.keys.searchsorted(hot_keys, side="right")
        new.keys = np.insert(old.keys, at, hot_keys)
        new.key_rows = np.insert(old.key_rows, at, hot_rows)
        if len(hot_ids) and (not base or hot_ids[0] > old.max_id) and bool((hot_ids[1:] > hot_ids[:-1]).all()):
            new._index_ids(
                np.concatenate([old.ids, hot_ids]),
                np.concatenate([old.rows_by_id, np.arange(base, n, dtype=np.int32)]),
            )
        else:
            new._index_ids()
        return new

    def _index_ids(self, ids: npt.NDArray[np.int64] | None = None, rows: npt.NDArray[np.int32] | None = None) -> None:
        """Set the sorted ids, each one's row and their bounds: ``ids`` and ``rows`` when the caller has them in
        order already, else sorted from the rows' mentions."""
        import numpy as np

        if ids is None or rows is None:
            by_id = np.argsort(self.mention, kind="stable")
            ids, rows = self.mention[by_id], by_id.astype(np.int32)
        self.ids, self.rows_by_id = ids, rows
        if len(ids):
            self.min_id, self.max_id = int(ids[0]), int(ids[-1])


class ClusterIndex:
    """Recent mentions, blocked for fast lookup.

    :meth:`match` is read-only: it names the cluster of a mention's closest near-duplicate (or None).
    :meth:`insert` records a mention with the cluster it was given — callers insert only what is stored,
    after the transaction that stored it committed, so the index never holds a mention the database lost.
    :meth:`add` does both, for callers without a transaction.

    Cluster ids are the id of a cluster's first mention that this index saw; clusters are never merged or
    split by this index, so a stored ``cluster_id`` stays valid. Memory is bounded by ``max_entries``: past it
    the least recently used watches are dropped whole (:meth:`loaded` says which watches are complete, so
    the caller reloads a dropped watch from storage before matching its mentions again).

    Two tiers, for memory: mentions inserted since the last compaction are Python objects in a dict of buckets
    (cheap to add one at a time, as a batch is assigned), and :meth:`compact` — run by :meth:`shrink`,
    :meth:`evict` and :meth:`drop_watch`, so after each committed source — moves them into arrays
    (:class:`_Cold`): a daemon keeps 10,000 cached mentions between polls in a few MB and a few objects per
    mention, where one object per key, heap entry and set member kept ~2 KB and ~55 allocations per mention.
    """

    def __init__(self, window: timedelta = DEFAULT_WINDOW, *, max_entries: int | None = None) -> None:
        self.window = window
        self.max_entries = max_entries
        self._window_us = window // _MICROSECOND
        self._entries: dict[int, _Entry] = {}
        self._buckets: dict[int, _Bucket] = {}
        self._cold = _Cold()
        #: Watches whose recent mentions are all here, least recently used first.
        self._loaded: OrderedDict[int, None] = OrderedDict()
        #: How many pairwise decisions were made, for benchmarks and tests of the blocking.
        self.comparisons = 0

    def __len__(self) -> int:
        return len(self._entries) + self._cold.n_alive

    def __contains__(self, mention_id: object) -> bool:
        if mention_id in self._entries:
            return True
        return isinstance(mention_id, int) and self._cold.row_of(mention_id) is not None

    def cluster_of(self, mention_id: int) -> int | None:
        entry = self._entries.get(mention_id)
        if entry is not None:
            return entry.cluster_id
        row = self._cold.row_of(mention_id)
        return int(self._cold.cluster[row]) if row is not None else None

    def match(
        self, candidate: ClusterCandidate, prepared: PreparedText | None = None, keys: list[int] | None = None
    ) -> Match | None:
        """The closest near-duplicate of ``candidate`` among indexed mentions of its watch, without changing
        the index; ties go to the older cluster, then to the older mention."""
        if prepared is None:
            prepared = prepare(candidate.title, candidate.lead)
        if keys is None:
            keys = band_keys(candidate.watch_id, prepared)
        published = _micros(candidate.published)
        best: tuple[float, int, int] | None = None  # (score, cluster, mention)
        for mention_id, when, cluster_id, other in self._candidates(candidate.watch_id, keys):
            if mention_id == candidate.mention_id or abs(when - published) > self._window_us:
                continue
            self.comparisons += 1
            if not prepared_near_duplicate(prepared, other):
                continue
            score = title_similarity(prepared, other)
            if best is None or (-score, cluster_id, mention_id) < (-best[0], best[1], best[2]):
                best = (score, cluster_id, mention_id)
        if best is None:
            return None
        if candidate.watch_id in self._loaded:
            self._loaded.move_to_end(candidate.watch_id)
        return Match(best[1], best[2], best[0])

    def add(self, candidate: ClusterCandidate) -> int:
        """Assign ``candidate`` to the cluster of its closest near-duplicate (or a new one) and index it."""
        known = self.cluster_of(candidate.mention_id)
        if known is not None:
            return known
        prepared = prepare(candidate.title, candidate.lead)
        keys = band_keys(candidate.watch_id, prepared)
        found = self.match(candidate, prepared, keys)
        cluster_id = found.cluster_id if found else candidate.mention_id
        self.insert(candidate, cluster_id, prepared, keys)
        return cluster_id

    def insert(
        self,
        candidate: ClusterCandidate,
        cluster_id: int,
        prepared: PreparedText | None = None,
        keys: list[int] | None = None,
    ) -> None:
        """Index a stored mention with the cluster it was given (a no-op if it is already indexed)."""
        if candidate.mention_id in self:
            return
        if prepared is None:
            prepared = prepare(candidate.title, candidate.lead)
        if keys is None:
            keys = band_keys(candidate.watch_id, prepared)
        self._insert(
            _Entry(candidate.mention_id, candidate.watch_id, _micros(candidate.published), cluster_id, prepared, keys)
        )

    def _insert(self, entry: _Entry) -> None:
        buckets = self._buckets
        for key in entry.keys:
            held = buckets.get(key)
            if held is None:
                buckets[key] = entry
            elif isinstance(held, list):
                held.append(entry)
                if len(held) > _BUCKET_CAP:
                    del held[0]  # the oldest: still reachable through its other keys, if any
            else:
                buckets[key] = [held, entry]
        self._entries[entry.mention_id] = entry

    def _all(self) -> Iterator[_Entry]:
        """Every indexed mention, compacted ones first, in insertion order."""
        import numpy as np

        cold = self._cold
        for row in np.flatnonzero(cold.alive).tolist():
            yield _Entry(
                int(cold.mention[row]),
                int(cold.watch[row]),
                int(cold.published[row]),
                int(cold.cluster[row]),
                cold.prepared[row],
                [],
            )
        yield from self._entries.values()

    def absorb(self, other: ClusterIndex, keys: dict[int, list[int]] | None = None) -> None:
        """Index every mention of ``other`` (a batch assigned apart, see :func:`erepwatch.analyze.stories`);
        ``keys`` are their bucket keys when already computed."""
        keys = keys or {}
        for entry in other._all():
            if entry.mention_id in self:
                continue
            entry.keys = keys.get(entry.mention_id) or entry.keys or band_keys(entry.watch_id, entry.prepared)
            self._insert(entry)

    def preload(self, members: Iterable[tuple[ClusterCandidate, int]]) -> None:
        """Load stored recent mentions with the cluster ids already given to them."""
        for candidate, cluster_id in members:
            self.insert(candidate, cluster_id)

    def repoint(self, watch_id: int, old: int, new: int) -> None:
        """Members of story ``old`` now belong to ``new`` (a story folded into an older one after commit)."""
        for entry in self._entries.values():
            if entry.watch_id == watch_id and entry.cluster_id == old:
                entry.cluster_id = new
        cold = self._cold
        cold.cluster[(cold.watch == watch_id) & (cold.cluster == old) & cold.alive] = new

    def loaded(self, watch_id: int) -> bool:
        """Whether every recent stored mention of the watch is indexed (see :meth:`mark_loaded`)."""
        return watch_id in self._loaded

    def mark_loaded(self, watch_id: int) -> None:
        self._loaded[watch_id] = None
        self._loaded.move_to_end(watch_id)

    def loaded_watches(self) -> frozenset[int]:
        return frozenset(self._loaded)

    def compact(self) -> None:
        """Move the mentions inserted since the last compaction (and the removals) into the arrays."""
        cold = self._cold
        if not self._entries and cold.n_alive == len(cold.alive):
            return
        self._cold = _Cold.build(cold, self._entries.values())
        self._entries = {}
        self._buckets = {}

    def shrink(self) -> int:
        """Drop least recently used watches until at most ``max_entries`` mentions are indexed (and compact)."""
        self.compact()
        if self.max_entries is None or len(self) <= self.max_entries:
            return 0
        import numpy as np

        cold = self._cold
        watches, counts = np.unique(cold.watch[cold.alive], return_counts=True)
        count_of = dict(zip(watches.tolist(), counts.tolist(), strict=True))
        dropped: list[int] = []
        left = len(self)
        while left > self.max_entries and self._loaded:
            watch_id, _ = self._loaded.popitem(last=False)
            left -= count_of.pop(watch_id, 0)
            dropped.append(watch_id)
        if left > self.max_entries:  # mentions of watches never marked loaded
            for watch_id, count in count_of.items():
                if left <= self.max_entries:
                    break
                left -= count
                dropped.append(watch_id)
        before = len(self)
        cold.kill(np.isin(cold.watch, dropped))
        self.compact()
        return before - len(self)

    def drop_watch(self, watch_id: int) -> int:
        """Forget every mention of a watch (it is reloaded from storage when needed again)."""
        self._loaded.pop(watch_id, None)
        self.compact()
        cold = self._cold
        before = cold.n_alive
        cold.kill(cold.watch == watch_id)
        self.compact()
        return before - cold.n_alive

    def evict(self, now: datetime) -> int:
        """Forget mentions published before ``now - window``; returns how many were dropped."""
        self.compact()
        cold = self._cold
        before = cold.n_alive
        cold.kill(cold.published < _micros(now - self.window))
        self.compact()
        return before - cold.n_alive

    def representative(self, cluster_id: int) -> int | None:
        """The earliest-published indexed member of a cluster (None when none is indexed)."""
        members = [(e.published, e.mention_id) for e in self._all() if e.cluster_id == cluster_id]
        return min(members)[1] if members else None

    def _candidates(self, watch_id: int, keys: list[int]) -> list[tuple[int, int, int, PreparedText]]:
        """(mention id, published µs, cluster id, prepared text) of the indexed mentions of the watch that share a
        bucket with ``keys``."""
        seen: dict[int, tuple[int, int, int, PreparedText]] = {}
        for key in keys:
            held = self._buckets.get(key)
            if held is None:
                continue
            for entry in held if isinstance(held, list) else (held,):
                if entry.watch_id == watch_id:
                    seen[entry.mention_id] = (entry.mention_id, entry.published, entry.cluster_id, entry.prepared)
        for found in self._cold.candidates(watch_id, keys):
            seen.setdefault(found[0], found)
        return list(seen.values())
