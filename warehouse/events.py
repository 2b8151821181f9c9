"""Bulk event writer: COPY batches of email events into the partitioned ``email_events``.

Producers choose event ids (deterministic ones, e.g. uuid5 of message and event kind), so a
batch that is re-sent after a timeout or crash adds nothing. Each batch is one transaction:

1. make sure the daily partitions its events fall into exist;
2. binary-COPY it straight into ``email_events``, the fast path for the common case of
   events never seen before;
3. only if that hits a key already stored (a re-sent batch, a concurrent writer, an event
   twice in the batch), roll back and write the batch again the idempotent way: COPY into a
   session-local staging table and merge with ``INSERT ... ON CONFLICT DO NOTHING``
   (see :mod:`warehouse.bulk`).

The fast path exists because the merge costs the server a second pass over every row (the
staging COPY, then a speculative insert per row): with the merge alone the writer reached
0.5-0.7 x psql's raw COPY into an unpartitioned copy of the table (``benchmarks/ingest.py``,
1M-5M events); with the fast path it runs at about the speed of a raw COPY into
``email_events`` itself.

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
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.pq import Format

from .bulk import copy_in, stage_and_merge

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
    """One row of ``email_events`` (column order is the COPY order).

    ``event_time`` must be timezone-aware: the binary COPY sends an instant, and a naive
    time has none (the writer refuses it with ValueError).
    """

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
    details: dict[str, Any] | str = "{}"  # a dict, or JSON text already encoded


EVENT_COLUMNS = EmailEvent._fields
# PostgreSQL types of EVENT_COLUMNS, for binary COPY.
EVENT_COLUMN_TYPES = (
    "uuid", "timestamptz", "uuid", "uuid", "uuid", "uuid", "text", "text", "text",
    "int2", "text", "text", "bool", "jsonb",
)  # fmt: skip

_JSON = json.JSONEncoder(separators=(",", ":"))
DEADLOCK_RETRIES = 5


class _DetailsDumper(Dumper):
    """Binary jsonb from either a dict or JSON text, so events go to COPY as they are.

    Registered on the writer's cursor only: dumping ``details`` here saves building a new
    tuple per event just to encode one field.
    """

    format = Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        text = obj if isinstance(obj, str) else _JSON.encode(obj)
        return b"\x01" + text.encode()  # jsonb binary format: version 1, then the text


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
        except TypeError as exc:
            # Looked for only now, so valid batches pay no per-event check.
            naive = next((e for e in events if e.event_time.tzinfo is None), None)
            if naive is None:
                raise
            raise ValueError(f"event {naive.event_id} has a naive event_time") from exc

    def _write(self, conn: psycopg.Connection, events: Sequence[EmailEvent]) -> int:
        try:
            return self._write_once(conn, events, merge=False)
        except psycopg.errors.UniqueViolation:
            # Some of these events are stored already, or the batch repeats one: the whole
            # attempt rolled back, so write it again skipping the keys that exist.
            return self._merge_with_retries(conn, events)

    def _merge_with_retries(self, conn: psycopg.Connection, events: Sequence[EmailEvent]) -> int:
        # Two writers merging overlapping batches can deadlock on each other's keys;
        # PostgreSQL aborts one of them, which simply tries again.
        for attempt in range(DEADLOCK_RETRIES):
            try:
                return self._write_once(conn, events, merge=True)
            except psycopg.errors.DeadlockDetected:
                if attempt == DEADLOCK_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _write_once(
        self, conn: psycopg.Connection, events: Sequence[EmailEvent], *, merge: bool
    ) -> int:
        new_days = {event.event_time.date() for event in events} - self._days_with_partitions
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock_shared(event_ingest_lock_key())")
            if new_days:
                _ensure_partitions(conn, new_days)
            with conn.cursor() as cur:
                cur.adapters.register_dumper(None, _DetailsDumper)
                write = stage_and_merge if merge else copy_in
                inserted = write(cur, "email_events", EVENT_COLUMNS, events, EVENT_COLUMN_TYPES)
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
