"""Model outputs in a region cell: send-time scores, anomaly scores, paused senders."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import psycopg

SEND_TIME_COLUMNS = (
    "contact_id", "org_id", "best_hour_utc", "best_local_hour", "open_probability_24h",
    "model_name", "model_version", "fallback",
)  # fmt: skip
ANOMALY_COLUMNS = (
    "org_id", "sending_domain", "bucket_start", "anomaly_score", "is_alert", "threshold",
    "model_name", "model_version",
)  # fmt: skip


class ActivePause(NamedTuple):
    pause_id: int
    org_id: uuid.UUID
    sending_domain: str
    reason: str
    source: str
    paused_at: datetime


def replace_send_times(
    conn: psycopg.Connection, org_ids: Sequence[uuid.UUID], rows: Sequence[Sequence[Any]]
) -> int:
    """Replace the send-time scores of ``org_ids`` with ``rows`` (``SEND_TIME_COLUMNS``
    order) in one transaction, so readers see the old scores or the new, never a mix."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM recipient_send_times WHERE org_id = ANY(%s)", (list(org_ids),))
        with cur.copy(
            f"COPY recipient_send_times ({', '.join(SEND_TIME_COLUMNS)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows)


def upsert_anomaly_scores(conn: psycopg.Connection, rows: Sequence[Sequence[Any]]) -> int:
    """Insert or refresh anomaly scores (``ANOMALY_COLUMNS`` order) by sender and bucket."""
    if not rows:
        return 0
    columns = ", ".join(ANOMALY_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ANOMALY_COLUMNS[3:])
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS anomaly_scores_staging "
            f"AS SELECT {columns} FROM anomaly_scores WITH NO DATA"
        )
        with cur.copy(f"COPY anomaly_scores_staging ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO anomaly_scores ({columns}) SELECT {columns} FROM anomaly_scores_staging "
            f"ON CONFLICT (org_id, sending_domain, bucket_start) DO UPDATE SET {updates}, "
            "scored_at = now()"
        )
        cur.execute("TRUNCATE anomaly_scores_staging")
    return len(rows)


def pause_sender(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    sending_domain: str,
    reason: str,
    source: str,
    details: dict[str, Any] | None = None,
) -> bool:
    """Pause a sender unless it is paused already; True when this call paused it."""
    row = conn.execute(
        "INSERT INTO paused_senders (org_id, sending_domain, reason, source, details) "
        "VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (org_id, sending_domain) WHERE resumed_at IS NULL DO NOTHING "
        "RETURNING pause_id",
        (org_id, sending_domain, reason, source, json.dumps(details or {})),
    ).fetchone()
    return row is not None


def resume_sender(conn: psycopg.Connection, org_id: uuid.UUID, sending_domain: str) -> bool:
    """End the active pause of a sender; True when there was one."""
    row = conn.execute(
        "UPDATE paused_senders SET resumed_at = now() WHERE org_id = %s AND sending_domain = %s "
        "AND resumed_at IS NULL RETURNING pause_id",
        (org_id, sending_domain),
    ).fetchone()
    return row is not None


def active_pauses(conn: psycopg.Connection) -> list[ActivePause]:
    """Senders that delivery must hold back right now."""
    rows = conn.execute(
        "SELECT pause_id, org_id, sending_domain, reason, source, paused_at FROM paused_senders "
        "WHERE resumed_at IS NULL ORDER BY paused_at"
    ).fetchall()
    return [ActivePause(*row) for row in rows]
