"""Structured logs: stable keys in text and JSON, both spellings of an event, and no secret ever written."""

from __future__ import annotations

import io
import json
import logging

import pytest

from erepwatch.logs import JsonFormatter, KeyValueFormatter, Redactor, configure_logging, event, record_fields
from erepwatch.settings import load_settings


def _record(msg: str, *args, fields=None, exc=None) -> logging.LogRecord:
    record = logging.LogRecord("erepwatch.test", logging.INFO, __file__, 1, msg, args, exc)
    if fields is not None:
        record.erepwatch_fields = fields
    return record


@pytest.mark.parametrize(
    ("msg", "args", "event_name", "fields"),
    [
        (
            "poll source_id=%s url=%s status=%s new=%s ms=%s",
            (3, "https://ex.com/f?a=1", "ok", 2, 140),
            "poll",
            {"source_id": 3, "url": "https://ex.com/f?a=1", "status": "ok", "new": 2, "ms": 140},
        ),
        ("stopping", (), "stopping", {}),
        ("storing source_id=%s failed", (4,), "storing source_id=4 failed", {}),  # prose stays prose
        ('sent recipient="a b@x" delivery_id=9', (), "sent", {"recipient": "a b@x", "delivery_id": 9}),
    ],
    ids=["printf-pairs", "bare", "pairs-inside-prose", "quoted-value"],
)
def test_fields_from_messages(msg, args, event_name, fields):
    assert record_fields(_record(msg, *args)) == (event_name, fields)


def test_text_and_json_agree_on_keys():
    fields = {"source_id": 3, "url": "https://ex.com/a b", "status": "ok", "new": 0, "ms": 12}
    text = KeyValueFormatter().format(_record("poll", fields=fields))
    assert 'event=poll source_id=3 url="https://ex.com/a b" status=ok new=0 ms=12' in text
    assert text.startswith("ts=") and " level=info " in text
    data = json.loads(JsonFormatter().format(_record("poll", fields=fields)))
    assert {k: data[k] for k in fields} == fields
    assert data["event"] == "poll" and data["level"] == "info"


def test_exception_is_one_line_in_both_formats():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        exc = sys.exc_info()
    text = KeyValueFormatter().format(_record("tick failed", exc=exc))
    assert "\n" not in text and "ValueError: boom" in text
    assert "ValueError: boom" in json.loads(JsonFormatter().format(_record("tick failed", exc=exc)))["exc"]


@pytest.mark.parametrize(
    ("line", "leak"),
    [
        ("connect smtp://bob:hunter22@mail.example:587 failed", "hunter22"),
        ("postgresql+psycopg://erep:s3cr%40t@db/erep unreachable", "s3cr%40t"),
        ("auth password=hunter22 refused", "hunter22"),
        ('{"token": "abc123xyz"}', "abc123xyz"),
        ("the configured secret is Tr0ub4dor&3 here", "Tr0ub4dor&3"),
    ],
    ids=["smtp-url", "db-url", "password-pair", "json-token", "known-secret"],
)
def test_redactor_masks_secrets(line, leak):
    out = Redactor(["Tr0ub4dor&3"])(line)
    assert leak not in out and "***" in out


def test_configured_logging_never_writes_the_smtp_password(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("correct-horse-battery\n")
    for fmt in ("text", "json"):
        settings = load_settings(environ={"EREPWATCH_SMTP_PASSWORD_FILE": str(secret), "EREPWATCH_LOG_FORMAT": fmt})
        stream = io.StringIO()
        root = logging.getLogger()
        saved = root.handlers[:], root.level
        try:
            configure_logging(settings, stream)
            log = logging.getLogger("erepwatch.test")
            log.warning("login failed with %s", settings.smtp_password.reveal())
            event(
                log,
                "delivery error",
                logging.WARNING,
                recipient="a@b.c",
                delivery_id=5,
                error=f"535 auth failed for password {settings.smtp_password.reveal()}",
            )
            log.info("settings %r", settings)
        finally:
            root.handlers[:], _ = saved
            root.setLevel(saved[1])
        out = stream.getvalue()
        assert "correct-horse-battery" not in out
        assert out.count("\n") == 3
        if fmt == "json":
            lines = [json.loads(line) for line in out.splitlines()]
            assert lines[1]["recipient"] == "a@b.c" and lines[1]["delivery_id"] == 5
        else:
            assert "recipient=a@b.c delivery_id=5" in out


def test_level_filters(tmp_path):
    settings = load_settings(environ={"EREPWATCH_LOG_LEVEL": "warning", "EREPWATCH_DATA_DIR": str(tmp_path)})
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(settings, stream)
        logging.getLogger("erepwatch.test").info("quiet")
        logging.getLogger("erepwatch.test").warning("loud")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert "quiet" not in stream.getvalue() and "loud" in stream.getvalue()
