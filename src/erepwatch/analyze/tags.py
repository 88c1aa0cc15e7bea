"""Keyword tags: which groups of words (crisis, review, legal…) a text mentions.

Built-in groups are files in ``config/tags/`` (file name = group name, one term per line); a user adds
groups in their own files (``analysis.extra_tags``) and a watch adds its own (``--tag crise=rappel,
intoxication``). Terms and text go through the same normalization, so ``Rappel de produit`` matches
``rappel de produits`` (``produit*``), ``l'intoxication`` and ``INTOXICATION``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from erepwatch.analyze.lexicon import NUMBER, Lexicon, config_dir, lexical
from erepwatch.analyze.textnorm import words
from erepwatch.errors import ConfigError

__all__ = ["Tagger", "load_tagger", "read_tag_file"]


def read_tag_file(path: Path) -> list[str]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError("analysis.extra_tags", f"cannot read {path}: {exc}") from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


class _Groups:
    """Every term of several groups in one lexicon, so a text is read once whatever the number of groups."""

    def __init__(self, groups: Mapping[str, Iterable[str]]) -> None:
        self.names = tuple(groups)
        self.lexicon = Lexicon()
        self._groups_of: dict[str, set[str]] = {}
        for name, terms in groups.items():
            for term in terms:
                term = term.strip()
                stem = term.endswith("*")
                body = (term[:-1] if stem else term).replace(NUMBER, " 0 ")
                key = " ".join(lexical(words(body))) + ("*" if stem else "")
                if key.strip("*"):
                    self.lexicon.add(key, 1.0)
                    self._groups_of.setdefault(key, set()).add(name)

    def found(
        self, toks: Sequence[str], why: dict[str, list[str]] | None = None, shown: Sequence[str] | None = None
    ) -> set[str]:
        """The groups named in ``toks`` (:func:`lexical` words); with ``why``, also the words that named each
        (group → words, from ``shown``: the words as written, numbers included)."""
        found: set[str] = set()
        for i in range(len(toks)):
            # Every start position, not only after a match: a longer term of one group must not hide a
            # shorter term of another group starting at the same word.
            hit = self.lexicon.match(toks, i)
            if hit is not None:
                groups = self._groups_of[hit[0].text]
                if why is not None:
                    surface = " ".join((shown or toks)[i : i + hit[1]])
                    for name in groups:
                        words_of = why.setdefault(name, [])
                        if surface not in words_of:
                            words_of.append(surface)
                found |= groups
                if why is None and len(found) == len(self.names):
                    break
        return found


@lru_cache(maxsize=256)
def _custom(groups: tuple[tuple[str, tuple[str, ...]], ...]) -> _Groups:
    # Per-watch groups are few and reused on every item: compile each watch's groups once.
    return _Groups(dict(groups))


class Tagger:
    def __init__(self, groups: Mapping[str, Iterable[str]]):
        self._builtin = _Groups(groups)

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

    def explain(
        self,
        text: str,
        language: str | None = None,
        custom: Mapping[str, Sequence[str]] | None = None,
        *,
        segments: Sequence[tuple[int, int]] | None = None,
        groups: frozenset[str] | None = None,
    ) -> dict[str, tuple[str, ...]]:
        """Each tag of ``text`` with the words that decided it, built-in tags first, in a stable order.

        With ``segments``, only those parts of ``text`` are read (a mention window's sentences that name the
        watched term). With ``groups``, only those built-in groups are applied (the others are not trusted
        enough; a watch's own groups always are).
        """
        parts = [text[s:e] for s, e in segments] if segments is not None else [text]
        why: dict[str, list[str]] = {}
        extra = _custom(tuple((name, tuple(terms)) for name, terms in custom.items())) if custom else None
        for part in parts:
            shown = words(part)
            toks = lexical(shown)
            self._builtin.found(toks, why, shown)
            if extra is not None:
                extra_why: dict[str, list[str]] = {}
                extra.found(toks, extra_why, shown)
                for name, ws in extra_why.items():
                    merged = why.setdefault(name, [])
                    merged.extend(w for w in ws if w not in merged)
        out: dict[str, tuple[str, ...]] = {}
        for name in self._builtin.names:
            if name in why and (groups is None or name in groups):
                out[name] = tuple(why[name])
        if extra is not None:
            for name in extra.names:
                if name in why and name not in out:
                    out[name] = tuple(why[name])
        return out


def load_tagger(extra_files: Sequence[Path] = ()) -> Tagger:
    """Built-in groups from ``config/tags/*.tsv`` plus the user's files; a user file with the name of a
    built-in group adds terms to it."""
    groups: dict[str, list[str]] = {}
    paths = sorted((config_dir() / "tags").glob("*.tsv")) + [Path(p) for p in extra_files]
    for path in paths:
        name = path.name.split(".")[0]
        groups.setdefault(name, []).extend(read_tag_file(path))
    return Tagger(groups)
