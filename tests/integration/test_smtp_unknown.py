"""Exactly one e-mail after a timeout (issue 18 point 7): when the SMTP server accepts the message only after
the client gave up waiting, the delivery is ``unknown`` (may have gone out) and is never resent by itself; a
person resends it on purpose with ``erepwatch deliveries --retry ID``."""

from __future__ import annotations

import asyncio
import time
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from tests.integration.test_notify_smtp import _free_port, _setup


class SlowAfterData:
    """Takes the whole message, then answers "250" only after ``delay`` seconds (past the client's timeout)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.delay = 0.0

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        await asyncio.sleep(self.delay)
        return "250 OK"


@pytest.fixture
def slow_smtp():
    handler = SlowAfterData()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_a_reply_that_never_comes_after_data_is_unknown_and_not_resent(cli, server, slow_smtp, monkeypatch, tmp_path):
    controller, handler = slow_smtp
    _setup(cli, server, monkeypatch, tmp_path, f"smtp://127.0.0.1:{controller.port}?starttls=false&timeout=1",
           ["Acme va bien"])  # fmt: skip
    handler.delay = 3
    first = cli("digest", "send", "--recipient", "dir@exemple.fr", "--json").json()
    assert len(handler.messages) == 1, "the server got the message"
    assert first["sent"] == 0 and first["unknown"] == 1 and first["retried"] == 0
    (row,) = cli("deliveries", "--status", "unknown", "--json").json()
    assert "may have gone out" in row["last_error"]

    # Later sends (the daemon's, or by hand) never resend it, even once the server is fast again.
    handler.delay = 0
    time.sleep(1.2)
    cli("digest", "send", "--json")
    cli("digest", "send", "--json")
    assert len(handler.messages) == 1

    # On purpose: the same message again, with the same Message-ID.
    cli("deliveries", "--retry", str(row["id"]))
    again = cli("digest", "send", "--json").json()
    assert again["sent"] == 1 and len(handler.messages) == 2
    ids = {message_from_bytes(m, policy=default)["Message-ID"] for m in handler.messages}
    assert ids == {row["message_id"]}
    assert cli("deliveries", "--status", "sent", "--json").json()[0]["id"] == row["id"]


def test_retry_refuses_a_delivery_that_is_not_unknown_or_failed(cli, server, slow_smtp, monkeypatch, tmp_path):
    controller, handler = slow_smtp
    _setup(cli, server, monkeypatch, tmp_path, f"smtp://127.0.0.1:{controller.port}?starttls=false",
           ["Acme va bien"])  # fmt: skip
    cli("digest", "send", "--recipient", "dir@exemple.fr")
    (row,) = cli("deliveries", "--json").json()
    result = cli("deliveries", "--retry", str(row["id"]), ok=False)
    assert "is sent; only unknown or failed deliveries are resent" in result.err
    assert "no delivery 999" in cli("deliveries", "--retry", "999", ok=False).err
    assert len(handler.messages) == 1
