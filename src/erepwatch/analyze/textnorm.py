"""The one normalization used for queries, item text and the sentiment lexicons.

Folding rules (issue #3, item 2): Unicode NFKC, case folding, accents removed (é→e, ç→c, œ→oe, ß→ss),
typographic apostrophes, quotes and dashes unified (’ = '), HTML entities decoded, French elisions split
from the word (``l'Oréal`` → ``l'`` + ``oreal``), the English possessive ``'s`` dropped (``Apple's`` →
``apple``), hyphens and spaces equal (``Coca-Cola`` → ``coca`` ``cola``).

Two entry points:

* :func:`fold_words` gives the folded words joined by single spaces. Its output contains only word
  characters, apostrophes and spaces, so applying it again changes nothing (no entity can re-appear).
* :func:`tokens` gives each word's folded form with its ``(start, end)`` offsets in the ORIGINAL text,
  which is what highlighting and snippets need.

An item is scanned once per poll (issue 17, "no work done twice"): the matcher, the mention's window, tags,
sentiment and clustering read parts of that one :class:`Scan` (:func:`part`) instead of scanning again.
"""

from __future__ import annotations

import codecs
import html
import re
import threading
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, compress
from operator import add
from typing import NamedTuple

__all__ = [
    "ELISIONS",
    "Folded",
    "Scan",
    "Token",
    "clean_cut",
    "fold",
    "fold_with_offsets",
    "fold_words",
    "joined",
    "part",
    "scan",
    "tokens",
    "words",
]

#: French elided articles and pronouns, split from the word they precede.
ELISIONS = frozenset(["l'", "d'", "qu'", "j'", "n'", "s'", "c'", "m'", "t'", "jusqu'", "lorsqu'", "puisqu'"])

# Characters unified before anything else: NFKC would otherwise turn some of them into odd sequences
# (´ becomes a space plus a combining accent).
_PUNCT = {
    **dict.fromkeys("’‘‛′`´ʼʹʻ‚＇", "'"),
    **dict.fromkeys("“”„‟″«»〝〞＂", '"'),
    **dict.fromkeys("‐‑‒–—―−﹘﹣－⁃", "-"),
    "…": ".",  # NFKC would make it three characters, and it is in almost every feed
    # Invisible characters that sit inside words in real feeds (soft hyphen, zero-width joiners, BOM).
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
}
# Letters that NFKD does not decompose but a French or German reader treats as plain letters.
_LETTERS = {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ŀ": "l", "ß": "ss"}


def _fold_once(text: str) -> str:
    out = []
    for ch in text:
        if ch in _PUNCT:
            out.append(_PUNCT[ch])
            continue
        # lower() after casefold(): Cherokee casefolds to upper case, and the fast path lowers ASCII.
        s = unicodedata.normalize("NFKC", ch).casefold().lower()
        s = "".join(_LETTERS.get(c, c) for c in s)
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
        out.append("".join(_PUNCT.get(c, c) for c in s))
    return "".join(out)


def _fold_char(ch: str) -> str:
    # Iterate to a fixed point so that folding a folded character never changes it again.
    s = _fold_once(ch)
    for _ in range(4):
        again = _fold_once(s)
        if again == s:
            break
        s = again
    return s


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled lazily; remembers which characters change length when folded."""

    def __init__(self) -> None:
        super().__init__()
        self.odd: set[str] = set()
        #: the odd characters that fold to nothing (soft hyphen, zero-width joiners, combining accents)
        self.vanishing: set[str] = set()
        self.version = 0

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = _fold_char(ch)
        if len(folded) != 1:
            self.odd.add(ch)
            if not folded:
                self.vanishing.add(ch)
            self.version += 1
        self[code] = folded
        return folded


_TABLE = _FoldTable()
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_special_cache: tuple[int, re.Pattern[str]] | None = None


def _special() -> re.Pattern[str]:
    """Entities plus every character seen so far whose fold is not exactly one character."""
    global _special_cache
    if _special_cache is None or _special_cache[0] != _TABLE.version:
        chars = "".join(sorted(_TABLE.odd))
        pattern = _ENTITY.pattern + (f"|[{re.escape(chars)}]" if chars else "")
        _special_cache = (_TABLE.version, re.compile(pattern))
    return _special_cache[1]


def fold(text: str) -> str:
    """Character-level fold (case, accents, punctuation, entities); keeps punctuation and spacing."""
    return _fold_mapped(text)[0]


class _OffsetMap:
    """Maps offsets in folded text back to the original when folding changed lengths."""

    __slots__ = ("_atomic", "_fold_ends", "_fold_starts", "_orig_ends", "_orig_starts")

    def __init__(self) -> None:
        self._fold_starts: list[int] = []
        self._fold_ends: list[int] = []
        self._orig_starts: list[int] = []
        self._orig_ends: list[int] = []
        self._atomic: list[bool] = []

    def add(self, fold_start: int, fold_end: int, orig_start: int, orig_end: int, atomic: bool) -> None:
        self._fold_starts.append(fold_start)
        self._fold_ends.append(fold_end)
        self._orig_starts.append(orig_start)
        self._orig_ends.append(orig_end)
        self._atomic.append(atomic)

    def start(self, i: int) -> int:
        k = bisect_right(self._fold_starts, i) - 1
        return self._orig_starts[k] if self._atomic[k] else self._orig_starts[k] + i - self._fold_starts[k]

    def map_starts(self, starts: list[int]) -> list[int]:
        """``start`` over a sorted list; linear pieces are shifted in bulk (the slow path is per word)."""
        out = list(starts)
        for k, fs in enumerate(self._fold_starts):
            a, b = bisect_left(starts, fs), bisect_left(starts, self._fold_ends[k])
            if a == b:
                continue
            if self._atomic[k]:
                out[a:b] = [self._orig_starts[k]] * (b - a)
            else:
                d = self._orig_starts[k] - fs
                out[a:b] = [x + d for x in starts[a:b]]
        return out

    def map_ends(self, ends: list[int]) -> list[int]:
        """``end`` over a sorted list of exclusive ends."""
        out = list(ends)
        for k, fs in enumerate(self._fold_starts):
            fe = self._fold_ends[k]
            # Ends strictly inside a linear piece shift with it; the others need the careful mapping.
            a, b = bisect_right(ends, fs), bisect_left(ends, fe)
            if not self._atomic[k] and a < b:
                d = self._orig_starts[k] - fs
                out[a:b] = [x + d for x in ends[a:b]]
                a = b
            for j in range(a, bisect_right(ends, fe)):
                out[j] = self.end(ends[j])
        return out

    def end(self, i: int) -> int:
        # ``i`` is exclusive: map the last character included, then step past it.
        k = bisect_right(self._fold_starts, i - 1) - 1
        end = self._orig_ends[k] if self._atomic[k] else self._orig_starts[k] + i - self._fold_starts[k]
        # Characters that fold to nothing right after the word (a combining accent) belong to it.
        k += 1
        while k < len(self._fold_starts) and self._fold_ends[k] == i and self._orig_starts[k] == end:
            end = self._orig_ends[k]
            k += 1
        return end


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _fold_run(m: re.Match[str]) -> str:
    return m.group().translate(_TABLE)


def _fold_plain(text: str) -> str:
    # Most of a French or English text is ASCII: fold only the runs of other characters (a C-level
    # translate per run), then lower the whole, which leaves the folded runs as they are.
    return _NON_ASCII.sub(_fold_run, text).lower()


class _NotByByte(Exception):
    """A character the byte-wise fold cannot take (its fold is not one ASCII character)."""


def _fold_beyond_latin1(exc: UnicodeError) -> tuple[str, int]:
    # Encoding error handler: a run of characters beyond Latin-1 (’ “ ” – …) replaced by its fold when every
    # character of it folds to one ASCII character, which the byte table then leaves as it is.
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    run = exc.object[exc.start : exc.end]
    folded = run.translate(_TABLE)
    if len(folded) != len(run) or not folded.isascii() or not _TABLE.vanishing.isdisjoint(run):
        raise _NotByByte
    return folded, exc.end


codecs.register_error("erepwatch.fold", _fold_beyond_latin1)


def _latin1_tables() -> tuple[bytes, bytes]:
    """The fold of each Latin-1 character as one byte, and the characters whose fold is not one Latin-1 one."""
    table = bytearray(range(256))
    special = bytearray()
    for code in range(256):
        folded = _fold_plain(chr(code))
        if len(folded) == 1 and ord(folded) < 256 and chr(code) not in _TABLE.odd:
            table[code] = ord(folded)
        else:
            special.append(code)
    return bytes(table), bytes(special)


def _fold_by_byte(text: str) -> str | None:
    """``_fold_plain(text)`` for a text whose characters each fold to one character, all in Latin-1 once the few
    beyond it (typographic quotes and dashes) are folded: encoded, folded by one byte table and decoded, in C. The
    pattern-and-callback fold calls Python for every accented letter of a French text. None for any other text."""
    for char, folded in _COMMON_BEYOND_LATIN1:
        if char in text:  # one C search (none at all in a text of Latin-1 characters), then one replace
            text = text.replace(char, folded)
    try:
        raw = text.encode("latin-1", "erepwatch.fold")
    except _NotByByte:
        return None
    if len(raw.translate(None, _LATIN1_SPECIAL)) != len(raw):
        return None
    return raw.translate(_LATIN1_FOLD).decode("latin-1")


_MARKS = threading.local()


def _mark_beyond_latin1(exc: UnicodeError) -> tuple[str, int]:
    # Encoding error handler: a run of characters beyond Latin-1 noted where it is (for the caller to fold it), and
    # a placeholder of its length encoded in its place.
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    _MARKS.runs.append((exc.start, exc.end))
    return "\x00" * (exc.end - exc.start), exc.end


codecs.register_error("erepwatch.mark", _mark_beyond_latin1)


def _fold_by_marks(text: str) -> tuple[str, bool] | None:
    """:func:`_fold_plain_noting` for a text whose Latin-1 characters each fold to one, with runs beyond Latin-1 that
    the byte-wise fold cannot take (an emoji, an arrow, "€", "œ": a tenth of the corpus's texts, a fifth of its
    characters): encoded, folded by the byte table and decoded in C, each run noted by the encoder and folded apart,
    where the pattern-and-callback fold scans the whole text in Python's regular expressions. None when a Latin-1
    character's fold is not one Latin-1 character."""
    for char, folded in _COMMON_BEYOND_LATIN1:
        if char in text:
            text = text.replace(char, folded)
    runs: list[tuple[int, int]] = []
    _MARKS.runs = runs
    raw = text.encode("latin-1", "erepwatch.mark")
    if len(raw.translate(None, _LATIN1_SPECIAL)) != len(raw):
        return None
    by_byte = raw.translate(_LATIN1_FOLD).decode("latin-1")
    pieces: list[str] = []
    odd = False
    at = 0
    for start, end in runs:
        run = text[start:end]
        folded = run.translate(_TABLE)
        if len(folded) != len(run) or not _TABLE.vanishing.isdisjoint(run):
            odd = True
        pieces += (by_byte[at:start], folded)
        at = end
    pieces.append(by_byte[at:])
    # Lowered as a whole, as the pattern-and-callback fold lowers its result (the Latin-1 pieces are already).
    return "".join(pieces).lower(), odd


def _fold_plain_noting(text: str) -> tuple[str, bool]:
    """``_fold_plain(text)``, and whether ``text`` may hold an odd character (False: it holds none).

    A run whose fold has its length and holds no character folding to nothing has every character folded to
    exactly one: no odd one. So the pattern's search for odd characters (a third of a fold's cost, in
    Python's regular expressions) is needed only where a run says so, or where an entity may be."""
    by_byte = _fold_by_byte(text)
    if by_byte is not None:
        return by_byte, False
    by_marks = _fold_by_marks(text)
    if by_marks is not None:
        return by_marks
    odd = False

    def fold_run(m: re.Match[str]) -> str:
        nonlocal odd
        run = m.group()
        folded = run.translate(_TABLE)
        if len(folded) != len(run) or not _TABLE.vanishing.isdisjoint(run):
            odd = True
        return folded

    folded = _NON_ASCII.sub(fold_run, text).lower()
    return folded, odd


_LATIN1_FOLD, _LATIN1_SPECIAL = _latin1_tables()
#: The characters beyond Latin-1 that French and English feeds write most (28,000 of the corpus' 28,500), each
#: folding to one ASCII character: replaced before encoding, so the error handler is rarely called.
_COMMON_BEYOND_LATIN1 = tuple(
    (char, _TABLE[ord(char)]) for char in "’“”—–…‘" if len(_TABLE[ord(char)]) == 1 and _TABLE[ord(char)].isascii()
)


class Folded(NamedTuple):
    """A text folded (:func:`fold`) with the map from folded offsets back to the text's: made once per field by a
    poll, read by the matcher's ``could_match`` and then by :func:`scan`, so a field is never folded twice."""

    text: str
    offsets: _OffsetMap | None


def fold_with_offsets(text: str) -> Folded:
    return Folded(*_fold_mapped(text))


def _fold_mapped(text: str) -> tuple[str, _OffsetMap | None]:
    if text.isascii() and "&" not in text:
        return text.lower(), None
    folded, odd = _fold_plain_noting(text)  # also teaches _TABLE which characters are odd
    if not odd:
        if "&" not in text:
            return folded, None  # no entity, no odd character: nothing to map
        # Only an entity can be special: the entity pattern's literal "&" is found in C, where the pattern with the
        # odd characters' class tries every character of the text (a long article with one "AT&T").
        first = _ENTITY.search(text)
        if first is None:
            return folded, None
        specials = _ENTITY.finditer(text, first.start())
    else:
        special = _special()
        first = special.search(text)
        if first is None:
            return folded, None
        specials = special.finditer(text, first.start())
    # ``folded`` is the text folded character by character (an entity left as its lowered self, an odd character as
    # its fold): a stretch between two special characters, each of whose characters folds to one, is the same
    # stretch of ``folded`` (at ``at``), sliced rather than folded again.
    pieces: list[str] = []
    omap = _OffsetMap()
    pos = fpos = at = 0
    for m in specials:
        start, raw = m.start(), m.group()
        if start > pos:
            seg = folded[at : at + start - pos]
            omap.add(fpos, fpos + len(seg), pos, start, False)
            pieces.append(seg)
            fpos += len(seg)
            at += len(seg)
        if raw[0] == "&":
            rep = _entity_fold(raw)
            at += len(raw)  # an entity is ASCII: lowered, it keeps its length
        else:
            rep = _TABLE[ord(raw)]
            at += len(rep)
        omap.add(fpos, fpos + len(rep), start, m.end(), True)
        pieces.append(rep)
        fpos += len(rep)
        pos = m.end()
    if pos < len(text):
        seg = folded[at:]
        omap.add(fpos, fpos + len(seg), pos, len(text), False)
        pieces.append(seg)
    return "".join(pieces), omap


@lru_cache(maxsize=4096)
def _entity_fold(raw: str) -> str:
    """An entity's fold (the same few come back in every text: &amp;, &nbsp;, &#8217;)."""
    return _fold_plain(html.unescape(raw))


# A word: letters and digits, with apostrophes allowed inside (aujourd'hui, l'oreal, apple's).
# Hyphens, underscores and every other sign separate words, which makes "coca-cola" equal "coca cola".
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_SPLIT = re.compile(r"([^\W_]+(?:'[^\W_]+)*)")


class Token(NamedTuple):
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Scan:
    """The folded words of a text and their offsets in the original, as three parallel lists."""

    words: list[str]
    starts: list[int]
    ends: list[int]


def _split_word(word: str) -> list[tuple[str, int, int]]:
    """Split elisions off a word containing an apostrophe and drop a possessive 's.

    Returns (folded text, start, end) with offsets relative to the word.
    """
    out = []
    pos = 0
    while True:
        cut = word.find("'", pos)
        if cut < 0:
            break
        prefix = word[pos : cut + 1]
        if prefix in ELISIONS and cut + 1 < len(word):
            out.append((prefix, pos, cut + 1))
            pos = cut + 1
        else:
            break
    rest_end = len(word)
    while word.endswith("'s", pos, rest_end) and rest_end - 2 > pos:
        rest_end -= 2
    out.append((word[pos:rest_end], pos, len(word)))
    return out


def scan(text: str, folding: Folded | None = None) -> Scan:
    """Words and offsets of ``text`` (``folding``: ``fold_with_offsets(text)``, when the caller has it).

    Written for speed, as every new item is scanned once: a C-level ``translate`` turns every character that is in
    no word into a space (one character for one, so offsets stay), ``split(" ")`` cuts the words out, and
    ``accumulate``/``compress`` give their offsets; Python only touches words with an apostrophe.
    """
    folded, omap = folding if folding is not None else _fold_mapped(text)
    if folded.isascii():  # most of a folded French or English text: one table lookup per byte, in C
        kept = folded.encode("ascii").translate(_ASCII_WORD_BYTES).decode("ascii")
    else:
        kept = _kept_by_byte(folded) or folded.translate(_WORD_TABLE)
    found, starts, ends = _spaced_words(kept) if len(kept) < _LONG_TEXT else _spaced_words_long(kept)
    if "'" in kept:
        fixes: list[int] = []
        at = kept.find("'")
        while at >= 0:
            i = bisect_right(starts, at) - 1  # the word holding it, if any: spaces hold none
            if i >= 0 and at < ends[i]:
                fixes.append(i)
                at = kept.find("'", ends[i])  # the word's other apostrophes are its own business
            else:
                at = kept.find("'", at + 1)
        if fixes:
            found, starts, ends = _apostrophes_split(found, starts, ends, fixes)
    if omap is not None:
        starts, ends = omap.map_starts(starts), omap.map_ends(ends)
    return Scan(found, starts, ends)


def _apostrophes_split(
    found: list[str], starts: list[int], ends: list[int], fixes: list[int]
) -> tuple[list[str], list[int], list[int]]:
    """The words at the indices ``fixes`` (ascending) replaced by their pieces (:func:`_word_pieces`): the lists are
    made again once, in runs between the fixed words, where splicing each fixed word in moved the rest of a long
    French text (hundreds of elisions) every time."""
    words_: list[str] = []
    starts_: list[int] = []
    ends_: list[int] = []
    prev = 0
    for i in fixes:
        words_ += found[prev:i]
        starts_ += starts[prev:i]
        ends_ += ends[prev:i]
        s = starts[i]
        for piece, ps, pe in _word_pieces(found[i]):
            words_.append(piece)
            starts_.append(s + ps)
            ends_.append(s + pe)
        prev = i + 1
    words_ += found[prev:]
    starts_ += starts[prev:]
    ends_ += ends[prev:]
    return words_, starts_, ends_


@lru_cache(maxsize=8192)
def _word_pieces(word: str) -> tuple[tuple[str, int, int], ...]:
    """A run of word characters and apostrophes as :func:`scan` cuts it: its words (apostrophes join letters only:
    "'quote'", "a''b"), elisions split off and possessives dropped (:func:`_split_word`), with their offsets in the
    run. The same few runs come back all the time (l'…, d'…, qu'il, c'est, it's): each is cut once."""
    pieces: list[tuple[str, int, int]] = []
    for m in _WORD.finditer(word):
        w, ws = m.group(), m.start()
        for piece, ps, pe in _split_word(w) if "'" in w else ((w, 0, len(w)),):
            pieces.append((piece, ws + ps, ws + pe))
    return tuple(pieces)


_ONE = 1
#: From this length on, a text's word offsets are found by numpy (:func:`_spaced_words_long`): its fixed cost, a
#: few microseconds, is then below what it saves (half the cost of the lists' way on a 1,500-character article).
_LONG_TEXT = 600


def _spaced_words(kept: str) -> tuple[list[str], list[int], list[int]]:
    """The words of ``kept`` (words and spaces only, as :func:`scan` makes it) and their start and end offsets."""
    pieces = kept.split(" ")
    lengths = list(map(len, pieces))
    # Each piece starts one character (the space) after the previous one ends.
    offsets = accumulate(map(_ONE.__add__, lengths), initial=0)
    found = list(compress(pieces, lengths))
    starts = list(compress(offsets, lengths))
    ends = list(map(add, starts, filter(None, lengths)))
    return found, starts, ends


def _spaced_words_long(kept: str) -> tuple[list[str], list[int], list[int]]:
    """:func:`_spaced_words` for a long text: the words are the runs of characters between spaces, and their starts
    and ends are where the text turns from space to word and back, found by numpy over the text's code points in one
    pass (one list of both, sliced), instead of an offset made for every piece ``split(" ")`` cuts (the empty ones
    between two signs included), or an end added to each start in Python."""
    import numpy as np

    found = kept.split()  # only spaces separate: the same words, without the empty pieces
    if not found:
        return found, [], []
    try:
        points = np.frombuffer(kept.encode("latin-1"), np.uint8)
    except UnicodeEncodeError:
        points = np.frombuffer(kept.encode("utf-32-le"), np.uint32)
    space = points == _SPACE
    # Every turn, in order: a word's start, its end, the next word's start… (a text that begins or ends inside a word
    # has no turn there: its first start and last end are the text's own bounds).
    turns: list[int] = (np.flatnonzero(space[:-1] != space[1:]) + 1).tolist()
    if not space[0]:
        turns.insert(0, 0)
    if not space[-1]:
        turns.append(len(kept))
    return found, turns[0::2], turns[1::2]


_SPACE = ord(" ")


class _WordTable(dict[int, str]):
    """``str.translate`` table keeping what ``[^\\W_]`` matches (``str.isalnum``) and apostrophes, every other
    character made a space; filled lazily."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        kept = ch if ch.isalnum() or ch == "'" else " "
        self[code] = kept
        return kept


_WORD_TABLE = _WordTable()
_ASCII_WORD_BYTES = bytes(ord(_WORD_TABLE[code]) for code in range(128)) + b" " * 128
_LATIN1_WORD_BYTES = bytes(ord(_WORD_TABLE[code]) for code in range(256))


def _in_no_word(exc: UnicodeError) -> tuple[str, int]:
    # Encoding error handler: a run beyond Latin-1 (€, °, ™) made spaces when no character of it is in a word.
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    kept = exc.object[exc.start : exc.end].translate(_WORD_TABLE)
    if kept.strip(" "):
        raise _NotByByte
    return kept, exc.end


codecs.register_error("erepwatch.words", _in_no_word)


def _kept_by_byte(folded: str) -> str | None:
    """``folded.translate(_WORD_TABLE)`` in C, by one byte table, for a folded text that is Latin-1 but for signs in
    no word (a folded French text keeping its "€" or "°"); None otherwise (a ``str.translate`` by a mapping looks
    every character up in Python's dict protocol). Never the empty string (then the caller translates)."""
    try:
        return folded.encode("latin-1", "erepwatch.words").translate(_LATIN1_WORD_BYTES).decode("latin-1")
    except _NotByByte:
        return None


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order: exactly :func:`scan`'s, without their offsets.

    About half the cost of :func:`scan` (a C-level ``translate`` and ``split`` instead of a regular
    expression, no offsets), for callers that need the words only."""
    folded = _fold_mapped(text)[0]
    if folded.isascii():  # most of a folded French or English text: one table lookup per byte, in C
        out = folded.encode("ascii").translate(_ASCII_WORD_BYTES).decode("ascii").split()
    else:
        out = (_kept_by_byte(folded) or folded.translate(_WORD_TABLE)).split()
    if "'" not in folded:
        return out
    # From the end, so that splicing does not move the indices still to fix.
    for i in reversed([i for i, token in enumerate(out) if "'" in token]):
        pieces: list[str] = []
        for word in _WORD.findall(out[i]):  # apostrophes join letters only: "'quote'", "a''b"
            pieces.extend([p for p, _, _ in _split_word(word)] if "'" in word else [word])
        out[i : i + 1] = pieces
    return out


def tokens(text: str) -> list[Token]:
    """The folded words of ``text`` with their offsets in ``text`` itself."""
    sc = scan(text)
    return [Token(w, s, e) for w, s, e in zip(sc.words, sc.starts, sc.ends, strict=True)]


def fold_words(text: str) -> str:
    """Folded words of ``text`` joined by single spaces; idempotent.

    An elision stays glued to its word (``l'oreal``) so that normalizing again splits it the same way.
    """
    return joined(words(text))


def joined(found: Sequence[str]) -> str:
    """Folded words as :func:`fold_words` joins them (``fold_words(t) == joined(scan(t).words)``): by single spaces,
    but none after an elision ("l'oreal"). Joined in C, then the space after each word ending with an apostrophe
    taken out (words hold no space, so "' " is only ever such a word and the space after it)."""
    return " ".join(found).replace("' ", "'").rstrip()


def clean_cut(text: str, i: int) -> bool:
    """Whether cutting ``text`` at ``i`` leaves every word and entity on one side of the cut."""
    if i <= 0 or i >= len(text):
        return True
    before, after = text[i - 1], text[i]
    return before.isspace() or after.isspace() or before in _STOPS or after in _STOPS


#: Sentence stops, next to which (as next to a space) a text can be cut without changing how its parts scan:
#: folded, they are in no word and no entity, and none folds to nothing (so none belongs to the word before it).
_STOPS = frozenset(".!?…")
#: How far a cut is moved to reach a clean point; a longer run without space or stop is scanned whole.
_REACH = 64


def part(text: str, sc: Scan, start: int, end: int) -> Scan:
    """``scan(text[start:end])``, read off ``sc = scan(text)`` instead of scanning again.

    Folding and splitting are local: where a cut falls next to a space or a sentence stop (``.!?…``), the words on
    either side are the words of either side scanned alone. So the words between the first and the last clean
    point of the part are taken from ``sc`` (offsets shifted to the part), and only a cut that falls inside a word
    (a clip at a character count) has the few characters up to the nearest clean point scanned again.
    """
    start, end = max(0, start), min(len(text), end)
    if start >= end:
        return Scan([], [], [])
    lo = start
    while not clean_cut(text, lo):
        lo += 1
        if lo >= end or lo - start > _REACH:
            return scan(text[start:end])
    hi = end
    while not clean_cut(text, hi):
        hi -= 1
        if hi <= lo or end - hi > _REACH:
            return scan(text[start:end])
    a, b = bisect_left(sc.starts, lo), bisect_left(sc.starts, hi)
    found, starts, ends = sc.words[a:b], [s - start for s in sc.starts[a:b]], [e - start for e in sc.ends[a:b]]
    if lo > start:
        head = scan(text[start:lo])
        found, starts, ends = head.words + found, head.starts + starts, head.ends + ends
    if hi < end:
        tail = scan(text[hi:end])
        shift = hi - start
        found += tail.words
        starts += [s + shift for s in tail.starts]
        ends += [e + shift for e in tail.ends]
    return Scan(found, starts, ends)
