"""Suggest the exclusion that separates a mention marked irrelevant from the relevant ones (pure).

A word of the irrelevant item that no relevant mention of the watch contains is the best exclusion: adding
``-word`` to the query drops the item and keeps everything the user wants. Title words come first (a title says
what the story is about), then the words repeated most in its text; short words, numbers, function words and
the query's own words are never proposed. When no word is clean, the publisher's ``-site:`` is proposed if no
relevant mention comes from it. Nothing is proposed when both would cut relevant mentions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from erepwatch.analyze.textnorm import words

#: Function words of French and English, which never separate one story from another.
STOPWORDS = frozenset(
    [
        "avec",
        "aussi",
        "avant",
        "apres",
        "alors",
        "autre",
        "autres",
        "avoir",
        "cette",
        "ceux",
        "chez",
        "comme",
        "dans",
        "depuis",
        "des",
        "deux",
        "donc",
        "elle",
        "elles",
        "encore",
        "entre",
        "etre",
        "fait",
        "faire",
        "leur",
        "leurs",
        "mais",
        "meme",
        "moins",
        "notre",
        "nous",
        "pour",
        "plus",
        "peut",
        "quand",
        "que",
        "quel",
        "quelle",
        "sans",
        "selon",
        "sera",
        "sont",
        "sous",
        "tous",
        "tout",
        "toute",
        "toutes",
        "tres",
        "une",
        "vers",
        "votre",
        "vous",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "with",
        "would",
        "about",
        "after",
        "also",
        "been",
        "before",
        "being",
        "could",
        "from",
        "have",
        "into",
        "just",
        "more",
        "most",
        "other",
        "over",
        "said",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "very",
        "will",
        "your",
        "yours",
        "est",
        "ses",
        "son",
        "sur",
        "par",
        "pas",
        "aux",
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "all",
        "any",
        "can",
        "had",
        "her",
        "his",
        "its",
        "our",
        "out",
        "who",
        "how",
        "why",
    ]
)
MIN_LENGTH = 4


@dataclass(frozen=True, slots=True)
class Doc:
    title: str
    text: str
    domain: str | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    #: what to append to the query: ``-word`` or ``-site:example.com``
    term: str
    #: the word or domain itself
    value: str
    kind: str  # word | site

    def apply_to(self, query: str) -> str:
        return f"{query.strip()} {self.term}"


def _candidates(text: str, banned: set[str]) -> list[str]:
    out = []
    for word in words(text):
        word = word.split("'")[-1]
        if len(word) >= MIN_LENGTH and not word.isdigit() and word not in STOPWORDS and word not in banned:
            out.append(word)
    return out


def suggest_exclusion(query: str, irrelevant: Doc, relevant: Iterable[Doc]) -> Suggestion | None:
    banned = {w.split("'")[-1] for w in words(query)}
    relevant = list(relevant)
    relevant_words: set[str] = set()
    relevant_domains: set[str] = set()
    for doc in relevant:
        relevant_words.update(w.split("'")[-1] for w in words(doc.title + " " + doc.text))
        if doc.domain:
            relevant_domains.add(doc.domain)
    title = _candidates(irrelevant.title, banned)
    body = Counter(_candidates(irrelevant.text, banned))
    ranked = sorted(
        set(title) | set(body),
        # Title words first, then frequency in the text, then longer (more specific) words; ties by spelling.
        key=lambda w: (w not in title, -body.get(w, 0), -len(w), w),
    )
    for word in ranked:
        if word not in relevant_words:
            return Suggestion(f"-{word}", word, "word")
    if irrelevant.domain and irrelevant.domain not in relevant_domains:
        return Suggestion(f"-site:{irrelevant.domain}", irrelevant.domain, "site")
    return None
