"""Keyword tags: which groups of words (crisis, review, legal…) a text mentions.

Built-in groups are files in ``config/tags/`` (file name = group name, one term per line); a user adds
groups in their own files (``analysis.extra_tags``) and a watch adds its own (``--tag crise=rappel,
intoxication``). Terms and text go through the same normalization, so ``Rappel de produit`` matches
``rappel de produits`` (``produit*``), ``l'intoxication`` and ``INTOXICATION``.

A term written ``!term`` is an exclusion: where it matches, the words it covers name no group ("!hacked
together" keeps "hacked" from tagging a crisis). A line ``@reach N`` limits the group to terms found within N
words of the watched term (when the caller says where that is): a crisis word in the same sentence as the brand
but about someone else is the commonest false alarm.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from erepwatch.analyze.lexicon import NUMBER, Lexicon, config_dir, lexical
from erepwatch.analyze.textnorm import Scan, scan, words
from erepwatch.analyze.textnorm import part as _part
from erepwatch.errors import ConfigError

__all__ = ["Hit", "Tagger", "load_tagger", "read_tag_file"]


#: Punctuation that ends a clause: a crisis word past it is usually about someone else.
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]«»\"“”]")
#: A clause this short (an item of a list, an apposition) belongs to the one before it.
_SHORT_CLAUSE = 3


def _clauses(text: str, sc: Scan) -> list[int]:
    """Each word's clause number; a clause of a few words ("X, Meta, and TikTok") joins the previous one."""
    gaps = zip([0, *sc.ends], sc.starts, strict=False)
    raw = list(accumulate(int(bool(_CLAUSE_BREAK.search(text, a, b))) for a, b in gaps))
    sizes: dict[int, int] = {}
    for c in raw:
        sizes[c] = sizes.get(c, 0) + 1
    merged: dict[int, int] = {}
    previous: int | None = None
    for c in sorted(sizes):
        merged[c] = merged[previous] if previous is not None and sizes[c] <= _SHORT_CLAUSE else c
        previous = c
    return [merged[c] for c in raw]


#: The internal group of exclusion terms (``!term``).
_EXCLUDED = "!"


def read_tag_file(path: Path) -> list[str]:
    """The terms of a tag file (options such as ``@reach 12`` are kept as lines for :func:`tag_options`)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError("analysis.extra_tags", f"cannot read {path}: {exc}") from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def tag_options(path: Path, lines: Sequence[str]) -> tuple[list[str], int | None]:
    """Split a tag file's lines into terms and its ``@reach N`` option."""
    terms: list[str] = []
    reach: int | None = None
    for line in lines:
        if not line.startswith("@"):
            terms.append(line)
            continue
        key, _, value = line[1:].partition(" ")
        if key != "reach" or not value.strip().isdigit():
            raise ConfigError("analysis.extra_tags", f"{path}: unknown option {line!r} (expected '@reach N')")
        reach = int(value)
    return terms, reach


class _Groups:
    """Every term of several groups in one lexicon, so a text is read once whatever the number of groups."""

    def __init__(self, groups: Mapping[str, Iterable[str]]) -> None:
        self.names = tuple(groups)
        self.lexicon = Lexicon()
        self._groups_of: dict[str, set[str]] = {}
        for name, terms in groups.items():
            for term in terms:
                term = term.strip()
                if term.startswith(_EXCLUDED):
                    term, name = term[1:].strip(), _EXCLUDED
                stem = term.endswith("*")
                body = (term[:-1] if stem else term).replace(NUMBER, " 0 ")
                key = " ".join(lexical(words(body))) + ("*" if stem else "")
                if key.strip("*"):
                    self.lexicon.add(key, 1.0)
                    self._groups_of.setdefault(key, set()).add(name)

    def found(
        self,
        toks: Sequence[str],
        why: dict[str, list[str]] | None = None,
        shown: Sequence[str] | None = None,
        place: Callable[[], tuple[list[int], list[int]]] | None = None,
        reach: Mapping[str, int] | None = None,
    ) -> set[str]:
        """The groups named in ``toks`` (:func:`lexical` words); with ``why``, also the words that named each
        (group → words, from ``shown``: the words as written, numbers included). With ``place`` (giving the
        watched term's word positions and each word's clause number, asked only when a group with a ``reach``
        is hit), such a group counts only terms within that many words of the watched term, in its clause."""
        found: set[str] = set()
        where: tuple[list[int], list[int]] | None = None
        for i, length, groups in self._terms(toks):
            if place is not None and reach and any(g in reach for g in groups):
                where = where or place()
                near, clauses = where
                if near:
                    end = i + length - 1
                    same = [p for p in near if clauses[p] == clauses[i]]
                    distance = min((max(p - end, i - p, 0) for p in same), default=len(toks))
                    groups = {g for g in groups if g not in reach or distance <= reach[g]}
                if not groups:
                    continue
            if why is not None:
                surface = " ".join((shown or toks)[i : i + length])
                for name in groups:
                    words_of = why.setdefault(name, [])
                    if surface not in words_of:
                        words_of.append(surface)
            found |= groups
            if why is None and len(found) == len(self.names):
                break
        return found

    def hits(self, toks: Sequence[str], shown: Sequence[str], place: tuple[list[int], list[int]]) -> list[Hit]:
        """Every term found in ``toks`` (exclusions applied), with its distance in words to the nearest watched
        term of its clause (``None`` when its clause has none); ``place`` as for :meth:`found`."""
        near, clauses = place
        out: list[Hit] = []
        for i, length, groups in self._terms(toks):
            end = i + length - 1
            same = [max(p - end, i - p, 0) for p in near if clauses[p] == clauses[i]]
            surface = " ".join(shown[i : i + length])
            out.append(Hit(frozenset(groups), surface, min(same) if same else None))
        return out

    def _terms(self, toks: Sequence[str]) -> Iterator[tuple[int, int, set[str]]]:
        """Each term found in ``toks``, as (first word, length in words, its groups), exclusions applied."""
        blocked_until = 0
        for i in range(len(toks)):
            # Every start position, not only after a match: a longer term of one group must not hide a
            # shorter term of another group starting at the same word.
            hit = self.lexicon.match(toks, i)
            if hit is None:
                continue
            groups = self._groups_of[hit[0].text]
            if _EXCLUDED in groups:
                blocked_until = max(blocked_until, i + hit[1])
                continue
            if i < blocked_until:
                continue
            yield i, hit[1], groups


@dataclass(frozen=True, slots=True)
class Hit:
    """A tag term found in a text: its groups, the words as written, and how far it is from the watched term."""

    groups: frozenset[str]
    words: str
    #: words between it and the nearest watched term of the same clause; None when the clause names none
    distance: int | None


@lru_cache(maxsize=256)
def _custom(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> _Groups:
    # Per-watch groups are few and reused on every item: compile each watch's groups once.
    return _Groups(dict(groups))


class Tagger:
    def __init__(
        self,
        groups: Mapping[str, Iterable[str]],
        reach: Mapping[str, int] | None = None,
        enabled: Iterable[str] | None = None,
    ):
        self._builtin = _Groups(groups)
        #: group → how many words from the watched term its terms may be
        self.reach = dict(reach or {})
        #: the groups applied (all when None): a group not precise enough is kept out by default
        self.enabled = frozenset(enabled) if enabled is not None else None

    @property
    def groups(self) -> tuple[str, ...]:
        return self._builtin.names

    def tags(
        self, text: str, language: str | None = None, custom: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[str, ...]:
        """Names of the groups ``text`` mentions, built-in first, in a stable order.

        ``language`` is accepted for symmetry with the scorer; groups hold both languages' terms, and a
        French text naming an English term ("data breach") is still tagged.
        """
        return tuple(self.explain(text, language, custom))

    @property
    def applied(self) -> tuple[str, ...]:
        """The built-in groups this tagger applies."""
        return tuple(n for n in self._builtin.names if self.enabled is None or n in self.enabled)

    def hits(
        self, text: str, segments: Sequence[tuple[int, int]], focus: Sequence[tuple[int, int]]
    ) -> list[tuple[int, Hit]]:
        """Every built-in term found in ``text`` with the index of the segment holding it (-1: outside every
        segment), and its distance to the watched term (``focus``): the evidence a classifier weighs."""
        inside = sorted(segments)
        bounds = [*inside]
        pos = 0
        for start, end in inside:
            if start > pos:
                bounds.append((pos, start))
            pos = max(pos, end)
        if pos < len(text):
            bounds.append((pos, len(text)))
        out: list[tuple[int, Hit]] = []
        for start, end in bounds:
            part = text[start:end]
            sc = scan(part)
            near = [
                i
                for i, (a, b) in enumerate(zip(sc.starts, sc.ends, strict=True))
                if any(fs < start + b and fe > start + a for fs, fe in focus)
            ]
            index = inside.index((start, end)) if (start, end) in inside else -1
            found = self._builtin.hits(lexical(sc.words), sc.words, (near, _clauses(part, sc)))
            out += [(index, hit) for hit in found]
        return out

    def explain(
        self,
        text: str,
        language: str | None = None,
        custom: Mapping[str, Sequence[str]] | None = None,
        *,
        segments: Sequence[tuple[int, int]] | None = None,
        groups: frozenset[str] | None = None,
        focus: Sequence[tuple[int, int]] = (),
        scanned: Scan | None = None,
    ) -> dict[str, tuple[str, ...]]:
        """Each tag of ``text`` with the words that decided it, built-in tags first, in a stable order.

        With ``segments``, only those parts of ``text`` are read (a mention window's sentences that name the
        watched term). With ``groups``, only those built-in groups are applied (the others are not trusted
        enough; a watch's own groups always are). With ``focus`` (the watched term's offsets in ``text``), a group
        with a reach counts only terms near the watched term. ``scanned``: ``scan(text)`` when the caller has it
        (a mention window's, read off its item's scan), so the text is not scanned again.
        """
        bounds = list(segments) if segments is not None else [(0, len(text))]
        why: dict[str, list[str]] = {}
        extra = _custom(tuple((name, tuple(terms)) for name, terms in custom.items())) if custom else None
        for start, end in bounds:
            part = text[start:end]
            sc = scan(part) if scanned is None else _part(text, scanned, start, end)
            shown = sc.words
            toks = lexical(shown)

            def place(part: str = part, sc: Scan = sc, start: int = start) -> tuple[list[int], list[int]]:
                near = [
                    i
                    for i, (a, b) in enumerate(zip(sc.starts, sc.ends, strict=True))
                    if any(fs < start + b and fe > start + a for fs, fe in focus)
                ]
                return near, _clauses(part, sc)

            self._builtin.found(toks, why, shown, place if focus else None, self.reach)
            if extra is not None:
                extra_why: dict[str, list[str]] = {}
                extra.found(toks, extra_why, shown)
                for name, ws in extra_why.items():
                    merged = why.setdefault(name, [])
                    merged.extend(w for w in ws if w not in merged)
        out: dict[str, tuple[str, ...]] = {}
        applied = groups if groups is not None else self.enabled
        for name in self._builtin.names:
            if name in why and (applied is None or name in applied):
                out[name] = tuple(why[name])
        if extra is not None:
            for name in extra.names:
                if name in why and name not in out:
                    out[name] = tuple(why[name])
        return out


def load_tagger(extra_files: Sequence[Path] = (), builtin: Iterable[str] | None = None) -> Tagger:
    """Built-in groups from ``config/tags/*.tsv`` plus the user's files; a user file with the name of a
    built-in group adds terms to it. ``builtin`` (``analysis.builtin_tags``) names the built-in groups applied;
    a group of the user's own files always is."""
    groups: dict[str, list[str]] = {}
    reach: dict[str, int] = {}
    enabled = set(builtin) if builtin is not None else None
    paths = sorted((config_dir() / "tags").glob("*.tsv")) + [Path(p) for p in extra_files]
    for index, path in enumerate(paths):
        name = path.name.split(".")[0]
        terms, group_reach = tag_options(path, read_tag_file(path))
        groups.setdefault(name, []).extend(terms)
        if group_reach is not None:
            reach[name] = group_reach
        if enabled is not None and index >= len(paths) - len(extra_files):
            enabled.add(name)
    if enabled is not None and (unknown := enabled - set(groups)):
        raise ConfigError("analysis.builtin_tags", f"no tag group named {', '.join(sorted(unknown))}")
    return Tagger(groups, reach, enabled)
