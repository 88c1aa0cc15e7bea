"""Reading Google's data export of alerts: what maps, what does not, and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from erepwatch.catalog.google_alerts import read_alerts_export
from erepwatch.errors import InvalidInputError

EXPORT = Path(__file__).resolve().parents[1] / "data" / "providers" / "google-alerts-export.json"


def test_sample_export():
    export = read_alerts_export(EXPORT.read_bytes())
    assert [a.number for a in export.alerts] == [1, 2, 3, 5]
    assert len(export.refused) == 1 and export.refused[0].startswith("alert 4 ('hooli ('):")
    acme, globex, initech, umbrella = export.alerts

    assert (acme.query, acme.languages, acme.regions) == ('"acme corp" OR acme -scam', ("fr",), ("FR",))
    assert acme.providers == ("google-news", "bing-news")
    assert (acme.email, acme.frequency, acme.at_time, acme.timezone, acme.weekday) == (
        "com@acme.example", "daily", "07:30", "Europe/Paris", None,
    )  # fmt: skip
    assert any("best results" in n for n in acme.notes)

    assert globex.frequency == "weekly" and globex.weekday == "monday" and globex.at_time == "09:00"
    assert globex.timezone == "America/New_York"
    assert set(globex.providers) == {"google-news", "bing-news", "reddit", "hackernews"}
    assert any("web results" in n for n in globex.notes) and any("blog" in n for n in globex.notes)

    assert initech.query == "initech" and initech.email is None
    assert any("inurl:reviews" in n for n in initech.notes)
    assert any("RSS" in n for n in initech.notes)

    assert (umbrella.languages, umbrella.regions, umbrella.frequency, umbrella.at_time) == ((), (), "instant", "18:45")
    assert any("hourly" in n for n in umbrella.notes)


@pytest.mark.parametrize(
    "layout",
    [
        lambda alerts: json.dumps(alerts),
        lambda alerts: json.dumps({"subscriptions": alerts}),
        lambda alerts: "\n".join(json.dumps(a) for a in alerts),
    ],
    ids=["array", "subscriptions-key", "json-lines"],
)
def test_layouts_and_camel_case(layout):
    alerts = [{"query": "acme", "language": "EN", "country": "gb", "deliveryMethod": "EMAIL",
               "deliveryFrequency": "weekly", "emailAddress": "a@b.example",
               "deliveryTime": {"hours": 6, "dayOfWeek": 5, "timeZone": "Europe/London"}}]  # fmt: skip
    (alert,) = read_alerts_export(layout(alerts)).alerts
    assert (alert.languages, alert.regions) == (("en",), ("GB",))
    assert (alert.frequency, alert.at_time, alert.weekday, alert.timezone) == (
        "weekly",
        "06:00",
        "friday",
        "Europe/London",
    )


@pytest.mark.parametrize(
    ("alert", "note"),
    [
        ({"query": "acme AROUND(3) bakery"}, "AROUND"),
        ({"query": "acme", "source": ["VIDEO"]}, "YouTube"),
        ({"query": "acme", "delivery_method": "EMAIL", "delivery_time": "soon", "email_address": "a@b.example"},
         "not understood"),
        ({"query": "acme", "delivery_method": "EMAIL"}, "names no address"),
        ({"query": "acme", "language": "xx-yy"}, "not understood"),
    ],
    ids=["around", "video", "bad-time", "no-address", "bad-language"],
)  # fmt: skip
def test_unmappable_parts_are_noted(alert, note):
    (plan,) = read_alerts_export(json.dumps([alert])).alerts
    assert any(note in n for n in plan.notes), plan.notes


@pytest.mark.parametrize("bad", ["{", '{"nothing": 1}', "42"], ids=["broken", "no-alerts", "scalar"])
def test_not_an_export(bad):
    with pytest.raises(InvalidInputError):
        read_alerts_export(bad)
