"""Configuration: one declarative table of settings, read from a TOML file and EREPWATCH_* variables.

Precedence, lowest first: built-in default, TOML file (``--config`` / ``EREPWATCH_CONFIG``), environment
variable, command-line option. Every setting is validated when loaded, so a wrong value fails at start
with the key in the message rather than at 3 a.m. in the middle of a poll.

Secrets (the SMTP password) are only read from the environment or from a file named by a ``*_FILE``
variable, never from the command line, and are wrapped in :class:`Secret` so they never print.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from erepwatch.codes import check_region
from erepwatch.errors import ConfigError

APP_NAME = "erepwatch"


class Secret(str):
    """A string that hides itself in repr/str-formatting for logs; ``.reveal()`` gives the value."""

    def __repr__(self) -> str:
        return "Secret('***')"

    def reveal(self) -> str:
        return str.__str__(self)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | int | float) -> timedelta:
    """``"15m"``, ``"2h"``, ``"1d"``, ``"30s"`` or a number of seconds → timedelta."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(value)
        if not m:
            raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 15m, 2h, 1d)")
        seconds = float(m.group(1)) * _DURATION_UNITS[(m.group(2) or "s").lower()]
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {value!r}")
    try:
        return timedelta(seconds=seconds)
    except OverflowError as exc:
        raise ValueError(f"duration too long: {value!r}") from exc


_SIZE = re.compile(r"^\s*(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 2**20, "gb": 10**9, "gib": 2**30}


def parse_size(value: str | int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        m = _SIZE.match(str(value))
        if not m:
            raise ValueError(f"not a size: {value!r} (use e.g. 15MiB, 512KiB)")
        size = int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()]
    if size <= 0:
        raise ValueError(f"size must be positive: {value!r}")
    return size


def parse_bool(value: str | bool | int) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r} (use true/false or 1/0)")


def parse_int(value: str | int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    number = int(value)
    if number <= 0:
        raise ValueError(f"must be a positive integer: {value!r}")
    return number


def parse_count(value: str | int) -> int:
    if isinstance(value, bool) or int(value) < 0:
        raise ValueError(f"must be zero or a positive integer: {value!r}")
    return int(value)


def parse_positive_float(value: str | float) -> float:
    if isinstance(value, bool) or float(value) <= 0:
        raise ValueError(f"must be a positive number: {value!r}")
    return float(value)


def parse_fraction(value: str | float) -> float:
    if isinstance(value, bool) or not 0 <= float(value) < 1:
        raise ValueError(f"must be a number from 0 to 1 (excluded): {value!r}")
    return float(value)


def parse_base_url(value: str) -> str:
    value = str(value).strip().rstrip("/")
    if value and (urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).hostname):
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


def parse_database_url(value: str) -> str:
    value = str(value).strip()
    if not value:
        return ""  # the SQLite file in data_dir
    scheme = urlsplit(value).scheme
    if not scheme.startswith(("sqlite", "postgresql", "postgres")):
        raise ValueError(f"unsupported database URL {value!r}: use sqlite:///PATH or postgresql://…")
    return value


def parse_smtp_url(value: str) -> str:
    value = str(value).strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError(f"not an SMTP URL: {_redact_url(value)!r} (use smtp://user@host:587?starttls=true)")
    if parts.password:
        raise ValueError("put the SMTP password in EREPWATCH_SMTP_PASSWORD or *_FILE, not in the URL")
    try:
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError as exc:
        raise ValueError(f"bad port in SMTP URL: {exc}") from exc
    return value


def parse_host_port(value: str) -> str:
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return str(value)


def parse_sender(value: str) -> str:
    """``veille@acme.fr`` or, with a display name, ``Veille Acme <veille@acme.fr>`` (normalised)."""
    from email.utils import formataddr, parseaddr

    text = str(value).strip()
    name, addr = parseaddr(text)
    if not addr or ("<" in text) != (">" in text):
        raise ValueError(f"not an e-mail address: {text!r} (use veille@acme.fr or 'Veille Acme <veille@acme.fr>')")
    parse_email(addr)
    return formataddr((name, addr)) if name else addr


def parse_email(value: str) -> str:
    value = str(value).strip()
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", value):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    return parse


def parse_timezone(value: str) -> str:
    value = str(value).strip()
    if not value:
        return ""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use e.g. Europe/Paris or America/Montreal)") from exc
    return value


def parse_names(value: str | list[str]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [p for p in str(value).replace(";", ",").split(",")]
    return tuple(dict.fromkeys(str(p).strip() for p in items if str(p).strip()))


def parse_paths(value: str | list[str]) -> tuple[Path, ...]:
    items = value if isinstance(value, list) else [p for p in str(value).split(os.pathsep) if p]
    return tuple(Path(p).expanduser() for p in items)


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def _setting(
    key: str, parse: Callable[[Any], Any], default: Any, doc: str, env: str | None = None, secret: bool = False
) -> Any:
    """Declare one setting: TOML key (section.name), parser, default, help, environment variable."""
    env = env or "EREPWATCH_" + key.replace(".", "_").upper()
    return field(default=default, metadata={"key": key, "parse": parse, "env": env, "secret": secret, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """Every setting erepwatch has, with its default (config/erepwatch.example.toml documents them)."""

    database_url: str = _setting(
        "database.url",
        parse_database_url,
        "",
        "SQLAlchemy URL; empty: a SQLite file in data_dir",
        env="EREPWATCH_DATABASE_URL",
    )
    data_dir: Path = _setting(
        "data_dir", lambda v: Path(v).expanduser(), _default_data_dir(), "where the SQLite file and outbox live"
    )
    log_format: str = _setting("log.format", parse_choice("text", "json"), "text", "key=value text or JSON lines")
    log_level: str = _setting(
        "log.level", parse_choice("debug", "info", "warning", "error"), "info", "minimum level logged"
    )

    fetch_timeout: timedelta = _setting(
        "fetch.timeout", parse_duration, timedelta(seconds=20), "connect and read timeout per request"
    )
    fetch_deadline: timedelta = _setting(
        "fetch.deadline",
        parse_duration,
        timedelta(seconds=60),
        "total time for one fetch (connect, headers, body, redirects, retries); past it the source records timeout",
    )
    fetch_max_bytes: int = _setting("fetch.max_bytes", parse_size, 15 * 2**20, "largest feed body accepted")
    fetch_max_redirects: int = _setting("fetch.max_redirects", parse_int, 5, "redirects followed per fetch")
    fetch_concurrency: int = _setting("fetch.concurrency", parse_int, 16, "requests in flight overall")
    fetch_per_host: int = _setting("fetch.per_host", parse_int, 2, "requests in flight per host")
    fetch_retries: int = _setting("fetch.retries", parse_count, 2, "retries on connection errors")
    allow_private: bool = _setting(
        "fetch.allow_private",
        parse_bool,
        False,
        "allow feeds on loopback/private addresses",
        env="EREPWATCH_ALLOW_PRIVATE",
    )

    poll_interval: timedelta = _setting(
        "poll.interval", parse_duration, timedelta(minutes=60), "default interval of a feed"
    )
    poll_max_entries: int = _setting(
        "poll.max_entries",
        parse_int,
        1000,
        "entries taken from one fetch, newest first; the rest of a huge feed is left",
    )
    poll_tick: timedelta = _setting(
        "poll.tick", parse_duration, timedelta(seconds=30), "how often the daemon looks for due sources"
    )
    poll_search_interval: timedelta = _setting(
        "poll.search_interval", parse_duration, timedelta(minutes=15), "default interval of a search feed"
    )
    poll_min_interval: timedelta = _setting(
        "poll.min_interval",
        parse_duration,
        timedelta(minutes=5),
        "no source is checked more often than this, whatever its interval or its feed's rhythm",
    )
    poll_max_interval: timedelta = _setting(
        "poll.max_interval",
        parse_duration,
        timedelta(hours=24),
        "every source is checked at least this often, whatever its feed's hints (ttl, Cache-Control, Expires)",
    )
    poll_batch: int = _setting("poll.batch", parse_int, 100, "sources claimed per batch by the daemon's tick")
    poll_per_host: int = _setting("poll.per_host", parse_int, 10, "at most this many sources of one host in a batch")
    poll_jitter: float = _setting(
        "poll.jitter", parse_fraction, 0.1, "next checks are spread by up to this fraction of the interval"
    )

    retention_days: int = _setting(
        "retention.days",
        parse_int,
        180,
        "items (and their mentions) fetched longer ago are purged by the daemon, unless a pending delivery needs them",
    )

    display_timezone: str = _setting(
        "display.timezone", parse_timezone, "", "time zone of the times the CLI prints; empty: the machine's"
    )
    watch_default_region: str = _setting(
        "watch.default_region",
        check_region,
        "FR",
        "market of a watch added without --lang or --region: its search feeds use this country's editions",
    )

    catalog_base_url: str = _setting(
        "catalog.base_url",
        lambda v: str(v).strip().rstrip("/"),
        "",
        "serve new search feeds from this origin instead of the providers' (a caching proxy); empty: the providers",
    )

    smtp_url: str = _setting(
        "mail.smtp_url", parse_smtp_url, "", "SMTP server; empty: write .eml files", env="EREPWATCH_SMTP_URL"
    )
    smtp_password: Secret | None = _setting(
        "mail.smtp_password",
        Secret,
        None,
        "SMTP password (environment or *_FILE only)",
        env="EREPWATCH_SMTP_PASSWORD",
        secret=True,
    )
    mail_from: str = _setting(
        "mail.from",
        parse_sender,
        "erepwatch@localhost",
        "sender address, with or without a display name (Veille Acme <veille@acme.fr>)",
        env="EREPWATCH_MAIL_FROM",
    )
    outbox_dir: Path | None = _setting(
        "mail.outbox_dir",
        lambda v: Path(v).expanduser(),
        None,
        "where .eml files go without SMTP; empty: DATA_DIR/outbox",
        env="EREPWATCH_OUTBOX_DIR",
    )

    web_addr: str = _setting(
        "web.addr", parse_host_port, "127.0.0.1:8080", "host:port of the web page", env="EREPWATCH_WEB_ADDR"
    )
    web_base_url: str = _setting(
        "web.base_url", parse_base_url, "", "public URL of the web page, for unsubscribe links; empty: mailto only"
    )
    web_password: Secret | None = _setting(
        "web.password",
        Secret,
        None,
        "password of the web app and token of its API (environment or *_FILE only); required off 127.0.0.1",
        env="EREPWATCH_WEB_PASSWORD",
        secret=True,
    )
    web_secret: Secret | None = _setting(
        "web.secret",
        Secret,
        None,
        "key signing the web app's cookies and unsubscribe links (environment or *_FILE only); "
        "empty: a random key kept in DATA_DIR/web-secret",
        env="EREPWATCH_WEB_SECRET",
        secret=True,
    )

    notify_backfill_grace: timedelta = _setting(
        "notify.backfill_grace",
        parse_duration,
        timedelta(hours=24),
        "items published this long before their watch or source existed are stored, never notified",
    )
    notify_alert_min_interval: timedelta = _setting(
        "notify.alert_min_interval",
        parse_duration,
        timedelta(minutes=10),
        "at most one instant alert per recipient in this time; the rest waits for the next",
    )
    notify_spike_k: float = _setting(
        "notify.spike_k",
        parse_positive_float,
        3.0,
        "spike alert when the last 24 h exceed the 7-day daily mean by more than k standard deviations",
    )
    notify_spike_min_count: int = _setting(
        "notify.spike_min_count", parse_int, 5, "no spike alert under this many mentions in 24 h"
    )
    notify_max_attempts: int = _setting(
        "notify.max_attempts", parse_int, 8, "delivery attempts before a temporary failure is given up as failed"
    )
    notify_retry_base: timedelta = _setting(
        "notify.retry_base",
        parse_duration,
        timedelta(minutes=1),
        "first retry delay of a delivery; doubles at each attempt, capped at 6 h",
    )

    analysis_scorer: str = _setting(
        "analysis.scorer",
        str,
        "e5",
        "sentiment: e5 (trained on embeddings), bow (trained words model), lexicon (word lists) or module:Class",
    )
    analysis_sentiment_budget: timedelta = _setting(
        "analysis.sentiment_budget",
        parse_duration,
        timedelta(seconds=60),
        "time a poll's sentiment stage may spend embedding (scorer e5); the rest waits for the next poll",
    )
    analysis_builtin_tags: tuple[str, ...] = _setting(
        "analysis.builtin_tags",
        parse_names,
        ("crisis",),
        "built-in tag groups applied (measured precision >= 0.80 on labelled mentions; see tests/data/sentiment)",
    )
    analysis_extra_lexicons: tuple[Path, ...] = _setting(
        "analysis.extra_lexicons", parse_paths, (), "your own sentiment word lists"
    )
    analysis_cluster_window: timedelta = _setting(
        "analysis.cluster_window",
        parse_duration,
        timedelta(hours=72),
        "mentions of one watch published this close with near-identical titles are one story",
    )
    analysis_extra_tags: tuple[Path, ...] = _setting(
        "analysis.extra_tags", parse_paths, (), "your own keyword tag groups"
    )
    analysis_cluster_cache: int = _setting(
        "analysis.cluster_cache",
        parse_count,
        10_000,
        "recent mentions kept in memory for story clustering; past it, least recently seen watches are reloaded",
    )
    analysis_semantic: bool = _setting(
        "analysis.semantic",
        parse_bool,
        True,
        "fold reworded headlines of one story with the shipped sentence-embedding model",
    )
    analysis_merge_stories: bool = _setting(
        "analysis.merge_stories",
        parse_bool,
        False,
        "merge two stories a new report shows to be one (off by default: its held-out precision, "
        "tests/data/stories/README.md)",
    )
    analysis_semantic_budget: timedelta = _setting(
        "analysis.semantic_budget",
        parse_duration,
        timedelta(seconds=60),
        "time a poll's semantic story stage may spend embedding; the rest waits for the next poll",
    )


#: The built-in defaults: modules that need a default (a function's default argument) take it from here, so
#: each default is written once, in the table above.
DEFAULTS = Settings()

_BY_KEY = {f.metadata["key"]: f for f in fields(Settings)}
#: The command-line option that overrides a setting, for error messages that name what the user typed.
_OPTIONS = {"database_url": "--database"}


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _convert(f: Field[Any], raw: Any, origin: str) -> Any:
    try:
        return f.metadata["parse"](raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(origin, str(exc)) from exc


def load_settings(
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings from defaults, a TOML file, the environment and explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    path = config_path or (Path(env["EREPWATCH_CONFIG"]) if env.get("EREPWATCH_CONFIG") else None)
    if path is not None:
        import tomllib  # here: most commands run without a configuration file

        try:
            table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError("config", f"file not found: {path}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("config", f"{path} is not valid TOML: {exc}") from exc
        for key, raw in _flatten(table).items():
            f = _BY_KEY.get(key)
            if f is None:
                raise ConfigError(key, f"unknown setting in {path}")
            if f.metadata["secret"]:
                raise ConfigError(key, f"secrets are not read from files; set {f.metadata['env']} or *_FILE")
            values[f.name] = _convert(f, raw, key)

    known_env = {f.metadata["env"] for f in fields(Settings)} | {"EREPWATCH_CONFIG"}
    known_env |= {f.metadata["env"] + "_FILE" for f in fields(Settings) if f.metadata["secret"]}
    for name in env:
        if name.startswith("EREPWATCH_") and name not in known_env and not name.startswith("EREPWATCH_TEST"):
            raise ConfigError(name, "unknown environment variable")
    for f in fields(Settings):
        name = f.metadata["env"]
        if f.metadata["secret"] and env.get(name + "_FILE"):
            secret_path = Path(env[name + "_FILE"])
            try:
                values[f.name] = Secret(secret_path.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigError(name + "_FILE", f"cannot read {secret_path}: {exc.strerror}") from exc
        elif env.get(name) not in (None, ""):
            values[f.name] = _convert(f, env[name], name)

    for name, value in overrides.items():
        if value is not None:
            f = next(x for x in fields(Settings) if x.name == name)
            option = _OPTIONS.get(name, "--" + name.replace("_", "-"))
            values[name] = _convert(f, value, option) if isinstance(value, str) else value

    settings = Settings(**values)
    if not settings.database_url:
        settings = replace(settings, database_url=f"sqlite:///{settings.data_dir / 'erepwatch.db'}")
    return settings


def effective_outbox_dir(settings: Settings) -> Path:
    return settings.outbox_dir or settings.data_dir / "outbox"


def describe() -> list[tuple[str, str, str, bool]]:
    """(TOML key, environment variable, help, secret) per setting, for docs and tests."""
    return [(f.metadata["key"], f.metadata["env"], f.metadata["doc"], f.metadata["secret"]) for f in fields(Settings)]
