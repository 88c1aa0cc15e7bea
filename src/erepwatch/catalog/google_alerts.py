"""Google Alerts: its RSS delivery feeds, and a way out through Google's data export of the alerts.

**Delivery feeds.** An alert delivered "to RSS" has a feed at ``https://www.google.com/alerts/feeds/USER/ALERT``:
Atom, titles and summaries with ``<b>`` around the matched words, links wrapped in
``https://www.google.com/url?rct=j&sa=t&url=<target>&ct=ga&…`` (see the corpus' google-alerts-atom-en-01.xml).
ingest handles both (plain_text on html titles, canonical_url unwraps /url). Such a feed is added with
``erepwatch source add URL`` like any feed.

**The data export.** Google's data export (Takeout / Data Portability API, resource group
``alerts.subscriptions``) gives the alerts as JSON. Google documents the fields, not the file's layout
(https://developers.google.com/data-portability/schema-reference/alerts): per alert ``query``, ``language``
(ISO 639-1), ``country`` (ISO 3166-1), ``apply_language_restrict``, ``apply_region_restrict``, ``source`` (list of
``NEWS``/``WEB``), ``quality`` (list of ``LOW``/``HIGH``), ``delivery_method`` (``EMAIL``/``RSS``),
``delivery_frequency`` (``HOURLY``/``DAILY``/``WEEKLY``, e-mail only), ``delivery_time`` ("time of day and day of
week in a specific time zone", e-mail only) and ``email_address``. So the reader below assumes only that much
and is lenient on the rest:

- the file is a JSON array of alerts, or an object holding one under ``alerts``, ``subscriptions``,
  ``alert_subscriptions`` or ``alerts.subscriptions``, or JSON Lines, one alert per line;
- field names in snake_case or camelCase; enum values in any case; the Alerts UI's other sources (BLOGS, VIDEO,
  DISCUSSIONS, BOOKS, FINANCE) and frequency AS_IT_HAPPENS are understood too;
- ``delivery_time`` as ``"08:00"``, or an object with ``hour(s)``/``minute(s)`` (possibly inside
  ``time_of_day``), ``day_of_week`` (``MONDAY`` or 1–7) and ``time_zone``/``timezone`` (a name or ``{"id": …}``).

What has no equivalent is kept in each alert's ``notes`` and printed by ``erepwatch import google-alerts``.
Reading is pure: :mod:`erepwatch.service.google_alerts_import` applies the result to the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from erepwatch import safejson
from erepwatch.analyze.query import canonical_query
from erepwatch.enums import Frequency
from erepwatch.errors import InvalidInputError, QuerySyntaxError

__all__ = ["AlertPlan", "AlertsExport", "is_alerts_feed", "read_alerts_export"]

FEED_PREFIX = "/alerts/feeds/"
HOSTS = ("www.google.com",)


def is_alerts_feed(url: str) -> bool:
    """Whether ``url`` is a Google Alerts RSS delivery feed."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return (parts.hostname or "").lower() in {"www.google.com", "google.com"} and parts.path.startswith(FEED_PREFIX)


@dataclass(frozen=True, slots=True)
class AlertPlan:
    """One alert as erepwatch will recreate it."""

    number: int  # 1-based position in the export, for messages
    query: str
    languages: tuple[str, ...]
    regions: tuple[str, ...]
    providers: tuple[str, ...]
    email: str | None = None
    frequency: str | None = None  # instant | daily | weekly
    at_time: str | None = None  # HH:MM
    weekday: str | None = None  # monday … sunday
    timezone: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertsExport:
    alerts: tuple[AlertPlan, ...]
    #: alerts that cannot be recreated at all, with the reason.
    refused: tuple[str, ...] = ()


_NEWS_PROVIDERS = ("google-news", "bing-news")
_SOURCES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "NEWS": (_NEWS_PROVIDERS, None),
    "DISCUSSIONS": (("reddit", "hackernews"), None),
    "WEB": (
        ("google-news", "bing-news", "reddit", "hackernews"),
        "web results: no key-free web search feed exists; news, Reddit and Hacker News feeds stand in",
    ),
    "BLOGS": ((), "blog results: no key-free blog search feed; add the blogs' own feeds with `source add`"),
    "VIDEO": ((), "video results: YouTube has no search feed; add channels' feeds with `source add`"),
    "BOOKS": ((), "book results: no equivalent"),
    "FINANCE": ((), "finance results: no equivalent; news feeds stand in"),
}
_AUTOMATIC = ("google-news", "bing-news", "reddit", "hackernews")
_FREQUENCIES = {
    "AS_IT_HAPPENS": Frequency.INSTANT,
    "HOURLY": Frequency.INSTANT,
    "DAILY": Frequency.DAILY,
    "WEEKLY": Frequency.WEEKLY,
}
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Google operators our query language does not have: (pattern, what we do, note).
_UNSUPPORTED = (
    (
        re.compile(
            r"(?<![\w\"])-?(?:inurl|allinurl|allintitle|intext|allintext|filetype|related|link|inanchor|"
            r"location|source|before|after|when):(?:\"[^\"]*\"|\S+)",
            re.IGNORECASE,
        ),
        "operator {m} dropped",
    ),
    (re.compile(r"\bAROUND\(\d+\)"), "AROUND(n) searched as AND"),
    (re.compile(r"(?<=\s)\*(?=\s)|^\*\s|\s\*$"), "wildcard * dropped"),
)


def _get(alert: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        for key in (name, _camel(name)):
            if key in alert and alert[key] not in (None, ""):
                return alert[key]
    return None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def _records(data: bytes | str) -> list[Any]:
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    try:
        doc = safejson.loads(text)
    except json.JSONDecodeError:
        try:
            return [safejson.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"not a Google Alerts export (JSON or JSON Lines): {exc}") from exc
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("alerts.subscriptions", "alerts", "subscriptions", "alert_subscriptions", "alertSubscriptions"):
            if isinstance(doc.get(key), list):
                return doc[key]
        if "query" in doc:
            return [doc]
    raise InvalidInputError('not a Google Alerts export: expected a list of alerts, or {"alerts": [...]}')


def _convert_query(raw: str) -> tuple[str, list[str]]:
    notes: list[str] = []
    query = raw
    for pattern, note in _UNSUPPORTED:
        for m in pattern.finditer(query):
            notes.append(note.format(m=m.group(0).strip()))
        query = pattern.sub(" ", query)
    # Google's legacy "+word" meant "exactly this word": our matcher is whole-word already.
    query = re.sub(r"(?<!\S)\+(?=\w)", "", query)
    return " ".join(query.split()), notes


def _delivery_time(value: Any) -> tuple[str | None, str | None, str | None, list[str]]:
    """(HH:MM, weekday, time zone, notes) from the export's delivery_time, whatever shape it has."""
    notes: list[str] = []
    if value is None:
        return None, None, None, notes
    if isinstance(value, str):
        m = re.match(r"^\s*(\d{1,2}):(\d{2})", value)
        if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
            return f"{int(m.group(1)):02d}:{m.group(2)}", None, None, notes
        return None, None, None, [f"delivery time {value!r} not understood"]
    if not isinstance(value, Mapping):
        return None, None, None, [f"delivery time {value!r} not understood"]
    clock = value.get("time_of_day") or value.get("timeOfDay") or value
    at = None
    if isinstance(clock, str):
        at, *_ = _delivery_time(clock)
    elif isinstance(clock, Mapping):
        hour = clock.get("hours", clock.get("hour"))
        minute = clock.get("minutes", clock.get("minute", 0)) or 0
        if isinstance(hour, int) and 0 <= hour < 24 and isinstance(minute, int) and 0 <= minute < 60:
            at = f"{hour:02d}:{minute:02d}"
    day = _get(value, "day_of_week", "day", "weekday")
    weekday = None
    if isinstance(day, int) and 1 <= day <= 7:
        weekday = _DAYS[day - 1]
    elif isinstance(day, str) and day.strip().lower() in _DAYS:
        weekday = day.strip().lower()
    elif day is not None:
        notes.append(f"day of week {day!r} not understood")
    zone = _get(value, "time_zone", "timezone", "tz")
    if isinstance(zone, Mapping):
        zone = zone.get("id") or zone.get("name")
    if at is None:
        notes.append(f"delivery time {json.dumps(value)} not understood")
    return at, weekday, zone if isinstance(zone, str) else None, notes


def _plan(number: int, alert: Any) -> AlertPlan | str:
    if not isinstance(alert, Mapping):
        return f"alert {number}: not an object"
    raw = _get(alert, "query")
    if not isinstance(raw, str) or not raw.strip():
        return f"alert {number}: no query"
    query, notes = _convert_query(raw)
    try:
        canonical_query(query)
    except QuerySyntaxError as exc:
        return f"alert {number} ({raw!r}): {exc}"
    lang = str(_get(alert, "language") or "").strip().lower()
    languages = (lang,) if re.fullmatch(r"[a-z]{2,3}", lang) else ()
    if lang and not languages and lang not in {"any", "all"}:
        notes.append(f"language {lang!r} not understood: any language")
    if languages and _get(alert, "apply_language_restrict") is False:
        notes.append(f"results are kept in {lang} only (Google also showed other languages)")
    country = str(_get(alert, "country", "region") or "").strip().upper()
    regions = (country,) if re.fullmatch(r"[A-Z]{2}", country) else ()
    if country and not regions and country not in {"ANY", "ALL"}:
        notes.append(f"country {country!r} not understood: any region")
    if regions and _get(alert, "apply_region_restrict"):
        notes.append(f"results are searched in {country} editions, not restricted to {country} sites")

    sources = [s.strip().upper() for s in _as_list(_get(alert, "source", "sources"))]
    providers: list[str] = []
    if not sources or "AUTOMATIC" in sources:
        providers.extend(_AUTOMATIC)
    for source in sources:
        mapped, note = _SOURCES.get(source, ((), f"source {source!r} not understood"))
        providers.extend(mapped)
        if note:
            notes.append(note)
    if "HIGH" in {q.strip().upper() for q in _as_list(_get(alert, "quality"))}:
        notes.append("'only the best results' has no equivalent: every matching item is kept")

    method = str(_get(alert, "delivery_method") or "").strip().upper()
    email = frequency = at = weekday = zone = None
    if method == "RSS":
        notes.append(
            "delivered to RSS: the export has no feed URL; add it with `erepwatch source add "
            "https://www.google.com/alerts/feeds/…` if you want Google's own results too"
        )
    elif method in {"EMAIL", ""}:
        email = _get(alert, "email_address", "email", "recipient")
        email = email.strip() if isinstance(email, str) and "@" in email else None
        freq = str(_get(alert, "delivery_frequency", "frequency") or "").strip().upper()
        frequency = _FREQUENCIES.get(freq)
        if freq == "HOURLY":
            notes.append("hourly digests become instant alerts")
        elif freq and frequency is None:
            notes.append(f"frequency {freq!r} not understood: daily")
            frequency = Frequency.DAILY
        at, weekday, zone, time_notes = _delivery_time(_get(alert, "delivery_time"))
        notes.extend(time_notes)
        if email is None and method == "EMAIL":
            notes.append("delivered by e-mail but the export names no address: no recipient created")
    else:
        notes.append(f"delivery method {method!r} not understood")
    return AlertPlan(
        number=number,
        query=query,
        languages=languages,
        regions=regions,
        providers=tuple(dict.fromkeys(providers)),
        email=email,
        frequency=frequency if email else None,
        at_time=at if email else None,
        weekday=weekday if email and frequency == Frequency.WEEKLY else None,
        timezone=zone if email else None,
        notes=tuple(dict.fromkeys(notes)),
    )


def read_alerts_export(data: bytes | str) -> AlertsExport:
    """Every alert of Google's export as an :class:`AlertPlan`, and the alerts that cannot be recreated."""
    plans: list[AlertPlan] = []
    refused: list[str] = []
    for number, alert in enumerate(_records(data), 1):
        plan = _plan(number, alert)
        (refused if isinstance(plan, str) else plans).append(plan)  # type: ignore[arg-type]
    return AlertsExport(tuple(plans), tuple(refused))
