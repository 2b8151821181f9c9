"""Complaints the inbound listener records count toward the sender's complaint-rate hard
stop: the same Redis window the workers' throttling reads."""

from __future__ import annotations

import smtplib
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

from delivery.inbound import InboundListener, ReportRecorder, verp_address
from delivery.queue import NewMessage, enqueue
from delivery.smtp import SmtpOutcome
from delivery.worker.throttling import Throttle, complaints_last_hour, count_complaint
from simulator.esp import free_port
from warehouse.db import Cells

REPORTS = Path(__file__).parent / "reports"
REGION = "apac"
DOMAIN = "news.complaints.example"


def test_a_complaint_through_the_listener_pauses_a_sender_over_the_rate(
    queue_cells: Cells,
    org: uuid.UUID,
    make_contact: Callable[[psycopg.Connection, uuid.UUID], uuid.UUID],
    redis_client: redis.Redis,
    run_prefix: str,
) -> None:
    prefix = f"{run_prefix}_complaints"
    sender = (org, DOMAIN)
    throttle = Throttle(redis_client, prefix)
    with queue_cells.connection(REGION) as conn:
        message_id = enqueue(
            conn, NewMessage(org, make_contact(conn, org), "marketing", DOMAIN)
        ).message_id
    delivered = SmtpOutcome("delivered", 250, "2.0.0 OK")
    for _ in range(300):
        throttle.count_send(sender)
    assert throttle.note_outcome("primary", sender, delivered) is None

    recorder = ReportRecorder(queue_cells, lambda s: count_complaint(redis_client, prefix, s))
    port = free_port()
    listener = InboundListener(recorder, port=port)
    listener.start()
    try:
        report = (REPORTS / "arf_complaint.eml").read_bytes()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            for _ in range(2):  # a feedback loop that sends the same report twice
                smtp.sendmail("", [verp_address(message_id, "bounce.example")], report)
    finally:
        listener.stop()

    assert recorder.stats["complained"] == 2
    assert complaints_last_hour(redis_client, prefix, sender) == 1  # counted once
    time.sleep(1.1)  # past the throttle's cache of the window's totals
    reason = throttle.note_outcome("primary", sender, delivered)
    assert reason is not None and reason.startswith("complaint rate 0.33%")
    with queue_cells.connection(REGION) as conn:
        kinds = [r[0] for r in conn.execute(
            "SELECT type FROM email_events WHERE message_id = %s", (message_id,))]  # fmt: skip
    assert kinds == ["complained"]
    for key in redis_client.scan_iter(match=f"{prefix}:*"):
        redis_client.delete(key)
