"""Typo tolerance for watches with ``--fuzzy``: which words may differ, by how much, and how to find them.

A query word of 5 to 8 letters also matches a word one edit away, 9 letters or more two edits away
(Levenshtein: insertion, deletion or substitution). Short words, words with digits and common French or
English words never do: "about" one edit from "abort" is noise, "2024" one edit from "2025" is wrong.

Candidates are found with the symmetric-delete trick (SymSpell): two words within ``k`` edits share a
string obtained by deleting at most ``k`` characters from each, so an exact dictionary lookup on those
"delete variants" finds every candidate; rapidfuzz then checks the real distance.
"""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

__all__ = ["STOP_WORDS", "deletes", "edit_budget", "within"]

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
