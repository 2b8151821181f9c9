"""Archiving event partitions past the hot retention: export, verify, record, drop.

Each daily partition is archived in a transaction of its own:

1. the partition is locked against writes and the data keys of its contacts are read
   (share-locked, so no erasure of those contacts runs meanwhile);
2. PostgreSQL computes its row count and content checksum (:mod:`.content`);
3. its rows are streamed into a local Parquet file, personal payloads sealed per contact
   (:mod:`.sealing`), and the file's SHA-256 computed;
4. the file is written to the store as
   ``<region>/email_events/day=YYYY-MM-DD/part-<sha256 prefix>.parquet`` and read back
   whole: SHA-256, footer row count and content checksum must all match (:mod:`.verify`);
5. only then the index is written, the partition detached and dropped, and an
   ``archive.partition`` audit entry recorded; the transaction commits.

A failed check removes the rejected object, keeps the partition, writes an
``archive.verification_failed`` audit entry and raises :class:`ArchiveVerificationFailed`.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

from ..audit import record
from ..crypto import PiiCipher
from .content import ARCHIVE_SCHEMA, SQL_CHECKSUM
from .errors import ArchiveVerificationFailed, MissingDataKey
from .index import IndexEntry, mark_dropped, record_archive
from .sealing import ContactKey, keys_of_contacts, seal_payload
from .store import ArchiveStore
from .verify import verify_object

log = logging.getLogger(__name__)

ARCHIVED = "archive.partition"
REJECTED = "archive.verification_failed"
BATCH_ROWS = 20_000
_PARTITIONS_LOCK = "SELECT pg_advisory_xact_lock(hashtext('email_events_partitions'))"
_EXPORT = (
    "SELECT event_id::text, event_time, message_id::text, contact_id, org_id::text, "
    "campaign_id::text, campaign_type, region, type, smtp_code, enhanced_code, route, is_bot, "
    "details::text, ingest_seq FROM {} ORDER BY event_time, event_id"
)


@dataclass(frozen=True)
class ArchiveReport:
    """One partition archived, verified and dropped."""

    partition: str
    day: date
    url: str
    rows: int
    sealed_rows: int
    sha256: str
    content_checksum: str
    seconds: float


def due_partitions(
    conn: psycopg.Connection, today: date, retention_days: int
) -> list[tuple[str, date]]:
    """Attached daily partitions ending ``retention_days`` or more before ``today`` (the
    ones retention drops), oldest first."""
    cutoff = today - timedelta(days=retention_days)
    rows = conn.execute(
        "SELECT c.relname, to_date(substr(c.relname, 15), 'YYYYMMDD') FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'email_events'::regclass "
        "AND c.relname ~ '^email_events_p[0-9]{8}$' "
        "AND to_date(substr(c.relname, 15), 'YYYYMMDD') + 1 <= %s ORDER BY 1",
        (cutoff,),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def archive_due(
    conn: psycopg.Connection,
    store: ArchiveStore,
    cipher: PiiCipher,
    region: str,
    today: date,
    retention_days: int,
    *,
    actor: str,
) -> list[ArchiveReport]:
    """Archive, verify and drop every partition past retention. Each partition commits on
    its own (committing whatever the caller had pending first), so a failure keeps that
    partition and those after it, never the ones already archived."""
    due = due_partitions(conn, today, retention_days)
    log.info("%s: %d event partition(s) due for the archive", region, len(due))
    reports = []
    for partition, day in due:
        conn.commit()
        report = archive_partition(conn, store, cipher, region, partition, day, actor=actor)
        if report is not None:
            reports.append(report)
    return reports


def archive_partition(
    conn: psycopg.Connection,
    store: ArchiveStore,
    cipher: PiiCipher,
    region: str,
    partition: str,
    day: date,
    *,
    actor: str,
) -> ArchiveReport | None:
    """Archive one partition (see the module docs); the caller's transaction must be idle.
    None when it is no longer attached (another run archived it first)."""
    try:
        with conn.transaction(), tempfile.TemporaryDirectory(prefix="pw-archive-") as work:
            report = _archive(conn, store, cipher, region, partition, day, Path(work), actor)
    except ArchiveVerificationFailed as exc:
        log.error("%s: %s", region, exc)
        with conn.transaction():
            record(
                conn,
                actor=actor,
                action=REJECTED,
                subject=f"partition:{region}/{partition}",
                details={
                    "check": exc.check,
                    "expected": str(exc.expected),
                    "found": str(exc.found),
                },
            )
        raise
    return report


def _archive(
    conn: psycopg.Connection,
    store: ArchiveStore,
    cipher: PiiCipher,
    region: str,
    partition: str,
    day: date,
    work: Path,
    actor: str,
) -> ArchiveReport | None:
    started = time.monotonic()
    table = sql.Identifier(partition)
    conn.execute(_PARTITIONS_LOCK)
    if not _attached(conn, partition):
        log.info("%s: %s was archived by another run meanwhile", region, partition)
        return None
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(table))
    contacts = [
        row[0]
        for row in conn.execute(
            sql.SQL("SELECT DISTINCT contact_id FROM {} WHERE contact_id IS NOT NULL").format(table)
        )
    ]
    keys = keys_of_contacts(conn, cipher, contacts)
    if len(keys) != len(contacts):
        raise MissingDataKey(partition, len(contacts) - len(keys))
    count_row = conn.execute(sql.SQL(SQL_CHECKSUM).format(table)).fetchone()
    assert count_row is not None
    rows, content_checksum = int(count_row[0]), str(count_row[1])

    local = work / "export.parquet"
    sealed_rows, subjects = _write_parquet(conn, table, keys, local, rows, partition)
    sha256 = _file_sha256(local)
    key = f"{region}/email_events/day={day.isoformat()}/part-{sha256[:16]}.parquet"
    store.put(local, key)
    handles = {(str(k.org_id), k.subject): k for k in keys.values()}
    try:
        verify_object(
            store,
            key,
            partition=partition,
            sha256=sha256,
            rows=rows,
            content_checksum=content_checksum,
            keys=handles,
            workdir=work,
        )
    except ArchiveVerificationFailed:
        store.delete(key)
        raise
    entry = IndexEntry(
        partition=partition,
        day=day,
        url=store.object_url(key),
        object_key=key,
        rows=rows,
        sealed_rows=sealed_rows,
        sha256=sha256,
        content_checksum=content_checksum,
        archived_at=datetime.now(UTC),
        dropped_at=None,
    )
    by_hash = {(org, bytes.fromhex(subject)): n for (org, subject), n in subjects.items()}
    archive_id = record_archive(conn, entry, by_hash)
    conn.execute(sql.SQL("ALTER TABLE email_events DETACH PARTITION {}").format(table))
    conn.execute(sql.SQL("DROP TABLE {}").format(table))
    mark_dropped(conn, archive_id)
    seconds = time.monotonic() - started
    record(
        conn,
        actor=actor,
        action=ARCHIVED,
        subject=f"partition:{region}/{partition}",
        details={
            "url": entry.url,
            "rows": rows,
            "sealed_rows": sealed_rows,
            "subjects": len(subjects),
            "sha256": sha256,
            "content_checksum": content_checksum,
            "dropped": True,
        },
    )
    log.info(
        "%s: archived %s (%d rows, %d sealed) to %s and dropped it in %.1f s",
        region, partition, rows, sealed_rows, entry.url, seconds,
    )  # fmt: skip
    return ArchiveReport(
        partition, day, entry.url, rows, sealed_rows, sha256, content_checksum, seconds
    )


def _write_parquet(
    conn: psycopg.Connection,
    table: sql.Identifier,
    keys: dict[uuid.UUID, ContactKey],
    target: Path,
    total: int,
    partition: str,
) -> tuple[int, Counter[tuple[uuid.UUID, str]]]:
    """Stream the partition into ``target``; returns the sealed row count and the rows per
    (org, subject hash)."""
    subjects: Counter[tuple[uuid.UUID, str]] = Counter()
    sealed_rows = done = 0
    started = time.monotonic()
    with (
        pq.ParquetWriter(target, ARCHIVE_SCHEMA, compression="zstd") as writer,
        conn.cursor(name=f"archive_{partition}") as cursor,
    ):
        cursor.execute(sql.SQL(_EXPORT).format(table))
        while batch := cursor.fetchmany(BATCH_ROWS):
            # Column-wise: the clear columns pass through as they came; only the personal
            # ones are worked on row by row.
            (event_id, event_time, message_id, contact_id, org_id, campaign_id, campaign_type,
             region, kind, smtp_code, enhanced_code, route, is_bot, details,
             ingest_seq) = (list(column) for column in zip(*batch, strict=True))  # fmt: skip
            subject: list[str | None] = []
            clear: list[str | None] = []
            sealed: list[bytes | None] = []
            for event, contact, text in zip(event_id, contact_id, details, strict=True):
                key = keys.get(contact) if contact is not None else None
                if key is None:
                    subject.append(None)
                    clear.append(text)
                    sealed.append(None)
                else:
                    subject.append(key.subject)
                    clear.append(None)
                    sealed.append(seal_payload(key, event, text))
                    subjects[(key.org_id, key.subject)] += 1
            sealed_rows += sum(1 for value in sealed if value is not None)
            columns = {
                "event_id": event_id, "event_time": event_time, "message_id": message_id,
                "org_id": org_id, "campaign_id": campaign_id, "campaign_type": campaign_type,
                "region": region, "type": kind, "smtp_code": smtp_code,
                "enhanced_code": enhanced_code, "route": route, "is_bot": is_bot,
                "ingest_seq": ingest_seq, "subject": subject, "details": clear, "sealed": sealed,
            }  # fmt: skip
            writer.write_table(pa.Table.from_pydict(columns, schema=ARCHIVE_SCHEMA))
            done += len(batch)
            rate = done / max(time.monotonic() - started, 1e-6)
            log.info("%s: exported %d/%d rows (%.0f rows/s)", partition, done, total, rate)
    return sealed_rows, subjects


def _attached(conn: psycopg.Connection, partition: str) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'email_events'::regclass AND c.relname = %s)",
        (partition,),
    ).fetchone()
    return bool(row and row[0])


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
