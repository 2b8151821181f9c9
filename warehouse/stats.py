"""Small read-only summaries of a cell, for the CLI and the demo report."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from .partitions import list_partitions


@dataclass
class CellSummary:
    contacts: int
    messages: int
    messages_by_status: dict[str, int] = field(default_factory=dict)
    events_by_type: dict[str, int] = field(default_factory=dict)
    partitions: int = 0
    first_partition: str | None = None
    last_partition: str | None = None


def summarize_cell(conn: psycopg.Connection) -> CellSummary:
    """Counts of contacts, messages by status, events by type and event partitions."""
    contacts = conn.execute("SELECT count(*) FROM contacts").fetchone()
    by_status: dict[str, int] = dict(
        conn.execute("SELECT status, count(*) FROM messages GROUP BY 1 ORDER BY 1").fetchall()
    )
    by_type: dict[str, int] = dict(
        conn.execute(
            "SELECT type, count(*) FROM email_events GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    )
    parts = list_partitions(conn)
    return CellSummary(
        contacts=int(contacts[0]) if contacts else 0,
        messages=sum(by_status.values()),
        messages_by_status=by_status,
        events_by_type=by_type,
        partitions=len(parts),
        first_partition=parts[0] if parts else None,
        last_partition=parts[-1] if parts else None,
    )
