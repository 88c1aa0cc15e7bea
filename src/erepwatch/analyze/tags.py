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

from erepwatch.analyze.lexicon import Lexicon, config_dir
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
                key = " ".join(words(term[:-1] if stem else term)) + ("*" if stem else "")
                if key.strip("*"):
                    self.lexicon.add(key, 1.0)
                    self._groups_of.setdefault(key, set()).add(name)

    def found(self, toks: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(len(toks)):
            # Every start position, not only after a match: a longer term of one group must not hide a
            # shorter term of another group starting at the same word.
            hit = self.lexicon.match(toks, i)
            if hit is not None:
                found |= self._groups_of[hit[0].text]
                if len(found) == len(self.names):
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
        toks = words(text)
        seen = self._builtin.found(toks)
        found = [name for name in self._builtin.names if name in seen]
        if custom:
            extra = _custom(tuple((name, tuple(terms)) for name, terms in custom.items()))
            seen = extra.found(toks)
            found.extend(name for name in extra.names if name in seen and name not in found)
        return tuple(found)


def load_tagger(extra_files: Sequence[Path] = ()) -> Tagger:
    """Built-in groups from ``config/tags/*.tsv`` plus the user's files; a user file with the name of a
    built-in group adds terms to it."""
    groups: dict[str, list[str]] = {}
    paths = sorted((config_dir() / "tags").glob("*.tsv")) + [Path(p) for p in extra_files]
    for path in paths:
        name = path.name.split(".")[0]
        groups.setdefault(name, []).extend(read_tag_file(path))
    return Tagger(groups)
