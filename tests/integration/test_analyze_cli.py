import json
import subprocess
import sys


def run(lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "erepwatch", "analyze", *args],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_one_object_per_line() -> None:
    proc = run(["Service client injoignable, c'est une arnaque !", "Great food, friendly staff :)", ""], "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 3
    assert rows[0]["sentiment"] == "negative" and rows[0]["language"] == "fr"
    assert "arnaque" in rows[0]["keywords"]
    assert rows[1]["sentiment"] == "positive" and rows[1]["language"] == "en"
    assert rows[2] == {"sentiment": "neutral", "score": 0.0, "keywords": [], "language": None}
    assert set(rows[0]) == {"sentiment", "score", "keywords", "language"}


def test_forced_language_and_text_output() -> None:
    proc = run(["arnaque"], "--lang", "FR")
    assert proc.returncode == 0, proc.stderr
    label, score, lang, keywords = proc.stdout.rstrip("\n").split("\t")
    assert (label, lang, keywords) == ("negative", "fr", "arnaque")
    assert float(score) < 0


def test_streams_line_by_line() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "erepwatch", "analyze", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin and proc.stdout
    try:
        proc.stdin.write("C'est nul\n")
        proc.stdin.flush()
        # An answer arrives while stdin is still open: the command does not wait for the end of input.
        assert json.loads(proc.stdout.readline())["sentiment"] == "negative"
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
