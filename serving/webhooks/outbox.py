"""Customers' webhook endpoints and the outbox of events waiting for them (control
database): registering an endpoint, emitting an event (one delivery row per endpoint that
subscribed to its type), and reading the delivery log.

Connections come from the caller; each function runs in the caller's transaction.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

EVENT_TYPES = (
    "message.delivered",
    "message.bounced",
    "message.complained",
    "campaign.sent",
    "security.break_glass",  # a break-glass grant was made (serving.auth.break_glass)
    "ping",
)


class EndpointNotFound(LookupError):
    code = "webhook_endpoint_not_found"


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: uuid.UUID
    url: str
    event_types: list[str]
    created_at: datetime
    disabled_at: datetime | None


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def register(
    conn: psycopg.Connection, org_id: uuid.UUID, url: str, event_types: list[str], secret: str
) -> Endpoint:
    endpoint_id = uuid.uuid4()
    row = conn.execute(
        "INSERT INTO webhook_endpoints (endpoint_id, org_id, url, secret, event_types) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING endpoint_id, url, event_types, created_at, "
        "disabled_at",
        (endpoint_id, org_id, url, secret, sorted(set(event_types))),
    ).fetchone()
    assert row is not None
    return Endpoint(*row)


def endpoints(conn: psycopg.Connection, org_id: uuid.UUID) -> list[Endpoint]:
    rows = conn.execute(
        "SELECT endpoint_id, url, event_types, created_at, disabled_at FROM webhook_endpoints "
        "WHERE org_id = %s ORDER BY created_at",
        (org_id,),
    ).fetchall()
    return [Endpoint(*row) for row in rows]


def disable(conn: psycopg.Connection, org_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    """Stop delivering to the endpoint (its log is kept); pending deliveries fail."""
    row = conn.execute(
        "UPDATE webhook_endpoints SET disabled_at = coalesce(disabled_at, now()) "
        "WHERE org_id = %s AND endpoint_id = %s RETURNING 1",
        (org_id, endpoint_id),
    ).fetchone()
    if row is None:
        raise EndpointNotFound(f"no webhook endpoint {endpoint_id} in your organization")
    conn.execute(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint disabled' "
        "WHERE endpoint_id = %s AND status = 'pending'",
        (endpoint_id,),
    )


def emit(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    event_type: str,
    data: Mapping[str, Any],
    *,
    event_id: uuid.UUID | None = None,
    max_attempts: int = 8,
    endpoint_id: uuid.UUID | None = None,
) -> int:
    """Queue the event for every live endpoint of the organization subscribed to its type
    (or only ``endpoint_id``); returns how many deliveries were queued. The same
    ``event_id`` is queued once per endpoint."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    event_id = event_id or uuid.uuid4()
    payload = {"id": str(event_id), "type": event_type, "data": dict(data)}
    rows = conn.execute(
        "INSERT INTO webhook_deliveries (delivery_id, endpoint_id, org_id, event_id, "
        "event_type, payload, max_attempts) "
        "SELECT gen_random_uuid(), endpoint_id, org_id, %s, %s, %s, %s FROM webhook_endpoints "
        "WHERE org_id = %s AND disabled_at IS NULL AND (%s = ANY(event_types) OR %s = 'ping') "
        "AND (%s::uuid IS NULL OR endpoint_id = %s) "
        "ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING 1",
        (event_id, event_type, Jsonb(payload), max_attempts, org_id, event_type, event_type,
         endpoint_id, endpoint_id),
    ).fetchall()  # fmt: skip
    return len(rows)


def delivery_log(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    *,
    endpoint_id: uuid.UUID | None,
    status: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The organization's latest deliveries, newest first, each with its attempts."""
    rows = conn.execute(
        "SELECT delivery_id, endpoint_id, event_id, event_type, status, attempts, "
        "next_attempt_at, last_status_code, last_error, created_at, delivered_at "
        "FROM webhook_deliveries WHERE org_id = %s "
        "AND (%s::uuid IS NULL OR endpoint_id = %s) AND (%s::text IS NULL OR status = %s) "
        "ORDER BY created_at DESC, delivery_id LIMIT %s",
        (org_id, endpoint_id, endpoint_id, status, status, limit),
    )
    names = [c.name for c in rows.description or ()]
    found = [dict(zip(names, row, strict=True)) for row in rows.fetchall()]
    if not found:
        return found
    attempts = conn.execute(
        "SELECT delivery_id, attempt, attempted_at, status_code, error, duration_ms "
        "FROM webhook_attempts WHERE delivery_id = ANY(%s) ORDER BY attempt",
        ([d["delivery_id"] for d in found],),
    ).fetchall()
    for delivery in found:
        delivery["log"] = [
            {"attempt": a[1], "attempted_at": a[2], "status_code": a[3], "error": a[4],
             "duration_ms": a[5]}
            for a in attempts if a[0] == delivery["delivery_id"]
        ]  # fmt: skip
    return found
