"""SMTP outcomes applied to leased messages: queue state, events and suppressions in one
transaction, each message in exactly one terminal state, replays writing nothing twice."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

from delivery.outcomes import record_delivered, record_outcome
from delivery.queue import Claimed, NewMessage, claim_due, enqueue
from delivery.retry import RetryPolicy
from delivery.smtp import SmtpOutcome
from warehouse.db import Cells
from warehouse.events import EventWriter

REGION = "apac"
MakeContact = Callable[[psycopg.Connection, uuid.UUID], uuid.UUID]
NOW = datetime.now(UTC)
POLICY = RetryPolicy(max_attempts=3, fallback_after=2)


def _claimed(queue_cells: Cells, org: uuid.UUID, make_contact: MakeContact) -> Claimed:
    with queue_cells.connection(REGION) as conn:
        contact_id = make_contact(conn, org)
        enqueue(conn, NewMessage(org, contact_id, "marketing", "news.acme.example"))
        (claimed,) = [m for m in claim_due(conn, "w1", 10, 60) if m.org_id == org]
    return claimed


def _record(queue_cells: Cells, claimed: Claimed, outcome: SmtpOutcome) -> str:
    with queue_cells.connection(REGION) as conn:
        return record_outcome(
            conn, EventWriter(), "w1", claimed, outcome, route="primary",
            fallback_route="ses-virginia", region=REGION, policy=POLICY,
            rng=random.Random(0), now=NOW,
        ).status  # fmt: skip


def _state(queue_cells: Cells, org: uuid.UUID) -> tuple[list[str], list[str], int]:
    with queue_cells.connection(REGION) as conn:
        messages = conn.execute("SELECT status FROM messages WHERE org_id = %s", (org,))
        statuses = [row[0] for row in messages]
        events = conn.execute(
            "SELECT type FROM email_events WHERE org_id = %s ORDER BY ingest_seq", (org,)
        )
        kinds = [row[0] for row in events]
        row = conn.execute("SELECT count(*) FROM suppressions WHERE org_id = %s", (org,))
        suppressed = int(row.fetchone()[0])  # type: ignore[index]
    return statuses, kinds, suppressed


def test_a_delivery_is_terminal_with_sent_and_delivered_events_once(
    queue_cells: Cells, org: uuid.UUID, make_contact: MakeContact
) -> None:
    claimed = _claimed(queue_cells, org, make_contact)
    ok = SmtpOutcome.from_reply(250, "2.0.0 OK queued")
    assert _record(queue_cells, claimed, ok) == "delivered"
    assert _record(queue_cells, claimed, ok) == "lost"  # a replay finds no lease
    assert _state(queue_cells, org) == (["delivered"], ["sent", "delivered"], 0)


def test_a_hard_bounce_is_terminal_and_suppresses_the_address(
    queue_cells: Cells, org: uuid.UUID, make_contact: MakeContact
) -> None:
    claimed = _claimed(queue_cells, org, make_contact)
    bounce = SmtpOutcome.from_reply(550, "5.1.1 The email account does not exist")
    assert _record(queue_cells, claimed, bounce) == "bounced"
    with queue_cells.connection(REGION) as conn:
        details = conn.execute(
            "SELECT enhanced_code, details->>'reason' FROM email_events WHERE org_id = %s", (org,)
        ).fetchone()
    assert details == ("5.1.1", "userunknown")
    assert _state(queue_cells, org) == (["bounced"], ["bounced"], 1)


def test_deferrals_retry_then_fall_back_then_fail_for_good(
    queue_cells: Cells, org: uuid.UUID, make_contact: MakeContact
) -> None:
    claimed = _claimed(queue_cells, org, make_contact)
    busy = SmtpOutcome.from_reply(451, "4.7.0 Try again later")
    assert _record(queue_cells, claimed, busy) == "deferred"
    with queue_cells.connection(REGION) as conn:
        route, due = conn.execute(
            "SELECT route, next_attempt_at FROM messages WHERE org_id = %s", (org,)
        ).fetchone()  # type: ignore[misc]
        assert route == "primary" and NOW + timedelta(minutes=4) < due <= NOW + timedelta(hours=2)
        for attempt in (2, 3):
            conn.execute("UPDATE messages SET next_attempt_at = now() WHERE org_id = %s", (org,))
            conn.commit()
            (claimed,) = [m for m in claim_due(conn, "w1", 10, 60) if m.org_id == org]
            conn.commit()
            assert claimed.attempts == attempt
            expected = "deferred" if attempt < POLICY.max_attempts else "failed"
            assert _record(queue_cells, claimed, busy) == expected
            if attempt == 2:
                row = conn.execute("SELECT route FROM messages WHERE org_id = %s", (org,))
                assert row.fetchone() == ("ses-virginia",)  # the fallback from now on
    statuses, events, suppressed = _state(queue_cells, org)
    assert statuses == ["failed"] and suppressed == 0
    assert events == ["deferred", "deferred", "deferred", "failed"]


def test_deliveries_recorded_together_are_fenced_and_replay_nothing(
    queue_cells: Cells, org: uuid.UUID, make_contact: MakeContact
) -> None:
    claimed = [_claimed(queue_cells, org, make_contact) for _ in range(3)]
    ok = SmtpOutcome.from_reply(250, "2.0.0 OK queued")
    with queue_cells.connection(REGION) as conn:
        # The third was taken over by another worker after its lease ran out.
        conn.execute(
            "UPDATE messages SET lease_owner = 'w2' WHERE message_id = %s",
            (claimed[2].message_id,),
        )
    sent = [(message, "primary", ok) for message in claimed]
    writer = EventWriter()
    with queue_cells.connection(REGION) as conn:
        first = record_delivered(conn, writer, "w1", sent, region=REGION, now=NOW)
    with queue_cells.connection(REGION) as conn:
        again = record_delivered(conn, writer, "w1", sent, region=REGION, now=NOW)

    assert [r.status for r in first] == ["delivered", "delivered", "lost"]
    assert [r.status for r in again] == ["lost", "lost", "lost"]
    statuses, kinds, _ = _state(queue_cells, org)
    assert sorted(statuses) == ["delivered", "delivered", "sending"]
    assert sorted(kinds) == ["delivered", "delivered", "sent", "sent"]
    with queue_cells.connection(REGION) as conn:
        row = conn.execute(
            "SELECT route, smtp_code, sent_at IS NOT NULL, lease_owner FROM messages "
            "WHERE message_id = %s",
            (claimed[0].message_id,),
        ).fetchone()
    assert row == ("primary", 250, True, None)
