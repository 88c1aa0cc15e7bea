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


def _compile(terms: Iterable[str]) -> Lexicon:
    lex = Lexicon()
    for term in terms:
        lex.add(term.strip(), 1.0)
    return lex


@lru_cache(maxsize=256)
def _custom(group_terms: tuple[str, ...]) -> Lexicon:
    # Per-watch groups are few and reused on every item: compile each once.
    return _compile(group_terms)


def _mentions(lex: Lexicon, toks: Sequence[str]) -> bool:
    return any(lex.match(toks, i) is not None for i in range(len(toks)))


class Tagger:
    def __init__(self, groups: Mapping[str, Iterable[str]]):
        self._groups = {name: _compile(terms) for name, terms in groups.items()}

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self._groups)

    def tags(
        self, text: str, language: str | None = None, custom: Mapping[str, Sequence[str]] | None = None
    ) -> tuple[str, ...]:
        """Names of the groups ``text`` mentions, built-in first, in a stable order.

        ``language`` is accepted for symmetry with the scorer; groups hold both languages' terms, and a
        French text naming an English term ("data breach") is still tagged.
        """
        toks = words(text)
        found = [name for name, lex in self._groups.items() if _mentions(lex, toks)]
        for name, terms in (custom or {}).items():
            if name not in found and _mentions(_custom(tuple(terms)), toks):
                found.append(name)
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
