"""Recreate Google Alerts in erepwatch: a watch, its search feeds and the recipients' schedule per alert.

Reading the export is :func:`erepwatch.catalog.google_alerts.read_alerts_export` (pure); this module applies
its plans. Importing the same export twice changes nothing: a watch is found again by its name (the alert's
query), a recipient by its address.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erepwatch.catalog.google_alerts import AlertPlan, AlertsExport
from erepwatch.clock import utcnow
from erepwatch.db.models import Recipient, Watch
from erepwatch.enums import Frequency
from erepwatch.errors import InvalidInputError
from erepwatch.service.recipients import check_recipient_values
from erepwatch.service.search_feeds import add_search_feeds
from erepwatch.service.watches import WatchInput, add_watch

__all__ = ["AlertsImportReport", "import_alerts"]

_RANK = {frequency.value: rank for rank, frequency in enumerate(Frequency)}


@dataclass
class AlertsImportReport:
    watches_created: list[str] = field(default_factory=list)
    watches_existing: list[str] = field(default_factory=list)
    feeds_added: int = 0
    recipients: list[dict[str, Any]] = field(default_factory=list)
    #: "alert N (query): what could not be mapped", one line each.
    unmapped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "watches_created": self.watches_created,
            "watches_existing": self.watches_existing,
            "feeds_added": self.feeds_added,
            "recipients": self.recipients,
            "unmapped": self.unmapped,
            "refused": self.refused,
        }


def _watch_names(plans: tuple[AlertPlan, ...]) -> dict[int, str]:
    """The query as the watch's name; alerts sharing a query get their edition appended."""
    per_query = Counter(p.query for p in plans)
    names: dict[int, str] = {}
    for plan in plans:
        name = plan.query
        if per_query[plan.query] > 1:
            edition = "-".join([*plan.languages, *plan.regions]) or "any"
            name = f"{plan.query} ({edition})"
        names[plan.number] = name[:200]
    return names


def import_alerts(
    session: Session,
    export: AlertsExport,
    *,
    interval: timedelta,
    base_url: str | None = None,
    now: datetime | None = None,
) -> AlertsImportReport:
    now = now or utcnow()
    report = AlertsImportReport(refused=list(export.refused))
    names = _watch_names(export.alerts)
    follows: dict[str, list[AlertPlan]] = {}
    watch_ids: dict[int, int] = {}
    for plan in export.alerts:
        name = names[plan.number]
        watch = session.scalar(select(Watch).where(Watch.name == name))
        if watch is None:
            watch = add_watch(
                session,
                WatchInput(name=name, query=plan.query, languages=plan.languages, regions=plan.regions),
                now=now,
            )
            report.watches_created.append(name)
        else:
            report.watches_existing.append(name)
        watch_ids[plan.number] = watch.id
        if plan.providers:
            sync = add_search_feeds(session, watch, plan.providers, interval=interval, base_url=base_url, now=now)
            report.feeds_added += len(sync.added)
        for note in plan.notes:
            report.unmapped.append(f"alert {plan.number} ({plan.query}): {note}")
        if plan.email:
            follows.setdefault(plan.email, []).append(plan)
    for email, plans in follows.items():
        report.recipients.append(_recipient(session, email, plans, watch_ids, report, now))
    session.flush()
    return report


def _recipient(
    session: Session, email: str, plans: list[AlertPlan], watch_ids: dict[int, int], report: AlertsImportReport,
    now: datetime,
) -> dict[str, Any]:  # fmt: skip
    # One schedule per address in erepwatch: the most frequent of its alerts wins, and the difference is said.
    plans = sorted(plans, key=lambda p: _RANK.get(p.frequency or Frequency.DAILY, 1))
    first = plans[0]
    frequency = first.frequency or Frequency.DAILY
    others = sorted({p.frequency or "daily" for p in plans} - {frequency})
    if others:
        report.unmapped.append(
            f"recipient {email}: one schedule per address; {frequency} chosen over {', '.join(others)}"
        )
    recipient = session.scalar(select(Recipient).where(Recipient.email == email))
    ids = sorted({watch_ids[p.number] for p in plans})
    if recipient is None:
        recipient = Recipient(email=email, frequency=frequency, created_at=now, watch_ids=ids)
        # The export's schedule is checked as `recipient add` would check it; a value that cannot be used is
        # refused (the default kept) and said in the report.
        for key, value, default in (
            ("at_time", first.at_time, None),
            ("timezone", first.timezone, None),
            ("weekday", first.weekday, "monday" if frequency == "weekly" else None),
        ):
            if not value:
                continue
            checked = {key: value}
            try:
                check_recipient_values(checked)
            except InvalidInputError as exc:
                report.unmapped.append(f"recipient {email}: {exc}; the default is kept")
                value = default
            else:
                value = checked[key]
            if value is not None:
                setattr(recipient, key, value)
        session.add(recipient)
        session.flush()
    else:
        # An existing recipient keeps its schedule; it follows the imported watches too (or still all).
        if recipient.watch_ids:
            recipient.watch_ids = sorted({*recipient.watch_ids, *ids})
    return {"email": email, "frequency": recipient.frequency, "at": recipient.at_time,
            "timezone": recipient.timezone, "weekday": recipient.weekday, "watches": len(ids)}  # fmt: skip
