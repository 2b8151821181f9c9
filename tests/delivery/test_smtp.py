"""SMTP through pooled connections to an aiosmtpd server on loopback: answers become
outcomes, connections carry many messages, a dead server is a network deferral."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from delivery.routing import Route
from delivery.smtp import SmtpOutcome, SmtpPool
from simulator.esp import free_port


class Provider:
    """Answers like a mailbox provider, by the recipient's local part."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, bytes]] = []
        self.sessions = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        local = address.split("@", 1)[0]
        if local.startswith("quoting"):
            return f"550 5.1.1 <{address.upper()}>: Recipient address rejected: User unknown"
        if local.startswith("unknown"):
            return "550 5.1.1 The email account that you tried to reach does not exist"
        if local.startswith("full"):
            return "452 4.2.2 The recipient's inbox is out of storage space"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if b"spam-marker" in envelope.content:
            return "554 5.7.1 Message rejected as spam"
        for rcpt in envelope.rcpt_tos:
            self.delivered.append((rcpt, envelope.content))
        return "250 2.0.0 OK queued"


@pytest.fixture
def provider() -> Iterator[tuple[Provider, Route]]:
    handler = Provider()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    route = Route("primary", "127.0.0.1", port, frozenset({"na"}), tls="none", max_connections=2)
    yield handler, route
    controller.stop()


MESSAGE = b"From: a@news.example\r\nTo: b@x.example\r\nSubject: hi\r\n\r\nHello\r\n"


def test_answers_become_outcomes(provider: tuple[Provider, Route]) -> None:
    handler, route = provider

    async def run() -> list[SmtpOutcome]:
        pool = SmtpPool(route, timeout=5)
        outcomes = [
            await pool.send("bounce@news.example", to, body)
            for to, body in (
                ("ada@x.example", MESSAGE),
                ("unknown1@x.example", MESSAGE),
                ("full@x.example", MESSAGE),
                ("bob@x.example", MESSAGE + b"spam-marker\r\n"),
            )
        ]
        await pool.close()
        return outcomes

    delivered, unknown, full, spam = asyncio.run(run())
    assert (delivered.status, delivered.code) == ("delivered", 250)
    assert (unknown.status, unknown.reason, unknown.hard) == ("bounced", "userunknown", True)
    assert (full.status, full.reason, full.hard) == ("deferred", "mailboxfull", False)
    assert (spam.status, spam.reason, spam.hard) == ("bounced", "spamdetected", False)
    assert [rcpt for rcpt, _ in handler.delivered] == ["ada@x.example"]


def test_a_reply_quoting_the_recipients_address_is_kept_with_the_address_masked(
    provider: tuple[Provider, Route],
) -> None:
    _, route = provider

    async def run() -> SmtpOutcome:
        pool = SmtpPool(route, timeout=5)
        outcome = await pool.send("bounce@news.example", "quoting.ada@x.example", MESSAGE)
        await pool.close()
        return outcome

    outcome = asyncio.run(run())
    assert (outcome.status, outcome.reason) == ("bounced", "userunknown")
    assert outcome.text == "5.1.1 <<recipient>>: Recipient address rejected: User unknown"
    assert "ada" not in outcome.text.lower()


def test_connections_are_pooled_and_bounded(provider: tuple[Provider, Route]) -> None:
    handler, route = provider

    async def run() -> SmtpPool:
        pool = SmtpPool(route, timeout=5)
        sends = [pool.send("b@news.example", f"r{i}@x.example", MESSAGE) for i in range(40)]
        outcomes = await asyncio.gather(*sends)
        assert {o.status for o in outcomes} == {"delivered"}
        await pool.close()
        return pool

    pool = asyncio.run(run())
    assert len(handler.delivered) == 40
    assert pool.connections_opened <= route.max_connections == 2
    assert handler.sessions == pool.connections_opened


def test_a_server_that_is_not_there_is_a_network_deferral() -> None:
    route = Route("gone", "127.0.0.1", free_port(), frozenset({"na"}), tls="none")

    async def run() -> SmtpOutcome:
        pool = SmtpPool(route, timeout=2)
        return await pool.send("b@news.example", "r@x.example", MESSAGE)

    outcome = asyncio.run(run())
    assert (outcome.status, outcome.reason, outcome.hard) == ("deferred", "networkerror", False)
