"""Rotation of the key-encryption key (KEK).

Each contact's data key is stored wrapped by a KEK, with the KEK's version beside it.
Rotating re-wraps every data key still under an older version with the current KEK, in
batches, each batch one transaction with an audit entry; field ciphertexts (email, name) and
the blind index are untouched, so nothing is re-encrypted and look-ups keep working. Once a
cell reports no data key under an old version, that KEK can be removed from the settings.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import psycopg

from .audit import record
from .crypto import PiiCipher

log = logging.getLogger(__name__)

BATCH_SIZE = 2000


@dataclass(frozen=True)
class RotationReport:
    """What rotation did in one cell."""

    cell: str
    rewrapped: int
    already_current: int
    seconds: float


def rotate_data_keys(
    conn: psycopg.Connection,
    cipher: PiiCipher,
    cell: str,
    *,
    actor: str = "postwise keys rotate",
    batch_size: int = BATCH_SIZE,
) -> RotationReport:
    """Re-wrap every data key in ``conn``'s cell that is not under the current KEK."""
    started = time.perf_counter()
    current = cipher.current_version
    total = _count(conn, "kek_version <> %s", current)
    done = 0
    while True:
        with conn.transaction():
            rows = conn.execute(
                "SELECT contact_id, wrapped_data_key, kek_version FROM contacts "
                "WHERE kek_version <> %s ORDER BY contact_id LIMIT %s FOR UPDATE SKIP LOCKED",
                (current, batch_size),
            ).fetchall()
            if not rows:
                break
            rewrapped = [
                (contact_id, cipher.rewrap(bytes(wrapped), version, contact_id), version)
                for contact_id, wrapped, version in rows
            ]
            with conn.cursor() as cursor:
                cursor.executemany(
                    "UPDATE contacts SET wrapped_data_key = %s, kek_version = %s "
                    "WHERE contact_id = %s AND kek_version = %s",
                    [(wrapped, current, cid, old) for cid, wrapped, old in rewrapped],
                )
            record(
                conn,
                actor=actor,
                action="keys.rewrapped",
                subject=f"cell:{cell}",
                details={
                    "contacts": len(rows),
                    "from_versions": sorted({old for _, _, old in rewrapped}),
                    "to_version": current,
                },
            )
        done += len(rows)
        elapsed = time.perf_counter() - started
        log.info(
            "%s: re-wrapped %d of %d data keys (%.0f/s)",
            cell,
            done,
            total,
            done / elapsed if elapsed else 0.0,
        )
    return RotationReport(
        cell=cell,
        rewrapped=done,
        already_current=_count(conn, "kek_version = %s", current) - done,
        seconds=time.perf_counter() - started,
    )


def _count(conn: psycopg.Connection, condition: str, version: int) -> int:
    row = conn.execute(f"SELECT count(*) FROM contacts WHERE {condition}", (version,)).fetchone()
    return int(row[0]) if row else 0
