"""SQL over the archived Parquet files with polars.

The archived days of a region (from the cell's archive index) are registered as one table,
``email_events``, for :class:`polars.SQLContext`. Without decryption it is read lazily
through a pyarrow dataset on the store (so filters and projections reach the files) and
has every clear column; ``sealed`` is left out. With decryption the files are read, each
sealed payload is opened with its contact's current data key, and ``contact_id``,
``details`` and ``payload`` (``clear``, ``decrypted`` or ``shredded``) are added: rows of
erased subjects read as ``shredded`` with null ``contact_id`` and ``details``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import polars as pl
import psycopg
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..audit import record
from ..crypto import PiiCipher
from .errors import ArchiveQueryError
from .index import list_index
from .sealing import keys_by_subject
from .store import ArchiveStore
from .verify import open_batch

log = logging.getLogger(__name__)

TABLE = "email_events"
DECRYPTED_QUERY = "archive.query_decrypted"


@dataclass(frozen=True)
class QueryScope:
    """Which archived days a query reads."""

    first: date | None = None
    last: date | None = None


def archived_keys(conn: psycopg.Connection, scope: QueryScope) -> list[str]:
    """Store keys of the archived objects in ``scope``, oldest first."""
    entries = list_index(conn, scope.first, scope.last)
    if not entries:
        raise ArchiveQueryError("no archived partition in the requested days")
    return [entry.object_key for entry in entries]


def run_query(
    conn: psycopg.Connection,
    store: ArchiveStore,
    query: str,
    scope: QueryScope,
    *,
    cipher: PiiCipher | None = None,
    actor: str = "",
) -> pl.DataFrame:
    """The result of ``query`` (polars SQL, over table ``email_events``); with ``cipher``
    the personal payloads are decrypted where their keys still exist, and ``actor``'s
    access is written to the cell's audit log first."""
    keys = archived_keys(conn, scope)
    if cipher is not None:
        with conn.transaction():
            record(
                conn,
                actor=actor or "unknown",
                action=DECRYPTED_QUERY,
                subject=f"archive:{store.url}",
                details={
                    "query": query,
                    "from": scope.first.isoformat() if scope.first else None,
                    "to": scope.last.isoformat() if scope.last else None,
                    "objects": len(keys),
                },
            )
    frame = _decrypted(conn, store, keys, cipher) if cipher is not None else _clear(store, keys)
    context = pl.SQLContext({TABLE: frame})
    try:
        return context.execute(query).collect()
    except (pl.exceptions.PolarsError, pa.ArrowException) as exc:
        raise ArchiveQueryError(f"query failed: {exc}") from exc


def _clear(store: ArchiveStore, keys: list[str]) -> pl.LazyFrame:
    dataset = ds.dataset(
        [store.path(key) for key in keys], filesystem=store.filesystem, format="parquet"
    )
    return pl.scan_pyarrow_dataset(dataset).drop("sealed")


def _decrypted(
    conn: psycopg.Connection, store: ArchiveStore, keys: list[str], cipher: PiiCipher
) -> pl.LazyFrame:
    tables = []
    for key in keys:
        with store.open(key) as source:
            tables.append(pq.read_table(source))
    table = pa.concat_tables(tables)
    wanted = {
        (org, subject)
        for org, subject in zip(
            table.column("org_id").to_pylist(), table.column("subject").to_pylist(), strict=True
        )
        if subject is not None
    }
    data_keys = keys_by_subject(conn, cipher, wanted) if wanted else {}
    contact_ids: list[str | None] = []
    details: list[str | None] = []
    payload: list[str] = []
    for batch in table.to_batches(max_chunksize=50_000):
        opened = open_batch(batch, data_keys)
        contact_ids += opened.contact_id
        details += opened.details
        payload += opened.payload
    log.info(
        "opened %d archived rows: %d sealed subjects with a key, %d without",
        table.num_rows, len(data_keys), len(wanted) - len(data_keys),
    )  # fmt: skip
    table = (
        table.drop_columns(["sealed", "details"])
        .append_column("contact_id", pa.array(contact_ids, pa.string()))
        .append_column("details", pa.array(details, pa.string()))
        .append_column("payload", pa.array(payload, pa.string()))
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.lazy()
