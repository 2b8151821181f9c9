"""The delivery queue in a region cell's ``messages`` table: enqueue, claim, finish.

- ``enqueue`` inserts a message once per ``(org, idempotency key)``: a repeated request gets
  the first message's id back (``created=False``), also when two arrive at the same time;
  ``enqueue_many`` does the same for a whole batch in a few statements.
- ``claim_due`` hands a worker a batch of due messages (queued or deferred and due, or
  ``sending`` under a lease that has expired: a crashed worker's messages are taken over)
  with ``FOR UPDATE SKIP LOCKED``, so workers on any number of machines never get the same
  message at once; each claim takes a lease until ``lease_expires_at``.
- ``renew`` extends the leases of a worker's in-flight messages (its heartbeat).
- ``finish`` (``finish_delivered`` for many at once) / ``defer`` / ``release`` only act
  while the caller still holds the lease (fencing): a worker whose lease expired and was
  taken over cannot overwrite the new owner's outcome.

Connections come from the caller; every function runs in the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

CAMPAIGN_TYPES = frozenset({"marketing", "triggered", "transactional"})
TERMINAL_STATES = frozenset({"delivered", "bounced", "failed", "suppressed", "cancelled"})
MAX_IDEMPOTENCY_KEY = 255


class EnqueueError(ValueError):
    """A message that cannot be queued as given; the message says why."""


@dataclass(frozen=True)
class NewMessage:
    org_id: uuid.UUID
    contact_id: uuid.UUID
    campaign_type: str
    sending_domain: str
    variables: dict[str, Any] = field(default_factory=dict)
    campaign_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = None
    template_version: int | None = None
    variant: str | None = None
    variant_probability: float | None = None
    scheduled_at: datetime | None = None  # None: now
    priority: int = 0
    idempotency_key: str | None = None
    attachment_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Enqueued:
    message_id: uuid.UUID
    created: bool  # False: the idempotency key named an existing message


@dataclass(frozen=True)
class Claimed:
    """A message a worker now holds the lease of."""

    message_id: uuid.UUID
    campaign_type: str
    org_id: uuid.UUID
    contact_id: uuid.UUID
    campaign_id: uuid.UUID | None
    sending_domain: str | None
    attempts: int
    max_attempts: int
    route: str | None
    lease_expires_at: datetime


INSERT_MESSAGE = (
    "INSERT INTO messages (message_id, org_id, campaign_id, campaign_type, contact_id, "
    "template_id, template_version, variant, variant_probability, variables, priority, "
    "scheduled_at, next_attempt_at, idempotency_key, sending_domain, attachment_types) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "coalesce(%s, now()), coalesce(%s, now()), %s, %s, %s)"
)


def _message_row(message_id: uuid.UUID, message: NewMessage) -> tuple[Any, ...]:
    return (
        message_id,
        message.org_id,
        message.campaign_id,
        message.campaign_type,
        message.contact_id,
        message.template_id,
        message.template_version,
        message.variant,
        message.variant_probability,
        json.dumps(message.variables),
        message.priority,
        message.scheduled_at,
        message.scheduled_at,
        message.idempotency_key,
        message.sending_domain,
        list(message.attachment_types),
    )


def enqueue(conn: psycopg.Connection, message: NewMessage) -> Enqueued:
    """Queue ``message`` (idempotently when it has an idempotency key)."""
    _validate(message)
    message_id = uuid.uuid4()
    if message.idempotency_key is not None:
        row = conn.execute(
            "INSERT INTO message_idempotency_keys (org_id, idempotency_key, message_id) "
            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING message_id",
            (message.org_id, message.idempotency_key, message_id),
        ).fetchone()
        if row is None:
            existing = conn.execute(
                "SELECT message_id FROM message_idempotency_keys "
                "WHERE org_id = %s AND idempotency_key = %s",
                (message.org_id, message.idempotency_key),
            ).fetchone()
            if existing is None:  # pragma: no cover - the conflicting row is committed
                raise EnqueueError("idempotency key conflict could not be resolved")
            return Enqueued(existing[0], created=False)
    conn.execute(INSERT_MESSAGE, _message_row(message_id, message))
    return Enqueued(message_id, created=True)


def enqueue_many(conn: psycopg.Connection, messages: Sequence[NewMessage]) -> list[Enqueued]:
    """Queue many messages in a few statements, each as ``enqueue`` would (a key already
    used, or used earlier in ``messages``, gives that message back with ``created=False``)."""
    for message in messages:
        _validate(message)
    ids = [uuid.uuid4() for _ in messages]
    results: list[Enqueued | None] = [None] * len(messages)
    keyed = [i for i, m in enumerate(messages) if m.idempotency_key is not None]
    if keyed:
        orgs = [messages[i].org_id for i in keyed]
        keys = [messages[i].idempotency_key for i in keyed]
        conn.execute(
            "INSERT INTO message_idempotency_keys (org_id, idempotency_key, message_id) "
            "SELECT * FROM unnest(%s::uuid[], %s::text[], %s::uuid[]) "
            "ON CONFLICT DO NOTHING",
            (orgs, keys, [ids[i] for i in keyed]),
        )
        owners = {
            (org, key): message_id
            for org, key, message_id in conn.execute(
                "SELECT k.org_id, k.idempotency_key, k.message_id "
                "FROM message_idempotency_keys k "
                "JOIN unnest(%s::uuid[], %s::text[]) AS w(org_id, idempotency_key) "
                "USING (org_id, idempotency_key)",
                (orgs, keys),
            )
        }
        for i in keyed:
            owner = owners.get((messages[i].org_id, messages[i].idempotency_key))
            if owner is None:  # pragma: no cover - the conflicting row is committed
                raise EnqueueError("idempotency key conflict could not be resolved")
            if owner != ids[i]:
                results[i] = Enqueued(owner, created=False)
    new = [i for i in range(len(messages)) if results[i] is None]
    if new:
        with conn.cursor() as cur:
            cur.executemany(INSERT_MESSAGE, [_message_row(ids[i], messages[i]) for i in new])
        for i in new:
            results[i] = Enqueued(ids[i], created=True)
    return [r for r in results if r is not None]


def claim_due(
    conn: psycopg.Connection, worker_id: str, limit: int, lease_seconds: float
) -> list[Claimed]:
    """Up to ``limit`` due messages, leased to ``worker_id`` for ``lease_seconds``."""
    rows = conn.execute(
        """
        WITH due AS (
            SELECT message_id, campaign_type FROM messages
            WHERE (status IN ('queued', 'deferred') AND next_attempt_at <= now())
               OR (status = 'sending' AND lease_expires_at < now())
            ORDER BY priority DESC, next_attempt_at
            LIMIT %s
            FOR UPDATE SKIP LOCKED
        )
        UPDATE messages AS m
        SET status = 'sending', lease_owner = %s,
            lease_expires_at = now() + make_interval(secs => %s),
            attempts = m.attempts + 1, updated_at = now()
        FROM due
        WHERE m.message_id = due.message_id AND m.campaign_type = due.campaign_type
        RETURNING m.message_id, m.campaign_type, m.org_id, m.contact_id, m.campaign_id,
                  m.sending_domain, m.attempts, m.max_attempts, m.route, m.lease_expires_at
        """,
        (limit, worker_id, lease_seconds),
    ).fetchall()
    return [Claimed(*row) for row in rows]


def finish(
    conn: psycopg.Connection,
    worker_id: str,
    message: Claimed,
    status: str,
    *,
    route: str | None = None,
    smtp_code: int | None = None,
    error: str | None = None,
    channel: str = "email",
) -> bool:
    """Put a leased message in its terminal ``status``; False when the lease was lost. A
    delivered message records the ``channel`` that delivered it (a fallback gateway's)."""
    if status not in TERMINAL_STATES:
        raise ValueError(f"{status!r} is not a terminal state: {sorted(TERMINAL_STATES)}")
    return _update_leased(
        conn,
        worker_id,
        message,
        "status = %s, route = coalesce(%s, route), smtp_code = %s, last_error = %s, "
        "sent_at = CASE WHEN %s = 'delivered' THEN coalesce(sent_at, now()) ELSE sent_at END, "
        "delivered_channel = CASE WHEN %s = 'delivered' THEN %s END",
        (status, route, smtp_code, error, status, status, channel),
    )


def finish_delivered(
    conn: psycopg.Connection,
    worker_id: str,
    sent: Sequence[tuple[Claimed, str | None, int | None]],
) -> set[uuid.UUID]:
    """:func:`finish` ``delivered`` for many leased messages in one statement: each item is
    (message, route, SMTP code). Returns the ids whose lease was still held (the others
    were taken over and are left as they are)."""
    if not sent:
        return set()
    rows = conn.execute(
        """
        UPDATE messages AS m
        SET status = 'delivered', route = coalesce(d.route, m.route), smtp_code = d.code,
            last_error = NULL, sent_at = coalesce(m.sent_at, now()), delivered_channel = 'email',
            lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
        FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::int[])
             AS d(message_id, campaign_type, route, code)
        WHERE m.message_id = d.message_id AND m.campaign_type = d.campaign_type
          AND m.status = 'sending' AND m.lease_owner = %s
        RETURNING m.message_id
        """,
        (
            [message.message_id for message, _, _ in sent],
            [message.campaign_type for message, _, _ in sent],
            [route for _, route, _ in sent],
            [code for _, _, code in sent],
            worker_id,
        ),
    ).fetchall()
    return {row[0] for row in rows}


def defer(
    conn: psycopg.Connection,
    worker_id: str,
    message: Claimed,
    next_attempt_at: datetime,
    *,
    route: str | None = None,
    smtp_code: int | None = None,
    error: str | None = None,
) -> bool:
    """Try a leased message again at ``next_attempt_at``; False when the lease was lost."""
    if next_attempt_at.tzinfo is None:
        raise ValueError("next_attempt_at must be timezone-aware")
    return _update_leased(
        conn,
        worker_id,
        message,
        "status = 'deferred', next_attempt_at = %s, route = coalesce(%s, route), "
        "smtp_code = %s, last_error = %s",
        (next_attempt_at, route, smtp_code, error),
    )


def release(
    conn: psycopg.Connection,
    worker_id: str,
    messages: Sequence[Claimed],
    at: datetime | None = None,
) -> int:
    """Hand back leased messages that were not attempted (a worker shutting down, a send
    window that is closed, a throttle that says wait): they are due again at ``at`` (None:
    at once) and the claim does not count as an attempt."""
    if at is not None and at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    released = 0
    for message in messages:
        released += _update_leased(
            conn,
            worker_id,
            message,
            "status = CASE WHEN attempts > 1 THEN 'deferred' ELSE 'queued' END, "
            "attempts = attempts - 1, next_attempt_at = coalesce(%s, now())",
            (at,),
        )
    return released


def renew(
    conn: psycopg.Connection,
    worker_id: str,
    messages: Sequence[Claimed],
    lease_seconds: float,
) -> int:
    """Extend the leases ``worker_id`` still holds on ``messages`` by ``lease_seconds`` from
    now (a worker's heartbeat for its in-flight work); returns how many it renewed.

    Rows another transaction has locked are skipped, not waited for: that is the message's
    outcome being written (or a takeover), and a heartbeat that waited on row locks taken
    in another order could deadlock with it. The next heartbeat renews what is still held.
    """
    if not messages:
        return 0
    rows = conn.execute(
        "UPDATE messages SET lease_expires_at = now() + make_interval(secs => %s) "
        "WHERE message_id IN (SELECT message_id FROM messages WHERE message_id = ANY(%s) "
        "AND status = 'sending' AND lease_owner = %s FOR UPDATE SKIP LOCKED) RETURNING 1",
        (lease_seconds, [message.message_id for message in messages], worker_id),
    ).fetchall()
    return len(rows)


def _update_leased(
    conn: psycopg.Connection,
    worker_id: str,
    message: Claimed,
    assignments: str,
    params: tuple[Any, ...],
) -> bool:
    row = conn.execute(
        f"UPDATE messages SET {assignments}, lease_owner = NULL, lease_expires_at = NULL, "
        "updated_at = now() WHERE message_id = %s AND campaign_type = %s "
        "AND status = 'sending' AND lease_owner = %s RETURNING 1",
        (*params, message.message_id, message.campaign_type, worker_id),
    ).fetchone()
    return row is not None


def _validate(message: NewMessage) -> None:
    if message.campaign_type not in CAMPAIGN_TYPES:
        raise EnqueueError(
            f"campaign_type must be one of {sorted(CAMPAIGN_TYPES)}, not {message.campaign_type!r}"
        )
    if message.scheduled_at is not None and message.scheduled_at.tzinfo is None:
        raise EnqueueError("scheduled_at must be timezone-aware")
    key = message.idempotency_key
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY):
        raise EnqueueError(f"an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY} characters")
    if not message.sending_domain or "@" in message.sending_domain:
        raise EnqueueError("sending_domain must be a domain name")
    if message.variant_probability is not None and not 0 < message.variant_probability <= 1:
        raise EnqueueError("variant_probability must be in (0, 1]")
