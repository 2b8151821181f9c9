"""Simulated ESPs on loopback: aiosmtpd servers that answer like mailbox providers.

Each :class:`SimulatedEsp` accepts mail for valid addresses, rejects unknown users (550
5.1.1) and full mailboxes (452 4.2.2), defers a sender that goes faster than its rate
(451 4.7.28), and can be told to misbehave: block everything (554 5.7.1), answer every
message with a temporary failure (a 4xx storm), reply slowly, or drop connections. The
address statuses come from the simulated world (``addresses_from_world``), so bounces in a
demo follow the same latent truth as the history.

Like a provider, an ESP may also report on a message after accepting it: with a
:class:`~simulator.reports.ReportPolicy` in its behaviour (off by default), accepted messages
that the world's ground truth says will bounce later or be marked as spam produce a DSN or
an ARF complaint, sent over SMTP to the message's return path (the sender's inbound
listener) ``delay_seconds`` later, or when :meth:`SimulatedEsp.flush_reports` is called.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

from .reports import ReportOutbox, ReportPolicy, report_for

if TYPE_CHECKING:
    from .world import Recipient


REPORT_POLL_SECONDS = 0.5


@dataclass
class EspBehaviour:
    """How a simulated ESP answers; the fault switches may be flipped while it runs."""

    name: str
    max_per_second: float = 500.0
    unknown: frozenset[str] = frozenset()
    full: frozenset[str] = frozenset()
    blocked: bool = False
    storm_4xx: bool = False
    slow_reply_seconds: float = 0.0
    drop_connection_rate: float = 0.0
    seed: int = 0
    reports: ReportPolicy | None = None  # DSNs and complaints after acceptance (off: None)


@dataclass
class EspCounters:
    delivered: list[tuple[str, bytes]] = field(default_factory=list)  # (recipient, message)
    return_paths: list[str] = field(default_factory=list)  # MAIL FROM, beside ``delivered``
    answers: dict[str, int] = field(default_factory=dict)
    connections: int = 0
    dropped: int = 0


def addresses_from_world(
    recipients: Iterable[Recipient], at: datetime
) -> dict[str, frozenset[str]]:
    """``{"unknown": ..., "full": ...}`` addresses of the world's recipients at ``at``."""
    unknown, full = set(), set()
    for recipient in recipients:
        status = recipient.status_at(at)
        if status == "invalid":
            unknown.add(recipient.email.lower())
        elif status == "full":
            full.add(recipient.email.lower())
    return {"unknown": frozenset(unknown), "full": frozenset(full)}


class _Handler:
    def __init__(
        self, behaviour: EspBehaviour, counters: EspCounters, outbox: ReportOutbox | None
    ) -> None:
        self.behaviour = behaviour
        self.counters = counters
        self.outbox = outbox
        self._nth: dict[str, int] = {}
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        self._rng = random.Random(behaviour.seed)

    def _answer(self, reply: str) -> str:
        code = reply[:3]
        with self._lock:
            self.counters.answers[code] = self.counters.answers.get(code, 0) + 1
        return reply

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self._lock:
            self.counters.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        b = self.behaviour
        if b.blocked:
            return self._answer(f"554 5.7.1 Service unavailable; {b.name} blocked the sender")
        if b.storm_4xx:
            return self._answer("451 4.3.0 Temporary system failure, try again later")
        if not self._within_rate():
            return self._answer("451 4.7.28 Rate limited: too many messages, try again later")
        lowered = address.lower()
        if lowered in b.unknown:
            return self._answer("550 5.1.1 The email account does not exist")
        if lowered in b.full:
            return self._answer("452 4.2.2 The recipient's mailbox is full")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        b = self.behaviour
        if b.slow_reply_seconds:
            await asyncio.sleep(b.slow_reply_seconds)
        if b.drop_connection_rate and self._rng.random() < b.drop_connection_rate:
            with self._lock:
                self.counters.dropped += 1
            server.transport.close()
            return "421 4.4.2 Connection dropped"
        data = bytes(envelope.content)
        mail_from = str(envelope.mail_from or "")
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self.counters.delivered.append((rcpt, data))
                self.counters.return_paths.append(mail_from)
        if self.outbox is not None and b.reports is not None:
            for rcpt in envelope.rcpt_tos:
                with self._lock:
                    nth = self._nth[rcpt.lower()] = self._nth.get(rcpt.lower(), -1) + 1
                report = report_for(b.reports, mail_from, rcpt, data, nth)
                if report is not None:
                    self.outbox.add(report)
        return self._answer("250 2.0.0 OK queued")

    def _within_rate(self) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] > 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.behaviour.max_per_second:
                return False
            self._recent.append(now)
            return True


class SimulatedEsp:
    """One simulated ESP on 127.0.0.1; ``start()`` returns its port."""

    def __init__(self, behaviour: EspBehaviour, port: int | None = None) -> None:
        self.behaviour = behaviour
        self.counters = EspCounters()
        self.port = port or free_port()
        policy = behaviour.reports
        self.outbox = (
            ReportOutbox(policy.listener_host, policy.listener_port, policy.delay_seconds)
            if policy is not None
            else None
        )
        self._controller = Controller(
            _Handler(behaviour, self.counters, self.outbox), hostname="127.0.0.1", port=self.port
        )
        self._stopping = threading.Event()
        self._reporter: threading.Thread | None = None

    def start(self) -> int:
        self._controller.start()
        if self.outbox is not None and self.outbox.delay_seconds is not None:
            self._stopping.clear()
            self._reporter = threading.Thread(
                target=self._send_due_reports, name=f"esp-reports-{self.behaviour.name}",
                daemon=True,
            )  # fmt: skip
            self._reporter.start()
        return self.port

    def stop(self) -> None:
        self._stopping.set()
        if self._reporter is not None:
            self._reporter.join(timeout=30)
            self._reporter = None
        self._controller.stop()

    def flush_reports(self) -> int:
        """Send every report still held, due or not; returns how many the listener took."""
        return self.outbox.flush() if self.outbox is not None else 0

    def _send_due_reports(self) -> None:
        assert self.outbox is not None
        while not self._stopping.wait(REPORT_POLL_SECONDS):
            self.outbox.flush(due_only=True)

    def __enter__(self) -> SimulatedEsp:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
