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

from .content import line_hash, row_line
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
    columns = batch.to_pydict()
    for event_id, org_id, subject, details, sealed in zip(
        columns["event_id"],
        columns["org_id"],
        columns["subject"],
        columns["details"],
        columns["sealed"],
        strict=True,
    ):
        if sealed is None:
            opened.contact_id.append(None)
            opened.details.append(details)
            opened.payload.append(CLEAR)
            continue
        key = keys.get((org_id, subject))
        plain = open_payload(key, event_id, sealed) if key is not None else None
        opened.contact_id.append(plain[0] if plain else None)
        opened.details.append(plain[1] if plain else None)
        opened.payload.append(DECRYPTED if plain else SHREDDED)
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
        columns = batch.to_pydict()
        micros = batch.column("event_time").cast(pa.int64()).to_pylist()
        for i in range(batch.num_rows):
            yield row_line(
                (
                    columns["event_id"][i],
                    micros[i],
                    columns["message_id"][i],
                    opened.contact_id[i],
                    columns["org_id"][i],
                    columns["campaign_id"][i],
                    columns["campaign_type"][i],
                    columns["region"][i],
                    columns["type"][i],
                    columns["smtp_code"][i],
                    columns["enhanced_code"][i],
                    columns["route"][i],
                    columns["is_bot"][i],
                    opened.details[i],
                    columns["ingest_seq"][i],
                )
            )


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
