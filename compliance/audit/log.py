"""Writing and reading the audit log of one database (control or a region cell).

:func:`record` appends an entry in the caller's transaction: it takes the chain's advisory
lock, reads the head, computes the entry's hash and inserts it, so the entry commits or rolls
back with the change it documents. The database's trigger re-checks the link.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .chain import GENESIS, AuditEntry, check_details

_LOCK = "SELECT pg_advisory_xact_lock(hashtext('audit_log_chain'))"
_COLUMNS = "audit_id, occurred_at, actor, action, subject, org_id, details, prev_hash, row_hash"


def record(
    conn: psycopg.Connection,
    *,
    actor: str,
    action: str,
    subject: str = "",
    org_id: uuid.UUID | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to this database's audit chain, in the caller's transaction."""
    plain = check_details(details or {})
    with conn.transaction():
        conn.execute(_LOCK)
        head = conn.execute(
            "SELECT row_hash FROM audit_log ORDER BY audit_id DESC LIMIT 1"
        ).fetchone()
        next_id = conn.execute(
            "SELECT nextval(pg_get_serial_sequence('audit_log', 'audit_id'))"
        ).fetchone()
        assert next_id is not None
        entry = AuditEntry(
            audit_id=int(next_id[0]),
            occurred_at=datetime.now(UTC),
            actor=actor,
            action=action,
            subject=subject,
            org_id=org_id,
            details=plain,
            prev_hash=bytes(head[0]) if head else GENESIS,
        )
        entry = _with_hash(entry)
        conn.execute(
            f"INSERT INTO audit_log ({_COLUMNS}) OVERRIDING SYSTEM VALUE "
            "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)",
            (
                entry.audit_id,
                entry.occurred_at,
                entry.actor,
                entry.action,
                entry.subject,
                entry.org_id,
                Jsonb(plain),
                entry.prev_hash,
                entry.row_hash,
            ),
        )
    return entry


def _with_hash(entry: AuditEntry) -> AuditEntry:
    return AuditEntry(**{**entry.__dict__, "row_hash": entry.expected_hash()})


def entries(
    conn: psycopg.Connection,
    *,
    after_id: int = 0,
    subject: str | None = None,
    batch: int = 5000,
) -> Iterator[AuditEntry]:
    """Entries in ``audit_id`` order (all, or those about ``subject``), read in batches."""
    last = after_id
    while True:
        where = "audit_id > %s" + (" AND subject = %s" if subject is not None else "")
        params: tuple[Any, ...] = (last, subject) if subject is not None else (last,)
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM audit_log WHERE {where} ORDER BY audit_id LIMIT {batch}",
            params,
        ).fetchall()
        for row in rows:
            yield _entry(row)
        if len(rows) < batch:
            return
        last = int(rows[-1][0])


def entry_before(conn: psycopg.Connection, audit_id: int) -> AuditEntry | None:
    """The entry just before ``audit_id`` (the link an excerpt starting there hangs on)."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM audit_log WHERE audit_id < %s ORDER BY audit_id DESC LIMIT 1",
        (audit_id,),
    ).fetchone()
    return _entry(row) if row else None


def head(conn: psycopg.Connection) -> AuditEntry | None:
    """The newest entry of the chain."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM audit_log ORDER BY audit_id DESC LIMIT 1"
    ).fetchone()
    return _entry(row) if row else None


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    audit_id, occurred_at, actor, action, subject, org_id, details, prev_hash, row_hash = row
    return AuditEntry(
        audit_id=int(audit_id),
        occurred_at=occurred_at,
        actor=actor,
        action=action,
        subject=subject,
        org_id=org_id,
        details=details,
        prev_hash=bytes(prev_hash),
        row_hash=bytes(row_hash),
    )
