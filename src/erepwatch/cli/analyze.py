"""``erepwatch analyze``: sentiment, score, keywords and language of each line read on stdin.

Streams in batches: the lines already waiting on stdin (up to :data:`BATCH`) are scored together — a model that
reads embeddings embeds them in one call, which costs a fraction of one call per line — and the answers are written
and flushed before waiting for more, so the command still answers each line at once when it sits in a pipe fed one
line at a time.
"""

from __future__ import annotations

import io
import json
import os
import select
import sys
from collections.abc import Iterator
from typing import TextIO

import click

from erepwatch.cli.app import cli, get_app, json_option

#: Lines scored together at most (the embedding model's own batch is 64 texts).
BATCH = 256
_READ = 1 << 16


def _waiting(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def line_batches(stream: TextIO, size: int = BATCH) -> Iterator[list[str]]:
    """The lines of ``stream`` (without their end), in lists of at most ``size``: every line already readable,
    without waiting for more once one is there."""
    try:
        fd = stream.fileno()
        select.select([fd], [], [], 0)
    except (OSError, ValueError, io.UnsupportedOperation):
        # Not a pipe, file or terminal (a test runner's buffer): all of it is there already.
        everything = [raw.rstrip("\r\n") for raw in stream]
        for start in range(0, len(everything), size):
            yield everything[start : start + size]
        return
    encoding = stream.encoding or "utf-8"
    pending = b""
    lines: list[str] = []
    eof = False
    while not eof or lines:
        # Block only when nothing is ready to score; otherwise take what is already there.
        if not eof and (not lines or _waiting(fd)) and len(lines) < size:
            chunk = os.read(fd, _READ)
            if chunk:
                pending += chunk
                *complete, pending = pending.split(b"\n")
                lines += [c.decode(encoding, "replace").rstrip("\r") for c in complete]
                continue
            eof = True
            if pending:
                lines.append(pending.decode(encoding, "replace").rstrip("\r"))
                pending = b""
        if lines:
            yield lines[:size]
            lines = lines[size:]


@cli.command("analyze")
@click.option("--lang", metavar="L", help="Language of every line (ISO 639-1, e.g. fr); detected when absent.")
@json_option
def analyze(lang: str | None, as_json: bool) -> None:
    """Read texts on stdin, one per line; print sentiment, score, keywords and language per line."""
    from erepwatch.analyze.language import detect_language
    from erepwatch.analyze.sentiment import BatchScorer, load_scorer
    from erepwatch.codes import check_language

    if lang:
        try:
            lang = check_language(lang)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--lang") from exc
    settings = get_app().settings
    scorer = load_scorer(settings.analysis_scorer, settings.analysis_extra_lexicons)
    out = sys.stdout
    for batch in line_batches(sys.stdin):
        languages = [lang if lang else detect_language(text) for text in batch]
        if isinstance(scorer, BatchScorer):
            results = scorer.score_many([(text, language, ()) for text, language in zip(batch, languages, strict=True)])
        else:
            results = [scorer.score(text, language) for text, language in zip(batch, languages, strict=True)]
        for language, result in zip(languages, results, strict=True):
            if as_json:
                line = json.dumps(
                    {
                        "sentiment": result.label,
                        "score": result.score,
                        "keywords": list(result.keywords),
                        "language": language,
                    },
                    ensure_ascii=False,
                )
            else:
                line = f"{result.label}\t{result.score:+.3f}\t{language or '-'}\t{', '.join(result.keywords)}"
            out.write(line + "\n")
        out.flush()
