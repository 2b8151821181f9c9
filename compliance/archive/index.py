"""The archive index in each region cell: which partitions are archived where, how they
were verified, when they were dropped, and whose rows they hold (by subject hash).

This module imports nothing heavy, so the erasure cascade can call :func:`shred_subject`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import psycopg


@dataclass(frozen=True)
class IndexEntry:
    """One archived partition as the index records it."""

    partition: str
    day: date
    url: str
    object_key: str
    rows: int
    sealed_rows: int
    sha256: str
    content_checksum: str
    archived_at: datetime
    dropped_at: datetime | None
    subjects: int = 0
    shredded_subjects: int = 0


@dataclass(frozen=True)
class Shredded:
    """What an erasure made unreadable in the archive: partitions and rows."""

    partitions: list[str]
    rows: int

    def as_json(self) -> dict[str, object]:
        return {"partitions": self.partitions, "rows": self.rows}


def record_archive(
    conn: psycopg.Connection,
    entry: IndexEntry,
    subjects: Mapping[tuple[uuid.UUID, bytes], int],
) -> int:
    """Write a verified object's index row and its subjects (rows per org and subject
    hash), in the caller's transaction; returns its ``archive_id``."""
    row = conn.execute(
        "INSERT INTO event_archive (partition_name, day, url, object_key, rows, sealed_rows, "
        "sha256, content_checksum, archived_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "RETURNING archive_id",
        (
            entry.partition,
            entry.day,
            entry.url,
            entry.object_key,
            entry.rows,
            entry.sealed_rows,
            entry.sha256,
            entry.content_checksum,
            entry.archived_at,
        ),
    ).fetchone()
    assert row is not None
    archive_id = int(row[0])
    with conn.cursor() as cursor:
        with cursor.copy(
            "COPY event_archive_subjects (archive_id, org_id, subject_hash, rows) FROM STDIN"
        ) as copy:
            for (org_id, subject), rows in subjects.items():
                copy.write_row((archive_id, org_id, subject, rows))
    return archive_id


def mark_dropped(conn: psycopg.Connection, archive_id: int) -> None:
    """Stamp an index row: the partition it was made from is dropped."""
    conn.execute("UPDATE event_archive SET dropped_at = now() WHERE archive_id = %s", (archive_id,))


def shred_subject(conn: psycopg.Connection, org_id: uuid.UUID, subject: bytes) -> Shredded:
    """Record that the subject's archived rows in ``org_id`` are crypto-shredded (its data
    key is being destroyed in this transaction); returns the partitions and rows."""
    rows = conn.execute(
        "WITH shredded AS (UPDATE event_archive_subjects SET shredded_at = now() "
        "WHERE org_id = %s AND subject_hash = %s AND shredded_at IS NULL "
        "RETURNING archive_id, rows) "
        "SELECT a.partition_name, s.rows FROM shredded s JOIN event_archive a USING (archive_id)",
        (org_id, subject),
    ).fetchall()
    return Shredded(sorted({row[0] for row in rows}), sum(int(row[1]) for row in rows))


def list_index(
    conn: psycopg.Connection, first: date | None = None, last: date | None = None
) -> list[IndexEntry]:
    """The index rows between ``first`` and ``last`` (inclusive), oldest first, with how
    many subjects each holds and how many of them are shredded."""
    rows = conn.execute(
        "SELECT a.partition_name, a.day, a.url, a.object_key, a.rows, a.sealed_rows, a.sha256, "
        "a.content_checksum, a.archived_at, a.dropped_at, count(s.subject_hash), "
        "count(s.shredded_at) FROM event_archive a "
        "LEFT JOIN event_archive_subjects s USING (archive_id) "
        "WHERE (%(first)s::date IS NULL OR a.day >= %(first)s) "
        "AND (%(last)s::date IS NULL OR a.day <= %(last)s) "
        "GROUP BY a.archive_id ORDER BY a.day, a.archive_id",
        {"first": first, "last": last},
    ).fetchall()
    return [IndexEntry(*row) for row in rows]
