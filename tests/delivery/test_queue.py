"""The delivery queue on a real PostgreSQL cell: idempotent enqueue, batched claims with
SKIP LOCKED, leases that expire and are taken over, and fencing of lost leases."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from delivery.queue import (
    EnqueueError,
    NewMessage,
    claim_due,
    defer,
    enqueue,
    enqueue_many,
    finish,
    release,
    renew,
)
from warehouse.db import Cells

REGION = "apac"


def _message(org_id: uuid.UUID, **changes: object) -> NewMessage:
    fields: dict[str, object] = {
        "org_id": org_id,
        "contact_id": uuid.uuid4(),
        "campaign_type": "marketing",
        "sending_domain": "news.acme.example",
        "variables": {"first_name": "Ada"},
    }
    fields.update(changes)
    return NewMessage(**fields)  # type: ignore[arg-type]


def _status(cells: Cells, org_id: uuid.UUID) -> dict[str, int]:
    with cells.connection(REGION) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM messages WHERE org_id = %s GROUP BY 1", (org_id,)
        ).fetchall()
    return {status: int(n) for status, n in rows}


def test_an_idempotency_key_queues_one_message_per_organization(
    queue_cells: Cells, org: uuid.UUID
) -> None:
    with queue_cells.connection(REGION) as conn:
        first = enqueue(conn, _message(org, idempotency_key="order-17"))
        again = enqueue(conn, _message(org, idempotency_key="order-17"))
        other = enqueue(conn, _message(org, idempotency_key="order-18"))
    assert first.created and not again.created and first.message_id == again.message_id
    assert other.created and other.message_id != first.message_id
    assert _status(queue_cells, org) == {"queued": 2}


def test_a_batch_is_queued_as_one_enqueue_each_would_queue_it(
    queue_cells: Cells, org: uuid.UUID
) -> None:
    with queue_cells.connection(REGION) as conn:
        earlier = enqueue(conn, _message(org, idempotency_key="k-1"))
        batch = [
            _message(org, idempotency_key="k-1"),  # used before the batch
            _message(org, idempotency_key="k-2"),
            _message(org, idempotency_key="k-2"),  # used earlier in the batch
            _message(org),  # no key: always new
            _message(org, idempotency_key="k-3", variables={"n": 3}),
        ]
        done = enqueue_many(conn, batch)
        again = enqueue_many(conn, batch)
        variables = conn.execute(
            "SELECT variables FROM messages WHERE message_id = %s", (done[4].message_id,)
        ).fetchone()
    assert [d.created for d in done] == [False, True, False, True, True]
    assert done[0].message_id == earlier.message_id
    assert done[2].message_id == done[1].message_id
    assert [d.created for d in again] == [False, False, False, True, False]
    assert [d.message_id for d in again[:3]] == [d.message_id for d in done[:3]]
    assert variables == ({"n": 3},)
    assert _status(queue_cells, org) == {"queued": 5}  # 1 before, 3 new, 1 unkeyed again
    with queue_cells.connection(REGION) as conn, pytest.raises(EnqueueError):
        enqueue_many(conn, [_message(org), _message(org, campaign_type="bulk")])
    assert _status(queue_cells, org) == {"queued": 5}


def test_concurrent_requests_with_one_key_create_one_message(
    queue_cells: Cells, org: uuid.UUID
) -> None:
    results = []

    def request() -> None:
        with psycopg.connect(queue_cells.url(REGION)) as conn:
            results.append(enqueue(conn, _message(org, idempotency_key="burst")))

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.message_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert _status(queue_cells, org) == {"queued": 1}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"campaign_type": "newsletter"}, "campaign_type must be one of"),
        ({"scheduled_at": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"idempotency_key": ""}, "idempotency key"),
        ({"sending_domain": "me@acme.example"}, "domain name"),
        ({"variant_probability": 0.0}, "variant_probability"),
    ],
)
def test_bad_messages_are_refused_before_anything_is_written(
    queue_cells: Cells, org: uuid.UUID, changes: dict, message: str
) -> None:
    with queue_cells.connection(REGION) as conn, pytest.raises(EnqueueError, match=message):
        enqueue(conn, _message(org, **changes))
    assert _status(queue_cells, org) == {}


def test_workers_claim_disjoint_batches_of_due_messages_only(
    queue_cells: Cells, org: uuid.UUID
) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    with queue_cells.connection(REGION) as conn:
        for _ in range(40):
            enqueue(conn, _message(org))
        enqueue(conn, _message(org, scheduled_at=later))
    claimed: list[uuid.UUID] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while True:
            with psycopg.connect(queue_cells.url(REGION)) as conn:
                batch = claim_due(conn, name, limit=3, lease_seconds=60)
                batch = [m for m in batch if m.org_id == org]
                time.sleep(0.01)  # hold the row locks a moment, as a worker would
            if not batch:
                return
            with lock:
                claimed.extend(m.message_id for m in batch)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == len(set(claimed)) == 40
    assert _status(queue_cells, org) == {"sending": 40, "queued": 1}


def test_an_expired_lease_is_taken_over_and_the_old_owner_is_fenced_off(
    queue_cells: Cells, org: uuid.UUID
) -> None:
    with queue_cells.connection(REGION) as conn:
        enqueue(conn, _message(org))
        (lost,) = [m for m in claim_due(conn, "crashed", 50, lease_seconds=0.5) if m.org_id == org]
    time.sleep(0.7)
    with queue_cells.connection(REGION) as conn:
        (taken,) = [m for m in claim_due(conn, "rescuer", 50, lease_seconds=60) if m.org_id == org]
        assert taken.message_id == lost.message_id and taken.attempts == 2
        assert not finish(conn, "crashed", lost, "delivered")  # its lease is gone
        assert finish(conn, "rescuer", taken, "delivered", route="primary", smtp_code=250)
        assert not finish(conn, "rescuer", taken, "bounced")  # one terminal state only
    assert _status(queue_cells, org) == {"delivered": 1}


def test_deferred_messages_come_back_when_due_and_released_ones_at_once(
    queue_cells: Cells, org: uuid.UUID
) -> None:
    with queue_cells.connection(REGION) as conn:
        for _ in range(2):
            enqueue(conn, _message(org))
        first, second = [m for m in claim_due(conn, "w", 50, 60) if m.org_id == org]
        assert defer(conn, "w", first, datetime.now(UTC) + timedelta(seconds=0.5), smtp_code=451)
        assert release(conn, "w", [second]) == 1
        again = [m for m in claim_due(conn, "w", 50, 60) if m.org_id == org]
        assert [m.message_id for m in again] == [second.message_id]
        assert again[0].attempts == 1  # a release is not an attempt
    time.sleep(0.6)
    with queue_cells.connection(REGION) as conn:
        due = [m for m in claim_due(conn, "w", 50, 60) if m.org_id == org]
        assert [m.message_id for m in due] == [first.message_id] and due[0].attempts == 2
        with pytest.raises(ValueError, match="terminal state"):
            finish(conn, "w", due[0], "sending")


def test_a_heartbeat_renews_its_own_leases_and_never_waits_on_a_locked_row(
    queue_cells: Cells, org: uuid.UUID
) -> None:
    with queue_cells.connection(REGION) as conn:
        for _ in range(3):
            enqueue(conn, _message(org))
        mine = [m for m in claim_due(conn, "w1", 50, lease_seconds=5) if m.org_id == org]
    assert len(mine) == 3
    busy, *free = mine

    def expiry(message_id: uuid.UUID) -> datetime:
        with queue_cells.connection(REGION) as conn:
            row = conn.execute(
                "SELECT lease_expires_at FROM messages WHERE message_id = %s", (message_id,)
            ).fetchone()
        assert row is not None
        return row[0]

    before = {m.message_id: expiry(m.message_id) for m in mine}
    with psycopg.connect(queue_cells.url(REGION)) as writer:
        # Another transaction holds one row, as an outcome being written would.
        writer.execute(
            "SELECT 1 FROM messages WHERE message_id = %s FOR UPDATE", (busy.message_id,)
        )
        with queue_cells.connection(REGION) as conn:
            conn.execute("SET lock_timeout = '2s'")
            started = time.monotonic()
            renewed = renew(conn, "w1", mine, lease_seconds=600)
            waited = time.monotonic() - started
            assert renew(conn, "someone-else", mine, lease_seconds=600) == 0
    assert renewed == 2 and waited < 1.0
    assert expiry(busy.message_id) == before[busy.message_id]
    for message in free:
        assert expiry(message.message_id) > before[message.message_id] + timedelta(minutes=5)
    with queue_cells.connection(REGION) as conn:
        assert renew(conn, "w1", mine, lease_seconds=600) == 3  # the lock is gone
