"""Bulk event writer: COPY batches of email events into the partitioned ``email_events``.

Producers choose event ids (deterministic ones, e.g. uuid5 of message and event kind), so a
batch that is re-sent after a timeout or crash adds nothing. Each batch is one transaction:

1. make sure the daily partitions its events fall into exist;
2. COPY it into a session-local staging table and merge it into ``email_events`` with
   ``INSERT ... ON CONFLICT DO NOTHING`` (see :mod:`warehouse.bulk`).

Writers hold the ingest lock in shared mode so the rollup refresh can tell which arrival
numbers have committed (see migrations/cell/0004_event_rollups.sql).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import psycopg

from .bulk import stage_and_merge

EVENT_TYPES = (
    "queued",
    "sent",
    "delivered",
    "deferred",
    "bounced",
    "failed",
    "suppressed",
    "opened",
    "clicked",
    "complained",
    "unsubscribed",
)


class EmailEvent(NamedTuple):
    """One row of ``email_events`` (column order is the COPY order)."""

    event_id: uuid.UUID
    event_time: datetime
    message_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    org_id: uuid.UUID
    campaign_id: uuid.UUID | None
    campaign_type: str
    region: str
    type: str
    smtp_code: int | None = None
    enhanced_code: str | None = None
    route: str | None = None
    is_bot: bool = False
    details: dict[str, Any] | str = "{}"


EVENT_COLUMNS = EmailEvent._fields


def event_id_for(message_id: uuid.UUID, kind: str, sequence: int = 0) -> uuid.UUID:
    """A deterministic event id: the same message, kind and sequence give the same id."""
    return uuid.uuid5(message_id, f"{kind}:{sequence}")


class EventWriter:
    """Writes batches of :class:`EmailEvent` to one region cell's ``email_events``.

    The writer owns no connection; each call borrows the one it is given, so callers decide
    pooling and threading.
    """

    def __init__(self) -> None:
        self._days_with_partitions: set[date] = set()

    def write(self, conn: psycopg.Connection, events: Sequence[EmailEvent]) -> int:
        """Insert ``events`` in one transaction; returns how many were new."""
        if not events:
            return 0
        try:
            return self._write(conn, events)
        except psycopg.errors.CheckViolation as exc:
            if "no partition" not in str(exc):
                raise
            # A partition this writer remembered was dropped by retention meanwhile.
            self._days_with_partitions.clear()
            return self._write(conn, events)

    def _write(self, conn: psycopg.Connection, events: Sequence[EmailEvent]) -> int:
        new_days = {event.event_time.date() for event in events} - self._days_with_partitions
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock_shared(event_ingest_lock_key())")
            if new_days:
                _ensure_partitions(conn, new_days)
            with conn.cursor() as cur:
                inserted = stage_and_merge(cur, "email_events", EVENT_COLUMNS, _rows(events))
        self._days_with_partitions.update(new_days)
        return inserted

    def write_batches(
        self, conn: psycopg.Connection, batches: Iterable[Sequence[EmailEvent]]
    ) -> int:
        """Write each batch in its own transaction; returns the total of new events."""
        return sum(self.write(conn, batch) for batch in batches)


def _ensure_partitions(conn: psycopg.Connection, days: set[date]) -> None:
    # Partition bounds are UTC days; an aware timestamp near midnight may fall on the
    # neighbouring UTC day, so cover one day either side.
    conn.execute(
        "SELECT ensure_event_partitions(%s::date - 1, %s::date + 1)", (min(days), max(days))
    )


def _rows(events: Iterable[EmailEvent]) -> Iterable[tuple[Any, ...]]:
    for event in events:
        details = event.details
        if isinstance(details, str):
            yield event
        else:
            yield event._replace(details=json.dumps(details, separators=(",", ":")))
