"""The MIME message: multipart/alternative, UTF-8 in both parts, headers, Message-ID as given."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from email.utils import parsedate_to_datetime

import pytest

from erepwatch.notify.email import build_message, make_message_id
from erepwatch.notify.render import Rendered

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def parsed(base_url: str = "", secret: str = ""):
    rendered = Rendered(
        "[erepwatch] Acme : 1 nouvelle mention, dont 1 négative", "Café crème — Acme\n", "<p>Café crème — Acme</p>"
    )
    mid = make_message_id("digest.7.20260310T120000.email", "veille@exemple.fr")
    msg = build_message(
        rendered,
        mail_from="veille@exemple.fr",
        to="dir@exemple.fr",
        message_id=mid,
        date=NOW,
        kind="digest",
        base_url=base_url,
        secret=secret,
    )
    return message_from_bytes(msg.as_bytes(), policy=default), mid


def test_multipart_alternative_utf8_both_parts():
    msg, _ = parsed()
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert part.get_content_charset() == "utf-8" and "Café crème" in part.get_content()


def test_headers():
    msg, mid = parsed()
    assert msg["Message-ID"] == mid == "<digest.7.20260310T120000.email@exemple.fr>"
    assert msg["Subject"] == "[erepwatch] Acme : 1 nouvelle mention, dont 1 négative"
    assert msg["From"].addresses[0].addr_spec == "veille@exemple.fr" and msg["To"] == "dir@exemple.fr"
    assert parsedate_to_datetime(msg["Date"]) == NOW
    assert str(msg["List-Unsubscribe"]).strip().startswith("<mailto:veille@exemple.fr?subject=unsubscribe")
    assert msg["List-Id"] == "erepwatch digest <digest.erepwatch.exemple.fr>"
    assert msg["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize("base", ["https://veille.exemple.fr"], ids=["web"])
def test_unsubscribe_link_to_web_page_when_configured(base):
    from erepwatch.signing import read_unsubscribe_token

    msg, _ = parsed(base, secret="k" * 40)
    link = str(msg["List-Unsubscribe"]).strip().split(">")[0].lstrip("<")
    assert link.startswith(f"{base}/unsubscribe/")
    assert read_unsubscribe_token("k" * 40, link.rsplit("/", 1)[1]) == "dir@exemple.fr"
    assert "mailto:" in msg["List-Unsubscribe"]


def test_message_id_is_sanitised():
    assert make_message_id("alert.1.a b<c>", "x@y.org") == "<alert.1.a-b-c-@y.org>"
