"""Asynchronous reports: VERP return paths, the inbound listener on loopback, and the events
and suppressions a report writes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiosmtplib
import psycopg
import pytest

from delivery.bounces import Bounce
from delivery.inbound import (
    InboundListener,
    message_id_from_verp,
    record_report,
    verp_address,
)
from delivery.queue import NewMessage, enqueue
from simulator.esp import free_port
from warehouse.db import Cells
from warehouse.events import EventWriter

REPORTS = Path(__file__).parent / "reports"
REGION = "apac"


def test_a_verp_address_names_its_message() -> None:
    message_id = uuid.uuid4()
    address = verp_address(message_id, "bounce.postwise.example")
    assert message_id_from_verp(address) == message_id
    assert message_id_from_verp("someone@bounce.postwise.example") is None
    assert message_id_from_verp("bounces+not-a-uuid-at-all-but-36-chars-long!!@x") is None


def test_the_listener_parses_reports_sent_to_verp_addresses() -> None:
    received: list[tuple[uuid.UUID | None, list[Bounce]]] = []
    port = free_port()
    listener = InboundListener(lambda m, bounces, raw: received.append((m, bounces)), port=port)
    listener.start()
    message_id = uuid.uuid4()
    try:
        raw = (REPORTS / "postfix_dsn_userunknown.eml").read_bytes()
        asyncio.run(
            aiosmtplib.send(
                raw,
                sender="mailer-daemon@mx.sender.example",
                recipients=[verp_address(message_id, "bounce.example")],
                hostname="127.0.0.1",
                port=port,
            )
        )
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        listener.stop()
    ((got_id, bounces),) = received
    assert got_id == message_id
    assert [(b.reason, b.hard, b.recipient) for b in bounces] == [
        ("userunknown", True, "nobody@gmail.example")
    ]


@pytest.mark.parametrize(
    ("report", "events", "suppressions"),
    [
        ("postfix_dsn_userunknown.eml", ["bounced"], ["hard_bounce"]),
        ("arf_complaint.eml", ["complained"], ["complaint"]),
        ("autoreply_out_of_office.eml", [], []),
        ("exim_blocked.eml", ["bounced"], []),
    ],
)
def test_a_report_writes_its_events_and_suppressions(
    queue_cells: Cells,
    org: uuid.UUID,
    make_contact: Callable[[psycopg.Connection, uuid.UUID], uuid.UUID],
    report: str,
    events: list[str],
    suppressions: list[str],
) -> None:
    from delivery.bounces import parse_report

    with queue_cells.connection(REGION) as conn:
        contact_id = make_contact(conn, org)
        queued = enqueue(conn, NewMessage(org, contact_id, "marketing", "news.acme.example"))
        bounces = parse_report((REPORTS / report).read_bytes())
        written = record_report(conn, EventWriter(), queued.message_id, bounces, REGION)
        again = record_report(conn, EventWriter(), queued.message_id, bounces, REGION)
        stored = conn.execute(
            "SELECT type, details->>'bounce_type', details->>'diagnostic' FROM email_events "
            "WHERE org_id = %s",
            (org,),
        ).fetchall()
        reasons = [r[0] for r in conn.execute(
            "SELECT reason FROM suppressions WHERE org_id = %s", (org,))]  # fmt: skip
        unknown = record_report(conn, EventWriter(), uuid.uuid4(), bounces, REGION)
    assert written == again == events
    assert [t for t, _, _ in stored] == events  # the replay wrote nothing twice
    assert all("@" not in (diagnostic or "") for _, _, diagnostic in stored)
    assert reasons == suppressions
    assert unknown == []
    if report == "exim_blocked.eml":
        assert stored[0][1] == "soft"  # a 554 block is not the address's fault


def test_an_address_quoted_in_a_reports_diagnostic_is_masked(
    queue_cells: Cells,
    org: uuid.UUID,
    make_contact: Callable[[psycopg.Connection, uuid.UUID], uuid.UUID],
) -> None:
    quoting = Bounce(
        "dsn", "userunknown", True, "Nobody@Gmail.example", 550, "5.1.1",
        "550 5.1.1 <Nobody@Gmail.example>: Recipient address rejected: User unknown",
    )  # fmt: skip
    with queue_cells.connection(REGION) as conn:
        contact_id = make_contact(conn, org)
        queued = enqueue(conn, NewMessage(org, contact_id, "marketing", "news.acme.example"))
        record_report(conn, EventWriter(), queued.message_id, [quoting], REGION)
        [(diagnostic,)] = conn.execute(
            "SELECT details->>'diagnostic' FROM email_events WHERE message_id = %s",
            (queued.message_id,),
        ).fetchall()
    assert diagnostic == "550 5.1.1 <<recipient>>: Recipient address rejected: User unknown"
