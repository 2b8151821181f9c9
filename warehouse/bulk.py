"""Bulk loading with COPY: straight into a table, or staged and merged skipping existing keys.

Given ``types`` (PostgreSQL type names, one per column) the COPY is binary: the server then
reads uuids, timestamps and numbers as fixed-size values instead of parsing their text,
which is most of what a COPY of narrow event rows costs it. The cursor's adapters decide
how each value is dumped, so callers may register dumpers of their own on the cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg


def copy_in(
    cur: psycopg.Cursor[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> int:
    """COPY ``rows`` into ``table`` as they are (a duplicate key raises UniqueViolation);
    binary when ``types`` is given. Returns how many rows were copied."""
    column_list = ", ".join(columns)
    binary = " (FORMAT BINARY)" if types else ""
    with cur.copy(f"COPY {table} ({column_list}) FROM STDIN{binary}") as copy:
        if types:
            copy.set_types(types)
        write_row = copy.write_row  # bound once: this loop runs per row
        for row in rows:
            write_row(row)
    return cur.rowcount


def stage_and_merge(
    cur: psycopg.Cursor[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[str] | None = None,
) -> int:
    """COPY ``rows`` into a session-local staging table, then move them into ``table`` with
    ``INSERT ... ON CONFLICT DO NOTHING``. Runs inside the caller's transaction; returns how
    many rows were new. ``types`` as in :func:`copy_in`."""
    staging = f"{table}_staging"
    column_list = ", ".join(columns)
    cur.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} AS "
        f"SELECT {column_list} FROM {table} WITH NO DATA"
    )
    copy_in(cur, staging, columns, rows, types)
    cur.execute(
        f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {staging} "
        "ON CONFLICT DO NOTHING"
    )
    inserted = cur.rowcount
    cur.execute(f"TRUNCATE {staging}")
    return inserted


def copy_rows(
    conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """:func:`stage_and_merge` in a transaction of its own."""
    if not rows:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        return stage_and_merge(cur, table, columns, rows)
