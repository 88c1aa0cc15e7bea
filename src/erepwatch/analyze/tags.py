"""Keyword tags: which groups of words (crisis, review, legal…) a text mentions.

Built-in groups are files in ``config/tags/`` (file name = group name, one term per line); a user adds
groups in their own files (``analysis.extra_tags``) and a watch adds its own (``--tag crise=rappel,
intoxication``). Terms and text go through the same normalization, so ``Rappel de produit`` matches
``rappel de produits`` (``produit*``), ``l'intoxication`` and ``INTOXICATION``.

A term written ``!term`` is an exclusion: where it matches, the words it covers name no group ("!hacked
together" keeps "hacked" from tagging a crisis). A line ``@reach N`` limits the group to terms found within N
words of the watched term (when the caller says where that is): a crisis word in the same sentence as the brand
but about someone else is the commonest false alarm. Such a group also skips a term said of another entity than
the watched one: the watched entity accuses another ("OpenAI accuses DeepSeek of malpractice"), is only the
source ("…a large-scale cyberattack, Anthropic wrote"), or another name owns the term ("Activision layoffs").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import accumulate
from pathlib import Path

from erepwatch.analyze.lexicon import NUMBER, Lexicon, config_dir, lexical
from erepwatch.analyze.textnorm import Scan, scan, words
from erepwatch.analyze.textnorm import part as _part
from erepwatch.errors import ConfigError

__all__ = ["Hit", "Place", "Tagger", "load_tagger", "read_tag_file"]


#: Punctuation that ends a clause (a sentence's end too: a title of two sentences): a crisis word past it is
#: usually about someone else. Not a colon: "Acme : rappel massif de trottinettes" says what happens to Acme.
_CLAUSE_BREAK = re.compile(r"[,;()\[\]«»\"“”]|[.!?…](?=\s)")
#: A clause this short (an item of a list, an apposition) belongs to the one before it.
_SHORT_CLAUSE = 3


def _clauses(text: str, sc: Scan) -> list[int]:
    """Each word's clause number; a clause of a few words after a comma ("X, Meta, and TikTok") joins the previous
    one. After any other break it stays apart: a table of contents ("Instagram (00:00) - Prologue (03:03) - Chapter
    1: The AWS Outage") is short clauses that say nothing of each other."""
    gaps = list(zip([0, *sc.ends], sc.starts, strict=False))
    breaks = [_CLAUSE_BREAK.findall(text, a, b) for a, b in gaps]
    raw = list(accumulate(int(bool(found)) for found in breaks))
    sizes: dict[int, int] = {}
    comma: dict[int, bool] = {}
    for c, found in zip(raw, breaks, strict=True):
        sizes[c] = sizes.get(c, 0) + 1
        if c not in comma:
            comma[c] = set(found) == {","}
    merged: dict[int, int] = {}
    previous: int | None = None
    for c in sorted(sizes):
        short = sizes[c] <= _SHORT_CLAUSE and comma[c]
        merged[c] = merged[previous] if previous is not None and short else c
        previous = c
    return [merged[c] for c in raw]


#: Where a watched term sits in a text part: its word positions, each word's clause number, and which words are
#: written as a name (capitalised inside a sentence; none in a Title Case part, where every word is).
Place = tuple[list[int], list[int], list[bool]]

#: A Title Case part: this share of its words of 4+ letters capitalised or more.
_TITLE_CASE = 0.6
#: Verbs by which the watched entity accuses, sues or blames another: the crisis term after it is the other's.
_ACCUSES = frozenset(
    words(
        "accuse accuses accused accusing blames blamed sues sued "
        "accusent reproche reprochent dénonce dénoncent attaque attaquent poursuit poursuivent"
    )
)
#: Words between "accuses" and the crisis term that keep the watched entity its subject ("X is accused of").
_PASSIVE = frozenset(words("is was are were been being est sont été"))
#: What follows "accused" when the watched entity is the one accused ("Acme accused of fraud", "accusé de").
_AGENT_OF = frozenset(words("of de d"))
#: Reporting verbs: "…a large-scale cyberattack, Anthropic wrote" — the watched entity is the source, not the subject.
_REPORTS = frozenset(
    words(
        "said says wrote writes reported reports told warned warns explained "
        "explique expliquait indique indiquait affirme affirmait rapporte"
    )
)
#: Words that introduce a source: "according to Acme", "selon Acme".
_SOURCE = (("according", "to"), ("selon",), ("d", "apres"))
#: Words that join the names of a list ("X, Meta and TikTok"): a name joined so shares the watched term's fate.
_JOINERS = frozenset(words("and et or ou"))


#: Characters before a word that make it start a sentence (or a quote, or what follows a colon).
_SENTENCE_STARTERS = frozenset('.!?…:"“«')


def _names(text: str, sc: Scan) -> list[bool]:
    """Which words of ``text`` are written as names: capitalised and not starting a sentence; none in Title Case."""
    long = [text[a].isupper() for a, b in zip(sc.starts, sc.ends, strict=True) if b - a >= 4]
    if long and sum(long) >= _TITLE_CASE * len(long):
        return [False] * len(sc.starts)
    out: list[bool] = []
    previous_end = 0
    for a, b in zip(sc.starts, sc.ends, strict=True):
        # Most gaps are one space: a set's isdisjoint reads it without a generator per word.
        starts_sentence = not out or not _SENTENCE_STARTERS.isdisjoint(text[previous_end:a])
        out.append(text[a].isupper() and not starts_sentence)
        previous_end = b
    return out


def _place(part: str, sc: Scan, start: int, focus: Sequence[tuple[int, int]]) -> Place:
    """The :data:`Place` of the watched term (``focus``: its offsets in the whole text) in ``part``, a text part
    starting at ``start``."""
    near = [
        i
        for i, (a, b) in enumerate(zip(sc.starts, sc.ends, strict=True))
        if any(fs < start + b and fe > start + a for fs, fe in focus)
    ]
    return near, _clauses(part, sc), _names(part, sc)


def _someone_elses(toks: Sequence[str], place: Place, i: int, end: int, same: Sequence[int]) -> bool:
    """Whether the term at words ``i``..``end`` is said of another entity than the watched one (``same``: the
    watched term's positions in its clause): the watched entity accuses another ("OpenAI accuses DeepSeek of
    malpractice"), is the source of the words ("…cyberattack, Anthropic wrote"), or another name stands between
    it and the term, right before the term ("Nintendo Direct, Activision layoffs")."""
    near, _, names = place
    watched = set(near)
    before = [p for p in same if p < i]
    if before:
        p = max(before)
        for k in range(p + 1, i):
            passive = toks[k - 1] in _PASSIVE or toks[k + 1] in _AGENT_OF
            if toks[k] in _ACCUSES and not passive:
                return True
    after = [p for p in same if p > end]
    if after and not before:
        p = min(after)
        last = p
        while last + 1 in watched:
            last += 1
        if last + 1 < len(toks) and toks[last + 1] in _REPORTS:
            return True
    for lead in _SOURCE:
        for p in same:
            if tuple(toks[max(0, p - len(lead)) : p]) == lead:
                return True
    k = i - 1
    if k >= 0 and k not in watched and names[k]:
        # A name right before the term owns it, unless it is the watched name's own (a chain of names back to
        # the watched term: "Acme Corp layoffs") or a list it is in ("Meta and TikTok layoffs").
        while k >= 0 and k not in watched and (names[k] or toks[k] in _JOINERS):
            k -= 1
        return k not in watched
    return False


#: Places kept (by every tagger): a window's are asked a few times in a row, never again later.
_PLACES = 64
#: The last few texts' places of the watched term, whichever tagger asked (their lists are only read).
_PLACE_CACHE: dict[tuple[str, int, tuple[tuple[int, int], ...]], Place] = {}

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
        self._by_group: dict[str, Lexicon] = {}
        for name, terms in groups.items():
            for term in terms:
                term, group = term.strip(), name
                if term.startswith(_EXCLUDED):
                    # Its own variable: an exclusion must not turn the group's later terms into exclusions too.
                    term, group = term[1:].strip(), _EXCLUDED
                stem = term.endswith("*")
                body = (term[:-1] if stem else term).replace(NUMBER, " 0 ")
                key = " ".join(lexical(words(body))) + ("*" if stem else "")
                if key.strip("*"):
                    self.lexicon.add(key, 1.0)
                    self._groups_of.setdefault(key, set()).add(group)

    def found(
        self,
        toks: Sequence[str],
        why: dict[str, list[str]] | None = None,
        shown: Sequence[str] | None = None,
        place: Callable[[], Place] | None = None,
        reach: Mapping[str, int] | None = None,
    ) -> set[str]:
        """The groups named in ``toks`` (:func:`lexical` words); with ``why``, also the words that named each
        (group → words, from ``shown``: the words as written, numbers included). With ``place`` (giving the
        watched term's word positions, each word's clause number and which words are names, asked only when a
        group with a ``reach`` is hit), such a group counts only terms within that many words of the watched
        term, in its clause, and not said of another entity (:func:`_someone_elses`)."""
        found: set[str] = set()
        where: Place | None = None
        for i, length, groups in self._terms(toks):
            if place is not None and reach and any(g in reach for g in groups):
                where = where or place()
                near, clauses, _ = where
                if near:
                    end = i + length - 1
                    same = [p for p in near if clauses[p] == clauses[i]]
                    # A term out of the watched term's clause, or said of another entity, is out of every reach
                    # (not len(toks) words away: a short text would have it within reach).
                    distance = min((max(p - end, i - p, 0) for p in same), default=None)
                    if distance is not None and _someone_elses(toks, where, i, end, same):
                        distance = None
                    groups = {g for g in groups if g not in reach or (distance is not None and distance <= reach[g])}
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

    def hits(self, toks: Sequence[str], shown: Sequence[str], place: Callable[[], Place]) -> list[Hit]:
        """Every term found in ``toks`` (exclusions applied), with its distance in words to the nearest watched
        term of its clause (``None`` when its clause has none, or when it is said of another entity);
        ``place`` as for :meth:`found` (asked only when a term is found)."""
        out: list[Hit] = []
        where: Place | None = None
        for i, length, groups in self._terms(toks):
            where = where or place()
            near, clauses, _ = where
            end = i + length - 1
            same = [p for p in near if clauses[p] == clauses[i]]
            distance = min((max(p - end, i - p, 0) for p in same), default=None)
            if distance is not None and _someone_elses(toks, where, i, end, same):
                distance = None
            surface = " ".join(shown[i : i + length])
            out.append(Hit(frozenset(groups), surface, distance, i, length))
        return out

    def of_group(self, group: str) -> Lexicon:
        """The terms of ``group`` alone, exclusions left out (kept once built): a text in which this finds none holds
        no term of the group for :meth:`hits` either (an exclusion or a longer term of another group only ever takes
        a hit away)."""
        found = self._by_group.get(group)
        if found is None:
            found = self._by_group[group] = Lexicon()
            for key, groups in self._groups_of.items():
                if group in groups:
                    found.add(key, 1.0)
        return found

    def _terms(self, toks: Sequence[str]) -> Iterator[tuple[int, int, set[str]]]:
        """Each term found in ``toks``, as (first word, length in words, its groups), exclusions applied."""
        blocked_until = 0
        # Every start position, not only after a match: a longer term of one group must not hide a
        # shorter term of another group starting at the same word.
        for i, hit in self.lexicon.matches(toks).items():
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
    #: words between it and the nearest watched term of the same clause; None when the clause names none, or
    #: when the term is said of another entity ("OpenAI accuses DeepSeek of malpractice")
    distance: int | None
    #: its first word's index in its text part's words, and its length in words (who it is said of: crisis.roles)
    first: int = -1
    length: int = 0


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

    def place(self, part: str, sc: Scan, start: int, focus: Sequence[tuple[int, int]]) -> Place:
        """Where the watched term (``focus``, offsets in the whole text) sits in ``part`` (its scan ``sc``, starting
        at ``start``): its word positions, each word's clause, which words are names (:func:`_place`, kept for the
        next call: the sentiment stage reads a window's tags, its crisis evidence and its crisis roles in turn).
        Kept for every tagger (:data:`_PLACE_CACHE`): a place depends on the text and the term only, and the crisis
        classifier reads a window with two taggers (the tags' and the words of trouble's)."""
        key = (part, start, tuple(focus))
        found = _PLACE_CACHE.get(key)
        if found is None:
            if len(_PLACE_CACHE) >= _PLACES:
                _PLACE_CACHE.clear()
            found = _PLACE_CACHE[key] = _place(part, sc, start, focus)
        return found

    @property
    def groups(self) -> tuple[str, ...]:
        return self._builtin.names

    def may_hold(self, group: str, toks: Sequence[str]) -> bool:
        """False only when :meth:`hits` can find no term of the built-in ``group`` in a text whose :func:`lexical`
        words are ``toks``, read whole, and whose parts are cut where no word is (``textnorm.clean_cut``: each part
        then reads a slice of those words): one pass with that group's terms alone, instead of every group's terms
        part by part and where the watched term sits."""
        return bool(self._builtin.of_group(group).matches(toks))

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
        self,
        text: str,
        segments: Sequence[tuple[int, int]],
        focus: Sequence[tuple[int, int]],
        scanned: Scan | None = None,
    ) -> list[tuple[int, Hit]]:
        """Every built-in term found in ``text`` with the index of the segment holding it (-1: outside every
        segment), and its distance to the watched term (``focus``): the evidence a classifier weighs. ``scanned``
        as for :meth:`explain`."""
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
            sc = scan(part) if scanned is None else _part(text, scanned, start, end)
            index = inside.index((start, end)) if (start, end) in inside else -1
            found = self._builtin.hits(lexical(sc.words), sc.words, partial(self.place, part, sc, start, focus))
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

            place = partial(self.place, part, sc, start, focus)
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
