"""``erepwatch analyze``: sentiment, score, keywords and language of each line read on stdin.

Streams: each answer is written and flushed as soon as its line is read, so it can sit in a pipe.
"""

from __future__ import annotations

import json
import sys

import click

from erepwatch.cli.app import cli, get_app, json_option


@cli.command("analyze")
@click.option("--lang", metavar="L", help="Language of every line (ISO 639-1, e.g. fr); detected when absent.")
@json_option
def analyze(lang: str | None, as_json: bool) -> None:
    """Read texts on stdin, one per line; print sentiment, score, keywords and language per line."""
    from erepwatch.analyze.language import detect_language
    from erepwatch.analyze.sentiment import load_scorer
    from erepwatch.codes import check_language

    if lang:
        try:
            lang = check_language(lang)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--lang") from exc
    settings = get_app().settings
    scorer = load_scorer(settings.analysis_scorer, settings.analysis_extra_lexicons)
    out = sys.stdout
    for raw in sys.stdin:
        text = raw.rstrip("\r\n")
        language = lang if lang else detect_language(text)
        result = scorer.score(text, language)
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
