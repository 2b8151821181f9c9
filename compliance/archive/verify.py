"""Checking an archived object against its partition, and opening its sealed payloads.

:func:`verify_object` re-reads the object from the store and holds it against what the
partition said: the SHA-256 computed while writing, the row count (Parquet footer), and
the content checksum (:mod:`.content`), recomputed from the Parquet rows after opening
every sealed payload with the data keys it was sealed with.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .content import ARCHIVE_SCHEMA, LINE_COLUMNS, line_hash, row_line
from .errors import ArchiveVerificationFailed
from .sealing import ContactKey, open_payload
from .store import ArchiveStore

CLEAR, DECRYPTED, SHREDDED = "clear", "decrypted", "shredded"


@dataclass(frozen=True)
class OpenedBatch:
    """The personal columns of a batch of archived rows, opened where a key allows."""

    contact_id: list[str | None]
    details: list[str | None]
    payload: list[str]  # clear (no contact), decrypted, or shredded (no key opens it)


def open_batch(batch: pa.RecordBatch, keys: Mapping[tuple[str, str], ContactKey]) -> OpenedBatch:
    """Open the sealed payloads of ``batch``; rows no key opens come back as shredded."""
    opened = OpenedBatch([], [], [])
    columns = [
        batch.column(name).to_pylist()
        for name in ("event_id", "org_id", "subject", "details", "sealed")
    ]
    for event_id, org_id, subject, details, sealed in zip(*columns, strict=True):
        if sealed is None:
            opened.contact_id.append(None)
            opened.details.append(details)
            opened.payload.append(CLEAR)
            continue
        key = keys.get((org_id, subject))
        plain = open_payload(key, event_id, sealed) if key is not None else None
        if key is None or plain is None:
            opened.contact_id.append(None)
            opened.details.append(None)
            opened.payload.append(SHREDDED)
        else:
            opened.contact_id.append(str(key.contact_id))
            opened.details.append(plain)
            opened.payload.append(DECRYPTED)
    return opened


def iter_lines(
    parquet: pq.ParquetFile, keys: Mapping[tuple[str, str], ContactKey], partition: str
) -> Iterator[str]:
    """The canonical lines of every row of ``parquet``; a payload that does not open fails
    the content check (at archive time every key is at hand)."""
    for batch in parquet.iter_batches(batch_size=20_000):
        opened = open_batch(batch, keys)
        if SHREDDED in opened.payload:
            raise ArchiveVerificationFailed(
                partition, "content", "sealed rows open", "a row that does not"
            )
        # Every column of the line by name; the time as integer microseconds.
        clear = {
            name: batch.column(name).to_pylist()
            for name in ARCHIVE_SCHEMA.names
            if name not in ("event_time", "subject", "details", "sealed")
        }
        clear["event_time"] = batch.column("event_time").cast(pa.int64()).to_pylist()
        clear["contact_id"] = opened.contact_id
        clear["details"] = opened.details
        for values in zip(*(clear[name] for name in LINE_COLUMNS), strict=True):
            yield row_line(values)


def verify_object(
    store: ArchiveStore,
    key: str,
    *,
    partition: str,
    sha256: str,
    rows: int,
    content_checksum: str,
    keys: Mapping[tuple[str, str], ContactKey],
    workdir: Path,
) -> None:
    """Raise :class:`ArchiveVerificationFailed` unless object ``key`` is exactly the
    partition: same bytes as written, same row count, same content checksum."""
    local = workdir / "reread.parquet"
    found_sha = store.fetch(key, local)
    if found_sha != sha256:
        raise ArchiveVerificationFailed(partition, "sha256", sha256, found_sha)
    try:
        parquet = pq.ParquetFile(local)
    except (pa.ArrowException, OSError) as exc:
        raise ArchiveVerificationFailed(partition, "rows", rows, f"unreadable ({exc})") from exc
    if parquet.metadata.num_rows != rows:
        raise ArchiveVerificationFailed(partition, "rows", rows, parquet.metadata.num_rows)
    found = str(sum(line_hash(line) for line in iter_lines(parquet, keys, partition)))
    if found != content_checksum:
        raise ArchiveVerificationFailed(partition, "content", content_checksum, found)
