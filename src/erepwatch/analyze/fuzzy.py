"""Typo tolerance for watches with ``--fuzzy``: which words may differ, by how much, and how to find them.

A query word of 5 to 8 letters also matches a word one edit away, 9 letters or more two edits away
(Levenshtein: insertion, deletion or substitution). Short words, words with digits and common French or
English words never do: "about" one edit from "abort" is noise, "2024" one edit from "2025" is wrong.

Candidates are found with the symmetric-delete trick (SymSpell): two words within ``k`` edits share a
string obtained by deleting at most ``k`` characters from each, so an exact dictionary lookup on those
"delete variants" finds every candidate; rapidfuzz then checks the real distance.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rapidfuzz.distance import Levenshtein

__all__ = ["STOP_WORDS", "NearIndex", "deletes", "edit_budget", "within"]

# Words of 5+ letters that are too common to fuzz, in the two languages erepwatch serves first.
_STOP_TEXT = """
    about above after again against among because before being below between both could
    doing during each every first from further having here herself himself itself just
    might other ought their theirs them themselves then there these they this those
    through under until very where which while whom whose would yours yourself yourselves
    should shall still since never always without within

    alors apres aussi autre autres avant avec avoir cette celle celles celui ceux chaque
    comme comment dans depuis donc elle elles encore entre etaient etait etre leur leurs
    mais meme moins nous notre notres parce pendant peut plus pour pourquoi quand quelle
    quelles quelque quels sans selon sera seront sinon sont sous tous tout toute toutes
    tres votre votres vous avait avaient aurait auraient ainsi jamais toujours contre
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


def edit_budget(word: str) -> int:
    """How many edits a folded query word tolerates under ``--fuzzy``."""
    letters = sum(ch.isalpha() for ch in word)
    if letters < 5 or any(ch.isdigit() for ch in word) or word in STOP_WORDS or "'" in word:
        return 0
    return 1 if letters < 9 else 2


def deletes(word: str, k: int) -> set[str]:
    """``word`` and every string made by deleting up to ``k`` of its characters."""
    out = {word}
    layer = {word}
    for _ in range(k):
        layer = {w[:i] + w[i + 1 :] for w in layer if len(w) > 1 for i in range(len(w))}
        out |= layer
    return out


def within(a: str, b: str, k: int) -> bool:
    """Whether ``a`` and ``b`` are at most ``k`` edits apart."""
    if abs(len(a) - len(b)) > k:
        return False
    return Levenshtein.distance(a, b, score_cutoff=k) <= k


class _Variants:
    """The strings made by deleting exactly ``d`` characters of one item word, made on demand.

    An item word's first sight is the costly part of fuzzy matching (a ten-letter word has 45 two-delete
    variants), so each layer is built once, and only for the lengths some query variant has.
    """

    __slots__ = ("_layers", "word")

    def __init__(self, word: str):
        self.word = word
        self._layers: list[set[str]] = [{word}]

    def layer(self, d: int) -> set[str]:
        while len(self._layers) <= d:
            n = len(self._layers)
            word = self.word
            if n == 2 and len(word) > 2:
                # Deleting i, then j >= i in what remains, reaches each pair of positions once.
                out: set[str] = set()
                for i in range(len(word)):
                    v = word[:i] + word[i + 1 :]
                    out.update([v[:j] + v[j + 1 :] for j in range(i, len(v))])
            else:
                out = {w[:i] + w[i + 1 :] for w in self._layers[-1] if len(w) > 1 for i in range(len(w))}
            self._layers.append(out)
        return self._layers[d]


class NearIndex:
    """The fuzzy query words of a whole poll, looked up from an item word in a few dictionary probes.

    Built once per compiled matcher: every query word with a typo budget is stored under its delete
    variants, one table per budget. :meth:`near` then costs the delete variants of the item word and a
    Levenshtein check of the few words sharing one, whatever the number of fuzzy watches; and it is
    cached, since the vocabulary of the news repeats from item to item.

    The first sight of a word is what costs (tens of microseconds for a long word, against a dictionary
    lookup afterwards), and a poll sees few items: :meth:`shared` hands the next poll the same index,
    with what it learnt, as long as the fuzzy words of the watches have not changed. Results never depend
    on it, only the time.
    """

    #: Letters of a word that are indexed and probed.
    PREFIX = 7
    #: Item words remembered; cleared beyond this so that a daemon's memory stays bounded.
    CACHE_SIZE = 300_000
    #: Distinct sets of fuzzy words whose index :meth:`shared` keeps (a poll's, plus a few previews').
    SHARED = 3
    _shared: ClassVar[dict[frozenset[str], NearIndex]] = {}

    @classmethod
    def shared(cls, words: Iterable[str]) -> NearIndex:
        """An index of ``words``, the one built earlier for the same fuzzy words when there is one."""
        key = frozenset(w for w in words if edit_budget(w))
        index = cls._shared.pop(key, None)
        if index is None:
            index = cls(key)
        cls._shared[key] = index  # most recent last
        while len(cls._shared) > cls.SHARED:
            del cls._shared[next(iter(cls._shared))]
        return index

    def __init__(self, words: Iterable[str]):
        self._budget: dict[str, int] = {}
        for word in words:
            k = edit_budget(word)
            if k:
                self._budget[word] = k
        # Only prefixes are indexed (SymSpell's prefix trick): two words within k edits keep a common
        # subsequence that leaves at most k characters out of each one's first PREFIX characters too,
        # so their prefixes still share a delete variant. A long item word then costs the variants of
        # its first PREFIX letters, not of all of them; Levenshtein on whole words removes the surplus.
        lists: dict[int, dict[str, list[str]]] = {}
        for word, k in self._budget.items():
            table = lists.setdefault(k, {})
            for variant in deletes(word[: self.PREFIX], k):
                table.setdefault(variant, []).append(word)
        # Tuples, not lists: the garbage collector stops tracking them, and a large index is many objects
        # that every full collection would otherwise walk.
        tables = {k: {v: tuple(ws) for v, ws in table.items()} for k, table in lists.items()}
        # A variant of d deletes from a prefix of length n has n - d characters: only the d for which the
        # table holds keys of that length are worth making and probing; and a word more than k letters
        # longer or shorter than every query word of the table is never within k edits of one.
        self._tables: list[tuple[int, int, int, set[int], dict[str, tuple[str, ...]]]] = []
        for k, frozen in sorted(tables.items()):
            lengths = [len(w) for w, b in self._budget.items() if b == k]
            self._tables.append((k, min(lengths) - k, max(lengths) + k, {len(v) for v in frozen}, frozen))
        self._cache: dict[str, tuple[str, ...]] = {}
        # Item words near no query word: most of them, skipped by a filter in C.
        self._far: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self._budget)

    def near(self, word: str) -> tuple[str, ...]:
        """Query words within their own budget of ``word`` (``word`` itself included when it is one)."""
        found = self._cache.get(word)
        if found is not None:
            return found
        if word in self._far:
            return ()
        hits: set[str] = set()
        prefix = word[: self.PREFIX]
        variants = _Variants(prefix)
        n, m = len(word), len(prefix)
        for k, shortest, longest, lengths, table in self._tables:
            if shortest <= n <= longest:
                for d in range(k + 1):
                    if m - d in lengths:
                        for variant in table.keys() & variants.layer(d):
                            hits.update(table[variant])
        budget = self._budget
        found = tuple(sorted(w for w in hits if within(w, word, budget[w])))
        if len(self._cache) + len(self._far) >= self.CACHE_SIZE:
            self._cache.clear()
            self._far.clear()
        if found:
            self._cache[word] = found
        else:
            self._far.add(word)
        return found

    def near_many(self, words: set[str]) -> dict[str, list[str]]:
        """For the distinct words of an item: each query word they come near to -> those item words."""
        out: dict[str, list[str]] = {}
        cache = self._cache
        # Most words are known to be far: a set difference drops them in one C loop. It holds the GIL
        # throughout (hashing and comparing str runs no Python code), so another thread's poll adding
        # to _far cannot change it mid-way.
        for word in words - self._far:
            found = cache.get(word)
            if found is None:
                found = self.near(word)
            for query_word in found:
                hit = out.get(query_word)
                if hit is None:
                    out[query_word] = [word]
                else:
                    hit.append(word)
        return out
