"""Word lists for sentiment and keyword tags: where they live, how they are read, how they are matched.

Lists are plain UTF-8 text a user can read and extend (format in the header of
``config/lexicons/fr.tsv``). Entries go through :mod:`erepwatch.analyze.textnorm`, the same
normalization as the text, so case, accents, elisions and hyphens never stop a match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from erepwatch.analyze.textnorm import words
from erepwatch.errors import ConfigError

__all__ = ["NUMBER", "Entry", "Lexicon", "config_dir", "lexical", "read_lexicon"]

Kind = Literal["word", "booster", "negation", "contrast"]
_KINDS: frozenset[str] = frozenset(("word", "booster", "negation", "contrast"))
#: A stem shorter than this would match too much ("bo*" would match "boycott").
_MIN_STEM = 3


def config_dir() -> Path:
    """The folder holding ``lexicons/`` and ``tags/``, from a source checkout or an installed wheel.

    Order: ``erepwatch/config`` inside the installed package (the wheel force-includes the repository's
    ``config/`` there), then the ``config/`` folder of a source checkout. Users add their own word lists
    with the ``analysis.extra_lexicons`` / ``analysis.extra_tags`` settings, not by replacing these.
    """
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "config", package.parents[1] / "config"):
        if (candidate / "lexicons").is_dir():
            return candidate
    raise ConfigError("analysis.lexicons", f"no lexicons folder found near {package}")


@dataclass(frozen=True, slots=True)
class Entry:
    text: str
    weight: float
    kind: Kind = "word"


def read_lexicon(path: Path) -> list[tuple[str, float, Kind]]:
    """Read ``entry <TAB> weight [<TAB> kind]`` lines; a malformed line is a ConfigError naming it."""
    out: list[tuple[str, float, Kind]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError("analysis.extra_lexicons", f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        try:
            entry, weight = fields[0].strip(), float(fields[1])
            kind = fields[2].strip() if len(fields) > 2 and fields[2].strip() else "word"
        except (IndexError, ValueError) as exc:
            raise ConfigError("analysis.extra_lexicons", f"{path}:{number}: expected 'entry<TAB>weight'") from exc
        if kind not in _KINDS:
            raise ConfigError("analysis.extra_lexicons", f"{path}:{number}: unknown kind {kind!r}")
        out.append((entry, weight, kind))  # type: ignore[arg-type]
    return out


_STARTS_CACHE = 200_000
#: Written in an entry, stands for any number ("rappelle # trottinettes" would match "rappelle 12 000 …").
NUMBER = "#"
#: What a number becomes in the word lists the lexicon reads (a token no real entry starts with).
_NUMBER_TOKEN = "0"


def lexical(toks: Sequence[str]) -> list[str]:
    """Words as the lexicon reads them: every number is one token, :data:`NUMBER` in entries."""
    return [_NUMBER_TOKEN if t.isdigit() else t for t in toks]


class Lexicon:
    """Longest-match lookup of normalized word sequences, with ``stem*`` entries on the last word."""

    def __init__(self, entries: Iterable[tuple[str, float, Kind]] = ()) -> None:
        self._exact: dict[tuple[str, ...], Entry] = {}
        self._stems: dict[tuple[tuple[str, ...], str], Entry] = {}
        self._max_stem_len = 0
        # Most tokens start no entry, and most that do start one or two: each first word's possible entry lengths
        # (in words) and each stem head's stem lengths (in characters) let `match` try only those.
        #: first word → lengths of the entries (exact, or stems of several words) starting with it
        self._lengths: dict[str, set[int]] = {}
        #: words before a stem (``()`` for a one-word stem) → the stems' lengths in characters
        self._cuts: dict[tuple[str, ...], set[int]] = {}
        #: the stems of one word
        self._alone: set[str] = set()
        #: word → the lengths to try for an entry starting with it, longest first (empty: none can); words
        #: repeat, so each is worked out once.
        self._starts: dict[str, tuple[int, ...]] = {}
        #: stem head → its stem lengths, longest first
        self._cuts_desc: dict[tuple[str, ...], tuple[int, ...]] = {}
        #: the first _MIN_STEM letters of the stems of one word (None: not worked out since the last entry was added)
        self._alone_heads: frozenset[str] | None = None
        self.symbols: dict[str, Entry] = {}
        for entry, weight, kind in entries:
            self.add(entry, weight, kind)

    def add(self, entry: str, weight: float, kind: Kind = "word") -> None:
        """Add or replace an entry; entries without any word (emoji, ``:-)``) are kept as raw symbols."""
        self._starts.clear()
        self._cuts_desc.clear()
        self._alone_heads = None
        stem = entry.endswith("*")
        body = entry[:-1] if stem else entry
        ws = tuple(lexical(words(body.replace(NUMBER, f" {_NUMBER_TOKEN} "))))
        value = Entry(entry, weight, kind)
        if not ws:
            self.symbols[entry] = value
            return
        if stem and len(ws[-1]) >= _MIN_STEM:
            self._stems[(ws[:-1], ws[-1])] = value
            self._max_stem_len = max(self._max_stem_len, len(ws))
            self._cuts.setdefault(ws[:-1], set()).add(len(ws[-1]))
            if len(ws) > 1:
                self._lengths.setdefault(ws[0], set()).add(len(ws))
            else:
                self._alone.add(ws[0])
        else:
            self._exact[ws] = value
            self._lengths.setdefault(ws[0], set()).add(len(ws))

    def merged(self, other: Lexicon) -> Lexicon:
        """A new lexicon holding both; ``other`` wins where both have an entry."""
        out = Lexicon()
        for src in (self, other):
            out._exact.update(src._exact)
            out._stems.update(src._stems)
            out.symbols.update(src.symbols)
            out._alone |= src._alone
            for word, lengths in src._lengths.items():
                out._lengths.setdefault(word, set()).update(lengths)
            for head, cuts in src._cuts.items():
                out._cuts.setdefault(head, set()).update(cuts)
            out._max_stem_len = max(out._max_stem_len, src._max_stem_len)
        return out

    def _lengths_for(self, first: str) -> tuple[int, ...]:
        """The entry lengths (in words) worth trying at a token ``first``, longest first."""
        # A one-word stem starts here when a prefix of the token, cut at a stem's length, is such a stem. Cuts
        # longer than the token are not left out: they give the token itself, which is a stem only if its own
        # length is a cut (tried anyway), so the answer is the same, told by one set operation in C.
        # Every such stem has at least _MIN_STEM letters, so a token whose first ones start none of them is told at
        # once: most tokens, where cutting each at every stem length (thirteen in French) cost more than the rest.
        heads = self._alone_heads
        if heads is None:
            heads = self._alone_heads = frozenset(stem[:_MIN_STEM] for stem in self._alone)
        one = first[:_MIN_STEM] in heads and not self._alone.isdisjoint([first[:n] for n in self._cuts_of(())])
        lengths = self._lengths.get(first)
        if lengths is None:
            found: tuple[int, ...] = (1,) if one else ()
        else:
            found = tuple(sorted(lengths | {1} if one else lengths, reverse=True))
        if len(self._starts) > _STARTS_CACHE:
            self._starts.clear()
        self._starts[first] = found
        return found

    def _cuts_of(self, head: tuple[str, ...]) -> tuple[int, ...]:
        cuts = self._cuts_desc.get(head)
        if cuts is None:
            cuts = self._cuts_desc[head] = tuple(sorted(self._cuts.get(head, ()), reverse=True))
        return cuts

    def match(self, toks: Sequence[str], i: int) -> tuple[Entry, int] | None:
        """The longest entry starting at ``toks[i]`` and how many tokens it covers."""
        first = toks[i]
        lengths = self._starts.get(first)
        if lengths is None:
            lengths = self._lengths_for(first)
        if not lengths:
            return None
        return self._longest(toks, i, lengths)

    def matches(self, toks: Sequence[str]) -> dict[int, tuple[Entry, int]]:
        """:meth:`match` at every position of ``toks`` where an entry starts: position → (entry, tokens covered).
        One pass for the whole text: most tokens are rejected by one dictionary lookup, in a comprehension."""
        starts = self._starts
        known = list(map(starts.get, toks))
        if None in known:
            known = [self._lengths_for(w) if k is None else k for w, k in zip(toks, known, strict=True)]
        out: dict[int, tuple[Entry, int]] = {}
        for i in [i for i, k in enumerate(known) if k]:
            hit = self._longest(toks, i, known[i])  # type: ignore[arg-type]
            if hit is not None:
                out[i] = hit
        return out

    def _longest(self, toks: Sequence[str], i: int, lengths: tuple[int, ...]) -> tuple[Entry, int] | None:
        # Lengths no entry starting with toks[i] has are skipped: the first hit is the one trying every length
        # from the longest would find.
        rest = len(toks) - i
        for n in lengths:
            if n > rest:
                continue
            hit = self._exact.get(tuple(toks[i : i + n]))
            if hit is not None:
                return hit, n
            if n <= self._max_stem_len:
                head, last = tuple(toks[i : i + n - 1]), toks[i + n - 1]
                for cut in self._cuts_of(head):
                    if cut <= len(last):
                        hit = self._stems.get((head, last[:cut]))
                        if hit is not None:
                            return hit, n
        return None

    def __len__(self) -> int:
        return len(self._exact) + len(self._stems) + len(self.symbols)
