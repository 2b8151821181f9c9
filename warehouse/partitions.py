"""Event partition maintenance: create daily partitions ahead, drop those past retention."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg


def ensure_partitions_ahead(conn: psycopg.Connection, today: date, days_ahead: int) -> int:
    """Create the daily partitions from yesterday to ``today + days_ahead``; returns new ones."""
    row = conn.execute(
        "SELECT ensure_event_partitions(%s, %s)",
        (today - timedelta(days=1), today + timedelta(days=days_ahead)),
    ).fetchone()
    return int(row[0]) if row else 0


def drop_partitions_older_than(
    conn: psycopg.Connection, today: date, retention_days: int
) -> list[str]:
    """Detach and drop partitions that end ``retention_days`` or more before ``today``."""
    cutoff = today - timedelta(days=retention_days)
    return [r[0] for r in conn.execute("SELECT drop_event_partitions_before(%s)", (cutoff,))]


def list_partitions(conn: psycopg.Connection) -> list[str]:
    """Names of the attached daily partitions of ``email_events``, oldest first."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'email_events'::regclass ORDER BY c.relname"
    ).fetchall()
    return [r[0] for r in rows]
