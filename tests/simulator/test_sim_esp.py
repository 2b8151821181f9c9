"""Simulated ESPs on loopback answer like providers, through Postwise's own SMTP pool."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from delivery.routing import Route
from delivery.smtp import SmtpOutcome, SmtpPool
from simulator.esp import EspBehaviour, SimulatedEsp, addresses_from_world
from simulator.world import World

MESSAGE = b"From: a@news.example\r\nTo: b@x.example\r\nSubject: hi\r\n\r\nHello\r\n"


def _send(esp: SimulatedEsp, recipients: list[str], timeout: float = 5.0) -> list[SmtpOutcome]:
    route = Route(esp.behaviour.name, "127.0.0.1", esp.port, frozenset({"na"}), tls="none")

    async def run() -> list[SmtpOutcome]:
        pool = SmtpPool(route, timeout=timeout)
        outcomes = [await pool.send("bounce@news.example", to, MESSAGE) for to in recipients]
        await pool.close()
        return outcomes

    return asyncio.run(run())


def _summary(outcomes: list[SmtpOutcome]) -> list[tuple[str, str | None]]:
    return [(o.status, o.reason) for o in outcomes]


def test_an_esp_accepts_rejects_and_defers_by_address() -> None:
    behaviour = EspBehaviour(
        "primary", unknown=frozenset({"gone@x.example"}), full=frozenset({"full@x.example"})
    )
    with SimulatedEsp(behaviour) as esp:
        outcomes = _send(esp, ["ada@x.example", "gone@x.example", "full@x.example"])
    assert _summary(outcomes) == [
        ("delivered", None),
        ("bounced", "userunknown"),
        ("deferred", "mailboxfull"),
    ]
    assert [rcpt for rcpt, _ in esp.counters.delivered] == ["ada@x.example"]


def test_a_sender_faster_than_the_rate_is_deferred() -> None:
    with SimulatedEsp(EspBehaviour("virginia", max_per_second=5)) as esp:
        outcomes = _send(esp, [f"r{i}@x.example" for i in range(12)])
    statuses = [o.status for o in outcomes]
    assert statuses[:5] == ["delivered"] * 5
    assert {(o.status, o.reason) for o in outcomes[5:]} == {("deferred", "exceedlimit")}


def test_fault_switches_block_storm_slow_and_drop() -> None:
    cases = [
        (EspBehaviour("a", blocked=True), ("bounced", "blocked")),
        (EspBehaviour("b", storm_4xx=True), ("deferred", "systemerror")),
        (EspBehaviour("c", drop_connection_rate=1.0), ("deferred", "networkerror")),
        (EspBehaviour("d", slow_reply_seconds=1.5), ("deferred", "networkerror")),
    ]
    for behaviour, expected in cases:
        with SimulatedEsp(behaviour) as esp:
            (outcome,) = _send(esp, ["ada@x.example"], timeout=0.5)
        assert (outcome.status, outcome.reason) == expected, behaviour.name


def test_address_statuses_come_from_the_simulated_world() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    recipients = list(World(5, 3000, start, 60).recipients())
    at = start + timedelta(days=60)
    statuses = addresses_from_world(recipients, at)
    by_email = {r.email.lower(): r.status_at(at) for r in recipients}
    assert statuses["unknown"] and statuses["full"]
    assert all(by_email[e] == "invalid" for e in statuses["unknown"])
    assert all(by_email[e] == "full" for e in statuses["full"])
