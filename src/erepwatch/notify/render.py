"""Digests and alerts as HTML and plain text, from one context, through Jinja2's sandbox.

Every string that comes from a feed (title, publisher, snippet, URL) is cleaned and capped here, and
escaped by the templates' autoescaping: a hostile feed can neither inject markup nor a link of its own
(only http/https URLs become links), nor make a message huge. The HTML has no script and no remote
resource; its CSS is inline (plus one <style> block for dark mode and phones, which clients that drop it
can ignore without harm).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from erepwatch.db.mention_views import MentionView
from erepwatch.links import UNSAFE_CHARS
from erepwatch.notify.alert_rules import SpikeCheck, spike_from_details
from erepwatch.notify.digest import Digest
from erepwatch.notify.strings import alert_subject, decimal, digest_subject, spike_subject, strings
from erepwatch.scrub import finalize

#: Caps on feed-derived text, in characters.
TITLE_CAP = 300
SNIPPET_CAP = 400
NAME_CAP = 80
CHART_HEIGHT = 60

COLORS = {"negative": "#c5221f", "neutral": "#80868b", "positive": "#188038"}

# Control characters and bidirectional overrides (which can disguise a link or a name) go.
_UNSAFE = UNSAFE_CHARS
_SPACES = re.compile(r"\s+")


def clean(text: str | None, cap: int) -> str:
    """Feed text made safe to show: no control or bidi characters, one line, at most ``cap`` characters."""
    if not text:
        return ""
    text = _SPACES.sub(" ", _UNSAFE.sub("", unicodedata.normalize("NFC", text))).strip()
    return text if len(text) <= cap else text[: cap - 1].rstrip() + "…"


def snippet_segments(snippet: str, marks: Sequence[Sequence[int]], cap: int = SNIPPET_CAP) -> list[dict[str, Any]]:
    """The snippet cut into plain and marked pieces (the templates escape each piece)."""
    pieces: list[dict[str, Any]] = []
    last = 0
    for start, end in sorted((int(a), int(b)) for a, b in marks):
        if start < last or end > len(snippet) or start >= end:
            continue
        pieces.append({"text": snippet[last:start], "marked": False})
        pieces.append({"text": snippet[start:end], "marked": True})
        last = end
    pieces.append({"text": snippet[last:], "marked": False})
    out, used = [], 0
    for piece in pieces:
        text = _SPACES.sub(" ", _UNSAFE.sub("", piece["text"]))
        if used + len(text) > cap:
            text = text[: max(0, cap - used)] + "…"
        if text:
            out.append({"text": text, "marked": piece["marked"]})
        used += len(text)
        if used >= cap:
            break
    return out


def local_time(when: datetime, tz: str, locale: str) -> str:
    local = when.astimezone(ZoneInfo(tz))
    return local.strftime("%d/%m/%Y %H:%M" if locale == "fr" else "%Y-%m-%d %H:%M")


def _mention(row: MentionView, tz: str, locale: str, t: dict[str, str]) -> dict[str, Any]:
    untitled = "(sans titre)" if locale == "fr" else "(untitled)"
    return {
        "title": clean(row.title, TITLE_CAP) or untitled,
        "url": row.url,  # filtered by the view (links.safe_url)
        "publisher": clean(row.source, NAME_CAP),
        "date": local_time(row.published, tz, locale),
        "sentiment": row.sentiment,
        "sentiment_label": t.get(row.sentiment, row.sentiment),
        "color": COLORS.get(row.sentiment, COLORS["neutral"]),
        "tags": [clean(tag, NAME_CAP) for tag in row.tags][:8],
        "snippet": snippet_segments(row.snippet, row.snippet_marks),
        "snippet_text": clean(row.snippet, SNIPPET_CAP),
        "alarming": row.alarming,
        "why": why_line(row.why, row.tags),
    }


#: Words shown per reason in a digest's "why" line.
WHY_WORDS = 3


def why_line(why: Mapping[str, Any], tags: Sequence[str]) -> str:
    """The words behind a mention's sentiment and tags, in one short line ("décevant, rappel · #crisis: rappel")."""
    parts = []
    words = [clean(str(w), NAME_CAP) for w in (why.get("sentiment") or [])[:WHY_WORDS]]
    if words:
        parts.append(", ".join(words))
    tag_words = why.get("tags") or {}
    for tag in tags:
        shown = [clean(str(w), NAME_CAP) for w in (tag_words.get(tag) or [])[:WHY_WORDS]]
        if shown:
            parts.append(f"#{clean(tag, NAME_CAP)}: {', '.join(shown)}")
    return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=PackageLoader("erepwatch.notify", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Control characters from feeds never reach a message, whichever variable prints them.
        finalize=finalize,
    )


def _render(name: str, context: dict[str, Any]) -> tuple[str, str]:
    env = environment()
    return env.get_template(f"{name}.txt").render(context), env.get_template(f"{name}.html").render(context)


def _chart(digest: Digest, locale: str) -> list[dict[str, Any]]:
    peak = max((d.total for d in digest.chart), default=0) or 1
    days = []
    for d in digest.chart:
        bars = [
            {"color": COLORS[s], "height": max(1, round(getattr(d, s) * CHART_HEIGHT / peak)), "count": getattr(d, s)}
            for s in ("positive", "neutral", "negative")
            if getattr(d, s)
        ]
        days.append(
            {
                "label": d.day.strftime("%d"),
                "title": d.day.isoformat(),
                "total": d.total,
                "bars": bars,
                "pad": CHART_HEIGHT - sum(b["height"] for b in bars),
            }
        )
    return days


def render_digest(digest: Digest, *, locale: str, tz: str, email: str, unsubscribe: str | None = None) -> Rendered:
    t = strings(locale)
    sections = [
        {
            "watch": s.watch,
            "counts": s.counts,
            "entries": [
                {
                    **_mention(e.mention, tz, locale, t),
                    "others": [clean(o, NAME_CAP) for o in e.others[:5]],
                    "more": (t["more_source"] if len(e.others) == 1 else t["more_sources"].format(n=len(e.others)))
                    if e.others
                    else "",
                }
                for e in s.entries
            ],
        }
        for s in digest.sections
    ]
    troubles = [
        {
            "name": clean(x.name, NAME_CAP),
            "problem": t[x.problem],
            "detail": clean(x.detail, NAME_CAP),
            "since": local_time(x.since, tz, locale) if x.since else t["never"],
        }
        for x in digest.troubles[:10]
    ]
    context = {
        "t": t,
        "locale": locale,
        "title": t["digest_title"],
        "period": t["period"].format(
            start=local_time(digest.period_start, tz, locale), end=local_time(digest.period_end, tz, locale), tz=tz
        ),
        "sections": sections,
        "totals": digest.counts,
        "chart": _chart(digest, locale),
        "chart_height": CHART_HEIGHT,
        "colors": COLORS,
        "troubles": troubles,
        "email": email,
        "unsubscribe": unsubscribe,
    }
    text, html = _render("digest", context)
    counts = digest.counts
    subject = digest_subject(locale, [s.watch for s in digest.sections], counts.total, counts.negative)
    return Rendered(subject, text, html)


def spike_text_of(locale: str, watch: str, spike: SpikeCheck) -> str:
    """The spike's explanation with its numbers (count, mean, deviation, threshold)."""
    return strings(locale)["spike_text"].format(
        watch=watch,
        count=spike.count,
        mean=decimal(locale, spike.mean),
        std=decimal(locale, spike.std),
        k=f"{spike.k:g}" if locale == "en" else f"{spike.k:g}".replace(".", ","),
        spread=decimal(locale, spike.spread),
        threshold=decimal(locale, spike.threshold),
    )


def spike_sentence(locale: str, details: dict[str, Any] | None) -> str:
    d = dict(details or {})
    return spike_text_of(locale, str(d.get("watch", "?")), spike_from_details(d))


def story_heads(rows: Sequence[MentionView]) -> list[tuple[MentionView, list[str]]]:
    """One entry per story: its alarming, earliest member first, and the other publishers that carried it."""
    by_story: dict[int, list[MentionView]] = {}
    for r in rows:
        by_story.setdefault(r.cluster_id or r.id, []).append(r)
    out = []
    for members in by_story.values():
        members.sort(key=lambda r: (not r.alarming, r.published, r.id))
        head = members[0]
        others: list[str] = []
        for m in members[1:]:
            name = m.publisher or "?"
            if name != head.publisher and name not in others:
                others.append(name)
        out.append((head, others))
    out.sort(key=lambda e: (not e[0].alarming, -e[0].published.timestamp(), e[0].id))
    return out


def render_alert(
    rows: Sequence[MentionView],
    *,
    locale: str,
    tz: str,
    email: str,
    unsubscribe: str | None = None,
    spike: SpikeCheck | None = None,
    spike_watch: str | None = None,
    changes: Mapping[int, str] | None = None,
) -> Rendered:
    """One entry per story (``+N sources``); ``changes`` says why an already-alerted story is back."""
    t = strings(locale)
    stories = story_heads(rows)
    changes = changes or {}
    mentions = []
    for head, others in stories[:50]:
        change = changes.get(head.cluster_id or head.id)
        mentions.append(
            {
                **_mention(head, tz, locale, t),
                "watch": head.watch,
                "others": [clean(o, NAME_CAP) for o in others[:5]],
                "more": (t["more_source"] if len(others) == 1 else t["more_sources"].format(n=len(others)))
                if others
                else "",
                "change": t.get(f"change_{change}", "") if change else "",
            }
        )
    spike_text = spike_text_of(locale, spike_watch or "?", spike) if spike is not None else None
    context = {
        "t": t,
        "locale": locale,
        "title": t["spike_title"] if spike else t["alert_title"],
        "spike_text": spike_text,
        "mentions": mentions,
        "more": max(0, len(stories) - len(mentions)),
        "email": email,
        "unsubscribe": unsubscribe,
    }
    text, html = _render("alert", context)
    if spike is not None:
        subject = spike_subject(locale, spike_watch or "?", spike.count, spike.mean)
    else:
        subject = alert_subject(locale, sorted({r.watch for r in rows}, key=str.casefold), len(stories))
    return Rendered(subject, text, html)


# Characters that chat services turn into markup, links or mass mentions (<!channel>, [x](y), @everyone).
_CHAT_MARKUP = str.maketrans({"<": "‹", ">": "›", "[": "(", "]": ")", "*": "∗", "_": " ", "`": "'", "@": "＠"})


def chat_lines(rendered_subject: str, rows: Sequence[MentionView], *, spike_line: str | None = None) -> tuple[str, str]:
    """(title, body) for push channels: one line per mention, markup characters defused."""
    lines = [spike_line] if spike_line else []
    stories = story_heads(rows)
    for row, others in stories[:10]:
        title = clean(row.title, 140).translate(_CHAT_MARKUP)
        publisher = clean(row.source, 40).translate(_CHAT_MARKUP)
        more = f" (+{len(others)})" if others else ""
        url = row.url or ""  # filtered by the view (links.safe_url)
        mark = "⚠" if row.alarming else "•"
        lines.append(f"{mark} {title} — {publisher}{more} {url}".strip())
    if len(stories) > 10:
        lines.append(f"… +{len(stories) - 10}")
    return rendered_subject, "\n".join(lines)
