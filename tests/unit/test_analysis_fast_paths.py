"""The analysis' shortcuts change no output: over every labelled corpus mention window (tests/data/sentiment/
mentions*.tsv, 1,143 windows), the window's shared scan gives the sentiment, its "why", the tags and the crisis
evidence that reading the text again gives, and the lexicon's index of entry lengths finds the entries that trying
every length and every stem cut finds (what `Lexicon.match` did before it)."""

import sys
from dataclasses import astuple
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from eval_sentiment import EXTRA, labelled_mentions

from erepwatch.analyze.lexicon import _MIN_STEM as MIN_STEM
from erepwatch.analyze.lexicon import Entry, Lexicon, lexical
from erepwatch.analyze.sentiment import LexiconScorer, load_scorer
from erepwatch.analyze.tags import Tagger, load_tagger
from erepwatch.analyze.textnorm import scan
from erepwatch.analyze.window import Window

FILES = ("mentions.tsv", "mentions_tune.tsv", "mentions_train.tsv", EXTRA)


@pytest.fixture(scope="module")
def windows() -> list[tuple[Window, str]]:
    found = [(w, lang) for split in ("test", "tune") for _, w, lang, _ in labelled_mentions(split, FILES)]
    assert len(found) == 1143  # every line of the four files
    return found


@pytest.fixture(scope="module")
def lexicon() -> LexiconScorer:
    scorer = load_scorer()
    assert isinstance(scorer, LexiconScorer)
    return scorer


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return load_tagger()


def test_the_shared_scan_reads_as_the_text(
    windows: list[tuple[Window, str]], lexicon: LexiconScorer, tagger: Tagger
) -> None:
    differ = []
    for w, lang in windows:
        outputs = []
        # A window the matcher did not find again (a few labelled lines) is built without a scan.
        for scanned in (None, w.scan or scan(w.text)):
            outputs.append(
                (
                    astuple(lexicon.score(w.text, lang, w.focus, scanned=scanned)),
                    lexicon.read(w.text, lang, w.focus, scanned=scanned).explained(),
                    tagger.explain(w.text, lang, segments=w.segments, focus=w.focus, scanned=scanned),
                    tagger.hits(w.text, w.segments, w.focus, scanned),
                )
            )
        if outputs[0] != outputs[1]:
            differ.append(w.text)
    assert not differ, differ[:3]


def _reference_match(
    lex: Lexicon, toks: list[str], i: int, longest: int, longest_stem: int
) -> tuple[Entry, int] | None:
    """The longest entry at ``toks[i]`` tried the plain way: every length from the longest, every stem cut."""
    exact, stems = lex._exact, lex._stems
    for n in range(min(max(longest, longest_stem), len(toks) - i), 0, -1):
        hit = exact.get(tuple(toks[i : i + n]))
        if hit is not None:
            return hit, n
        if n <= longest_stem:
            head, last = tuple(toks[i : i + n - 1]), toks[i + n - 1]
            for cut in range(len(last), MIN_STEM - 1, -1):
                hit = stems.get((head, last[:cut]))
                if hit is not None:
                    return hit, n
    return None


def test_the_indexed_lexicon_finds_what_trying_every_length_finds(
    windows: list[tuple[Window, str]], lexicon: LexiconScorer, tagger: Tagger
) -> None:
    lexicons = [
        (lex, max(map(len, lex._exact)), max(len(head) + 1 for head, _ in lex._stems))
        for lex in (lexicon.lexicon("fr"), lexicon.lexicon("en"), lexicon.lexicon(None), tagger._builtin.lexicon)
    ]
    checked = 0
    for w, _ in windows:
        toks = lexical((w.scan or scan(w.text)).words)
        for lex, longest, longest_stem in lexicons:
            expected = {
                i: hit
                for i in range(len(toks))
                if (hit := _reference_match(lex, toks, i, longest, longest_stem)) is not None
            }
            assert lex.matches(toks) == expected, w.text
            assert [lex.match(toks, i) for i in range(len(toks))] == [expected.get(i) for i in range(len(toks))]
            checked += len(expected)
    assert checked > 7_000


def test_a_lexicon_extended_after_use_finds_its_new_entries() -> None:
    lex = Lexicon([("rappel", -1.0, "word")])
    toks = lexical(scan("Rappel massif de trottinettes, rappels en série").words)
    assert lex.matches(toks) == {0: (Entry("rappel", -1.0), 1)}
    lex.add("rappel*", -2.0)
    lex.add("rappel massif", -3.0)
    assert lex.matches(toks) == {0: (Entry("rappel massif", -3.0), 2), 4: (Entry("rappel*", -2.0), 1)}
    merged = lex.merged(Lexicon([("trottinette*", 0.5, "word")]))
    assert merged.matches(toks) == {**lex.matches(toks), 3: (Entry("trottinette*", 0.5), 1)}


def test_the_lengths_tried_at_a_token_are_the_plain_rule_s(
    windows: list[tuple[Window, str]], lexicon: LexiconScorer, tagger: Tagger
) -> None:
    # The lengths worth trying at a token, as they were told before the one-set-operation form (A/B): an entry's
    # length for its first word, and 1 when a prefix of the token, cut at a one-word stem's length, is such a stem.
    toks = {t for w, _ in windows for t in lexical((w.scan or scan(w.text)).words)}
    toks |= {t[:n] for t in list(toks) for n in range(1, 4)}  # tokens shorter than the stems' cuts
    lexicons = (lexicon.lexicon("fr"), lexicon.lexicon("en"), lexicon.lexicon(None), tagger._builtin.lexicon)
    ones = 0
    for lex in lexicons:
        for first in sorted(toks):
            lengths = set(lex._lengths.get(first, ()))
            if any(first[:n] in lex._alone for n in lex._cuts_of(()) if n <= len(first)):
                lengths.add(1)
                ones += 1
            assert lex._lengths_for(first) == tuple(sorted(lengths, reverse=True)), first
    assert ones > 250


def test_a_window_the_crisis_gate_calls_quiet_holds_no_word_to_decide_on(
    windows: list[tuple[Window, str]], tagger: Tagger
) -> None:
    # The crisis judge skips the tagger's and the words of trouble's hits for a window `_quiet` says holds neither a
    # crisis term nor a word of trouble (one pass over the whole window's words): the hits, read part by part, must
    # then find none, or a crisis would go untagged.
    from erepwatch.analyze.crisis import CRISIS, _quiet, load_trouble

    trouble = load_trouble()
    quiet = 0
    for w, _ in windows:
        found = [hit for _, hit in tagger.hits(w.text, w.segments, w.focus, w.scan) if CRISIS in hit.groups]
        found += [hit for _, hit in trouble.hits(w.text, w.segments, w.focus, w.scan)]
        if _quiet(w, tagger, trouble):
            quiet += 1
            assert not found, w.text
    assert quiet > 600  # most windows: the shortcut is taken
