"""Simulated ESPs report after acceptance like providers: DSNs and ARF complaints, drawn
from the world's ground truth, sent over SMTP to the message's VERP return path."""

from __future__ import annotations

import smtplib
import time
import uuid
from datetime import UTC, datetime, timedelta

from delivery.bounces import Bounce, parse_report
from delivery.inbound import InboundListener, verp_address
from simulator.esp import EspBehaviour, SimulatedEsp, free_port
from simulator.reports import ReportPolicy, report_for
from simulator.world import World

MESSAGE = (
    "From: news@news.acme.example\r\nTo: {to}\r\nSubject: Offers\r\n"
    "Message-ID: <{id}@news.acme.example>\r\n\r\nHello\r\n"
)
WORLD = World(5, 400, datetime(2026, 9, 1, tzinfo=UTC), 60)


def test_reports_follow_the_world_and_are_the_same_for_the_same_seed() -> None:
    recipients = {r.email.lower(): r for r in WORLD.recipients()}
    policy = ReportPolicy(recipients, seed=3, after_accept_bounce_rate=0.0)
    at = WORLD.end
    reports = {}
    for address, recipient in recipients.items():
        raw = MESSAGE.format(to=address, id=recipient.index).encode()
        report = report_for(policy, "bounces+x@b.example", address, raw, 0, at)
        again = report_for(policy, "bounces+x@b.example", address, raw, 0, at)
        assert (report is None) == (again is None)
        if report is not None:
            reports[address] = report
            assert report.kind == again.kind  # type: ignore[union-attr]
    doomed = {a for a, r in recipients.items() if r.status_at(at + timedelta(days=14)) == "invalid"}
    dsns = {a for a, r in reports.items() if r.kind == "dsn"}
    assert doomed <= dsns  # a mailbox deleted soon after acceptance bounces later
    for address in doomed:
        (bounce,) = parse_report(reports[address].data)
        assert (bounce.kind, bounce.reason, bounce.hard) == ("dsn", "userunknown", True)
        assert bounce.recipient == address
    for report in reports.values():
        if report.kind == "complaint":
            (bounce,) = parse_report(report.data)
            assert (bounce.kind, bounce.reason) == ("arf", "feedback")


def test_an_esp_sends_its_reports_to_the_return_path_after_a_delay() -> None:
    received: list[tuple[uuid.UUID | None, list[Bounce]]] = []
    listener_port = free_port()
    listener = InboundListener(lambda m, b, raw: received.append((m, b)), port=listener_port)
    recipients = {r.email.lower(): r for r in WORLD.recipients(0, 20)}
    policy = ReportPolicy(
        recipients, listener_port=listener_port, delay_seconds=0.3, extra_complaint_rate=1.0,
        after_accept_bounce_rate=0.0,
    )  # fmt: skip
    ids = {address: uuid.uuid4() for address in recipients}
    listener.start()
    try:
        with SimulatedEsp(EspBehaviour("primary", reports=policy)) as esp:
            with smtplib.SMTP("127.0.0.1", esp.port, timeout=10) as smtp:
                for address, message_id in ids.items():
                    raw = MESSAGE.format(to=address, id=message_id).encode()
                    smtp.sendmail(verp_address(message_id, "b.example"), [address], raw)
            assert esp.counters.return_paths[0] == verp_address(ids[next(iter(ids))], "b.example")
            deadline = time.monotonic() + 10
            while len(received) < len(ids) and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        listener.stop()
    assert {m for m, _ in received} == set(ids.values())
    kinds = {b[0].kind for _, b in received}
    assert kinds <= {"arf", "dsn"} and "arf" in kinds
