"""A poisoned setting cannot get in (issue 18 point 5): every entry point refuses an unusable recipient time
zone, time, locale or weekday, and a watch name with a line break, with one line naming the problem."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--tz", "Mars/Olympus", "unknown time zone"),
        ("--tz", "../../etc/passwd", "unknown time zone"),
        ("--at", "25:00", "--at"),
        ("--locale", "xx", "locale"),
        ("--day", "caturday", "caturday"),
    ],
)
def test_cli_refuses_bad_recipient_values(cli, option, value, says):
    args = ["recipient", "add", "a@example.com", option, value]
    if option == "--day":
        args += ["--frequency", "weekly"]
    result = cli(*args, ok=False)
    assert says in result.err and len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert cli("recipient", "list", "--json").json() == []


@pytest.mark.parametrize("name", ["acme\r\nBcc: x@evil.example", "acme\nnews", "a\x1bb"])
def test_watch_names_with_line_breaks_are_refused_everywhere(cli, tmp_path, name):
    result = cli("watch", "add", name, "--query", "acme", ok=False)
    assert "line breaks or control characters" in result.err and len(result.err.strip().splitlines()) == 1
    lines = tmp_path / "watches.jsonl"
    lines.write_text(json.dumps({"name": name, "query": "acme"}) + "\n")
    cli("watch", "import", str(lines), ok=False)
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps({"erepwatch_backup": 1, "watches": [{"name": name, "query": "acme"}]}))
    cli("import", str(backup), "--json", ok=None)
    assert cli("watch", "list", "--json").json() == []


def test_backup_import_refuses_a_bad_recipient_and_keeps_the_others(cli, tmp_path):
    backup = tmp_path / "backup.json"
    rows = [
        {"email": "mars@example.com", "timezone": "Mars/Olympus"},
        {"email": "late@example.com", "at": "24:61"},
        {"email": "day@example.com", "frequency": "weekly", "weekday": "caturday"},
        {"email": "lang@example.com", "locale": "klingon"},
        {"email": "ok@example.com", "timezone": "America/Montreal", "at": "07:15"},
    ]
    backup.write_text(json.dumps({"erepwatch_backup": 1, "recipients": rows}))
    result = cli("import", str(backup), "--json", ok=None)
    report = json.loads(result.out) if result.out.strip() else {}
    listed = {r["email"]: r for r in cli("recipient", "list", "--json").json()}
    assert set(listed) == {"ok@example.com"}
    assert listed["ok@example.com"]["tz"] == "America/Montreal"
    problems = " ".join(report.get("problems", [])) + result.err
    for email in ("mars@", "late@", "day@", "lang@"):
        assert email in problems


def test_google_alerts_import_refuses_an_unknown_time_zone(cli, tmp_path):
    export = tmp_path / "alerts.json"
    export.write_text(
        json.dumps(
            [
                {
                    "query": "acme",
                    "deliveryMethod": "EMAIL",
                    "deliveryFrequency": "daily",
                    "emailAddress": "a@example.com",
                    "deliveryTime": {"hours": 7, "timeZone": "Mars/Olympus"},
                }
            ]
        )
    )
    result = cli("import", "google-alerts", str(export), "--json", ok=None)
    (recipient,) = cli("recipient", "list", "--json").json()
    assert recipient["tz"] == "Europe/Paris", "the unusable zone is refused, the default kept"
    assert "Mars/Olympus" in result.out + result.err
